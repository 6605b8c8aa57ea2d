"""What lets a reader check a published edition without the database (docs/proofs.md): for each figure and
paragraph, the events it is folded from, as stored and hashed, each with its inclusion proof in the tree
of the edition's frozen size, the size its checkpoint signs.

Only the events of what the edition publishes, and only from the one that recorded it (a figure's last
FigureRecorded, a paragraph's last ParagraphWritten) up to the frozen position: nothing else of the log.
"""

from __future__ import annotations

import base64
from typing import Iterable

from events import EventStore
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


def gather(
    store: EventStore, size: int, figures: Iterable[tuple[str, str, str]], paragraphs: Iterable[int], edition: str
) -> tuple[dict[tuple[str, str, str], model.Evidence], dict[int, model.Evidence], str]:
    """Evidence for each figure key and paragraph number, in the tree of `size` events, and that tree's
    root (base64)."""
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
    positions = sorted({e.position for events in chosen.values() for e in events})
    rows = stored_rows(store, positions)
    proofs = store.inclusion_proofs(positions, size) if positions else {}
    root = base64.b64encode(store.tree_root(size)).decode()

    def evidence(events: list) -> model.Evidence | None:
        if not events:
            return None
        proven = [
            model.ProvenEvent(rows[event.position], tuple(base64.b64encode(h).decode() for h in proofs[event.position]))
            for event in events
        ]
        return model.Evidence(size, tuple(proven))

    by_figure = {key: e for key in figures if (e := evidence(chosen[key])) is not None}
    by_paragraph = {number: e for number in paragraphs if (e := evidence(chosen[number])) is not None}
    return by_figure, by_paragraph, root
