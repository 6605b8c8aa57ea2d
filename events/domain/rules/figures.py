"""Figures: recorded once per (measure, area, period); revised with a reason and a kind; withdrawn
with a reason. A figure is only recorded for a defined measure that is not retired."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Any, Iterable

from ..errors import (
    FigureAlreadyRecorded,
    FigureIsWithdrawn,
    InvalidValue,
    MeasureIsRetired,
    NothingToChange,
    UnknownFigure,
    UnknownMeasure,
)
from ..figures import FigureRecorded, FigureRevised, FigureWithdrawn
from . import values
from .measures import Measure


def figure_key(measure: str, area: str, period: str) -> str:
    return f"{measure}/{area}/{period}"


@dataclass(frozen=True)
class Figure:
    measure: str
    area: str
    period: str
    value: str
    source: str = ""
    note: str = ""
    withdrawn: bool = False
    withdrawn_reason: str = ""

    @property
    def key(self) -> str:
        return figure_key(self.measure, self.area, self.period)


def fold(events: Iterable[tuple[str, dict[str, Any]]]) -> Figure | None:
    """The figure as its stream's events leave it (None: never recorded)."""
    state: Figure | None = None
    for type_, data in events:
        if type_ == "FigureRecorded":
            state = Figure(
                data["measure"], data["area"], data["period"], data["value"], data.get("source", ""), data.get("note", "")
            )
        elif type_ == "FigureRevised" and state is not None:
            state = replace(
                state,
                value=data["value"],
                source=data.get("source") or state.source,
                note=data.get("note") or state.note,
            )
        elif type_ == "FigureWithdrawn" and state is not None:
            state = replace(state, withdrawn=True, withdrawn_reason=data["reason"])
    return state


def check_key(measure: Any, area: Any, period: Any) -> tuple[str, str]:
    """Checks the key; returns the area's id (Kent Police is kent) and the period in its written
    form (2022/23 is 2022-04/2023-03)."""
    values.slug("measure", measure)
    return values.area("area", area), values.period("period", period)


def record(
    measure: Measure | None,
    current: Figure | None,
    *,
    measure_id: str,
    area: str,
    period: str,
    value: str,
    source: str = "",
    note: str = "",
    latest_end: date | None = None,
) -> FigureRecorded:
    """A new figure. After a withdrawal the same figure may be recorded again. With `latest_end`,
    its period (in its one written form, whatever notation it came in) must have ended by then."""
    area, period = check_key(measure_id, area, period)
    if latest_end is not None:
        values.plausible_period("period", period, latest_end)
    values.decimal("value", value)
    values.text("source", source)
    values.text("note", note)
    return _recorded(measure, current, measure_id=measure_id, area=area, period=period, value=value, source=source, note=note)


def _recorded(
    measure: Measure | None, current: Figure | None, *, measure_id: str, area: str, period: str, value: str, source: str, note: str
) -> FigureRecorded:
    """A new figure from values already checked, as far as the measure and the figure allow it."""
    if measure is None:
        raise UnknownMeasure(measure_id)
    if measure.retired:
        raise MeasureIsRetired(measure_id, measure.retired_reason, "recording a figure for it")
    if current is not None and not current.withdrawn:
        raise FigureAlreadyRecorded(current.key, current.value, value)
    return FigureRecorded(measure=measure_id, area=area, period=period, value=value, source=source or "", note=note or "")


def row_problems(
    *,
    measure_id: str,
    area: str,
    period: str,
    value: str,
    source: str = "",
    note: str = "",
    kind: str | None = None,
    latest_end: date | None = None,
) -> tuple[str, str, list[InvalidValue]]:
    """Every problem with one figure's values (a row of an import), each naming its field, and the
    area and period in their written forms (Kent Police is kent, 2022/23 is 2022-04/2023-03): the
    checks `record` makes, and the kind's. A row without problems is what `decide_import` takes."""
    problems: list[InvalidValue] = []
    checks = (
        ("measure", values.slug, measure_id),
        ("area", values.area, area),
        ("period", values.period, period),
        ("value", values.decimal, value),
        ("source", values.text, source),
        ("note", values.text, note),
    )
    for field, check, given in checks:
        try:
            written = check(field, given)
        except InvalidValue as exc:
            problems.append(exc)
            continue
        if field == "area":
            area = written
        elif field == "period":
            period = written
            if latest_end is not None:
                try:
                    values.plausible_period("period", period, latest_end)
                except InvalidValue as exc:
                    problems.append(exc)
    if kind:
        try:
            values.kind("kind", kind)
        except InvalidValue as exc:
            problems.append(exc)
    return area, period, problems


def revise(
    current: Figure | None,
    *,
    measure_id: str,
    area: str,
    period: str,
    value: str,
    kind: str | None,
    reason: str | None,
    source: str = "",
    note: str = "",
) -> FigureRevised:
    """A new value for a recorded figure: `revision` (planned, late data) or `correction` (an error)."""
    area, period = check_key(measure_id, area, period)
    values.decimal("value", value)
    key = figure_key(measure_id, area, period)
    if current is None:
        raise UnknownFigure(key)
    if current.withdrawn:
        raise FigureIsWithdrawn(key, current.withdrawn_reason, "record it again instead of revising it")
    if values.same_value(current.value, value):
        raise NothingToChange(f"figure {key} is already {current.value}: nothing to revise")
    values.kind("kind", kind)
    values.reason("reason", reason, f"a reason for revising {key} from {current.value} to {value}")
    return FigureRevised(
        measure=measure_id,
        area=area,
        period=period,
        value=value,
        previous_value=current.value,
        kind=kind,
        reason=reason,
        source=values.text("source", source),
        note=values.text("note", note),
    )


def withdraw(current: Figure | None, *, measure_id: str, area: str, period: str, reason: str | None) -> FigureWithdrawn:
    area, period = check_key(measure_id, area, period)
    key = figure_key(measure_id, area, period)
    if current is None:
        raise UnknownFigure(key)
    if current.withdrawn:
        raise NothingToChange(f"figure {key} is already withdrawn ({current.withdrawn_reason})")
    values.reason("reason", reason, f"a reason for withdrawing {key}")
    return FigureWithdrawn(measure=measure_id, area=area, period=period, reason=reason)


def decide_import(
    measure: Measure | None,
    current: Figure | None,
    *,
    measure_id: str,
    area: str,
    period: str,
    value: str,
    source: str = "",
    note: str = "",
    reason: str | None = None,
    kind: str | None = None,
) -> FigureRecorded | FigureRevised | None:
    """A row of a figures file, its values as `row_problems` found them fine and wrote them: a new
    figure, a revision (which needs a reason), or nothing when the value is already recorded, so a
    file imported twice changes nothing the second time. The values are not checked again here (the
    event's schema still validates every field)."""
    if current is None:
        return _recorded(measure, None, measure_id=measure_id, area=area, period=period, value=value, source=source, note=note)
    if current.withdrawn:
        raise FigureIsWithdrawn(
            current.key, current.withdrawn_reason, "an import does not bring it back; record it again deliberately"
        )
    if values.same_value(current.value, value):
        return None
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidValue(
            "reason", f"a reason, since {current.key} is recorded as {current.value} and this row says {value}", reason
        )
    return revise(
        current,
        measure_id=measure_id,
        area=area,
        period=period,
        value=value,
        kind=kind or "revision",
        reason=reason,
        source=source,
        note=note,
    )
