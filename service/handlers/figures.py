"""Figure commands: record, revise, withdraw.

Recording reads the measure as well as the figure, and appends to the figure's stream with the
measure's version as a condition (an empty entry of `append_many`), so a figure cannot slip in
for a measure retired at the same moment.
"""

from __future__ import annotations

from events import AppendResult, EventStore, Metadata, NewEvent
from events.domain.figures import figure_stream
from events.domain.measures import measure_stream
from events.domain.rules import figures as rules
from events.domain.rules import measures as measure_rules

from .loading import load


def _single(result, stream: str) -> AppendResult:
    return AppendResult(result.first_position, result.last_position, result.stream_versions[stream], result.hash, result.replayed)


def record_figure(
    store: EventStore,
    measure: str,
    area: str,
    period: str,
    value: str,
    metadata: Metadata,
    source: str = "",
    note: str = "",
) -> AppendResult:
    rules.check_key(measure, area, period)
    stream = figure_stream(measure, area, period)
    measure_state, measure_version = load(store, measure_stream(measure), measure_rules.fold)
    current, version = load(store, stream, rules.fold)
    event = rules.record(
        measure_state, current, measure_id=measure, area=area, period=period, value=value, source=source, note=note
    )
    result = store.append_many(
        [(stream, [NewEvent.of(event, store.registry)], version), (measure_stream(measure), [], measure_version)],
        metadata=metadata,
    )
    return _single(result, stream)


def revise_figure(
    store: EventStore,
    measure: str,
    area: str,
    period: str,
    value: str,
    kind: str | None,
    reason: str | None,
    metadata: Metadata,
    source: str = "",
    note: str = "",
) -> AppendResult:
    rules.check_key(measure, area, period)
    stream = figure_stream(measure, area, period)
    current, version = load(store, stream, rules.fold)
    event = rules.revise(
        current, measure_id=measure, area=area, period=period, value=value, kind=kind, reason=reason, source=source, note=note
    )
    return store.append(stream, [NewEvent.of(event, store.registry)], version, metadata=metadata)


def withdraw_figure(
    store: EventStore, measure: str, area: str, period: str, reason: str | None, metadata: Metadata
) -> AppendResult:
    rules.check_key(measure, area, period)
    stream = figure_stream(measure, area, period)
    current, version = load(store, stream, rules.fold)
    event = rules.withdraw(current, measure_id=measure, area=area, period=period, reason=reason)
    return store.append(stream, [NewEvent.of(event, store.registry)], version, metadata=metadata)
