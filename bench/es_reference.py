"""The same appends done with the `eventsourcing` library (9.5) on SQLite: the reference to beat.

One aggregate per stream; its first event is the aggregate's creation, every later one a
`Sampled` event, each carrying the workload's payload. The application runs with
PERSISTENCE_MODULE=eventsourcing.sqlite on a database file, WAL mode, synchronous=FULL
(SQLite's default, checked and recorded by `settings`).
"""

from __future__ import annotations

from pathlib import Path

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


class BatchedWriter:
    """Takes one save's worth at a time: several streams' payloads, each stream a new
    aggregate with all its events pending, saved together (one transaction)."""

    def __init__(self, path: Path) -> None:
        self.app = open_application(path)

    def __call__(self, streams: list[list[dict]]) -> None:
        pending = []
        for payloads in streams:
            aggregate = FigureStream(payload=payloads[0])
            for data in payloads[1:]:
                aggregate.sample(payload=data)
            pending.append(aggregate)
        self.app.save(*pending)

    def close(self) -> None:
        self.app.close()


class SingleWriter:
    """Takes (stream index, payload) and saves that one event: the stream's aggregate is
    created by its first payload and kept in memory for the later ones."""

    def __init__(self, path: Path) -> None:
        self.app = open_application(path)
        self.aggregates: dict[int, FigureStream] = {}

    def __call__(self, unit: tuple[int, dict]) -> None:
        index, data = unit
        aggregate = self.aggregates.get(index)
        if aggregate is None:
            aggregate = self.aggregates[index] = FigureStream(payload=data)
        else:
            aggregate.sample(payload=data)
        self.app.save(aggregate)

    def close(self) -> None:
        self.app.close()
