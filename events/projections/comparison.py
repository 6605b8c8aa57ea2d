"""A scorecard line's change against its baseline: the change, whole percent, direction (as
events.domain.comparisons computes them for the narrative's bindings) and the assessment given
the measure's polarity. A percentage or a rate changes in points: its whole percent is None.

Values are decimal text; the change is computed exactly whatever the number of digits, and the
percentage is rounded half away from zero, as published statements do: 52 -> 46 is -11.538...%,
reported as -12 ("a 12% reduction").
"""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple

from ..domain.comparisons import EXACT as _EXACT
from ..domain.comparisons import INCREASE, NO_CHANGE, REDUCTION, in_points, percent_change, round_half_away

IMPROVING, WORSENING = "improving", "worsening"


class LineChange(NamedTuple):
    change: str  # value minus baseline, exact decimal text (in points for a percentage or a rate)
    change_percent: int | None  # signed whole percent; None against zero, and for a percentage or a rate
    direction: str  # reduction, increase, no change
    assessment: str  # improving, worsening, no change (given the measure's polarity)


def decimal_text(value: Decimal) -> str:
    """Plain decimal text, never scientific notation: 1E+3 is written 1000."""
    return format(value, "f")


def assessment_of(direction: str, polarity: str) -> str:
    if direction == NO_CHANGE:
        return NO_CHANGE
    better = REDUCTION if polarity == "lower-is-better" else INCREASE
    return IMPROVING if direction == better else WORSENING


def line_change(value: str, baseline: str, polarity: str, unit: str = "count") -> LineChange:
    """The latest `value` against the `baseline` value, both decimal text.

    The same arithmetic as events.domain.comparisons (the narrative's bindings), without building
    its objects: a scorecard as of a past moment compares a thousand lines.
    """
    latest, base = Decimal(value), Decimal(baseline)
    change = _EXACT.subtract(latest, base)
    direction = REDUCTION if change < 0 else INCREASE if change > 0 else NO_CHANGE
    percent = None if in_points(unit) else percent_change(change, base)
    return LineChange(decimal_text(change), percent, direction, assessment_of(direction, polarity))


def exact_sum(values: list[Decimal]) -> Decimal:
    total = Decimal(0)
    for value in values:
        total = _EXACT.add(total, value)
    return total


def mean(values: list[Decimal], places: int) -> Decimal:
    """The exact mean rounded half away from zero to `places` decimal places."""
    numerator, denominator = exact_sum(values).as_integer_ratio()
    scaled = round_half_away(numerator * 10**places, denominator * len(values))
    return Decimal(scaled).scaleb(-places, _EXACT)
