"""Engines for the two supported databases, and the schema check every command makes.

SQLite (the embedded default) runs in WAL mode with synchronous=FULL, so an acknowledged
append survives a power cut, and writers take the lock up front (BEGIN IMMEDIATE).
PostgreSQL runs with synchronous_commit on.
"""

from __future__ import annotations

import time
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from .errors import SchemaNewer, SchemaNotCurrent

MIGRATIONS = Path(__file__).with_name("migrations")
SQLITE_BUSY_TIMEOUT_MS = 60_000
# Names the lock an upgrade holds on PostgreSQL (migrations/env.py); unlike the appenders' key in events.store.
MIGRATION_LOCK_KEY = 0x706D6D67  # "pmmg"


def make_engine(url: str, **kwargs) -> Engine:
    """An engine for `url`, configured for durable, serialised appends."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            parsed,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            **kwargs,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_connection, _record):
            # The driver's own transaction handling is switched off: we say BEGIN ourselves.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(connection):
            # Every SQLAlchemy transaction may write, so take the write lock at BEGIN rather
            # than failing to upgrade a read lock later.
            connection.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    if backend == "postgresql":
        engine = create_engine(parsed, pool_pre_ping=True, **kwargs)

        @event.listens_for(engine, "connect")
        def _pg_connect(dbapi_connection, _record):
            with dbapi_connection.cursor() as cursor:
                cursor.execute("SET synchronous_commit TO on")
            dbapi_connection.commit()

        return engine
    raise ValueError(
        f"unsupported database {backend!r} in {parsed.render_as_string(hide_password=True)}: "
        "use sqlite:///PATH or postgresql+psycopg://USER@HOST/DB"
    )


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def schema_revisions(engine: Engine) -> tuple[str | None, str]:
    """(the database's revision or None, the newest revision this software knows)."""
    script = ScriptDirectory.from_config(alembic_config(engine))
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    return current, script.get_current_head()


def require_current_schema(engine: Engine) -> None:
    current, head = schema_revisions(engine)
    if current == head:
        return
    where = engine.url.render_as_string(hide_password=True)
    if current is None:
        raise SchemaNotCurrent(f"the database {where} has no schema yet: run `policing-metrics db upgrade`")
    script = ScriptDirectory.from_config(alembic_config(engine))
    known = {rev.revision for rev in script.walk_revisions()}
    if current not in known:
        raise SchemaNewer(
            f"the database {where} is at schema {current}, newer than this software knows (newest {head}): "
            "install the newer policing-metrics that wrote it"
        )
    raise SchemaNotCurrent(
        f"the database {where} is at schema {current}, older than {head}: run `policing-metrics db upgrade`"
    )


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate to `revision`; safe to run from several processes at once, and again (then it does nothing)."""
    command.upgrade(alembic_config(engine), revision)


def wait_for_current_schema(engine: Engine, timeout: float, interval: float = 1.0) -> None:
    """Return once the database answers with the current schema; SchemaNotCurrent or the connection error after
    `timeout` seconds, or at once (SchemaNewer) for a schema newer than this software knows. An init container
    or a Compose dependency waits with it for the one-shot migration."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            require_current_schema(engine)
            return
        except SchemaNewer:
            raise
        except (SchemaNotCurrent, OperationalError):
            if time.monotonic() + interval > deadline:
                raise
            time.sleep(interval)
