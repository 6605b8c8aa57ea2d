"""Reference periods: explicit ISO 8601 intervals of whole months or of days.

`2021-01/2021-12` is January to December 2021; `2021-01-01/2021-12-31` the same in days. Both
ends are inclusive. The national baseline, the year ending June 2019, is `2018-07/2019-06`.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date

_MONTHS = re.compile(r"^(\d{4})-(\d{2})/(\d{4})-(\d{2})$")
_DAYS = re.compile(r"^(\d{4})-(\d{2})-(\d{2})/(\d{4})-(\d{2})-(\d{2})$")



class PeriodError(ValueError):
    """A reference period that is malformed or runs backwards."""


@dataclass(frozen=True, order=True)
class Period:
    start: date
    end: date  # inclusive
    in_months: bool

    @classmethod
    def parse(cls, text: str) -> "Period":
        if not isinstance(text, str):
            raise PeriodError(f"expected a period like 2021-01/2021-12 or 2021-01-01/2021-12-31, found {text!r}")
        try:
            if match := _MONTHS.match(text):
                y1, m1, y2, m2 = map(int, match.groups())
                start = date(y1, m1, 1)
                end = date(y2, m2, calendar.monthrange(y2, m2)[1])
                in_months = True
            elif match := _DAYS.match(text):
                y1, m1, d1, y2, m2, d2 = map(int, match.groups())
                start, end = date(y1, m1, d1), date(y2, m2, d2)
                in_months = False
            else:
                raise PeriodError(
                    f"expected a period like 2021-01/2021-12 (months) or 2021-01-01/2021-12-31 (days), found {text!r}"
                )
        except ValueError as exc:
            if isinstance(exc, PeriodError):
                raise
            raise PeriodError(f"{text!r} is not a real date range: {exc}") from None
        if end < start:
            raise PeriodError(f"period {text!r} ends before it starts")
        return cls(start, end, in_months)

    def __str__(self) -> str:
        # Formatted by hand: strftime is slow enough to show in a 10,000-figure import.
        start, end = self.start, self.end
        if self.in_months:
            return f"{start.year:04d}-{start.month:02d}/{end.year:04d}-{end.month:02d}"
        return f"{start.year:04d}-{start.month:02d}-{start.day:02d}/{end.year:04d}-{end.month:02d}-{end.day:02d}"

    @property
    def months(self) -> int | None:
        """Length in whole months, when the period is made of whole months."""
        whole = self.start.day == 1 and self.end.day == calendar.monthrange(self.end.year, self.end.month)[1]
        if not whole:
            return None
        return (self.end.year - self.start.year) * 12 + self.end.month - self.start.month + 1

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def same_length(self, other: "Period") -> bool:
        """12 months against 12 months; periods not of whole months compare by days."""
        if self.months is not None and other.months is not None:
            return self.months == other.months
        return self.days == other.days

    def label(self) -> str:
        """How a person says it: 'January to December 2021', 'year ending June 2019'."""
        months = self.months
        if months == 1:
            return f"{self.end:%B %Y}"
        if months == 12 and self.start.month == 1:
            return f"January to December {self.start.year}"
        if months == 12:
            return f"year ending {self.end:%B %Y}"
        if months is not None:
            if self.start.year == self.end.year:
                return f"{self.start:%B} to {self.end:%B %Y}"
            return f"{self.start:%B %Y} to {self.end:%B %Y}"
        return f"{self.start.day} {self.start:%B %Y} to {self.end.day} {self.end:%B %Y}"
