"""Measures: what is counted, for which national priority, and which way is better.

Stream: `measure-{measure}`.
"""

from __future__ import annotations

from typing import Optional

from . import registry
from .fields import DomainEvent, PeriodText, Polarity, Priority, Reason, Slug, Text, Unit


@registry.event("MeasureDefined")
class MeasureDefined(DomainEvent):
    measure: Slug
    title: Text
    priority: Priority
    unit: Unit
    polarity: Polarity
    baseline_period: PeriodText
    source: Text = ""
    definition: Text = ""


@registry.event("MeasureAmended")
class MeasureAmended(DomainEvent):
    """Only the fields given change; the measure id and priority's meaning stay."""

    measure: Slug
    reason: Reason
    title: Optional[Text] = None
    priority: Optional[Priority] = None
    unit: Optional[Unit] = None
    polarity: Optional[Polarity] = None
    baseline_period: Optional[PeriodText] = None
    source: Optional[Text] = None
    definition: Optional[Text] = None


@registry.event("MeasureSetForArea")
class MeasureSetForArea(DomainEvent):
    """What a measure is in one area where forces differ: its baseline period (one force's is the
    12 months to March 2020, another's the year ending December 2019), the priority it is filed
    under (robbery under serious violence or under neighbourhood crime), its source and definition.
    Only the fields given change; the rest stay the area's own or, never set, the measure's."""

    measure: Slug
    area: Slug
    baseline_period: Optional[PeriodText] = None
    priority: Optional[Priority] = None
    source: Optional[Text] = None
    definition: Optional[Text] = None
    reason: Optional[Text] = None  # needed when it changes what the area had set


@registry.event("MeasureRetired")
class MeasureRetired(DomainEvent):
    measure: Slug
    reason: Reason


def measure_stream(measure: str) -> str:
    return f"measure-{measure}"
