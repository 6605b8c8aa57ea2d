"""The same appends done with the `eventsourcing` library (9.5) on SQLite: the reference to beat.

One aggregate per stream; its first event is the aggregate's creation, every later one a
`Sampled` event, each carrying the workload's payload. The application runs with
PERSISTENCE_MODULE=eventsourcing.sqlite on a database file, WAL mode, synchronous=FULL
(SQLite's default, checked and recorded by `settings`).
"""

from __future__ import annotations

from pathlib import Path
from time import perf_counter

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event


class FigureStream(Aggregate):
    def __init__(self, payload: dict) -> None:
        self.samples = 1

    @event("Sampled")
    def sample(self, payload: dict) -> None:
        self.samples += 1


class BenchApplication(Application):
    pass


def open_application(path: Path) -> BenchApplication:
    return BenchApplication(env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(path)})


def settings(app: BenchApplication) -> dict:
    """The SQLite settings the library's connections actually run with."""
    with app.recorder.datastore.transaction(commit=False) as cursor:
        cursor.execute("PRAGMA journal_mode")
        journal_mode = cursor.fetchone()[0]
        cursor.execute("PRAGMA synchronous")
        synchronous = cursor.fetchone()[0]
    return {"journal_mode": journal_mode, "synchronous": {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}[synchronous]}


def append_batched(path: Path, streams: list[list[dict]], aggregates_per_save: int) -> float:
    """Seconds to create one aggregate per stream with all its events pending, saving
    `aggregates_per_save` aggregates per call (one transaction each)."""
    app = open_application(path)
    try:
        start = perf_counter()
        for first in range(0, len(streams), aggregates_per_save):
            pending = []
            for payloads in streams[first : first + aggregates_per_save]:
                aggregate = FigureStream(payload=payloads[0])
                for data in payloads[1:]:
                    aggregate.sample(payload=data)
                pending.append(aggregate)
            app.save(*pending)
        return perf_counter() - start
    finally:
        app.close()


def append_single(path: Path, rounds: list[list[dict]]) -> float:
    """Seconds to save one event per call: round 0 creates one aggregate per payload, each
    later round adds one event to each of them in turn."""
    app = open_application(path)
    try:
        start = perf_counter()
        aggregates = []
        for data in rounds[0]:
            aggregate = FigureStream(payload=data)
            app.save(aggregate)
            aggregates.append(aggregate)
        for payloads in rounds[1:]:
            for aggregate, data in zip(aggregates, payloads):
                aggregate.sample(payload=data)
                app.save(aggregate)
        return perf_counter() - start
    finally:
        app.close()
