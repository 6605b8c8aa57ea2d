"""Release calendar commands: announce, confirm, reschedule or cancel a release; fix a release's
time when it is published on demand; record a revision released; grant and record pre-release access.

Each command reads the release's stream, decides with the calendar's rules
(`events.domain.rules.releases`, the Code of Practice for Statistics) and appends at the version
it read, so a decision made on stale state is refused by the store, never recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from events import EventStore, IdempotencyKeyReused, Metadata, NewEvent, WrongExpectedVersion
from events.domain import registry
from events.domain.calendar import Release, release_stream
from events.domain.fields import carried, trim
from events.domain.editions import edition_stream
from events.domain.errors import ReleaseRefused
from events.domain.rules import editions as edition_rules
from events.domain.rules import releases as rules
from events.domain.rules.editions import Edition
from events.domain.rules.releases import ReleasedRevision, release_time, released_revisions  # noqa: F401
from events.domain.organisations import ORGANISATIONS_STREAM
from events.records import format_time
from events.store import Clock, utc_now

from .organisations import edition_organisation

# A command that keeps meeting a concurrent change to the same release gives up after this many reads.
ATTEMPTS = 5


def release_idempotency_key(edition: str, revision: int, release_at: str) -> str:
    """One key per release of a revision at an announced time: a retried release records once."""
    return f"release/{edition}/r{revision}/{release_at}"


@dataclass(frozen=True)
class PublishOutcome:
    """What publishing an edition's revision put out: the manifest's SHA-256 and the keys written."""

    manifest_hash: str
    keys: tuple[str, ...]


# -- the commands -------------------------------------------------------------------------------


class Releases:
    """The release calendar's command handlers, over one store and one clock."""

    def __init__(self, store: EventStore, clock: Clock = utc_now) -> None:
        self.store = store
        self.clock = clock

    # reading

    def _read(self, edition: str):
        events = self.store.read_stream(release_stream(edition))
        return events, rules.fold(events), (events[-1].version if events else 0)

    def release(self, edition: str) -> Release | None:
        return self._read(edition)[1]

    def released(self, edition: str) -> list[ReleasedRevision]:
        """The edition's released revisions, oldest first."""
        return released_revisions(self._read(edition)[0])

    def _append(self, edition: str, version: int, event, actor: str, source: str, idempotency_key: str | None = None):
        return self.store.append(
            release_stream(edition),
            [NewEvent.of(event, registry)],
            expected_version=version,
            idempotency_key=idempotency_key,
            metadata=Metadata(actor=actor, source=source),
        )

    def _decide_and_append(self, edition: str, decide, actor: str, source: str) -> Release:
        _, release, version = self._read(edition)
        event = decide(release)
        if event is not None:
            self._append(edition, version, event, actor, source)
            release = self.release(edition)
        return release

    # the calendar

    def announce(
        self,
        edition: str,
        at: str | datetime | date,
        *,
        title: str | None = None,
        provisional: bool = False,
        override_reason: str | None = None,
        actor: str = "system",
        source: str = "cli",
    ) -> Release:
        # A title recorded before the boundary refused unpublishable characters is copied without them.
        title = trim(title or "") or carried(self._edition_title(edition))
        return self._decide_and_append(
            edition,
            lambda current: rules.announce(
                current, edition=edition, at=at, now=self.clock(), title=title, provisional=provisional,
                override_reason=override_reason, nation=self._nation(edition),
            ),
            actor,
            source,
        )

    def confirm(self, edition: str, *, override_reason: str | None = None, actor: str = "system", source: str = "cli") -> Release:
        return self._decide_and_append(
            edition,
            lambda current: rules.confirm(
                current, edition=edition, now=self.clock(), override_reason=override_reason, nation=self._nation(edition)
            ),
            actor,
            source,
        )

    def reschedule(
        self,
        edition: str,
        at: str | datetime | date,
        *,
        reason: str,
        override_reason: str | None = None,
        actor: str = "system",
        source: str = "cli",
    ) -> Release:
        return self._decide_and_append(
            edition,
            lambda current: rules.reschedule(
                current, edition=edition, at=at, now=self.clock(), reason=reason, override_reason=override_reason,
                nation=self._nation(edition),
            ),
            actor,
            source,
        )

    def cancel(self, edition: str, *, reason: str, actor: str = "system", source: str = "cli") -> Release:
        return self._decide_and_append(edition, lambda current: rules.cancel(current, edition=edition, reason=reason), actor, source)

    # pre-release access

    def grant_access(
        self,
        edition: str,
        person: str,
        *,
        reason: str,
        role: str = "",
        token_id: str | None = None,
        actor: str = "system",
        source: str = "cli",
    ) -> None:
        """Put a person on the release's pre-release access list; with `token_id`, that API token
        may read the edition from 24 hours before its release (events/domain/rules/access.py)."""
        self._decide_and_append(
            edition,
            lambda current: rules.grant_access(
                current, edition=edition, person=person, reason=reason, role=role, token_id=token_id
            ),
            actor,
            source,
        )

    def record_access(self, edition: str, person: str, *, what: str, actor: str = "system", source: str = "cli") -> bool:
        """Record one access to the embargoed edition; returns whether the person had been granted access."""
        events, release, version = self._read(edition)
        event = rules.record_access(
            release, rules.granted_people(events), edition=edition, person=person, what=what, now=format_time(self.clock())
        )
        self._append(edition, version, event, actor, source)
        return event.granted

    # publishing and releasing

    def fix_publish_time(
        self, edition: str, *, title: str, early: bool, override_reason: str | None, actor: str = "publisher", source: str = "cli"
    ) -> tuple[str, object | None]:
        """The time a first release published on demand goes out, and the calendar event that fixed it
        (None if it goes out at its announced time).

        The decision and its append are made on one reading of the stream: if another publish or a
        `schedule` changed the release meanwhile, the append is refused and the decision is made
        again on what that left (two `publish --now` at once move the release once).
        """
        for _ in range(ATTEMPTS):
            _, release, version = self._read(edition)
            release_at, event = rules.publish_time(
                release, edition=edition, title=title, now=self.clock(), early=early, override_reason=override_reason
            )
            if event is None:
                return release_at, None
            try:
                self._append(edition, version, event, actor, source)
            except WrongExpectedVersion:
                continue
            return release_at, event
        raise ReleaseRefused(f"the release of {edition!r} kept changing while it was being published: run the publish again")

    def record_release(
        self,
        edition: str,
        revision: int,
        release_at: str,
        outcome: PublishOutcome,
        *,
        released_at: datetime | None = None,
        actor: str = "scheduler",
        source: str = "scheduler",
    ) -> tuple[Release, bool]:
        """Record that `revision` went out for `release_at`: a first release at its announced time, or a
        correction of a released edition. The one place `EditionReleased` is recorded.

        Returns the release and whether this call recorded it: a retry after a crash, or a
        second process that published the same release, finds it recorded and records nothing.
        """
        released_at = released_at or self.clock()
        key = release_idempotency_key(edition, revision, release_at)
        for _ in range(ATTEMPTS):
            events, release, version = self._read(edition)
            event = rules.release(
                release, released_revisions(events), edition=edition, revision=revision, release_at=release_at,
                released_at=released_at, manifest_hash=outcome.manifest_hash, keys=outcome.keys,
            )
            if event is None:
                return release, False
            try:
                appended = self._append(edition, version, event, actor, source, idempotency_key=key)
            except (WrongExpectedVersion, IdempotencyKeyReused):
                continue  # another writer got there first: look again at what it recorded
            # A replay is another writer's identical record of the same release: this call recorded nothing.
            return self.release(edition), not appended.replayed
        raise ReleaseRefused(f"the release stream of {edition!r} kept changing while recording its release: try again")

    # editions

    def _edition_title(self, edition: str) -> str:
        return self._edition_detail(edition, "title")

    def _nation(self, edition: str) -> str:
        """Whose bank holidays the release keeps: the edition's force area's nation (England unless opened for Wales)."""
        return rules.nation_of(self._edition_detail(edition, "area"))

    def _edition_detail(self, edition: str, name: str) -> str:
        value = ""
        for event in self.store.read_stream(edition_stream(edition)):
            if event.type in ("EditionOpened", "EditionDetailsAmended") and event.data.get(name):
                value = event.data[name]
        return value


