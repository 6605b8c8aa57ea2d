"""The scorecard workload's events as `eventsourcing` 9.5 domain events (bench/bench_scorecard.py).

In a module of their own so their topics (module:class) are the same in every process.
"""

from __future__ import annotations

from pathlib import Path

from eventsourcing.application import Application
from eventsourcing.domain import DomainEvent


class MeasureDefined(DomainEvent):
    measure: str
    title: str
    priority: str
    unit: str
    polarity: str
    baseline_period: str


class FigureRecorded(DomainEvent):
    measure: str
    area: str
    period: str
    value: str


class FigureRevised(DomainEvent):
    measure: str
    area: str
    period: str
    value: str
    previous_value: str
    kind: str
    reason: str


class FigureWithdrawn(DomainEvent):
    measure: str
    area: str
    period: str
    reason: str


CLASSES = {cls.__name__: cls for cls in (MeasureDefined, FigureRecorded, FigureRevised, FigureWithdrawn)}


def open_application(path: Path) -> Application:
    """PERSISTENCE_MODULE=eventsourcing.sqlite on a file: WAL, synchronous=FULL (the library's default)."""
    return Application(env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(path)})
