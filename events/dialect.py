"""What the store asks of a database engine, and the parts every engine shares.

An engine is a `Dialect` subclass in a file of its own (events/sqlite.py, events/postgres.py)
and one line in events/engines.py; the store (events/store.py) is written against this class only.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from sqlalchemy import URL, Engine

if TYPE_CHECKING:
    from .store import EventStore

COLUMNS = "position, stream, version, type, schema_version, data, metadata, recorded_at, prev_hash, hash"
INSERT_SQL = f"INSERT INTO events ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"


class Dialect:
    """How the store talks to one engine through its driver's cursor (SQL is written with `?`)."""

    name: str
    param: str = "?"
    # Whether appends run in the driver's pipeline mode (events.writers.HeldWriter).
    pipelined: bool = False

    @classmethod
    def create_engine(cls, url: URL, **kwargs: Any) -> Engine:
        """An engine for `url`, configured for durable, serialised appends."""
        raise NotImplementedError

    def sql(self, text: str) -> str:
        return text if self.param == "?" else text.replace("?", self.param)

    def begin_append(self, cursor: Any) -> None:
        """Begin an append's transaction, holding the lock that serialises appends."""
        raise NotImplementedError

    def begin_derived(self, cursor: Any) -> None:
        """`begin_append` for a transaction that writes only what the events give again (the Merkle
        tree's catch-up): its commit need not wait for the disk, since one lost in a power cut is
        redone by the next reader. `end_derived` follows it, committed or not."""
        self.begin_append(cursor)

    def end_derived(self, cursor: Any) -> None:
        """After a `begin_derived` transaction has ended: put back what it changed on the connection."""

    def insert(self, cursor: Any, rows: list[tuple]) -> None:
        cursor.executemany(self.sql(INSERT_SQL), rows)

    def notify(self, cursor: Any, position: int) -> None:
        """Tell listeners, on commit, that the log now reaches `position` (polling needs nothing)."""

    def end_read(self, connection: Any) -> None:
        """After reads on a connection outside any transaction: end what the driver began implicitly."""

    def listener(self, store: EventStore, poll_interval: float) -> Listener:
        return PollingListener(store, poll_interval)


class Listener:
    def wait(self, after_position: int, timeout: float) -> bool:
        """Block until an event after `after_position` may exist, or `timeout` seconds pass."""
        raise NotImplementedError

    def close(self) -> None:
        pass


class PollingListener(Listener):
    def __init__(self, store: EventStore, poll_interval: float) -> None:
        self._store = store
        self._poll_interval = poll_interval

    def wait(self, after_position: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while True:
            if self._store.head().position > after_position:
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            time.sleep(min(self._poll_interval, remaining))
