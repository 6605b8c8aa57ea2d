"""A figure against its baseline: change, whole-percent change and direction, in exact decimals.

Percentages are rounded half away from zero ("a 12% reduction" for 52 -> 46, -11.54%), computed
on integer ratios so no binary floating point or decimal context precision can shift a tie. The
scorecard projection (events.projections.comparison) uses the same two functions.
"""

from __future__ import annotations

import decimal
from dataclasses import dataclass
from decimal import Decimal

REDUCTION, INCREASE, NO_CHANGE = "reduction", "increase", "no change"

# Enough precision that subtracting any two decimals the schemas accept is exact.
EXACT = decimal.Context(
    prec=decimal.MAX_PREC, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN, traps=[decimal.InvalidOperation]
)


def round_half_away(numerator: int, denominator: int) -> int:
    """numerator / denominator to the nearest integer, halves away from zero (ROUND_HALF_UP)."""
    negative = (numerator < 0) != (denominator < 0)
    quotient, remainder = divmod(abs(numerator), abs(denominator))
    if 2 * remainder >= abs(denominator):
        quotient += 1
    return -quotient if negative else quotient


def percent_change(change: Decimal, baseline: Decimal) -> int | None:
    """Signed whole percent of `change` against the baseline's size (-12 for a 12% reduction); None for a zero baseline."""
    if not baseline:
        return None
    change_num, change_den = change.as_integer_ratio()
    base_num, base_den = baseline.as_integer_ratio()
    return round_half_away(100 * change_num * base_den, change_den * abs(base_num))


@dataclass(frozen=True)
class Comparison:
    value: Decimal
    baseline: Decimal

    @property
    def change(self) -> Decimal:
        return EXACT.subtract(self.value, self.baseline)

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
        return percent_change(self.change, self.baseline)


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
