"""Measures and the figures recorded for them."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from . import registry


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


@registry.event("MeasureDefined")
class MeasureDefined(_Event):
    measure: str
    title: str
    priority: str
    unit: str
    polarity: str
    baseline_period: str
    source: str = ""
    definition: str = ""


@registry.event("FigureRecorded")
class FigureRecorded(_Event):
    measure: str
    area: str
    period: str
    value: str  # an exact decimal, as text: never a binary float
    source: str = ""
    note: str = ""
