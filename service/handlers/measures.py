"""Measure commands: define, amend, retire. Each reads the measure's stream, decides, and appends
at the version it read, so two people changing one measure at once conflict instead of clobbering."""

from __future__ import annotations

from typing import Any

from events import AppendResult, EventStore, Metadata, NewEvent
from events.domain.measures import measure_stream
from events.domain.rules import measures as rules

from .loading import load


def _append(store: EventStore, measure: str, event, version: int, metadata: Metadata) -> AppendResult:
    return store.append(measure_stream(measure), [NewEvent.of(event, store.registry)], version, metadata=metadata)


def define_measure(store: EventStore, measure: str, details: dict[str, Any], metadata: Metadata) -> AppendResult:
    current, version = load(store, measure_stream(measure), rules.fold)
    return _append(store, measure, rules.define(current, measure, details), version, metadata)


def amend_measure(
    store: EventStore, measure: str, reason: str | None, changes: dict[str, Any], metadata: Metadata
) -> AppendResult:
    current, version = load(store, measure_stream(measure), rules.fold)
    return _append(store, measure, rules.amend(current, measure, reason, changes), version, metadata)


def set_measure_for_area(
    store: EventStore, measure: str, area: str, reason: str | None, changes: dict[str, Any], metadata: Metadata
) -> AppendResult:
    """The measure's baseline period, priority, source or definition in one area."""
    current, version = load(store, measure_stream(measure), rules.fold)
    return _append(store, measure, rules.set_for_area(current, measure, area, reason, changes), version, metadata)


def define_measure_in_area(
    store: EventStore, measure: str, area: str, details: dict[str, Any], metadata: Metadata
) -> AppendResult:
    """Define a measure and set its details for `area` in one append: a later amendment of the
    measure (another force's baseline) never moves this area's."""
    current, version = load(store, measure_stream(measure), rules.fold)
    if current is not None:
        rules.define(current, measure, details)  # raises MeasureAlreadyDefined
    events = rules.decide_import_in_area(None, measure, area, details, None)
    return store.append(measure_stream(measure), [NewEvent.of(e, store.registry) for e in events], version, metadata=metadata)


def retire_measure(store: EventStore, measure: str, reason: str | None, metadata: Metadata) -> AppendResult:
    current, version = load(store, measure_stream(measure), rules.fold)
    return _append(store, measure, rules.retire(current, measure, reason), version, metadata)
