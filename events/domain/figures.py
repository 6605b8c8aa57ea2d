"""Figures: a value for one measure, one area, one reference period; revised or withdrawn.

Stream: `figure-{measure}/{area}/{period}`, so each figure's revisions are one versioned stream.
Values are exact decimals written as text, never binary floats.
"""

from __future__ import annotations

from . import registry
from .fields import DecimalText, DomainEvent, PeriodText, Reason, RevisionKind, Slug, Text


@registry.event("FigureRecorded")
class FigureRecorded(DomainEvent):
    measure: Slug
    area: Slug
    period: PeriodText
    value: DecimalText
    source: Text = ""
    note: Text = ""


@registry.event("FigureRevised")
class FigureRevised(DomainEvent):
    """A new value: `revision` for planned late data, `correction` for an error."""

    measure: Slug
    area: Slug
    period: PeriodText
    value: DecimalText
    previous_value: DecimalText
    kind: RevisionKind
    reason: Reason
    source: Text = ""
    note: Text = ""


@registry.event("FigureWithdrawn")
class FigureWithdrawn(DomainEvent):
    measure: Slug
    area: Slug
    period: PeriodText
    reason: Reason


def figure_stream(measure: str, area: str, period: str) -> str:
    return f"figure-{measure}/{area}/{period}"
