"""Figure commands: record, revise, withdraw.

Recording reads the measure as well as the figure, and appends to the figure's stream with the
measure's version as a condition (an empty entry of `append_many`), so a figure cannot slip in
for a measure retired at the same moment.
"""

from __future__ import annotations

from datetime import date, timedelta, timezone

from events import AppendResult, EventStore, Metadata, NewEvent
from events.domain.errors import UnknownFigure
from events.domain.figures import figure_stream
from events.domain.measures import measure_stream
from events.domain.rules import figures as rules
from events.domain.rules import measures as measure_rules

from .loading import load


def _single(result, stream: str) -> AppendResult:
    return AppendResult(result.first_position, result.last_position, result.stream_versions[stream], result.hash, result.replayed)


def _recorded_elsewhere(store: EventStore, measure: str, area: str, period: str) -> list[str]:
    """The other areas for which `measure`'s figure for `period` is recorded (a hint when `area` has none)."""
    prefix, suffix = figure_stream(measure, "", "")[:-1], "/" + period
    return sorted(
        stream[len(prefix) : -len(suffix)]
        for stream in store.read_prefix(prefix)
        if stream.endswith(suffix) and stream[len(prefix) : -len(suffix)] not in ("", area)
    )


def _unknown_with_hint(store: EventStore, exc: UnknownFigure, measure: str, area: str, period: str) -> UnknownFigure:
    return UnknownFigure(exc.key, _recorded_elsewhere(store, measure, area, period))


# How far ahead of today a new figure's period may end (POLICING_METRICS_PERIOD_MARGIN_DAYS).
PERIOD_MARGIN_DAYS = 0


def latest_period_end(store: EventStore, margin_days: int) -> date:
    """The last day a new figure's period may end on: today (UTC, by the store's clock) plus the margin."""
    return store.clock().astimezone(timezone.utc).date() + timedelta(days=margin_days)


def record_figure(
    store: EventStore,
    measure: str,
    area: str,
    period: str,
    value: str,
    metadata: Metadata,
    source: str = "",
    note: str = "",
    period_margin_days: int = PERIOD_MARGIN_DAYS,
) -> AppendResult:
    area, period = rules.check_key(measure, area, period)
    stream = figure_stream(measure, area, period)
    measure_state, measure_version = load(store, measure_stream(measure), measure_rules.fold)
    current, version = load(store, stream, rules.fold)
    event = rules.record(
        measure_state, current, measure_id=measure, area=area, period=period, value=value, source=source, note=note,
        latest_end=latest_period_end(store, period_margin_days),
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
    return _change(
        store, measure, area, period, metadata,
        lambda current, area, period: rules.revise(
            current, measure_id=measure, area=area, period=period, value=value, kind=kind, reason=reason, source=source, note=note
        ),
    )  # fmt: skip


def withdraw_figure(
    store: EventStore, measure: str, area: str, period: str, reason: str | None, metadata: Metadata
) -> AppendResult:
    return _change(
        store, measure, area, period, metadata,
        lambda current, area, period: rules.withdraw(current, measure_id=measure, area=area, period=period, reason=reason),
    )  # fmt: skip


def _change(store: EventStore, measure: str, area: str, period: str, metadata: Metadata, decide) -> AppendResult:
    """Fold a recorded figure's stream, let the rule `decide(current, area, period)` on it (the key in its
    checked form), and append at the version read; an unknown figure names the areas that have one."""
    area, period = rules.check_key(measure, area, period)
    stream = figure_stream(measure, area, period)
    current, version = load(store, stream, rules.fold)
    try:
        event = decide(current, area, period)
    except UnknownFigure as exc:
        raise _unknown_with_hint(store, exc, measure, area, period) from None
    return store.append(stream, [NewEvent.of(event, store.registry)], version, metadata=metadata)
