"""Measures: defined once, amended with a reason, retired with a reason; a retired one stays retired.

A measure may be set differently in one area (`set_for_area`): its baseline period, the priority it
is filed under, its source and definition are then the area's own, and amending the measure no
longer moves them. Everything that has an area asks `Measure.for_area(area)`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Iterable, Mapping

from ..errors import InvalidValue, MeasureAlreadyDefined, MeasureIsRetired, NothingToChange, UnknownMeasure
from ..measures import MeasureAmended, MeasureDefined, MeasureRetired, MeasureSetForArea
from . import values

DETAILS = ("title", "priority", "unit", "polarity", "baseline_period", "source", "definition")
# What forces set differently for the same measure; title, unit and polarity are the measure's everywhere.
AREA_DETAILS = ("baseline_period", "priority", "source", "definition")
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
    # area -> the details it sets for itself (a subset of AREA_DETAILS)
    areas: Mapping[str, Mapping[str, str]] = field(default_factory=dict, compare=False)

    def details(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in DETAILS}

    def for_area(self, area: str | None) -> "Measure":
        """The measure as it is in `area`: the area's own baseline, priority, source and definition."""
        own = self.areas.get(area) if area is not None else None
        return replace(self, **own) if own else self


def fold(events: Iterable[tuple[str, dict[str, Any]]]) -> Measure | None:
    """The measure as its stream's events leave it (None: never defined)."""
    state: Measure | None = None
    for type_, data in events:
        state = apply(state, type_, data)
    return state


_NAMES = {MeasureDefined: "MeasureDefined", MeasureAmended: "MeasureAmended", MeasureSetForArea: "MeasureSetForArea", MeasureRetired: "MeasureRetired"}


def decided(state: Measure | None, events: Iterable[Any]) -> Measure | None:
    """The state after events just decided (not yet appended): a file's next row decides on it."""
    for event in events:
        state = apply(state, _NAMES[type(event)], event.model_dump())
    return state


def apply(state: Measure | None, type_: str, data: dict[str, Any]) -> Measure | None:
    if type_ == "MeasureDefined":
        return Measure(**{name: data.get(name, "") for name in ("measure", *DETAILS)})
    if state is None:
        return None
    if type_ == "MeasureAmended":
        return replace(state, **{name: data[name] for name in DETAILS if data.get(name) is not None})
    if type_ == "MeasureSetForArea":
        own = {**state.areas.get(data["area"], {}), **{n: data[n] for n in AREA_DETAILS if data.get(n) is not None}}
        return replace(state, areas={**state.areas, data["area"]: own})
    if type_ == "MeasureRetired":
        return replace(state, retired=True, retired_reason=data["reason"])
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


def set_for_area(
    current: Measure | None, measure: str, area: str, reason: str | None, changes: dict[str, Any]
) -> MeasureSetForArea:
    """The measure's details in one area. Setting what the area never set needs no reason (a second
    force's baseline is its own, not a change of the first's); changing what it set needs one."""
    if current is None:
        raise UnknownMeasure(measure)
    if current.retired:
        raise MeasureIsRetired(measure, current.retired_reason, "setting it for an area")
    area = values.area("area", area)
    unknown = [name for name, value in changes.items() if value is not None and name not in AREA_DETAILS]
    if unknown:
        raise InvalidValue(
            unknown[0], f"only {', '.join(AREA_DETAILS)} set for an area (title, unit and polarity are the measure's everywhere)",
            changes[unknown[0]],
        )
    checked = {name: CHECKS[name](name, value) for name, value in changes.items() if value is not None}
    if not checked:
        raise InvalidValue("baseline_period", f"at least one of {', '.join(AREA_DETAILS)} to set for area {area}", None)
    own = current.areas.get(area, {})
    differing = {name: value for name, value in checked.items() if own.get(name) != value}
    if not differing:
        raise NothingToChange(f"measure {measure!r} already has these details in area {area}: nothing to set")
    changed = [name for name in differing if name in own]
    if changed:
        values.reason("reason", reason, f"a reason for changing measure {measure}'s {', '.join(changed)} in area {area}")
    return MeasureSetForArea(measure=measure, area=area, reason=reason or None, **differing)


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
            f"a reason, since measure {measure} exists with a different {', '.join(differing)}"
            + (
                " (to set the baseline period, priority, source or definition for one area only, add an area column)"
                if set(differing) <= set(AREA_DETAILS) else ""
            ),
            reason,
        )
    return amend(current, measure, reason, checked)



def decide_import_in_area(
    current: Measure | None, measure: str, area: str, details: dict[str, Any], reason: str | None
) -> list[MeasureDefined | MeasureAmended | MeasureSetForArea]:
    """A row of a measures file that names its area: the row's baseline period, priority, source and
    definition are that area's own (a new measure is defined and they are set for the area at once,
    so a later amendment of the measure never moves them); its title, unit and polarity are the
    measure's everywhere, and differing from them needs a reason. Nothing when all is as recorded."""
    area = values.area("area", area)
    if current is None:
        defined = define(None, measure, details)
        return [defined, MeasureSetForArea(measure=measure, area=area, **{n: getattr(defined, n) for n in AREA_DETAILS})]
    checked = check_details(details)
    shared = {name: value for name, value in checked.items() if name not in AREA_DETAILS}
    in_area = {name: value for name, value in checked.items() if name in AREA_DETAILS}
    own = current.areas.get(area, {})
    differing = [name for name, value in shared.items() if getattr(current, name) != value]
    if not differing and all(own.get(name) == value for name, value in in_area.items()):
        return []
    if current.retired:
        raise MeasureIsRetired(measure, current.retired_reason, "changing its details")
    events: list[MeasureDefined | MeasureAmended | MeasureSetForArea] = []
    if differing:
        if not reason or not str(reason).strip():
            raise InvalidValue(
                "reason",
                f"a reason, since measure {measure} exists with a different {', '.join(differing)} "
                f"(a measure's title, unit and polarity are the same in every area)",
                reason,
            )
        events.append(amend(current, measure, reason, {name: shared[name] for name in differing}))
    if any(own.get(name) != value for name, value in in_area.items()):
        events.append(set_for_area(current, measure, area, reason, in_area))
    return events
