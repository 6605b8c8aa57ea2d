"""The PostgreSQL cases: appends, ours and raw `psycopg` into a table of the same shape.

Each run gets a schema of its own (CREATE SCHEMA bench_...; connections reach it through
search_path), dropped afterwards. Raw commits with synchronous_commit on, as ours does.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

import psycopg

from events import EventStore
from events.database import make_engine, upgrade
from events.records import format_time

from .on_sqlite import COLUMNS, PLACEHOLDER_HASH, RAW_METADATA, _dumps
from .workload import EVENT_TYPE, Batch, registry

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

RAW_SCHEMA = """
CREATE TABLE events (
    position BIGINT NOT NULL PRIMARY KEY,
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
RAW_INSERT = f"INSERT INTO events ({COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"


def libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def reachable(url: str) -> str | None:
    """None if the server answers, else why not."""
    try:
        psycopg.connect(libpq(url), connect_timeout=3).close()
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return None


def server_settings(url: str) -> dict:
    with psycopg.connect(libpq(url)) as connection:
        values = {}
        for name in ("server_version", "fsync", "synchronous_commit", "wal_sync_method"):
            values[name] = connection.execute(f"SHOW {name}").fetchone()[0]
    return values


def create_schema(url: str) -> tuple[str, str]:
    """(SQLAlchemy URL, name) of a new, empty schema; `drop_schema` it afterwards."""
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(libpq(url), autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
    return f"{url}?options=-csearch_path%3D{schema}", schema


def drop_schema(url: str, schema: str) -> None:
    with psycopg.connect(libpq(url), autocommit=True) as admin:
        admin.execute(f"DROP SCHEMA {schema} CASCADE")


class OursWriter:
    """Our store in a schema of its own, one append (one durable commit) per batch."""

    def __init__(self, url: str) -> None:
        self.url = url
        schema_url, self.schema = create_schema(url)
        self.engine = make_engine(schema_url)
        upgrade(self.engine)
        self.store = EventStore(self.engine, registry)

    def __call__(self, batch: Batch) -> None:
        self.store.append(batch.stream, batch.new_events(), expected_version=batch.first_version - 1)

    def close(self) -> None:
        self.engine.dispose()
        drop_schema(self.url, self.schema)


class RawWriter:
    """`psycopg` `executemany` (`execute` for one row) of a batch's rows, one commit each."""

    def __init__(self, url: str) -> None:
        self.url = url
        _, self.schema = create_schema(url)
        self.connection = psycopg.connect(libpq(url), options=f"-csearch_path={self.schema}")
        self.connection.execute("SET synchronous_commit TO on")
        self.connection.execute(RAW_SCHEMA)
        self.connection.commit()
        self.cursor = self.connection.cursor()
        self.position = 0

    def __call__(self, batch: Batch) -> None:
        recorded_at = format_time(datetime.now(timezone.utc))
        rows = []
        for version, data in enumerate(batch.payloads, batch.first_version):
            self.position += 1
            rows.append(
                (self.position, batch.stream, version, EVENT_TYPE, 1, _dumps(data), RAW_METADATA, recorded_at,
                 PLACEHOLDER_HASH, PLACEHOLDER_HASH)
            )
        if len(rows) == 1:
            self.cursor.execute(RAW_INSERT, rows[0])
        else:
            self.cursor.executemany(RAW_INSERT, rows)
        self.connection.commit()

    def close(self) -> None:
        self.connection.close()
        drop_schema(self.url, self.schema)
