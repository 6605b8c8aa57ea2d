"""What every projection shares: catching up from the log in raw batches, decoding, writing in bulk.

A projection is a handler and a checkpoint, kept current by a catch-up subscription: the handler's
writes and the new checkpoint commit in one transaction. Projections read the log's stored rows
(`read_batches(raw=True)`) and decode only the event types they use: decoding every event into a
RecordedEvent costs more than the whole projection.
"""

from __future__ import annotations

import gc
import json
from contextlib import contextmanager
from typing import Any, Iterator, Sequence

from sqlalchemy import Connection, Table

from ..store import COLUMNS, EventStore
from ..subscription import CatchUpSubscription, Progress, save_checkpoint

_COLUMN = {name.strip(): index for index, name in enumerate(COLUMNS.split(","))}
POSITION = _COLUMN["position"]
TYPE = _COLUMN["type"]
SCHEMA_VERSION = _COLUMN["schema_version"]
DATA = _COLUMN["data"]
METADATA = _COLUMN["metadata"]
RECORDED_AT = _COLUMN["recorded_at"]


class ProjectionError(Exception):
    """A projection cannot answer: it is behind the log, or asked about a moment the log has not reached."""


class Decoder:
    """Decodes stored rows: their data (upcast to the type's current schema) and their actor."""

    def __init__(self, store: EventStore, types: frozenset[str]) -> None:
        self.types = types
        self.registry = store.registry
        self.current = {event_type.name: event_type.version for event_type in store.registry}
        self._actors: dict[str, str] = {}
        # The C scanner json.loads ends in, called directly: stored data is canonical JSON (no
        # surrounding whitespace), so the Python-level checks around it have nothing to do.
        self.scan = json.JSONDecoder().scan_once

    def actor(self, metadata: str) -> str:
        # Every event of one append carries the same metadata text, so this is mostly a lookup.
        actor = self._actors.get(metadata)
        if actor is None:
            actor = json.loads(metadata).get("actor", "")
            if len(self._actors) > 10_000:
                self._actors.clear()
            self._actors[metadata] = actor
        return actor

    def data(self, row: Sequence[Any]) -> dict[str, Any]:
        payload = self.scan(row[DATA], 0)[0]
        type_ = row[TYPE]
        if self.current.get(type_) != row[SCHEMA_VERSION]:
            payload = self.upcast(row, payload)
        return payload

    def upcast(self, row: Sequence[Any], payload: dict[str, Any]) -> dict[str, Any]:
        return self.registry.upcast(row[TYPE], row[SCHEMA_VERSION], payload)


@contextmanager
def gc_paused() -> Iterator[None]:
    """Folding allocates millions of short-lived, acyclic objects next to a large live state;
    the cyclic collector would rescan that state again and again for nothing."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def driver_sql(connection: Connection, text: str) -> str:
    """`text` with `?` placeholders in the driver's own style."""
    return text if connection.dialect.paramstyle == "qmark" else text.replace("?", "%s")


def insert_rows(connection: Connection, table: Table, columns: Sequence[str], rows: list[tuple]) -> None:
    """One executemany for the batch: the fast path on both drivers."""
    if rows:
        names = ", ".join(columns)
        marks = ", ".join("?" for _ in columns)
        connection.exec_driver_sql(driver_sql(connection, f"INSERT INTO {table.name} ({names}) VALUES ({marks})"), rows)


def clear_tables(connection: Connection, tables: Sequence[Table]) -> None:
    for table in tables:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"TRUNCATE {table.name}")
        else:
            connection.exec_driver_sql(f"DELETE FROM {table.name}")


class Projection:
    """A read model: the tables it owns, and what it does with a batch of stored rows."""

    name: str  # the checkpoint's name
    # The version of what `tables` hold: bump it whenever a change to the code changes what is
    # stored (columns, encodings, or the values a fold writes). A checkpoint of another version
    # is rebuilt from zero by the next catch-up (at start-up), and readers see it behind meanwhile.
    version: int = 1
    tables: Sequence[Table] = ()

    def handle(self, connection: Connection, rows: Sequence[Sequence[Any]], checkpoint: int) -> None:
        """Apply `rows` (stored rows, following `checkpoint`), in the caller's transaction."""
        raise NotImplementedError

    def reset(self, connection: Connection) -> None:
        clear_tables(connection, self.tables)

    def finish(self, connection: Connection) -> None:
        """Called after catching up (e.g. to restore indexes dropped for a rebuild)."""


class ProjectionSubscription(CatchUpSubscription):
    """A catch-up subscription that hands a projection the log's stored rows."""

    raw = True

    def __init__(self, store: EventStore, projection: Projection, batch_size: int = 1000) -> None:
        super().__init__(store, projection.name, None, batch_size, projection.version, projection.reset)
        self.projection = projection

    def apply(self, connection: Connection, rows: Sequence, checkpoint: int) -> None:
        self.projection.handle(connection, rows, checkpoint)

    def catch_up(
        self, until: int | None = None, progress: Progress | None = None, batch_size: int | None = None
    ) -> int:
        with gc_paused():
            position = super().catch_up(until, progress, batch_size)
        with self.store.engine.begin() as connection:
            self.projection.finish(connection)
        return position

    def rebuild(self, progress: Progress | None = None, batch_size: int | None = None) -> int:
        """Forget everything and fold the whole log again."""
        with self.store.engine.begin() as connection:
            self.projection.reset(connection)
            save_checkpoint(connection, self.name, 0, self.version)
        return self.catch_up(progress=progress, batch_size=batch_size)
