"""The store on SQLite: appends serialised by BEGIN IMMEDIATE, rows in multi-row INSERTs, listeners that poll."""

from __future__ import annotations

import sqlite3
from itertools import chain
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Engine, create_engine, event

from .dialect import COLUMNS, INSERT_SQL, Dialect

BUSY_TIMEOUT_MS = 60_000


class SQLite(Dialect):
    name = "sqlite"
    # Rows per multi-row INSERT: one statement step inserts them all, a good deal cheaper than
    # as many steps of executemany. 10 parameters a row, within SQLite's limit of 32,766
    # parameters (999 before 3.32).
    ROWS_PER_INSERT = 500 if sqlite3.sqlite_version_info >= (3, 32) else 99

    def __init__(self) -> None:
        row = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        self._sql_insert_chunk = f"INSERT INTO events ({COLUMNS}) VALUES " + ", ".join([row] * self.ROWS_PER_INSERT)

    @classmethod
    def create_engine(cls, url: URL, **kwargs: Any) -> Engine:
        """WAL mode with synchronous=FULL, so an acknowledged append survives a power cut; writers
        take the lock up front (BEGIN IMMEDIATE)."""
        database = url.database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000},
            **kwargs,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_connection, _record):
            # The driver's own transaction handling is switched off: we say BEGIN ourselves.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(connection):
            # Every SQLAlchemy transaction may write, so take the write lock at BEGIN rather
            # than failing to upgrade a read lock later.
            connection.exec_driver_sql("BEGIN IMMEDIATE")

        return engine

    def begin_append(self, cursor: Any) -> None:
        cursor.execute("BEGIN IMMEDIATE")

    def begin_derived(self, cursor: Any) -> None:
        # In WAL mode NORMAL skips the commit's fsync and still never corrupts the database; the
        # next durable commit (an append's) syncs these pages with its own.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("BEGIN IMMEDIATE")

    def end_derived(self, cursor: Any) -> None:
        cursor.execute("PRAGMA synchronous=FULL")  # the connection goes back to the pool as it came

    def insert(self, cursor: Any, rows: list[tuple]) -> None:
        if len(rows) == 1:
            cursor.execute(INSERT_SQL, rows[0])
            return
        size = self.ROWS_PER_INSERT
        whole = len(rows) - len(rows) % size
        for start in range(0, whole, size):
            cursor.execute(self._sql_insert_chunk, list(chain.from_iterable(rows[start : start + size])))
        if whole < len(rows):
            cursor.executemany(INSERT_SQL, rows[whole:])
