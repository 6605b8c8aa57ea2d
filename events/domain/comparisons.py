"""Comparisons and changes, in exact decimals, and numbers in an edition's style.

A *comparison* names the figure a value is set against: the measure's `baseline`, the `previous`
period of the same length, or the same period a `year-earlier`. A *change* is the arithmetic of
one value against another: the exact difference, its direction and, for counts and money, the
percent of the earlier figure (rounded half away from zero: 52 -> 46 is -11.54%, "a 12%
reduction"). A change in a percentage or a rate is stated in points (64.7% -> 75.0% is "up 10.3
percentage points"), never as a percent of a percentage (ONS and GSS presentation guidance).

Percentages are computed on integer ratios, so no binary floating point or decimal context
precision can shift a tie. The scorecard projection (events.projections.comparison) uses the
same functions.
"""

from __future__ import annotations

import calendar
import decimal
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import NamedTuple

from .periods import Period

REDUCTION, INCREASE, NO_CHANGE = "reduction", "increase", "no change"

# Enough precision that subtracting any two decimals the schemas accept is exact.
EXACT = decimal.Context(
    prec=decimal.MAX_PREC, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN, traps=[decimal.InvalidOperation]
)

# -- comparisons ---------------------------------------------------------------------------------

BASELINE, PREVIOUS, YEAR_EARLIER = "baseline", "previous", "year-earlier"
COMPARISONS: tuple[str, ...] = (BASELINE, PREVIOUS, YEAR_EARLIER)


class Comparison(NamedTuple):
    """A named comparison of one figure: the period it is set against and how the page names it."""

    name: str  # baseline, previous, year-earlier
    period: str  # the period compared against
    label: str  # "the baseline (year ending June 2019)", "the previous 12 months", ...


def _shift_months(day: date, months: int) -> date:
    month = day.year * 12 + day.month - 1 + months
    year, month = divmod(month, 12)
    return date(year, month + 1, 1)


def comparison_period(name: str, period: str, baseline_period: str) -> str | None:
    """The period `name` sets `period` against, or None when there is none (the baseline itself;
    29 February a year earlier)."""
    if name == BASELINE:
        return None if period == baseline_period else baseline_period
    current = Period.parse(period)
    months = current.months
    if name == PREVIOUS:
        if months is not None:
            start = _shift_months(current.start, -months)
            end = _shift_months(current.start, 0) - timedelta(days=1)
            return str(Period(start, end, current.in_months))
        length = timedelta(days=current.days)
        return str(Period(current.start - length, current.end - length, False))
    if name == YEAR_EARLIER:
        if months is not None:
            start = _shift_months(current.start, -12)
            last = _shift_months(current.end, -12)
            end = last.replace(day=calendar.monthrange(last.year, last.month)[1])
            return str(Period(start, end, current.in_months))
        try:
            return str(Period(current.start.replace(year=current.start.year - 1), current.end.replace(year=current.end.year - 1), False))
        except ValueError:
            return None
    raise ValueError(f"expected a comparison, one of {', '.join(COMPARISONS)}; found {name!r}")


def _length_words(period: Period) -> str:
    months = period.months
    if months == 12:
        return "12 months"
    if months == 1:
        return "month"
    if months == 3:
        return "quarter"
    if months is not None:
        return f"{months} months"
    return f"{period.days} days"


def comparison_label(name: str, against: str) -> str:
    """How the page names a comparison: 'the baseline (year ending June 2019)', 'the previous 12 months'."""
    period = Period.parse(against)
    if name == BASELINE:
        return f"the baseline ({period.label()})"
    if name == PREVIOUS:
        return f"the previous {_length_words(period)} ({period.label()})"
    return f"the same period a year earlier ({period.label()})"


def comparison(name: str, period: str, baseline_period: str) -> Comparison | None:
    against = comparison_period(name, period, baseline_period)
    if against is None:
        return None
    return Comparison(name, against, comparison_label(name, against))


# -- units ---------------------------------------------------------------------------------------

# Units whose changes are differences in points, never percents of the figure.
POINT_UNITS = {"percent": "percentage-points", "percentage-points": "percentage-points", "rate-per-1000": "points-per-1000"}
CHANGE_UNIT_WORDS = {"percentage-points": ("percentage point", "percentage points"), "points-per-1000": ("point per 1,000", "points per 1,000")}


def in_points(unit: str) -> bool:
    """A percentage or a rate changes in points: its relative change is never the headline."""
    return unit in POINT_UNITS


