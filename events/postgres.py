"""The store on PostgreSQL: appends serialised by a transaction-scoped advisory lock and pipelined,
listeners woken by LISTEN/NOTIFY."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from sqlalchemy import URL, Engine, create_engine, event

from .dialect import Dialect, Listener

if TYPE_CHECKING:
    from .store import EventStore

# Listeners and the lock are per schema, so deployments (or test runs) sharing one PostgreSQL
# database in different schemas neither wake nor wait for each other. 63 bytes: PostgreSQL's limit.
CHANNEL_SQL = "left('pm_events:' || current_schema(), 63)"
# Any constant will do: it names the lock every appender takes.
APPEND_LOCK_KEY = 0x706D6576  # "pmev"


class Postgres(Dialect):
    name = "postgresql"
    param = "%s"
    pipelined = True  # the lock and the reads in one round trip, the writes and the commit in another

    @classmethod
    def create_engine(cls, url: URL, **kwargs: Any) -> Engine:
        """synchronous_commit on, whatever the server's default."""
        engine = create_engine(url, pool_pre_ping=True, **kwargs)

        @event.listens_for(engine, "connect")
        def _pg_connect(dbapi_connection, _record):
            with dbapi_connection.cursor() as cursor:
                cursor.execute("SET synchronous_commit TO on")
            dbapi_connection.commit()

        return engine

    def begin_append(self, cursor: Any) -> None:
        # psycopg has already opened a transaction; the lock is released at its end.
        cursor.execute("SELECT pg_advisory_xact_lock(%s::int, hashtext(current_schema()))", (APPEND_LOCK_KEY,))

    def begin_derived(self, cursor: Any) -> None:
        self.begin_append(cursor)
        cursor.execute("SET LOCAL synchronous_commit TO off")  # for this transaction only

    def notify(self, cursor: Any, position: int) -> None:
        # Delivered on commit only, so listeners never wake for an event they cannot see.
        cursor.execute(f"SELECT pg_notify({CHANNEL_SQL}, %s)", (str(position),))

    def end_read(self, connection: Any) -> None:
        connection.rollback()  # end psycopg's implicit read transaction

    def listener(self, store: EventStore, poll_interval: float) -> Listener:
        return NotifyListener(store.engine)


class NotifyListener(Listener):
    def __init__(self, engine: Engine) -> None:
        from psycopg import sql

        # A connection of its own, taken out of the pool, in autocommit so LISTEN takes effect.
        pooled = engine.raw_connection()
        self._connection = pooled.driver_connection
        pooled.detach()
        self._connection.rollback()
        self._connection.autocommit = True
        channel = self._connection.execute(f"SELECT {CHANNEL_SQL}").fetchone()[0]
        self._connection.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))

    def wait(self, after_position: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            for notify in self._connection.notifies(timeout=remaining, stop_after=1):
                if not (notify.payload.isascii() and notify.payload.isdigit()) or int(notify.payload) > after_position:
                    return True
        return False

    def close(self) -> None:
        try:
            self._connection.close()
        except Exception:
            pass
