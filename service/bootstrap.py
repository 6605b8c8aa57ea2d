"""The composition root: the one place where concrete parts are wired together."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from events import EventStore
from events.database import make_engine, require_current_schema
from events.domain import registry
from events.projections import Projections
from events.projections.calendar import CalendarProjection
from events.store import Clock, utc_now
from publishers.stores import ObjectStore, open_store

from . import __version__
from .metrics import ObservedObjectStore, observe_appends, observe_publish
from .config import Settings
from .handlers.publishing import Publishing, for_scheduler
from .handlers.releases import Releases

if TYPE_CHECKING:  # the scheduler (and APScheduler) load only when something schedules
    from .scheduler import Publish, ReleaseScheduler


@dataclass
class App:
    settings: Settings
    clock: Clock = utc_now

    @cached_property
    def engine(self) -> Engine:
        return make_engine(self.settings.database_url)

    @cached_property
    def store(self) -> EventStore:
        return observe_appends(EventStore(self.engine, registry, clock=self.clock))

    @cached_property
    def releases(self) -> Releases:
        """The release calendar's commands and the one release recorder, on this app's clock."""
        return Releases(self.store, self.clock)

    @cached_property
    def projections(self) -> Projections:
        """The scorecard and history read models (callers catch them up)."""
        return Projections(self.store)

    @cached_property
    def calendar(self) -> CalendarProjection:
        """The release calendar's read model (callers catch it up)."""
        return CalendarProjection(self.store)

    def publishing_to(self, site_url: str | None = None) -> Publishing:
        """Publishing for the configured site, or for another site URL (the CLI's --site-url)."""
        if site_url is None:
            return self.publishing
        return Publishing(
            self.store, site_url=site_url, software_version=__version__, clock=self.clock,
            releases=self.releases, projections=self.projections, signing_key=self.signing_key,
        )  # fmt: skip

    @cached_property
    def signing_key(self):
        """The key that signs the site's checkpoints (POLICING_METRICS_SIGNING_KEY_FILE), or None: unsigned."""
        from .handlers.checkpoints import load_key

        if not self.settings.signing_key_file:
            return None
        return load_key(self.settings.signing_key_file)

    @cached_property
    def publishing(self) -> Publishing:
        return Publishing(
            self.store, site_url=self.settings.site_url, software_version=__version__, clock=self.clock,
            releases=self.releases, projections=self.projections, signing_key=self.signing_key,
        )  # fmt: skip

    def scheduler(self, **options) -> "ReleaseScheduler":
        """A release scheduler publishing to `publish_to`; `options` as ReleaseScheduler takes them
        (sweep_interval, lease, verify_interval as timedeltas)."""
        from .scheduler import ReleaseScheduler

        return ReleaseScheduler(
            self.store, self.publish, clock=self.clock, releases=self.releases, calendar=self.calendar, **options
        )

    @cached_property
    def publish(self) -> "Publish":
        """What the release scheduler calls to publish an edition's revision: to the `publish_to` destination."""
        return observe_publish(for_scheduler(self.publishing, lambda: ObservedObjectStore(open_store(self.settings.publish_to))))

    @cached_property
    def published(self) -> ObjectStore:
        """The public site: where released editions' files are (served again by the HTTP API from there)."""
        return ObservedObjectStore(open_store(self.settings.publish_to))

    def check_schema(self) -> str:
        """"current", or "compatible" (newer, declared to work with this software); raises otherwise."""
        return require_current_schema(self.engine)

    def close(self) -> None:
        if "engine" in self.__dict__:
            self.engine.dispose()


def bootstrap(settings: Settings | None = None, clock: Clock = utc_now) -> App:
    return App(settings or Settings(), clock)
