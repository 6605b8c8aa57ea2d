"""The composition root: the one place where concrete parts are wired together."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from sqlalchemy import Engine

from events import EventStore
from events.database import make_engine, require_current_schema
from events.domain import registry
from events.store import Clock, utc_now

from .config import Settings
from .scheduler import Publish, publishing_not_configured


@dataclass
class App:
    settings: Settings
    clock: Clock = utc_now

    @cached_property
    def engine(self) -> Engine:
        return make_engine(self.settings.database_url)

    @cached_property
    def store(self) -> EventStore:
        return EventStore(self.engine, registry, clock=self.clock)

    @cached_property
    def publish(self) -> Publish:
        """What the release scheduler calls to publish an edition's revision (a placeholder until wired)."""
        return publishing_not_configured

    def check_schema(self) -> None:
        require_current_schema(self.engine)

    def close(self) -> None:
        if "engine" in self.__dict__:
            self.engine.dispose()


def bootstrap(settings: Settings | None = None, clock: Clock = utc_now) -> App:
    return App(settings or Settings(), clock)
