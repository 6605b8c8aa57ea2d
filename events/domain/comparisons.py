"""A figure against its baseline: change, whole-percent change and direction, in exact decimals.

Percentages are rounded half away from zero ("a 12% reduction" for 52 -> 46, -11.54%), computed
with fractions so no binary floating point or decimal context precision can shift a tie.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

REDUCTION, INCREASE, NO_CHANGE = "reduction", "increase", "no change"


def round_half_away(value: Fraction) -> int:
    whole, rest = divmod(abs(value.numerator), value.denominator)
    if 2 * rest >= value.denominator:
        whole += 1
    return -whole if value < 0 else whole


@dataclass(frozen=True)
class Comparison:
    value: Decimal
    baseline: Decimal

    @property
    def change(self) -> Decimal:
        return self.value - self.baseline

    @property
    def direction(self) -> str:
        if self.value < self.baseline:
            return REDUCTION
        if self.value > self.baseline:
            return INCREASE
        return NO_CHANGE

    @property
    def change_percent(self) -> int | None:
        """Signed whole percent (-12 for a 12% reduction); None against a zero baseline."""
        if self.baseline == 0:
            return None
        return round_half_away(Fraction(self.change) * 100 / abs(Fraction(self.baseline)))


def compare(value: str | Decimal, baseline: str | Decimal) -> Comparison:
    return Comparison(Decimal(value), Decimal(baseline))


def format_number(value: Decimal) -> str:
    """28675 -> '28,675'; 12.50 -> '12.50' (the digits as recorded, grouped)."""
    return f"{value:,}"


def format_value(value: Decimal, unit: str) -> str:
    """A figure as prose shows it: counts grouped, percentages with %, money in pounds."""
    if unit == "percent":
        return f"{format_number(value)}%"
    if unit == "money":
        sign = "-" if value < 0 else ""
        return f"{sign}£{format_number(abs(value))}"
    return format_number(value)
