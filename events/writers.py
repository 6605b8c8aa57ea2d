"""The connection an append writes through: held open on SQLite, pooled and pipelined on PostgreSQL.

Both are context managers that hand out the driver's own connection (sqlite3, psycopg), outside
any transaction; the append begins, commits or rolls back its own transaction inside.
"""

from __future__ import annotations

import os
import threading
import weakref
from contextlib import suppress
from functools import partial
from typing import Any

from sqlalchemy import Engine
from sqlalchemy import event


# Every HeldWriter of this process, so a forked child can unlock them all (see _after_fork).
_HELD_WRITERS: "weakref.WeakSet[HeldWriter]" = weakref.WeakSet()


class HeldWriter:
    """SQLite: one connection per store and process, kept open and lent to one append at a time.

    The database serialises appends anyway (BEGIN IMMEDIATE), and checking a connection out of
    SQLAlchemy's pool and back in costs more than a one-event append's own work. The connection
    is closed by `close()`, by `engine.dispose()`, or when the writer is garbage, whichever comes
    first: after that the database file stands whole on its own (the WAL checkpointed). It is
    never used, nor closed, in a process forked from the one that opened it.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._lock = threading.Lock()
        self._held: tuple[int, Any, weakref.finalize] | None = None  # (pid, connection, its closer)
        event.listen(engine, "engine_disposed", partial(_close_on_dispose, weakref.ref(self)))
        _HELD_WRITERS.add(self)

    def __enter__(self) -> Any:
        self._lock.acquire()
        try:
            held = self._held
            if held is None or held[0] != os.getpid():  # none yet, or inherited over a fork
                connection = self._engine.raw_connection()
                connection.detach()  # ours now: the pool neither counts nor recycles it
                pid = os.getpid()
                held = self._held = (pid, connection, weakref.finalize(self, _close_quietly, connection, pid))
            return held[1].dbapi_connection
        except BaseException:
            self._lock.release()
            raise

    def __exit__(self, *exc_info: Any) -> None:
        try:
            held = self._held
            if held is not None and held[1].dbapi_connection.in_transaction:  # it could not even roll back
                self._held = None
                held[2]()
        finally:
            self._lock.release()

    def close(self) -> None:
        """Close the held connection (the next append opens another)."""
        with self._lock:
            held, self._held = self._held, None
        if held is not None:
            held[2]()


class PooledWriter:
    """PostgreSQL: a pooled connection (pinged on checkout) per append, in psycopg's pipeline mode,
    so the lock and the reads go in one round trip, the writes and the commit in another."""

    __slots__ = ("_engine", "_connection", "_pipeline")

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def __enter__(self) -> Any:
        connection = self._connection = self._engine.raw_connection()
        try:
            self._pipeline = connection.driver_connection.pipeline()
            self._pipeline.__enter__()
        except BaseException:
            connection.close()
            raise
        return connection.driver_connection

    def __exit__(self, *exc_info: Any) -> None:
        try:
            self._pipeline.__exit__(*exc_info)
        finally:
            self._connection.close()


def _close_quietly(connection: Any, pid: int) -> None:
    if os.getpid() == pid:
        with suppress(Exception):
            connection.close()


def _close_on_dispose(writer_ref: "weakref.ref[HeldWriter]", _engine: Engine) -> None:
    writer = writer_ref()
    if writer is not None:
        writer.close()


def _after_fork() -> None:
    """In a forked child, a lock some other thread of the parent held stays locked for ever:
    give every writer a fresh one (its connection is the parent's, and is replaced on first use)."""
    for writer in list(_HELD_WRITERS):
        writer._lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)
