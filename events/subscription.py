"""Catch-up subscriptions: process the log from a stored checkpoint, then follow new events.

The handler's writes and the new checkpoint commit in one transaction, so a projection is
never ahead of or behind its checkpoint, whatever crashes. A checkpoint also records the
version of the stored format it was written in: a checkpoint of an older version counts as 0
(the next catch-up rebuilds from zero, readers see it behind), one of a newer version is refused.
"""

from __future__ import annotations

import threading
from typing import Callable, Sequence

from sqlalchemy import BigInteger, Column, Connection, Integer, MetaData, Table, Text, insert, select, update
from sqlalchemy.exc import IntegrityError

from .errors import EventStoreError
from .records import RecordedEvent
from .store import EventStore

Handler = Callable[[Connection, Sequence[RecordedEvent]], None]
Reset = Callable[[Connection], None]  # clears what the handler wrote, before it starts again from zero
Progress = Callable[[int, int], None]  # (position reached, head position)

checkpoints = Table(
    "checkpoints",
    MetaData(),
    Column("name", Text, primary_key=True),
    Column("position", BigInteger, nullable=False),
    Column("version", Integer, nullable=False, server_default="1"),  # of the stored format
)


class StoredFormatTooNew(EventStoreError):
    """A checkpoint was written by a newer program, in a stored format this one cannot read."""

    def __init__(self, name: str, stored: int, version: int) -> None:
        self.name, self.stored, self.version = name, stored, version
        super().__init__(
            f"{name!r} is stored in format version {stored}, newer than this program's {version}: "
            "run the newer program (or `projections rebuild` with this one, once no newer one runs)"
        )


def _position(name: str, stored: tuple[int, int] | None, version: int, *, refuse_newer: bool = True) -> int:
    if stored is None:
        return 0
    position, stored_version = stored
    if stored_version == version:
        return position
    if stored_version > version and refuse_newer:
        raise StoredFormatTooNew(name, stored_version, version)
    return 0


def load_checkpoint(connection: Connection, name: str, version: int = 1) -> int:
    """The checkpoint, locked until the transaction ends (PostgreSQL; SQLite's writers are serial).

    Two processes catching up one subscription thus take turns: the second sees the first's
    new checkpoint and skips what was done, instead of applying a batch twice. A checkpoint
    of another format version than `version` is 0 (older) or refused (newer).
    """
    table = checkpoints
    query = select(table.c.position, table.c.version).where(table.c.name == name).with_for_update()
    return _position(name, connection.execute(query).first(), version)


def checkpoint_of(connection: Connection, name: str, version: int = 1) -> int:
    """A subscription's checkpoint, for readers: no lock taken; 0 when stored in another format version."""
    query = select(checkpoints.c.position, checkpoints.c.version).where(checkpoints.c.name == name)
    return _position(name, connection.execute(query).first(), version, refuse_newer=False)


def ensure_checkpoint(connection: Connection, name: str, version: int = 1) -> None:
    """Create the checkpoint row at 0 if missing, so there is always a row to lock."""
    table = checkpoints
    if connection.execute(select(table.c.position).where(table.c.name == name)).first() is not None:
        return
    try:
        with connection.begin_nested():
            connection.execute(insert(table).values(name=name, position=0, version=version))
    except IntegrityError:
        pass  # another process created it first


def save_checkpoint(connection: Connection, name: str, position: int, version: int = 1) -> None:
    table = checkpoints
    values = {"position": position, "version": version}
    changed = connection.execute(update(table).where(table.c.name == name).values(**values)).rowcount
    if not changed:
        connection.execute(insert(table).values(name=name, **values))


class CatchUpSubscription:
    """Feeds `handler` every event after the checkpoint named `name`, in position order."""

    def __init__(
        self,
        store: EventStore,
        name: str,
        handler: Handler | None,
        batch_size: int = 1000,
        version: int = 1,
        reset: Reset | None = None,
    ) -> None:
        self.store = store
        self.name = name
        self.handler = handler
        self.batch_size = batch_size
        self.version = version
        self.reset = reset

    def checkpoint(self) -> int:
        with self.store.engine.begin() as connection:
            ensure_checkpoint(connection, self.name, self.version)
            return load_checkpoint(connection, self.name, self.version)

    # What a batch is: decoded events, or (`raw`) the stored rows, for handlers that decode only
    # what they use (projections).
    raw = False

    def catch_up(
        self, until: int | None = None, progress: Progress | None = None, batch_size: int | None = None
    ) -> int:
        """Process everything committed so far (or up to `until`); return the new checkpoint."""
        store = self.store
        while True:
            position = self.checkpoint()
            total = until if until is not None or progress is None else store.head().position
            overtaken = False
            for batch in store.read_batches(
                position + 1, as_of_position=until, batch_size=batch_size or self.batch_size, raw=self.raw
            ):
                with store.engine.begin() as connection:
                    # Re-read, locked, in the write transaction: another process may have moved it on.
                    overtaken = load_checkpoint(connection, self.name, self.version) != position
                    if not overtaken:
                        if position == 0 and self.reset is not None:
                            self.reset(connection)
                        self.apply(connection, batch, position)
                        position = batch[-1][0] if self.raw else batch[-1].position
                        save_checkpoint(connection, self.name, position, self.version)
                if overtaken:
                    break  # start again from where the other process got to, outside any transaction
                if progress is not None:
                    progress(position, max(total or 0, position))
            if not overtaken:
                return position

    def apply(self, connection: Connection, batch: Sequence, checkpoint: int) -> None:
        """Hand `batch` (following `checkpoint`) to the handler, in the checkpoint's transaction."""
        assert self.handler is not None, "a subscription without a handler overrides apply"
        self.handler(connection, batch)

    def run(self, stop: threading.Event, poll_interval: float = 0.5) -> None:
        """Catch up, then follow new events until `stop` is set."""
        follow(self.store, self.catch_up, stop, poll_interval)


def follow(store: EventStore, catch_up: Callable[[], int], stop: threading.Event, poll_interval: float = 0.5) -> None:
    """Call `catch_up` now and whenever the log may have grown past where it got to, until `stop` is set.

    LISTEN/NOTIFY on PostgreSQL, polling on SQLite; `stop` is looked at at least every second.
    """
    with store.listener(poll_interval) as listener:
        position = catch_up()
        while not stop.is_set():
            if listener.wait(position, 1.0):
                position = catch_up()
