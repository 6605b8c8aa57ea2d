"""Organisation commands: define one (a force or a PCC's office) with the areas it owns; and the
organisations as they stand, for the access checks."""

from __future__ import annotations

from events import AppendResult, EventStore, Metadata, NewEvent
from events.domain.organisations import ORGANISATIONS_STREAM
from events.domain.rules import organisations as rules
from events.domain.rules.organisations import Organisation

__all__ = ["Organisation", "define_organisation", "load_organisations"]


def load_organisations(store: EventStore) -> tuple[dict[str, Organisation], int]:
    events = store.read_stream(ORGANISATIONS_STREAM)
    return rules.fold((e.type, e.data) for e in events), len(events)


def define_organisation(store: EventStore, organisation: str, name: str, areas: list[str], metadata: Metadata) -> AppendResult:
    organisations, version = load_organisations(store)
    event = rules.define(organisations, organisation, name, areas)
    return store.append(ORGANISATIONS_STREAM, [NewEvent.of(event, store.registry)], version, metadata=metadata)
