"""The store on SQLite: appends serialised by BEGIN IMMEDIATE, rows in multi-row INSERTs, listeners that poll."""

from __future__ import annotations

import sqlite3
from itertools import chain
from typing import Any

from .dialect import COLUMNS, INSERT_SQL, Dialect


class SQLite(Dialect):
    name = "sqlite"
    # Rows per multi-row INSERT: one statement step inserts them all, a good deal cheaper than
    # as many steps of executemany. 10 parameters a row, within SQLite's limit of 32,766
    # parameters (999 before 3.32).
    ROWS_PER_INSERT = 500 if sqlite3.sqlite_version_info >= (3, 32) else 99

    def __init__(self) -> None:
        row = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        self._sql_insert_chunk = f"INSERT INTO events ({COLUMNS}) VALUES " + ", ".join([row] * self.ROWS_PER_INSERT)

    def begin_append(self, cursor: Any) -> None:
        cursor.execute("BEGIN IMMEDIATE")

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
