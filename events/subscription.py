"""Catch-up subscriptions: process the log from a stored checkpoint, then follow new events.

The handler's writes and the new checkpoint commit in one transaction, so a projection is
never ahead of or behind its checkpoint, whatever crashes.
"""

from __future__ import annotations

import threading
from typing import Callable, Sequence

from sqlalchemy import BigInteger, Column, Connection, MetaData, Table, Text, insert, select, update
from sqlalchemy.exc import IntegrityError

from .records import RecordedEvent
from .store import EventStore

Handler = Callable[[Connection, Sequence[RecordedEvent]], None]

checkpoints = Table(
    "checkpoints",
    MetaData(),
    Column("name", Text, primary_key=True),
    Column("position", BigInteger, nullable=False),
)


def load_checkpoint(connection: Connection, name: str) -> int:
    """The checkpoint, locked until the transaction ends (PostgreSQL; SQLite's writers are serial).

    Two processes catching up one subscription thus take turns: the second sees the first's
    new checkpoint and skips what was done, instead of applying a batch twice.
    """
    table = checkpoints
    query = select(table.c.position).where(table.c.name == name).with_for_update()
    position = connection.execute(query).scalar()
    return position or 0


def ensure_checkpoint(connection: Connection, name: str) -> None:
    """Create the checkpoint row at 0 if missing, so there is always a row to lock."""
    table = checkpoints
    if connection.execute(select(table.c.position).where(table.c.name == name)).first() is not None:
        return
    try:
        with connection.begin_nested():
            connection.execute(insert(table).values(name=name, position=0))
    except IntegrityError:
        pass  # another process created it first


def save_checkpoint(connection: Connection, name: str, position: int) -> None:
    table = checkpoints
    changed = connection.execute(update(table).where(table.c.name == name).values(position=position)).rowcount
    if not changed:
        connection.execute(insert(table).values(name=name, position=position))


class CatchUpSubscription:
    """Feeds `handler` every event after the checkpoint named `name`, in position order."""

    def __init__(self, store: EventStore, name: str, handler: Handler, batch_size: int = 1000) -> None:
        self.store = store
        self.name = name
        self.handler = handler
        self.batch_size = batch_size

    def checkpoint(self) -> int:
        with self.store.engine.begin() as connection:
            ensure_checkpoint(connection, self.name)
            return load_checkpoint(connection, self.name)

    def catch_up(self, until: int | None = None) -> int:
        """Process everything committed so far (or up to `until`); return the new checkpoint."""
        while True:
            position = self.checkpoint()
            overtaken = False
            for batch in self.store.read_batches(position + 1, as_of_position=until, batch_size=self.batch_size):
                with self.store.engine.begin() as connection:
                    # Re-read, locked, in the write transaction: another process may have moved it on.
                    overtaken = load_checkpoint(connection, self.name) != position
                    if not overtaken:
                        self.handler(connection, batch)
                        position = batch[-1].position
                        save_checkpoint(connection, self.name, position)
                if overtaken:
                    break  # start again from where the other process got to, outside any transaction
            if not overtaken:
                return position

    def run(self, stop: threading.Event, idle_timeout: float = 5.0, poll_interval: float = 0.5) -> None:
        """Catch up, then follow new events until `stop` is set."""
        with self.store.listener(poll_interval) as listener:
            position = self.catch_up()
            while not stop.is_set():
                if listener.wait(position, min(idle_timeout, 1.0)):
                    position = self.catch_up()