def change_unit(unit: str) -> str:
    """The unit a change of `unit` is stated in: percentage-points for percent, else the unit itself."""
    return POINT_UNITS.get(unit, unit)


# -- arithmetic ----------------------------------------------------------------------------------


def round_half_away(numerator: int, denominator: int) -> int:
    """numerator / denominator to the nearest integer, halves away from zero (ROUND_HALF_UP)."""
    negative = (numerator < 0) != (denominator < 0)
    quotient, remainder = divmod(abs(numerator), abs(denominator))
    if 2 * remainder >= abs(denominator):
        quotient += 1
    return -quotient if negative else quotient


def percent_change(change: Decimal, baseline: Decimal, places: int = 0) -> int | Decimal | None:
    """Signed percent of `change` against the baseline's size, to `places` decimal places
    (-12 for a 12% reduction; an int when places is 0); None for a zero baseline."""
    if not baseline:
        return None
    change_num, change_den = change.as_integer_ratio()
    base_num, base_den = baseline.as_integer_ratio()
    scaled = round_half_away(100 * 10**places * change_num * base_den, change_den * abs(base_num))
    if places == 0:
        return scaled
    return Decimal(scaled).scaleb(-places, EXACT)


def direction_of(change: Decimal) -> str:
    return REDUCTION if change < 0 else INCREASE if change > 0 else NO_CHANGE


@dataclass(frozen=True)
class Change:
    """One value against an earlier one, in the measure's unit."""

    value: Decimal
    against: Decimal
    unit: str = "count"

    @property
    def change(self) -> Decimal:
        return EXACT.subtract(self.value, self.against)

    @property
    def direction(self) -> str:
        return direction_of(self.change)

    def percent(self, places: int = 0) -> int | Decimal | None:
        """Signed percent of the earlier figure; None against zero, and for a percentage or a rate
        (whose change is in points)."""
        if in_points(self.unit):
            return None
        return percent_change(self.change, self.against, places)

    @property
    def change_percent(self) -> int | None:
        return self.percent(0)  # type: ignore[return-value]


def change_of(value: str | Decimal, against: str | Decimal, unit: str = "count") -> Change:
    return Change(Decimal(value), Decimal(against), unit)


# -- numbers in an edition's style ---------------------------------------------------------------


@dataclass(frozen=True)
class NumberStyle:
    """How an edition prints numbers. The seed's style is the default: whole percents, counts
    grouped with commas (28,675). Another force prints one-decimal percents and bare counts."""

    percent_places: int = 0
    separators: bool = True

    def number(self, value: Decimal) -> str:
        """28675 -> '28,675' (or '28675'); 12.50 -> '12.50': the digits as recorded."""
        return f"{value:,}" if self.separators else format(value, "f")

    def percent(self, percent: int | Decimal) -> str:
        """A percent as computed at this style's places, without sign: '12%', '33.9%'."""
        magnitude = abs(percent)
        text = str(magnitude) if isinstance(magnitude, int) else format(magnitude, f".{self.percent_places}f")
        return f"{text}%"

    def value(self, value: Decimal, unit: str) -> str:
        """A figure as prose shows it: counts grouped, percentages with %, money in pounds."""
        if unit == "percent":
            return f"{self.number(value)}%"
        if unit == "money":
            sign = "-" if value < 0 else ""
            return f"{sign}£{self.number(abs(value))}"
        return self.number(value)

    def size(self, change: Decimal, unit: str) -> str:
        """The size of a change, with its unit where it is in points: '70', '10.3 percentage points'."""
        magnitude = abs(change)
        words = CHANGE_UNIT_WORDS.get(change_unit(unit))
        if words is None:
            return self.value(magnitude, unit)
        return f"{self.number(magnitude)} {words[0] if magnitude == 1 else words[1]}"

    def signed(self, change: Decimal, unit: str) -> str:
        """A change with its sign as prose writes it: '-6', '+10.3 percentage points'."""
        size = self.size(change, unit)
        return size if change == 0 else ("-" if change < 0 else "+") + size

    def as_data(self) -> dict[str, object]:
        return {"percent_places": self.percent_places, "separators": self.separators}


SEED_STYLE = NumberStyle()


def style_of(data: dict | None) -> NumberStyle:
    if not data:
        return SEED_STYLE
    return NumberStyle(int(data.get("percent_places", 0)), bool(data.get("separators", True)))


def format_number(value: Decimal) -> str:
    """28675 -> '28,675' in the seed's style."""
    return SEED_STYLE.number(value)


def format_value(value: Decimal, unit: str, style: NumberStyle = SEED_STYLE) -> str:
    return style.value(value, unit)
