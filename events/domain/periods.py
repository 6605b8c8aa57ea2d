"""Reference periods: explicit ISO 8601 intervals of whole months or of days.

`2021-01/2021-12` is January to December 2021; `2021-01-01/2021-12-31` the same in days. Both
ends are inclusive. The national baseline, the year ending June 2019, is `2018-07/2019-06`.

Forces also write periods in a few unambiguous notations, which `read_period` turns into the one
written form (and nothing else: anything else is refused as before):

    2022/23                              the financial year April 2022 to March 2023  2022-04/2023-03
    2022-11, November 2022               one month                                    2022-11/2022-11
    rolling year to November 2022        the 12 months ending that month              2021-12/2022-11
    year ending June 2019, 12 months to March 2020                                    2018-07/2019-06
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


_MONTH_NAMES = {name.lower(): number for number, name in enumerate(calendar.month_name) if name}
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_FINANCIAL_YEAR = re.compile(r"^(\d{4})/(\d{2})$")
_NAMED_MONTH = re.compile(r"^([A-Za-z]+) (\d{4})$")
_YEAR_TO = re.compile(r"^(?:rolling year to|year ending|year to|12 months to|12 months ending) ([A-Za-z]+) (\d{4})$", re.I)
NOTATIONS = "2021-01/2021-12 (months), 2021-01-01/2021-12-31 (days), 2022/23 (a financial year), 2022-11 or November 2022 (a month), rolling year to November 2022"


def _month(name: str, text: str) -> int:
    number = _MONTH_NAMES.get(name.lower())
    if number is None:
        raise PeriodError(f"{text!r}: {name!r} is not a month")
    return number


def _months(y1: int, m1: int, y2: int, m2: int) -> Period:
    return Period.parse(f"{y1:04d}-{m1:02d}/{y2:04d}-{m2:02d}")


def read_period(text: str) -> Period:
    """A period in its written form or one of the notations above (raises PeriodError)."""
    if not isinstance(text, str):
        return Period.parse(text)
    written = " ".join(text.split())
    if match := _FINANCIAL_YEAR.match(written):
        first, second = int(match[1]), int(match[2])
        if second != (first + 1) % 100:
            raise PeriodError(f"{text!r} is not a financial year: the second year of {first}/.. is {(first + 1) % 100:02d}")
        return _months(first, 4, first + 1, 3)
    if match := _MONTH.match(written):
        return _months(int(match[1]), int(match[2]), int(match[1]), int(match[2])) if 1 <= int(match[2]) <= 12 else Period.parse(text)
    if match := _NAMED_MONTH.match(written):
        year, month = int(match[2]), _month(match[1], text)
        return _months(year, month, year, month)
    if match := _YEAR_TO.match(written):
        year, month = int(match[2]), _month(match[1], text)
        start_year, start_month = (year, month + 1) if month < 12 else (year + 1, 1)
        return _months(start_year - 1, start_month, year, month)
    return Period.parse(text)

