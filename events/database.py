"""Engines for the supported databases (each configured by its dialect: events/sqlite.py,
events/postgres.py), migrations, and the schema check every command makes."""

from __future__ import annotations

import time
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, Engine, MetaData, Table, Text, inspect, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from .engines import DIALECTS
from .errors import SchemaNewer, SchemaNotCurrent

MIGRATIONS = Path(__file__).with_name("migrations")
# Names the lock an upgrade holds on PostgreSQL (migrations/env.py); unlike the appenders' key in events.postgres.
MIGRATION_LOCK_KEY = 0x706D6D67  # "pmmg"


def make_engine(url: str, **kwargs) -> Engine:
    """An engine for `url`, configured for durable, serialised appends (by its dialect: events/engines.py)."""
    parsed = make_url(url)
    dialect = DIALECTS.get(parsed.get_backend_name())
    if dialect is None:
        raise ValueError(
            f"unsupported database {parsed.get_backend_name()!r} in {parsed.render_as_string(hide_password=True)}: "
            "use sqlite:///PATH or postgresql+psycopg://USER@HOST/DB"
        )
    return dialect.create_engine(parsed, **kwargs)


def alembic_config(engine: Engine, migrations: Path = MIGRATIONS) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations))
    config.attributes["engine"] = engine
    return config


def schema_revisions(engine: Engine, migrations: Path = MIGRATIONS) -> tuple[str | None, str]:
    """(the database's revision or None, the newest revision this software knows)."""
    script = ScriptDirectory.from_config(alembic_config(engine, migrations))
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    return current, script.get_current_head()


# Expand and contract: a migration says which software still works with the schema it leaves, in
# `compatible_from` (the oldest software's newest revision; its own revision when absent, the safe
# default for a change old code cannot live with). The upgrade writes that here (migrations/env.py),
# because the old software, which must read it, has never seen the new migration.
compatibility = Table(
    "schema_compatibility",
    MetaData(),
    Column("revision", Text(), primary_key=True),
    Column("compatible_from", Text(), nullable=False),
)
COMPATIBILITY_TABLE = compatibility.name


def compatible_from(script: ScriptDirectory, revision: str) -> str:
    """The oldest software revision that works with the schema `revision` leaves, as its migration declares."""
    return getattr(script.get_revision(revision).module, "compatible_from", None) or revision


def declared_compatibility(engine: Engine) -> tuple[str, str] | None:
    """(revision, compatible from) as the last migration recorded them; None before the table existed."""
    with engine.connect() as connection:
        if COMPATIBILITY_TABLE not in inspect(connection).get_table_names():
            return None
        row = connection.execute(select(compatibility.c.revision, compatibility.c.compatible_from)).first()
    return (row[0], row[1]) if row else None


def require_current_schema(engine: Engine, migrations: Path = MIGRATIONS) -> str:
    """"current" when the database is at this software's newest revision; "compatible" when it is at a newer one
    whose migrations declare they still work with this software (a rolling upgrade's old processes). Otherwise
    SchemaNotCurrent (none yet, or older: run `db upgrade`) or SchemaNewer (this software is too old for it)."""
    current, head = schema_revisions(engine, migrations)
    if current == head:
        return "current"
    where = engine.url.render_as_string(hide_password=True)
    if current is None:
        raise SchemaNotCurrent(f"the database {where} has no schema yet: run `policing-metrics db upgrade`")
    script = ScriptDirectory.from_config(alembic_config(engine, migrations))
    known = {rev.revision for rev in script.walk_revisions()}
    if current in known:
        raise SchemaNotCurrent(
            f"the database {where} is at schema {current}, older than {head}: run `policing-metrics db upgrade`"
        )
    declared = declared_compatibility(engine)
    if declared is not None and declared[0] == current and declared[1] in known:
        return "compatible"
    needs = f" (it works with software from schema {declared[1]} on)" if declared and declared[0] == current else ""
    raise SchemaNewer(
        f"the database {where} is at schema {current}, newer than this software knows (newest {head}){needs}: "
        "install the newer policing-metrics that wrote it"
    )


def upgrade(engine: Engine, revision: str = "head", migrations: Path = MIGRATIONS) -> None:
    """Migrate to `revision`; safe to run from several processes at once, and again (then it does nothing).

    To "head" on a database already past it (newer software migrated it): nothing, if that schema still works
    with this software, else SchemaNewer."""
    if revision == "head":
        try:
            if require_current_schema(engine, migrations) == "compatible":
                return
        except SchemaNewer:
            raise
        except SchemaNotCurrent:
            pass
    command.upgrade(alembic_config(engine, migrations), revision)


def wait_for_current_schema(engine: Engine, timeout: float, interval: float = 1.0) -> str:
    """Return ("current" or "compatible") once the database answers with a schema this software works with; SchemaNotCurrent or the connection error after
    `timeout` seconds, or at once (SchemaNewer) for a schema newer than this software knows. An init container
    or a Compose dependency waits with it for the one-shot migration."""
    return _retrying(
        lambda: require_current_schema(engine), timeout, interval, (SchemaNotCurrent, OperationalError), SchemaNewer
    )


def wait_for_database(engine: Engine, timeout: float, interval: float = 1.0) -> None:
    """Return once the database accepts a connection; the connection error after `timeout` seconds. The one-shot
    migration waits with it for a database still starting (a Compose engine that ignores `service_healthy`)."""

    def connect() -> None:
        with engine.connect():
            pass

    _retrying(connect, timeout, interval, OperationalError)


def _retrying(attempt, timeout: float, interval: float, retry, give_up=()):
    """attempt() until it returns; an error in `retry` is tried again every `interval` seconds, then raised after
    `timeout`; one in `give_up` at once."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return attempt()
        except give_up:
            raise
        except retry:
            remaining = deadline - time.monotonic()
            if remaining <= 0:  # given up only once the whole timeout has passed, as its message says
                raise
            time.sleep(min(interval, remaining))
