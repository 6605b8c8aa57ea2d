"""The SQLite cases: appends (ours and raw `sqlite3`), reading and folding, verifying.

"Raw" is the limit (bench/contenders.py): `sqlite3` writing the same rows, in WAL mode with
synchronous=FULL. Its reads select the same columns from our own log file.
RawMultiRowWriter inserts those rows as our store does on SQLite, so the gap between it and ours
is what ours spends on validation, canonical JSON and the hash chain.
"""

from __future__ import annotations

import json
import sqlite3
from itertools import chain
from json.scanner import make_scanner
from pathlib import Path
from time import perf_counter
from typing import Iterable

from events import EventStore
from events.database import make_engine, upgrade

from . import contenders
from .contenders import COLUMNS, raw_schema
from .workload import Batch, registry

RAW_SCHEMA = raw_schema("INTEGER")
RAW_INSERT = f"INSERT INTO events ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"


def open_store(path: Path) -> EventStore:
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    return EventStore(engine, registry)


class OursWriter(contenders.OursWriter):
    def __init__(self, path: Path) -> None:
        super().__init__(open_store(path))


def raw_connect(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=FULL")
    return connection


def raw_settings(connection: sqlite3.Connection) -> dict:
    synchronous = connection.execute("PRAGMA synchronous").fetchone()[0]
    return {
        "journal_mode": connection.execute("PRAGMA journal_mode").fetchone()[0],
        "synchronous": {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}[synchronous],
    }


class RawWriter(contenders.RawWriter):
    """`sqlite3.executemany` (`execute` for one row) of a batch's rows, one transaction each."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.connection = raw_connect(path)
        self.connection.execute(RAW_SCHEMA)

    def commit(self, rows: list[tuple]) -> None:
        connection = self.connection
        connection.execute("BEGIN IMMEDIATE")
        self.insert(connection, rows)
        connection.execute("COMMIT")

    def insert(self, connection: sqlite3.Connection, rows: list[tuple]) -> None:
        if len(rows) == 1:
            connection.execute(RAW_INSERT, rows[0])
        else:
            connection.executemany(RAW_INSERT, rows)

    def close(self) -> None:
        self.connection.close()


class RawMultiRowWriter(RawWriter):
    """The same rows as RawWriter, inserted as ours inserts them on SQLite: multi-row INSERT
    statements of up to ROWS_PER_INSERT rows each (one statement step per statement)."""

    ROWS_PER_INSERT = 500

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.sql = f"INSERT INTO events ({COLUMNS}) VALUES " + ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"] * self.ROWS_PER_INSERT)

    def insert(self, connection: sqlite3.Connection, rows: list[tuple]) -> None:
        size = self.ROWS_PER_INSERT
        whole = len(rows) - len(rows) % size
        for start in range(0, whole, size):
            connection.execute(self.sql, list(chain.from_iterable(rows[start : start + size])))
        if whole < len(rows):
            super().insert(connection, rows[whole:])


def build_log(path: Path, batches: Iterable[Batch]) -> None:
    """Our log, for the read cases (not timed)."""
    writer = OursWriter(path)
    try:
        for batch in batches:
            writer(batch)
        writer.store.catch_up_tree()  # the tree as its readers keep it: verify checks it, not builds it
    finally:
        writer.close()


def ours_read_fold(path: Path) -> tuple[float, dict]:
    """Seconds to read the whole log with `read_all` and fold it into {stream: total value}."""
    store = EventStore(make_engine(f"sqlite:///{path}"), registry)
    try:
        start = perf_counter()
        totals: dict[str, int] = {}
        for event in store.read_all():
            totals[event.stream] = totals.get(event.stream, 0) + event.data["value"]
        return perf_counter() - start, totals
    finally:
        store.engine.dispose()


def raw_read_fold(path: Path) -> tuple[float, dict]:
    """The same fold over the same file: `sqlite3` select of the same columns, `json.loads`."""
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        loads = json.loads
        start = perf_counter()
        totals: dict[str, int] = {}
        cursor = connection.execute(f"SELECT {COLUMNS} FROM events ORDER BY position")
        for position, stream, version, type_, schema_version, data, metadata, recorded_at, prev_hash, digest in cursor:
            totals[stream] = totals.get(stream, 0) + loads(data)["value"]
        return perf_counter() - start, totals
    finally:
        connection.close()


def raw_read_fold_scanner(path: Path) -> tuple[float, dict]:
    """The raw fold again, decoding with what our store uses: the json module's C scanner
    called directly (json.loads minus its Python wrappers). Shown so the gain is not hidden."""
    scan = make_scanner(json.JSONDecoder())
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        start = perf_counter()
        totals: dict[str, int] = {}
        cursor = connection.execute(f"SELECT {COLUMNS} FROM events ORDER BY position")
        for position, stream, version, type_, schema_version, data, metadata, recorded_at, prev_hash, digest in cursor:
            totals[stream] = totals.get(stream, 0) + scan(data, 0)[0]["value"]
        return perf_counter() - start, totals
    finally:
        connection.close()


def ours_verify(path: Path) -> tuple[float, int]:
    """Seconds for `verify` to walk the whole chain."""
    store = EventStore(make_engine(f"sqlite:///{path}"), registry)
    try:
        start = perf_counter()
        report = store.verify()
        elapsed = perf_counter() - start
        if not report.ok:
            raise RuntimeError(f"the benchmark's own log does not verify: {report.breach}")
        return elapsed, report.checked
    finally:
        store.engine.dispose()
