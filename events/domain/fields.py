"""Field types shared by the domain's event schemas: one concept, one name, one rule."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from .periods import Period, PeriodError

SLUG = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
_DECIMAL = re.compile(r"^-?(?:0|[1-9]\d*)(?:\.\d+)?$")

Priority = Literal[
    "homicide",
    "serious-violence",
    "drugs-county-lines",
    "neighbourhood-crime",
    "victim-satisfaction",
    "cyber-crime",
    "local",
]
NATIONAL_PRIORITIES: tuple[str, ...] = Priority.__args__[:-1]  # every priority but "local"
Unit = Literal["count", "rate-per-1000", "percent", "money"]
Polarity = Literal["lower-is-better", "higher-is-better"]
RevisionKind = Literal["revision", "correction"]


@lru_cache(maxsize=65536)
def period_problem(value: str) -> str | None:
    """Why `value` is not a period in its one written form, or None. Cached: a bulk import
    checks the same periods thousands of times."""
    try:
        written = str(Period.parse(value))
    except PeriodError as exc:
        return str(exc)
    if written != value:
        return f"write the period as {written!r}, found {value!r}"
    return None


def _period(value: str) -> str:
    problem = period_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


def _decimal(value: str) -> str:
    if not _DECIMAL.match(value):
        raise ValueError(f"expected an exact decimal such as 46 or 12.5 (no thousands separators), found {value!r}")
    try:
        Decimal(value)
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid decimals
        raise ValueError(f"expected an exact decimal, found {value!r}") from None
    return value


Slug = Annotated[str, Field(pattern=SLUG, min_length=1, max_length=80)]
PeriodText = Annotated[str, AfterValidator(_period)]
DecimalText = Annotated[str, AfterValidator(_decimal)]
Reason = Annotated[str, Field(min_length=1, max_length=2000)]
Text = Annotated[str, Field(max_length=20_000)]


class DomainEvent(BaseModel):
    """Base of every domain event schema: unknown fields are refused, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)
