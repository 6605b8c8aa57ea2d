"""What the HTTP service reads: the projections kept current, and what has been released.

Public answers come only from released revisions: an edition revision is public once its
`EditionReleased` event is in the log (the scheduler appends it at the announced moment, never
before), and what it says about figures is what that revision's document published (the edition's
coverage, `events.domain.rules.editions.Coverage`), never the log's latest. Released revisions never
change, so what is built from one is cached for good.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Callable

from events import EventStore
from events.projections import Projections
from events.domain.rules.releases import ReleasedRevision
from events.projections.model import JSON_KEYS, order_key
from publishers import comparison, model
from publishers.render import scorecard_json

from publishers.stores import ObjectNotFound, ObjectStore

from ..handlers.editions_published import RevisionTimes, edition_document
from ..handlers.releases import Released, released_editions

# How long a list of releases is trusted before the log is asked again: a release shows up at
# most this late on the API (plus the moment it takes one request to ask, while requests in the
# event loop meanwhile get the list it replaces), and never early.
RELEASES_TTL_SECONDS = 0.5
# A refresh claimed by a request in the event loop that has not finished within this long is
# taken as abandoned: the next request claims it again.
REFRESH_CLAIM_SECONDS = 1.0


class ReadModels:
    """The projections of one store, caught up on demand, and the released editions."""

    def __init__(self, store: EventStore, published: Callable[[], ObjectStore], projections: Projections) -> None:
        self.store = store
        self.published = published  # where released files were put: they are served from there, as published
        self.projections = projections  # the composition root's
        self._catch_up_lock = threading.Lock()
        self._released: tuple[float, int, list[Released]] = (0.0, -1, [])
        self._refresh_lock = threading.Lock()
        self._refresh_claimed_at = 0.0  # see released_if_fresh
        self._encoded: dict[tuple, bytes] = {}
        self._documents: dict[tuple[str, int], model.EditionDocument] = {}
        self._encode_lock = threading.Lock()

    def caught_up_to(self, position: int) -> Projections:
        """The projections, at or past `position`."""
        if self.projections.checkpoint() < position:
            with self._catch_up_lock:
                self.projections.catch_up()
        return self.projections

    def current(self) -> Projections:
        return self.caught_up_to(self.store.head().position)

    # -- releases -------------------------------------------------------------------------------

    def released(self) -> list[Released]:
        """Every released revision, newest release first."""
        checked, head, cached = self._released
        if time.monotonic() - checked < RELEASES_TTL_SECONDS:
            return cached
        with self._refresh_lock:  # one thread asks the log; the others then take its answer
            checked, head, cached = self._released
            if time.monotonic() - checked >= RELEASES_TTL_SECONDS:
                position = self.store.head().position
                if position != head:
                    cached = self._load_released()
                self._released = (time.monotonic(), position, cached)
            self._refresh_claimed_at = 0.0
        return cached

    def released_if_fresh(self) -> list[Released] | None:
        """For the event loop, without I/O: the releases list if it was checked within the last
        RELEASES_TTL_SECONDS, or while another request is checking it; otherwise None, and the
        caller is the one request to check it (in a worker thread, through `released`).

        Without the claim, every request arriving in the event loop between the list going stale
        and a worker thread renewing it (64 of them, with 64 connections busy) went to a thread
        and asked the log: a 30-40 ms stall twice a second."""
        checked, _, cached = self._released
        now = time.monotonic()
        if now - checked < RELEASES_TTL_SECONDS or now - self._refresh_claimed_at < REFRESH_CLAIM_SECONDS:
            return cached
        self._refresh_claimed_at = now
        return None

    def _load_released(self) -> list[Released]:
        return sorted(released_editions(self.store), key=lambda r: (r.released_at, r.edition, r.revision), reverse=True)

    def latest(self, edition: str | None = None, area: str | None = None) -> Released | None:
        return _latest(self.released(), edition, area)

    def revision(self, edition: str, revision: int) -> Released | None:
        return next((r for r in self.released() if r.edition == edition and r.revision == revision), None)

    # -- what a release shows -------------------------------------------------------------------

    def file(self, released: Released, name: str) -> bytes | None:
        """A file of a released revision, byte for byte as published (None if the site lacks it)."""
        key = ("file", released.edition, released.revision, name)
        if key not in self._encoded:
            try:
                directory = model.edition_directory(released.edition, released.revision, released.organisation)
                self._encoded[key] = self.published().get(f"{directory}/{name}")
            except ObjectNotFound:
                return None
        return self._encoded[key]

    def cached_scorecard(self, area: str | None = None) -> tuple[Released, bytes] | None:
        """The scorecard as last released and its encoding, when both are at hand without touching
        the database (the event loop answers those itself); None otherwise."""
        released = self.released_if_fresh()
        latest = None if released is None else _latest(released, None, area)
        if latest is None:
            return None
        body = self._encoded.get(("scorecard", latest.edition, latest.revision))
        return None if body is None else (latest, body)

    def document(self, released: Released) -> model.EditionDocument:
        """What a released revision published, built as publishing built it (and kept: it never changes).
        Every public answer about figures comes from here, so none shows what no release published."""
        key = (released.edition, released.revision)
        if key not in self._documents:
            with self._encode_lock:
                if key not in self._documents:
                    earlier = tuple(
                        ReleasedRevision(r.revision, r.release_at, r.released_at, r.manifest_hash)
                        for r in sorted(self.released(), key=lambda r: r.revision)
                        if r.edition == released.edition and r.revision < released.revision
                    )
                    times = RevisionTimes(released.release_at, earlier[0].release_at if earlier else released.release_at, earlier)
                    self._documents[key] = edition_document(
                        self.store, released.edition, released.revision, times, software_version="",
                        projections=self.caught_up_to(released.position),
                    )  # fmt: skip
        return self._documents[key]

    def scorecard_json(self, released: Released) -> bytes:
        """The scorecard as the release published it, encoded once."""
        key = ("scorecard", released.edition, released.revision)
        if key in self._encoded:
            return self._encoded[key]
        document = self.document(released)
        # One thread encodes it; the others that asked meanwhile (a burst at a release, or at
        # start-up) wait for that instead of each encoding the same thing.
        with self._encode_lock:
            if key not in self._encoded:
                body = {
                    "edition": released.edition,
                    "revision": released.revision,
                    "area": released.area,
                    "released_at": released.released_at,
                    "position": released.position,
                    "scorecard": [{name: getattr(line, name) for name in JSON_KEYS} for line in document.scorecard],
                }
                self._encoded[key] = json.dumps(body, ensure_ascii=False).encode()
        return self._encoded[key]

    def released_history(self, measure: str, area: str) -> list[dict]:
        """The values each released revision published for one measure in one area (its figures and
        its trend), oldest release first."""
        vintages = []
        for released in reversed(self.released()):
            if released.area != area:
                continue
            document = self.document(released)
            values = {f.period: f.value for f in document.figures if (f.measure, f.area) == (measure, area)}
            for line in document.scorecard:
                if (line.measure, line.area) == (measure, area):
                    values.update(line.series)
            vintages.append(
                {
                    "edition": released.edition,
                    "revision": released.revision,
                    "released_at": released.released_at,
                    "values": dict(sorted(values.items(), key=lambda item: order_key(item[0]))),
                }
            )
        return vintages


def comparison_rows(reads: "ReadModels", measure: str) -> list[dict]:
    """The same measure across forces (publishers.comparison), from what the released revisions published."""
    return comparison.comparison_rows(
        reads.released(), measure, lambda released: [scorecard_json(line) for line in reads.document(released).scorecard]
    )


def _latest(released: list[Released], edition: str | None, area: str | None) -> Released | None:
    for item in released:
        if (edition is None or item.edition == edition) and (area is None or item.area == area):
            return item
    return None
