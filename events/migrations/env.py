"""Alembic environment: migrations run on the engine the caller hands over (see events.database).

On PostgreSQL the whole upgrade runs in one transaction that first takes an advisory lock (per schema), so two
replicas upgrading at once run it one after the other: the second then finds the schema current and does nothing.
SQLite's BEGIN IMMEDIATE (events.database) already lets one writer in at a time.
"""

from alembic import context
from sqlalchemy import text

from events.database import MIGRATION_LOCK_KEY

engine = context.config.attributes["engine"]

with engine.begin() as connection:
    if connection.dialect.name == "postgresql":
        connection.execute(
            text("SELECT pg_advisory_xact_lock(:key, hashtext(current_schema()))"), {"key": MIGRATION_LOCK_KEY}
        )
    context.configure(connection=connection, render_as_batch=True)
    context.run_migrations()
