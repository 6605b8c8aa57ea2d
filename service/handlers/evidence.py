"""What lets a reader check a published edition without the database (docs/proofs.md).

A revision whose approval names its content (EditionApproved v2): the approval event as stored and hashed,
with its inclusion proof in the tree up to the approval, and for each figure and paragraph the inclusion
proof of the event the approval names as its source (the reader has its hash from the approval, so the
event itself is never published: not a draft it replaced, not its notes, reasons or metadata).

An older revision: for each figure and paragraph, the events it is folded from, as stored and hashed, from
the one that recorded it (a figure's last FigureRecorded, a paragraph's last ParagraphWritten) up to the
frozen position, each with its inclusion proof in the tree of the frozen size.
"""

from __future__ import annotations

import base64
from typing import Iterable

from events import EventStore
from events.records import RecordedEvent
from events.domain.editions import edition_stream
from events.domain.figures import figure_stream
from events.transfer import stored_rows
from publishers import model

FIGURE_START, FIGURE_TYPES = "FigureRecorded", ("FigureRecorded", "FigureRevised")
PARAGRAPH_START, PARAGRAPH_TYPES = "ParagraphWritten", ("ParagraphWritten", "ParagraphRevised")


def _since_start(events: Iterable, start: str, kinds: tuple[str, ...]) -> list:
    """The events from the last `start` on that are of `kinds` (a withdrawal or removal starts afresh)."""
    chosen: list = []
    for event in events:
        if event.type == start:
            chosen = [event]
        elif event.type in kinds:
            if chosen:
                chosen.append(event)
        elif event.type in ("FigureWithdrawn", "ParagraphRemoved"):
            chosen = []
    return chosen


def _chosen(
    store: EventStore, size: int, figures: Iterable[tuple[str, str, str]], paragraphs: Iterable[int], edition: str
) -> dict[object, list]:
    """For each figure key and paragraph number, the events it is folded from, up to position `size`."""
    figures, paragraphs = list(figures), list(paragraphs)
    streams = store.read_streams([figure_stream(*key) for key in figures] + [edition_stream(edition)], as_of_position=size)
    chosen: dict[object, list] = {}
    for key in figures:
        chosen[key] = _since_start(streams.get(figure_stream(*key), []), FIGURE_START, FIGURE_TYPES)
    by_number: dict[int, list] = {}
    for event in streams.get(edition_stream(edition), []):
        if event.type.startswith("Paragraph"):
            by_number.setdefault(event.data.get("number"), []).append(event)
    for number in paragraphs:
        chosen[number] = _since_start(by_number.get(number, []), PARAGRAPH_START, PARAGRAPH_TYPES)
    return chosen


def sources(
    store: EventStore, position: int, figures: Iterable[tuple[str, str, str]], paragraphs: Iterable[int], edition: str
) -> tuple[dict[tuple[str, str, str], RecordedEvent], dict[int, RecordedEvent]]:
    """The event that gave each figure and paragraph what it shows at `position` (its stream's last
    recording or revision): what an approval names, by position and hash."""
    figures, paragraphs = list(figures), list(paragraphs)
    chosen = _chosen(store, position, figures, paragraphs, edition)
    return (
        {key: chosen[key][-1] for key in figures if chosen[key]},
        {number: chosen[number][-1] for number in paragraphs if chosen[number]},
    )


def _b64(hashes: Iterable[bytes]) -> tuple[str, ...]:
    return tuple(base64.b64encode(h).decode() for h in hashes)


def gather(
    store: EventStore, size: int, figures: Iterable[tuple[str, str, str]], paragraphs: Iterable[int], edition: str
) -> tuple[dict[tuple[str, str, str], model.Evidence], dict[int, model.Evidence], str]:
    """Evidence for each figure key and paragraph number, in the tree of `size` events, and that tree's
    root (base64): the format of revisions whose approval does not name its content."""
    figures, paragraphs = list(figures), list(paragraphs)
    chosen = _chosen(store, size, figures, paragraphs, edition)
    positions = sorted({e.position for events in chosen.values() for e in events})
    rows = stored_rows(store, positions)
    proofs = store.inclusion_proofs(positions, size) if positions else {}
    root = base64.b64encode(store.tree_root(size)).decode()

    def evidence(events: list) -> model.Evidence | None:
        if not events:
            return None
        proven = [model.ProvenEvent(rows[event.position], _b64(proofs[event.position])) for event in events]
        return model.Evidence(size, tuple(proven))

    by_figure = {key: e for key in figures if (e := evidence(chosen[key])) is not None}
    by_paragraph = {number: e for number in paragraphs if (e := evidence(chosen[number])) is not None}
    return by_figure, by_paragraph, root


def gather_approved(
    store: EventStore, size: int, content: dict, approval_position: int
) -> tuple[dict[tuple[str, str, str], model.SourceProof], dict[int, model.SourceProof], model.ProvenEvent, str]:
    """Evidence for a revision whose approval names its content (EditionApproved v2), in the tree of `size`
    events (up to the approval): the approval as hashed with its inclusion proof, and for each figure and
    paragraph only the inclusion proof of its source event's leaf, whose hash the approval names. No
    figure's or paragraph's event is published."""
    figures = {(f["measure"], f["area"], f["period"]): f["position"] for f in content["figures"]}
    numbers = {p["number"]: p["position"] for p in content["paragraphs"]}
    positions = sorted({*figures.values(), *numbers.values(), approval_position})
    proofs = store.inclusion_proofs(positions, size)
    row = stored_rows(store, [approval_position])[approval_position]
    root = base64.b64encode(store.tree_root(size)).decode()

    def proof(position: int) -> model.SourceProof:
        return model.SourceProof(size, position, _b64(proofs[position]))

    approval = model.ProvenEvent(row, _b64(proofs[approval_position]))
    return (
        {key: proof(p) for key, p in figures.items()},
        {number: proof(p) for number, p in numbers.items()},
        approval,
        root,
    )
