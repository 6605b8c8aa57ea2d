"""What the release calendar and scheduler tests share: an approved edition, an idempotent fake publisher."""

from __future__ import annotations

import hashlib
import threading
from datetime import datetime

from events import EventStore, NewEvent
from events.domain.editions import edition_stream
from service.handlers.releases import PublishOutcome, Releases


def approve(store: EventStore, edition: str, revision: int = 1) -> None:
    """The edition as approved at some log position (its content does not matter to scheduling)."""
    store.append(
        edition_stream(edition),
        [NewEvent("EditionApproved", {"edition": edition, "revision": revision, "position": 0, "head_hash": "0" * 64})],
        expected_version=None,
    )


def announce_for(store: EventStore, edition: str, at: str, *, announced_at: datetime, title: str | None = None) -> str:
    """Announce a release as someone did at `announced_at` (overriding the notice rule); returns its release_at."""
    release = Releases(store, lambda: announced_at).announce(
        edition, at, title=title or f"Statement {edition}", override_reason="announced in a test", actor="analyst"
    )
    return release.release_at


class FakePublisher:
    """Publishes like the real stores do: identical content again is a no-op, different content is refused.

    `block` makes each publish wait until released (to stop a scheduler mid-release).
    """

    def __init__(self, fail_times: int = 0, block: threading.Event | None = None) -> None:
        self.calls: list[tuple[str, int]] = []
        self.refreshed: list[tuple[str, int, int]] = []  # (edition, revision, publishes before it)
        self.objects: dict[str, bytes] = {}
        self.fail_times = fail_times
        self.block = block
        self.started = threading.Event()

    def __call__(self, edition: str, revision: int) -> PublishOutcome:
        self.calls.append((edition, revision))
        self.started.set()
        if self.block is not None:
            self.block.wait(10)
        if self.fail_times:
            self.fail_times -= 1
            raise ConnectionError("the object store did not answer")
        key = f"editions/{edition}/r{revision}/index.html"
        body = f"<h1>{edition} r{revision}</h1>".encode()
        if self.objects.setdefault(key, body) != body:
            raise AssertionError(f"different content under immutable key {key}")
        manifest = hashlib.sha256(body).hexdigest()
        return PublishOutcome(manifest, (key, f"editions/{edition}/r{revision}/manifest.json"))

    def after_release(self, edition: str, revision: int) -> None:
        """A real publisher refreshes the site's indexes and feeds here, once the release is recorded."""
        self.refreshed.append((edition, revision, len(self.calls)))


def released_events(store: EventStore, edition: str) -> list:
    return [e for e in store.read_stream(f"release-{edition}") if e.type == "EditionReleased"]
