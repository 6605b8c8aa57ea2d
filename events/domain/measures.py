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


@registry.event("MeasureRetired")
class MeasureRetired(DomainEvent):
    measure: Slug
    reason: Reason


def measure_stream(measure: str) -> str:
    return f"measure-{measure}"
