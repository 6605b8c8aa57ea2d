"""Times and numbers as the published documents write them. Every time comes from an event, never a clock."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo

from events.domain.comparisons import SEED_STYLE, NumberStyle, change_of, in_points
from events.domain.periods import Period

LONDON = ZoneInfo("Europe/London")
MINUS = "\u2212"  # a real minus sign: screen readers say "minus", and it does not wrap away from its digits


def instant(text: str) -> datetime:
    """An ISO 8601 time with an offset, or a recorded UTC time ending in Z, as an aware datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def london(text: str) -> datetime:
    return instant(text).astimezone(LONDON)


@lru_cache(maxsize=4096)
def display_time(text: str) -> str:
    """'Tuesday 1 February 2022 09:30 GMT': the zone's abbreviation says whether it is BST or GMT."""
    moment = london(text)
    return f"{moment:%A} {moment.day} {moment:%B %Y %H:%M} {moment.tzname()}"


def iso_london(text: str) -> str:
    """The machine-readable form for <time datetime>: London wall-clock time with its offset, to the second."""
    return london(text).isoformat(timespec="seconds")


@lru_cache(maxsize=4096)
def utc(text: str) -> datetime:
    return instant(text).astimezone(timezone.utc)


def period_label(period: str | None) -> str:
    if not period:
        return ""
    return Period.parse(period).label()


def value_text(value: str | None, unit: str, style: NumberStyle = SEED_STYLE) -> str:
    """A figure as the statement prints it: 28,675; 58%; £1,200; a dash for none."""
    if value is None:
        return "—"
    return style.value(Decimal(value), unit).replace("-", MINUS)


def signed(value: str | None, unit: str, style: NumberStyle = SEED_STYLE) -> str:
    """A change with its sign: +142, −9,657; +0.5 percentage points for a percentage, points per
    1,000 for a rate."""
    if value is None:
        return "—"
    return style.signed(Decimal(value), unit).replace("-", MINUS)


def signed_percent(percent, style: NumberStyle = SEED_STYLE) -> str:
    if percent is None:
        return "—"
    sign = "+" if percent > 0 else MINUS if percent < 0 else ""
    return sign + style.percent(percent)


def styled_percent(value: str | None, against: str | None, unit: str, style: NumberStyle = SEED_STYLE):
    """The percent change at the style's places, or None (no figures, against zero, or in points)."""
    if value is None or against is None or in_points(unit):
        return None
    return change_of(value, against, unit).percent(style.percent_places)
