"""Alembic environment: migrations run on the engine the caller hands over (see events.database).

On PostgreSQL the whole upgrade runs in one transaction that first takes an advisory lock (per schema), so two
replicas upgrading at once run it one after the other: the second then finds the schema current and does nothing.
SQLite's BEGIN IMMEDIATE (events.database) already lets one writer in at a time.

In the same transaction it records which software the schema it leaves works with (the head migration's
`compatible_from`, events.database), for older processes still running during a rolling upgrade to read.
"""

from alembic import context
from sqlalchemy import delete, inspect, text

from events.database import COMPATIBILITY_TABLE, MIGRATION_LOCK_KEY, compatibility, compatible_from

engine = context.config.attributes["engine"]

with engine.begin() as connection:
    if connection.dialect.name == "postgresql":
        connection.execute(
            text("SELECT pg_advisory_xact_lock(:key, hashtext(current_schema()))"), {"key": MIGRATION_LOCK_KEY}
        )
    context.configure(connection=connection, render_as_batch=True)
    context.run_migrations()
    if COMPATIBILITY_TABLE in inspect(connection).get_table_names():  # from 0007 on
        heads = context.get_context().get_current_heads()
        connection.execute(delete(compatibility))
        for head in heads:
            connection.execute(compatibility.insert().values(revision=head, compatible_from=compatible_from(context.script, head)))
