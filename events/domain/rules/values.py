"""Checks for single values, shared by commands and bulk import, so both word errors alike."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Any, Callable

from ..errors import InvalidValue, UnpublishableText
from ..areas import GSS_CODE, force_area
from ..fields import DECIMAL_TEXT, NATIONAL_PRIORITIES, SLUG, Polarity, Priority, RevisionKind, Unit, period_problem, uncarried
from ..periods import Period, PeriodError, read_period

_SLUG = re.compile(SLUG)
_LOOKS_GROUPED = re.compile(r"^-?\d{1,3}(?:[, ]\s*\d{3})+(?:\.\d+)?$")

PRIORITIES: tuple[str, ...] = Priority.__args__
UNITS: tuple[str, ...] = Unit.__args__
POLARITIES: tuple[str, ...] = Polarity.__args__
REVISION_KINDS: tuple[str, ...] = RevisionKind.__args__


def _one_of(choices: tuple[str, ...]) -> str:
    return "one of " + ", ".join(choices)


def slug(field: str, value: Any) -> str:
    if not isinstance(value, str) or not _SLUG.match(value) or len(value) > 80:
        raise InvalidValue(field, "an id of lower-case letters, digits and single hyphens, such as knife-crime", value)
    return value


def area(field: str, value: Any) -> str:
    """An area's id. A force may be named by its ONS code (E23000032) or its name ("Kent", "Kent
    Police"); a sub-area by its own id (coventry). An unknown code or name is refused."""
    if value is None or value == "":
        raise InvalidValue(field, "the area: a force's id, ONS code or name, or a sub-area's id", value, "none was named and no default area is set")
    force = force_area(value) if isinstance(value, str) else None
    if force is not None:
        return force.area
    if isinstance(value, str) and GSS_CODE.match(value.strip()):
        raise InvalidValue(
            field, "the ONS code of one of the 43 police force areas (E23000001-E23000039, W15000001-W15000004)", value
        )
    if isinstance(value, str) and _SLUG.match(value) and len(value) <= 80:
        return value
    raise InvalidValue(
        field,
        "a police force area's id (kent), ONS code (E23000032) or name (Kent Police), or a sub-area's id (coventry)",
        value,
    )


def period(field: str, value: Any) -> str:
    """The period in its one written form: 2022/23, 2022-11 and "rolling year to November 2022" are
    read as the intervals they name (events.domain.periods); anything else must be written out."""
    if isinstance(value, str) and period_problem(value) is None:
        return value
    try:
        return str(read_period(value))
    except PeriodError as exc:
        message = str(exc)
        if "ends before it starts" in message:
            raise InvalidValue(field, "a period that ends on or after its start", value) from None
        if "not a real date range" in message:
            raise InvalidValue(field, "a period of real dates", value, message.rsplit(": ", 1)[1]) from None
        if "not a financial year" in message or "is not a month" in message:
            raise InvalidValue(field, "a period such as 2021-01/2021-12 (months) or 2022/23 (a financial year)", value, message) from None
        raise InvalidValue(
            field, "a period such as 2021-01/2021-12 (months) or 2021-01-01/2021-12-31 (days)", value,
            "also accepted: 2022/23 (a financial year), 2022-11 or November 2022 (a month), rolling year to November 2022",
        ) from None


def is_decimal(value: str) -> bool:
    return bool(DECIMAL_TEXT.match(value))


# Police recorded crime goes back to the nineteenth century; a figure before 1900 is a typing error.
EARLIEST_YEAR = 1900


def plausible_period(field: str, value: str, latest_end: date) -> str:
    """A figure counts a period that is over: it ends by `latest_end` (today, or a configured margin
    ahead) and starts in 1900 or later. Checked on the period in its one written form, whatever
    notation it was typed in."""
    start, end = _bounds(value) if isinstance(value, str) else _bounds.__wrapped__(value)
    if start.year < EARLIEST_YEAR:
        raise InvalidValue(field, f"a period that starts in {EARLIEST_YEAR} or later", value)
    if end > latest_end:
        raise InvalidValue(
            field, f"a period that has ended by {latest_end.isoformat()}", value,
            f"it ends on {end.isoformat()}: a figure is for a period that is over",
        )
    return value


@lru_cache(maxsize=65536)
def _bounds(value: str) -> tuple[date, date]:
    """The first and last day of a period in its written form. Cached: a bulk import checks the same
    periods thousands of times."""
    period = Period.parse(value)
    return period.start, period.end


def decimal(field: str, value: Any) -> str:
    if isinstance(value, str) and DECIMAL_TEXT.match(value):
        return value
    hint = ""
    if isinstance(value, str) and _LOOKS_GROUPED.match(value.strip()):
        hint = f"write {re.sub(r'[, ]', '', value.strip())}: no thousands separators or spaces"
    elif isinstance(value, float):
        hint = "write the value as text, not a binary floating-point number"
    raise InvalidValue(field, "an exact decimal such as 46 or 12.5", value, hint)


def choice(choices: tuple[str, ...]) -> Callable[[str, Any], str]:
    def check(field: str, value: Any) -> str:
        if value not in choices:
            raise InvalidValue(field, _one_of(choices), value)
        return value

    return check


priority = choice(PRIORITIES)
national_priority = choice(NATIONAL_PRIORITIES)
unit = choice(UNITS)
polarity = choice(POLARITIES)
kind = choice(REVISION_KINDS)


def text(field: str, value: Any, *, required: bool = False, limit: int = 20_000) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidValue(field, "text", value)
    if required and not value.strip():
        raise InvalidValue(field, "some text", value)
    if len(value) > limit:
        raise InvalidValue(field, f"at most {limit:,} characters", f"{len(value):,} characters")
    if uncarried(value) is not None:
        raise UnpublishableText(field, value)
    return value


def reason(field: str, value: Any, what: str) -> str:
    """A reason is required: `what` says for what ("a reason for revising ...")."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidValue(field, what, value)
    if len(value) > 2000:
        raise InvalidValue(field, "a reason of at most 2,000 characters", f"{len(value):,} characters")
    if uncarried(value) is not None:
        raise UnpublishableText(field, value)
    return value


def same_value(a: str, b: str) -> bool:
    """46 and 46.0 are the same value: figures compare as exact decimals."""
    return a == b or Decimal(a) == Decimal(b)
