"""The PostgreSQL cases: appends, ours and raw `psycopg` into a table of the same shape.

Each run gets a schema of its own (CREATE SCHEMA bench_...; connections reach it through
search_path), dropped afterwards. Raw commits with synchronous_commit on, as ours does.
"""

from __future__ import annotations

import uuid
from contextlib import contextmanager
from datetime import datetime, timezone
from time import perf_counter
from typing import Iterator

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


@contextmanager
def fresh_schema(url: str) -> Iterator[tuple[str, str]]:
    """(SQLAlchemy URL, schema name) of a new, empty schema, dropped on exit."""
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(libpq(url), autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{url}?options=-csearch_path%3D{schema}", schema
    finally:
        with psycopg.connect(libpq(url), autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")


def ours_append(url: str, batches: list[Batch]) -> float:
    with fresh_schema(url) as (schema_url, _):
        engine = make_engine(schema_url)
        try:
            upgrade(engine)
            store = EventStore(engine, registry)
            start = perf_counter()
            for batch in batches:
                store.append(batch.stream, batch.new_events(), expected_version=batch.first_version - 1)
            return perf_counter() - start
        finally:
            engine.dispose()


def raw_append(url: str, batches: list[Batch]) -> float:
    with fresh_schema(url) as (_, schema):
        with psycopg.connect(libpq(url), options=f"-csearch_path={schema}") as connection:
            connection.execute("SET synchronous_commit TO on")
            connection.execute(RAW_SCHEMA)
            connection.commit()
            position = 0
            start = perf_counter()
            with connection.cursor() as cursor:
                for batch in batches:
                    recorded_at = format_time(datetime.now(timezone.utc))
                    rows = []
                    for version, data in enumerate(batch.payloads, batch.first_version):
                        position += 1
                        rows.append(
                            (position, batch.stream, version, EVENT_TYPE, 1, _dumps(data), RAW_METADATA, recorded_at,
                             PLACEHOLDER_HASH, PLACEHOLDER_HASH)
                        )
                    if len(rows) == 1:
                        cursor.execute(RAW_INSERT, rows[0])
                    else:
                        cursor.executemany(RAW_INSERT, rows)
                    connection.commit()
            return perf_counter() - start
