"""Reads of unreleased material: whether what is asked for is released, what the access rules
(`events.domain.rules.access`) allow, and the pre-release access list that records each read.

Reads are recorded in their own stream (`pre-release-access`), never in a release's stream, so a
read can never make a calendar command conflict; the list merges both, in log order.
"""

from __future__ import annotations

from typing import Protocol

from events import EventStore, Metadata, NewEvent
from events.domain.calendar import fold as fold_release
from events.domain.calendar import ACCESS_TYPES, release_stream
from events.domain.rules import access as rules
from events.domain.rules.access import Allowed
from events.domain.rules.figures import Figure
from events.domain.rules.tokens import Token
from events.records import format_time
from events.store import Clock

from .editions import EditionView, view_edition


class Released(Protocol):
    """What the public channels show (service.http.reads.ReadModels)."""

    def latest(self, edition: str | None = None, area: str | None = None): ...

    def released_history(self, measure: str, area: str) -> list[dict]: ...


def figure_released(released: Released, figure: Figure) -> bool:
    """The figure's current value is one a released revision shows (public history has it)."""
    if figure.withdrawn:
        return False
    return any(
        vintage["values"].get(figure.period) == figure.value
        for vintage in released.released_history(figure.measure, figure.area)
    )


def _shown(view: EditionView) -> tuple:
    paragraphs = sorted(view.state.paragraphs.items())
    return (
        view.state.title,
        view.state.area,
        [(n, p.section, p.heading, p.text, view.rendered(p.text)) for n, p in paragraphs],
    )


def edition_as_it_stands(store: EventStore, released: Released, edition: str) -> tuple[EditionView, bool]:
    """The edition at the head, and whether its latest released revision shows exactly that."""
    view = view_edition(store, edition)
    latest = released.latest(edition=edition)
    if latest is None:
        return view, False
    return view, _shown(view) == _shown(view_edition(store, edition, latest.position))


def read_edition(store: EventStore, reader: Token, edition: str, *, released: bool, clock: Clock) -> Allowed:
    area = None
    if reader.organisation is not None:
        from .editions import load_edition

        state, _ = load_edition(store, edition)
        area = state.area if state is not None else None
    events = store.read_stream(release_stream(edition))
    release = fold_release(events)
    grants = [
        rules.Grant(e.data["token_id"], e.data["person"])
        for e in events
        if e.type == "PreReleaseAccessGranted" and e.data.get("token_id")
    ]
    return rules.read_edition(
        reader,
        edition,
        released=released,
        grants=grants,
        release_at=release.release_at if release is not None else None,
        confirmed=release is not None and release.status == "confirmed",
        now=clock(),
        area=area,
        organisations=organisations_of(store, reader),
    )


def organisations_of(store: EventStore, reader: Token):
    """The organisations, when `reader` belongs to one (a hub-wide token needs none)."""
    if reader.organisation is None:
        return None
    from .organisations import load_organisations

    return load_organisations(store)[0]


def reach(store: EventStore, reader: Token, area: str, what: str) -> None:
    """Refuse a token of one organisation anything of another's area (rules.reach)."""
    organisations = organisations_of(store, reader)
    if organisations is not None:
        rules.reach(reader, area, organisations, what)


def record_read(
    store: EventStore,
    reader: Token,
    allowed: Allowed,
    *,
    what: str,
    edition: str | None = None,
    clock: Clock,
    request_id: str | None = None,
) -> None:
    """Put an allowed read of unreleased material on the pre-release access list (released: nothing)."""
    if not allowed.recorded:
        return
    event = rules.record(reader, allowed, what=what[:500], edition=edition, now=format_time(clock()))
    store.append(
        rules.PRE_RELEASE_STREAM,
        [NewEvent.of(event, store.registry)],
        expected_version=None,
        metadata=Metadata(actor=f"token:{reader.token_id}:{reader.name}", source="api", correlation_id=request_id),
    )


def access_list(store: EventStore, edition: str | None = None) -> list[dict]:
    """Every grant and every recorded access, in log order: one edition's (with the reads of it),
    or all of them (with the reads of no one edition, such as a figure's)."""
    read = store.read_streams([rules.PRE_RELEASE_STREAM])
    read.update(store.read_streams([release_stream(edition)]) if edition else store.read_prefix("release-"))
    events = sorted((e for stream in read.values() for e in stream if e.type in ACCESS_TYPES), key=lambda e: e.position)
    return [
        {"type": e.type, "position": e.position, "recorded_at": e.recorded_at, "actor": e.actor, **e.data}
        for e in events
        if edition is None or e.data.get("edition") == edition
    ]
