"""The PostgreSQL cases: appends, ours and raw `psycopg` into a table of the same shape.

Each run gets a schema of its own (CREATE SCHEMA bench_...; connections reach it through
search_path), dropped afterwards. Raw commits with synchronous_commit on, as ours does.
"""

from __future__ import annotations

import uuid

import psycopg

from events import EventStore
from events.database import make_engine, upgrade

from . import contenders
from .contenders import COLUMNS, raw_schema
from .workload import registry

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

RAW_SCHEMA = raw_schema("BIGINT")
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


class OursWriter(contenders.OursWriter):
    """Our store in a schema of its own."""

    def __init__(self, url: str) -> None:
        self.url = url
        schema_url, self.schema = create_schema(url)
        engine = make_engine(schema_url)
        upgrade(engine)
        super().__init__(EventStore(engine, registry))

    def close(self) -> None:
        super().close()
        drop_schema(self.url, self.schema)


class RawWriter(contenders.RawWriter):
    """`psycopg` `executemany` (`execute` for one row) of a batch's rows, one commit each."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url
        _, self.schema = create_schema(url)
        self.connection = psycopg.connect(libpq(url), options=f"-csearch_path={self.schema}")
        self.connection.execute("SET synchronous_commit TO on")
        self.connection.execute(RAW_SCHEMA)
        self.connection.commit()
        self.cursor = self.connection.cursor()

    def commit(self, rows: list[tuple]) -> None:
        if len(rows) == 1:
            self.cursor.execute(RAW_INSERT, rows[0])
        else:
            self.cursor.executemany(RAW_INSERT, rows)
        self.connection.commit()

    def close(self) -> None:
        self.connection.close()
        drop_schema(self.url, self.schema)