# -- what is released ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Released:
    """One released revision of one edition, as its approval froze it."""

    edition: str
    revision: int
    release_at: str  # London, with offset: the time it was released for
    released_at: str  # UTC: when publishing finished
    manifest_hash: str
    position: int  # the log position its approval froze
    reason: str  # its approval's reason (why it supersedes the revision before)
    state: Edition  # the edition at `position`: what its title, area and authors were when approved
    tree_size: int = 0  # the tree its published edition is proved in (Approval.tree_size)
    organisation: str = ""  # whose site section it is published in (service.handlers.organisations)

    @property
    def title(self) -> str:
        return self.state.title

    @property
    def area(self) -> str:
        return self.state.area


def released_editions(store: EventStore, release_events: dict[str, list] | None = None) -> list[Released]:
    """Every released revision of every edition, by edition then revision: what the site lists and the
    public API serves. `release_events` is the release streams if the caller has read them already."""
    streams = store.read_prefix("release-") if release_events is None else release_events
    revisions = {stream.removeprefix("release-"): released_revisions(events) for stream, events in streams.items()}
    revisions = {edition: found for edition, found in revisions.items() if found}
    edition_events = store.read_streams([edition_stream(edition) for edition in revisions])
    defined = store.read_stream(ORGANISATIONS_STREAM)
    out = []
    for edition, found in sorted(revisions.items()):
        events = edition_events.get(edition_stream(edition), [])
        approvals = edition_rules.fold(
            ((e.type, e.data) for e in events), (e.recorded_at for e in events), (e.position for e in events)
        ).approvals
        organisation = edition_organisation(store, edition, events, defined)
        for released in found:
            approval = approvals[released.revision - 1]
            state = edition_rules.fold((e.type, e.data) for e in events if e.position <= approval.position)
            out.append(
                Released(
                    edition, released.revision, released.release_at, released.released_at, released.manifest_hash,
                    approval.position, approval.reason, state, approval.tree_size, organisation,
                )
            )
    return out


def approved_revision(store: EventStore, edition: str) -> int | None:
    """The edition's latest approved revision (what a release publishes), or None if never approved."""
    revisions = [e.data["revision"] for e in store.read_stream(edition_stream(edition)) if e.type == "EditionApproved"]
    return max(revisions) if revisions else None
