"""Organisation commands: define one (a force or a PCC's office) with the areas it owns; and the
organisations as they stand, for the access checks."""

from __future__ import annotations

from events import AppendResult, EventStore, Metadata, NewEvent
from events.domain.editions import edition_stream
from events.domain.organisations import ORGANISATIONS_STREAM
from events.domain.rules import editions as edition_rules
from events.domain.rules import organisations as rules
from events.domain.rules.organisations import Organisation

__all__ = ["Organisation", "define_organisation", "edition_organisation", "load_organisations"]


def load_organisations(store: EventStore) -> tuple[dict[str, Organisation], int]:
    events = store.read_stream(ORGANISATIONS_STREAM)
    return rules.fold((e.type, e.data) for e in events), len(events)


def edition_organisation(store: EventStore, edition: str, events: list | None = None, defined: list | None = None) -> str:
    """The organisation whose site section an edition is published in, "" for the site's root: its area's
    owner as its first revision was frozen (`section_of`), so an organisation defined later never moves a
    published edition; before any approval, its area's owner now (what the calendar shows). `events` (the
    edition's stream) and `defined` (the organisations stream) when the caller has read them already."""
    events = store.read_stream(edition_stream(edition)) if events is None else events
    defined = store.read_stream(ORGANISATIONS_STREAM) if defined is None else defined
    state = edition_rules.fold(((e.type, e.data) for e in events), (e.recorded_at for e in events))
    if state is None:
        return ""
    position = state.approvals[0].position if state.approvals else None
    if position is not None:
        state = edition_rules.fold((e.type, e.data) for e in events if e.position <= position)
    organisations = rules.fold((e.type, e.data) for e in defined if position is None or e.position <= position)
    return rules.section_of(organisations, state.area)


def define_organisation(store: EventStore, organisation: str, name: str, areas: list[str], metadata: Metadata) -> AppendResult:
    organisations, version = load_organisations(store)
    event = rules.define(organisations, organisation, name, areas)
    return store.append(ORGANISATIONS_STREAM, [NewEvent.of(event, store.registry)], version, metadata=metadata)
