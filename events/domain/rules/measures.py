"""Measures: defined once, amended with a reason, retired with a reason; a retired one stays retired."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Iterable

from ..errors import InvalidValue, MeasureAlreadyDefined, MeasureIsRetired, NothingToChange, UnknownMeasure
from ..measures import MeasureAmended, MeasureDefined, MeasureRetired
from . import values

DETAILS = ("title", "priority", "unit", "polarity", "baseline_period", "source", "definition")
CHECKS = {
    "title": lambda field, value: values.text(field, value, required=True),
    "priority": values.priority,
    "unit": values.unit,
    "polarity": values.polarity,
    "baseline_period": values.period,
    "source": values.text,
    "definition": values.text,
}


@dataclass(frozen=True)
class Measure:
    measure: str
    title: str
    priority: str
    unit: str
    polarity: str
    baseline_period: str
    source: str = ""
    definition: str = ""
    retired: bool = False
    retired_reason: str = ""

    def details(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in DETAILS}


def fold(events: Iterable[tuple[str, dict[str, Any]]]) -> Measure | None:
    """The measure as its stream's events leave it (None: never defined)."""
    state: Measure | None = None
    for type_, data in events:
        if type_ == "MeasureDefined":
            state = Measure(**{name: data.get(name, "") for name in ("measure", *DETAILS)})
        elif type_ == "MeasureAmended" and state is not None:
            state = replace(state, **{name: data[name] for name in DETAILS if data.get(name) is not None})
        elif type_ == "MeasureRetired" and state is not None:
            state = replace(state, retired=True, retired_reason=data["reason"])
    return state


def check_details(details: dict[str, Any], *, partial: bool = False) -> dict[str, str]:
    """Every detail checked; raises the first InvalidValue (see `problems` for all of them)."""
    checked = {}
    for name in DETAILS:
        if name not in details or (partial and details[name] is None):
            if partial or name in ("source", "definition"):
                continue
        checked[name] = CHECKS[name](name, details.get(name))
    return checked


def problems(details: dict[str, Any]) -> list[InvalidValue]:
    """Every invalid detail of a full definition, not just the first."""
    found = []
    for name in DETAILS:
        try:
            CHECKS[name](name, details.get(name, "" if name in ("source", "definition") else None))
        except InvalidValue as exc:
            found.append(exc)
    return found


def define(current: Measure | None, measure: str, details: dict[str, Any]) -> MeasureDefined:
    values.slug("measure", measure)
    if current is not None:
        raise MeasureAlreadyDefined(measure)
    return MeasureDefined(measure=measure, **check_details(details))


def amend(current: Measure | None, measure: str, reason: str | None, changes: dict[str, Any]) -> MeasureAmended:
    """Only the details that differ from the current ones are recorded."""
    if current is None:
        raise UnknownMeasure(measure)
    if current.retired:
        raise MeasureIsRetired(measure, current.retired_reason, "amending it")
    checked = check_details(changes, partial=True)
    differing = {name: value for name, value in checked.items() if getattr(current, name) != value}
    if not differing:
        raise NothingToChange(f"measure {measure!r} already has these details: nothing to amend")
    values.reason("reason", reason, f"a reason for amending measure {measure} ({', '.join(differing)})")
    return MeasureAmended(measure=measure, reason=reason, **differing)


def retire(current: Measure | None, measure: str, reason: str | None) -> MeasureRetired:
    if current is None:
        raise UnknownMeasure(measure)
    if current.retired:
        raise NothingToChange(f"measure {measure!r} is already retired ({current.retired_reason})")
    values.reason("reason", reason, f"a reason for retiring measure {measure}")
    return MeasureRetired(measure=measure, reason=reason)


def decide_import(current: Measure | None, measure: str, details: dict[str, Any], reason: str | None):
    """A row of a measures file: define it, amend it (with a reason), or nothing when identical."""
    if current is None:
        return define(None, measure, details)
    checked = check_details(details)
    if all(getattr(current, name) == value for name, value in checked.items()):
        return None
    if current.retired:
        raise MeasureIsRetired(measure, current.retired_reason, "changing its details")
    differing = [name for name, value in checked.items() if getattr(current, name) != value]
    if not reason or not str(reason).strip():
        raise InvalidValue(
            "reason",
            f"a reason, since measure {measure} exists with a different {', '.join(differing)}",
            reason,
        )
    return amend(current, measure, reason, checked)

