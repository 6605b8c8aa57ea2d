"""The connection an append writes through: held open, one per store and process (pipelined on PostgreSQL).

Both are context managers that hand out the driver's own connection (sqlite3, psycopg), outside
any transaction; the append begins, commits or rolls back its own transaction inside.
"""

from __future__ import annotations

import os
import sqlite3
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
    """One connection per store and process, kept open and lent to one append at a time.

    The database serialises appends anyway (SQLite: BEGIN IMMEDIATE; PostgreSQL: the advisory
    lock), and checking a connection out of SQLAlchemy's pool and back in, with PostgreSQL's ping
    on checkout, costs more than a one-event append's own work. On PostgreSQL each append runs in
    psycopg's pipeline mode, so the lock and the reads go in one round trip, the writes and the
    commit in another. A connection left in a transaction, closed or broken (the server restarted)
    is dropped after the append that found it so, and the next append opens another. The
    connection is closed by `close()`, by `engine.dispose()`, or when the writer is garbage,
    whichever comes first: after that an SQLite file stands whole on its own (the WAL
    checkpointed). It is never used, nor closed, in a process forked from the one that opened it.
    """

    def __init__(self, engine: Engine, *, pipelined: bool = False) -> None:
        self._engine = engine
        self._pipelined = pipelined
        self._pipeline: Any = None
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
            driver = held[1].dbapi_connection
            if self._pipelined:
                self._pipeline = driver.pipeline()
                self._pipeline.__enter__()
            return driver
        except BaseException:
            self._lock.release()
            raise

    def __exit__(self, *exc_info: Any) -> None:
        try:
            if self._pipeline is not None:
                pipeline, self._pipeline = self._pipeline, None
                with suppress(Exception):  # a broken connection cannot close its pipeline: it is dropped below
                    pipeline.__exit__(*exc_info)
            held = self._held
            if held is not None and _unusable(held[1].dbapi_connection):
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


def _unusable(connection: Any) -> bool:
    """Still in a transaction (it could not even roll back), closed, or broken."""
    if isinstance(connection, sqlite3.Connection):
        return connection.in_transaction
    from psycopg.pq import TransactionStatus  # loaded with psycopg's connection, not by every start-up

    return connection.closed or connection.broken or connection.info.transaction_status != TransactionStatus.IDLE


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
