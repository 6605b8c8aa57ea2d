"""Fixtures that give tests real stores: an SQLite file, and a fresh schema on the PostgreSQL server.

With CI=true a missing PostgreSQL server fails the tests that need it; elsewhere they skip.
"""

from __future__ import annotations

import os
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, Iterable, Iterator

import psycopg
import pytest
from sqlalchemy import Engine

from events import EventStore
from events.database import make_engine, upgrade

from .s3 import s3_bucket, s3_store, seaweedfs  # noqa: F401  (SeaweedFS fixtures for the S3 tests)
from .support import registry as test_registry

POSTGRES_URL = os.environ.get("POLICING_METRICS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() == "true"


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def require_postgres() -> None:
    try:
        psycopg.connect(_libpq(POSTGRES_URL), connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        message = f"PostgreSQL is not reachable at {POSTGRES_URL}: {exc}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


class FakeClock:
    """A clock tests move by hand."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A URL whose connections use a new, empty schema (dropped afterwards)."""
    require_postgres()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_libpq(POSTGRES_URL), autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(_libpq(POSTGRES_URL), autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> str:
    """The same test against each supported database."""
    if request.param == "sqlite":
        return sqlite_url(tmp_path)
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def engine(database_url) -> Iterator[Engine]:
    engine = make_engine(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def store(engine, clock) -> EventStore:
    return EventStore(engine, test_registry, clock=clock)


def bypass_triggers(engine: Engine, sql: str, params: tuple = (), *, more: Iterable[tuple[str, tuple]] = ()) -> None:
    """Run `sql` (then each of `more`) against the events table as a tamperer would: with the immutability
    triggers off, in one transaction."""
    statements = [(sql, params), *more]
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        if engine.dialect.name == "sqlite":
            cursor.execute("BEGIN IMMEDIATE")
            cursor.execute("DROP TRIGGER events_no_update")
            cursor.execute("DROP TRIGGER events_no_delete")
            for statement, values in statements:
                cursor.execute(statement, values)
            cursor.execute("CREATE TRIGGER events_no_update BEFORE UPDATE ON events BEGIN SELECT RAISE(ABORT, 'x'); END")
            cursor.execute("CREATE TRIGGER events_no_delete BEFORE DELETE ON events BEGIN SELECT RAISE(ABORT, 'x'); END")
        else:
            cursor.execute("SET LOCAL session_replication_role = replica")
            for statement, values in statements:
                cursor.execute(statement.replace("?", "%s"), values)
        raw.commit()
    finally:
        raw.close()


def rewrite_log(engine: Engine, from_position: int, edit: Callable[[int, str], str], *, keep_to: int | None = None) -> int:
    """Rewrite the log as someone holding the database could: each event's data from `from_position` on passed
    through `edit(position, data)`, every later hash (and every hash an event's data quotes, such as an
    approval's head) recomputed by the rule in docs/hash-chain.md, so the chain verifies again. With
    `keep_to`, the events after that position are dropped too. The stored Merkle tree is rebuilt from the
    rewritten events (`store.rebuild_tree`), as the software lets anyone with the database do, so `verify`
    passes. Returns how many events were rewritten."""
    from sqlalchemy import text

    from events.chain import envelope_bytes, event_hash

    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT position, stream, version, type, schema_version, data, metadata, recorded_at, prev_hash, hash "
                "FROM events WHERE position >= :p ORDER BY position"
            ),
            {"p": from_position},
        ).all()
    kept = [row for row in rows if keep_to is None or row.position <= keep_to]
    previous, renamed, statements = rows[0].prev_hash, {}, []
    for row in kept:
        data = edit(row.position, row.data)
        for old, new in renamed.items():
            data = data.replace(old, new)
        digest = event_hash(previous, envelope_bytes(
            position=row.position, stream=row.stream, version=row.version, type=row.type,
            schema_version=row.schema_version, data=data, metadata=row.metadata, recorded_at=row.recorded_at,
        ))  # fmt: skip
        renamed[row.hash] = digest
        statements.append(("UPDATE events SET data = ?, prev_hash = ?, hash = ? WHERE position = ?", (data, previous, digest, row.position)))
        previous = digest
    if keep_to is not None:
        statements.append(("DELETE FROM events WHERE position > ?", (keep_to,)))
    bypass_triggers(engine, *statements[0], more=statements[1:])
    from events.domain import registry

    rewritten = EventStore(engine, registry)
    try:
        rewritten.rebuild_tree()
    finally:
        rewritten.close()
    return len(kept)


def pytest_terminal_summary(terminalreporter) -> None:
    """Where the browser tests left their screenshots, to look at."""
    from .test_browser import SCREENSHOTS

    ran = [r for r in terminalreporter.stats.get("passed", []) + terminalreporter.stats.get("failed", []) if "test_browser" in r.nodeid]
    if ran and SCREENSHOTS.is_dir():
        terminalreporter.write_line(f"browser screenshots: {SCREENSHOTS}")


@pytest.fixture(scope="session")
def container_image() -> Iterator[str]:
    """This checkout's container image, built once for the deploy tests (marker `deploy`) and removed after; or the
    image POLICING_METRICS_TEST_IMAGE names, built from this checkout already (kept)."""
    from .containers import build_image, engine

    given = os.environ.get("POLICING_METRICS_TEST_IMAGE")
    image = given or build_image()
    yield image
    if not given:
        engine("rmi", "--force", image, check=False)
