"""Field types shared by the domain's event schemas: one concept, one name, one rule."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from .errors import InvalidValue, UnpublishableText

from .periods import Period, PeriodError

SLUG = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
DECIMAL_TEXT = re.compile(r"^-?(?:0|[1-9]\d*)(?:\.\d+)?$")

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
Unit = Literal["count", "rate-per-1000", "percent", "money", "percentage-points"]
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
    if not DECIMAL_TEXT.match(value):
        raise ValueError(f"expected an exact decimal such as 46 or 12.5 (no thousands separators), found {value!r}")
    if value.startswith("-") and not value[1:].replace(".", "").strip("0"):  # every digit 0
        return value[1:]  # -0 is 0: recorded, compared and shown without a sign (its places kept: -0.0 is 0.0)
    return value


# What XML 1.0 (the feeds), HTML and iCalendar cannot carry, so no text may hold it: C0 controls but
# tab, line feed and carriage return; DEL and the C1 controls; lone surrogates; the noncharacters.
_UNCARRIED = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef"
    + "".join(f"{chr(plane + 0xFFFE)}{chr(plane + 0xFFFF)}" for plane in range(0, 0x110000, 0x10000))
    + "]"
)


UNCARRIED = _UNCARRIED  # for a writer that escapes such characters rather than replacing them (JSON)


def uncarried(value: str) -> tuple[int, str] | None:
    """The first character of `value` that XML, HTML or iCalendar cannot carry, with its index, or None."""
    match = _UNCARRIED.search(value)
    return None if match is None else (match.start(), match.group())


# The white space `trim` takes off a text's ends: str.strip()'s, less VT, FF, the information separators
# and NEL, which no text may carry. Trimming those away would accept in silence, as a shorter text, what
# the boundary refuses naming the character and where it is.
TRIMMED = "\t\n\r \xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"


def trim(value: str) -> str:
    """`value` without the white space at its ends that can be published (see TRIMMED)."""
    return value.strip(TRIMMED)


def carried(value: str) -> str:
    """`value` with every character XML, HTML or iCalendar cannot carry replaced by U+FFFD: how text
    recorded before the boundary refused such characters is published."""
    return _UNCARRIED.sub("\ufffd", value)


def _text(value: str) -> str:
    if uncarried(value) is not None:
        raise UnpublishableText("", value)
    return value


Slug = Annotated[str, Field(pattern=SLUG, min_length=1, max_length=80)]
PeriodText = Annotated[str, AfterValidator(_period)]
DecimalText = Annotated[str, AfterValidator(_decimal)]
Reason = Annotated[str, Field(min_length=1, max_length=2000), AfterValidator(_text)]
Text = Annotated[str, Field(max_length=20_000), AfterValidator(_text)]


class DomainEvent(BaseModel):
    """Base of every domain event schema: unknown fields are refused, values are immutable.

    A rule that builds an event from values its own checks let through still refuses in the domain's
    words: the schema's refusal becomes an InvalidValue naming the field."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise invalid_value(exc) from None


def invalid_value(exc: ValidationError) -> InvalidValue:
    """The first problem pydantic found, as the domain words it."""
    error = exc.errors()[0]
    field = ".".join(str(part) for part in error["loc"]) or "data"
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, UnpublishableText):
        return UnpublishableText(field, cause.found)
    if error["type"] == "string_unicode" and isinstance(error.get("input"), str):  # a lone surrogate
        return UnpublishableText(field, error["input"])
    message = error["msg"].removeprefix("Value error, ")
    return InvalidValue(field, message.removeprefix("expected "), error.get("input"))
