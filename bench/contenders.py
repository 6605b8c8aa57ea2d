"""What the SQLite and PostgreSQL contenders share: our store as a writer, and raw SQL's table and rows.

"Raw" writes the same rows into a table of the same shape (same columns, primary key and unique
(stream, version) constraint) with no validation, no canonical JSON and no hashing: its hash
columns hold a fixed 64-hex-digit text, so its rows are as long as ours.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

from events import EventStore
from events.records import format_time
from events.store import COLUMNS

from .workload import EVENT_TYPE, Batch

__all__ = ["COLUMNS", "OursWriter", "RawWriter", "raw_schema"]

# What our store writes as metadata for an append without any, so raw rows are as long.
RAW_METADATA = '{"actor":"system","source":"api"}'
PLACEHOLDER_HASH = "0" * 64


def raw_schema(position_type: str) -> str:
    return f"""
CREATE TABLE events (
    position {position_type} NOT NULL PRIMARY KEY,
    stream TEXT NOT NULL,
    version INTEGER NOT NULL,
    type TEXT NOT NULL,
    schema_version INTEGER NOT NULL,
    data TEXT NOT NULL,
    metadata TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    CONSTRAINT events_stream_version UNIQUE (stream, version)
)
"""


def _dumps(data: dict) -> str:
    return json.dumps(data, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


class OursWriter:
    """Our store, one append (one durable commit) per batch."""

    def __init__(self, store: EventStore) -> None:
        self.store = store

    def __call__(self, batch: Batch) -> None:
        self.store.append(batch.stream, batch.new_events(), expected_version=batch.first_version - 1)

    def close(self) -> None:
        self.store.engine.dispose()


class RawWriter:
    """Raw SQL: a batch's rows in one transaction; `commit` is the engine's own part."""

    def __init__(self) -> None:
        self.position = 0

    def __call__(self, batch: Batch) -> None:
        recorded_at = format_time(datetime.now(timezone.utc))
        rows = []
        for version, data in enumerate(batch.payloads, batch.first_version):
            self.position += 1
            rows.append(
                (self.position, batch.stream, version, EVENT_TYPE, 1, _dumps(data), RAW_METADATA, recorded_at,
                 PLACEHOLDER_HASH, PLACEHOLDER_HASH)
            )  # fmt: skip
        self.commit(rows)

    def commit(self, rows: list[tuple]) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass
