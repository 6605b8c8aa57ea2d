"""Release calendar commands: announce, confirm, reschedule or cancel a release; record it released;
grant and record pre-release access.

Each command reads the release's stream, decides against the Code of Practice for Statistics
(a release time is London time, 09:30 on a weekday by default, confirmed at least four weeks
ahead, changed only with a reason) and appends at the version it read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from events import EventStore, IdempotencyKeyReused, Metadata, NewEvent, WrongExpectedVersion
from events.domain import registry
from events.domain.fields import carried
from events.domain.calendar import (
    LONDON,
    ON_TIME_TOLERANCE_SECONDS,
    EditionReleased,
    PreReleaseAccessGranted,
    PreReleaseAccessRecorded,
    Release,
    ReleaseAnnounced,
    ReleaseCancelled,
    ReleaseConfirmed,
    ReleaseRescheduled,
    fold,
    granted_people,
    parse_zoned,
    release_stream,
    zoned_text,
)
from events.domain.editions import edition_stream
from events.records import format_time
from events.store import Clock, utc_now

DEFAULT_RELEASE_TIME = time(9, 30)
NOTICE = timedelta(weeks=4)  # Code of Practice T3.1: confirmed dates at least four weeks ahead
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


# -- errors -------------------------------------------------------------------------------------


class ReleaseRefused(Exception):
    """A release calendar command that was not carried out; the message says what to do instead."""


class InvalidReleaseTime(ReleaseRefused):
    pass


class NonExistentLocalTime(InvalidReleaseTime):
    """The clocks go forward over this time: it never shows on a London clock."""


class AmbiguousLocalTime(InvalidReleaseTime):
    """The clocks go back over this time: it shows twice on a London clock."""


class ReleaseTimeInPast(ReleaseRefused):
    pass


class WeekendRelease(ReleaseRefused):
    pass


class TooLittleNotice(ReleaseRefused):
    pass


class ReasonRequired(ReleaseRefused):
    pass


class TitleRequired(ReleaseRefused):
    pass


class ReleaseNotAnnounced(ReleaseRefused):
    pass


class ReleaseAlreadyAnnounced(ReleaseRefused):
    pass


class ReleaseClosed(ReleaseRefused):
    """The release was released or cancelled, so its time can no longer change."""


class ReleaseNotDue(ReleaseRefused):
    pass


class ReleaseMoved(ReleaseRefused):
    """The release is no longer at the time a scheduler was about to release it for."""


class EmbargoOver(ReleaseRefused):
    pass


# -- release times ------------------------------------------------------------------------------


def _show(moment: datetime) -> str:
    local = moment.astimezone(LONDON)
    return f"{local:%a %d %b %Y %H:%M} {local.tzname()}"


def release_time(text: str | datetime | date) -> datetime:
    """A release time as a person gives it, as an aware Europe/London datetime.

    `2026-02-05` is 09:30 that day; `2026-02-05T09:30` is London wall-clock time (GMT or BST,
    whichever is in force then); a time with an offset (`...+01:00`, `...Z`) is that instant.
    A wall-clock time the clock changes skip or repeat is refused: the instant would be a guess.
    """
    if isinstance(text, datetime):
        parsed = text
    elif isinstance(text, date):
        parsed = datetime.combine(text, DEFAULT_RELEASE_TIME)
    else:
        value = text.strip()
        try:
            if _DATE_ONLY.match(value):
                parsed = datetime.combine(date.fromisoformat(value), DEFAULT_RELEASE_TIME)
            else:
                parsed = datetime.fromisoformat(value)
        except ValueError:
            raise InvalidReleaseTime(
                f"cannot read {text!r} as a release time: write a London date such as 2026-02-05 "
                "(09:30 that day) or a date and time such as 2026-02-05T09:30"
            ) from None
    if parsed.second or parsed.microsecond:
        raise InvalidReleaseTime(f"release times are to the minute, found {parsed.isoformat()}: drop the seconds")
    if parsed.tzinfo is not None:
        return parsed.astimezone(LONDON)
    # A naive time is read on a London clock. fold=0 and fold=1 give the two readings of a
    # repeated hour (BST then GMT) and the two extrapolations across a skipped hour.
    first, second = parsed.replace(tzinfo=LONDON, fold=0), parsed.replace(tzinfo=LONDON, fold=1)
    if first.astimezone(timezone.utc).astimezone(LONDON).replace(tzinfo=None) != parsed:
        raise NonExistentLocalTime(
            f"{parsed:%Y-%m-%d %H:%M} does not exist in London: the clocks go forward from GMT to BST "
            "over that hour. Choose another time (09:30 is the usual release time)"
        )
    if first.utcoffset() != second.utcoffset():
        raise AmbiguousLocalTime(
            f"{parsed:%Y-%m-%d %H:%M} happens twice in London: the clocks go back from BST to GMT over "
            f"that hour. Choose another time, or give the offset ({first.isoformat(timespec='minutes')} "
            f"for the first, {second.isoformat(timespec='minutes')} for the second)"
        )
    return first


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
        return events, fold(events), (events[-1].version if events else 0)

    def release(self, edition: str) -> Release | None:
        return self._read(edition)[1]

    def _require(self, edition: str, release: Release | None, doing: str) -> Release:
        if release is None:
            raise ReleaseNotAnnounced(
                f"the release of {edition!r} has not been announced, so it cannot be {doing}: "
                f"announce it first with `policing-metrics schedule {edition} --at DATE`"
            )
        if release.status == "released":
            raise ReleaseClosed(
                f"{edition!r} was released at {release.released_at}, so it cannot be {doing}; "
                "a correction is published as a new revision"
            )
        if release.status == "cancelled" and doing != "announced":
            raise ReleaseClosed(
                f"the release of {edition!r} was cancelled ({release.cancellation_reason}), so it cannot be {doing}; "
                f"announce it again with `policing-metrics schedule {edition} --at DATE`"
            )
        return release

    def _append(self, edition: str, version: int, event, actor: str, source: str) -> Release:
        self.store.append(
            release_stream(edition),
            [NewEvent.of(event, registry)],
            expected_version=version,
            metadata=Metadata(actor=actor, source=source),
        )
        return self.release(edition)

    # validation shared by announce, confirm and reschedule

    def _check_time(self, edition: str, due: datetime, *, confirmed: bool, override_reason: str | None, notice: bool) -> None:
        now = self.clock()
        if due <= now:
            raise ReleaseTimeInPast(
                f"{_show(due)} for {edition!r} is not in the future (it is now {_show(now)}): choose a later time"
            )
        override = bool(override_reason and override_reason.strip())
        if due.weekday() >= 5 and not override:
            raise WeekendRelease(
                f"{_show(due)} for {edition!r} is a {due:%A}: releases are on weekdays; choose a weekday "
                "or give --override-reason saying why this one cannot wait"
            )
        if notice and confirmed and due - now < NOTICE and not override:
            earliest = (now + NOTICE).astimezone(LONDON).date()
            raise TooLittleNotice(
                f"a confirmed release needs four weeks' notice (Code of Practice T3.1), but {_show(due)} for "
                f"{edition!r} is only {(due - now).days} days away: announce it --provisional, choose a date on "
                f"or after {earliest:%d %b %Y}, or give --override-reason"
            )

    # commands

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
        due = release_time(at)
        _, release, version = self._read(edition)
        if release is not None and release.status != "cancelled":
            self._require(edition, release, "announced")
            raise ReleaseAlreadyAnnounced(
                f"the release of {edition!r} is already announced for {_show(release.due)}: "
                f"use `policing-metrics reschedule {edition} --at DATE --reason TEXT` to change it"
            )
        # A title recorded before the boundary refused unpublishable characters is copied without them.
        title = (title or "").strip() or carried(self._edition_title(edition))
        if not title:
            raise TitleRequired(
                f"edition {edition!r} has not been opened, so it has no title to show on the calendar: give --title"
            )
        self._check_time(edition, due, confirmed=not provisional, override_reason=override_reason, notice=True)
        event = ReleaseAnnounced(
            edition=edition,
            title=title,
            release_at=zoned_text(due),
            state="provisional" if provisional else "confirmed",
            override_reason=_reason_or_none(override_reason),
        )
        return self._append(edition, version, event, actor, source)

    def confirm(self, edition: str, *, override_reason: str | None = None, actor: str = "system", source: str = "cli") -> Release:
        _, release, version = self._read(edition)
        release = self._require(edition, release, "confirmed")
        if release.status == "confirmed":
            return release  # already firm: confirming again changes nothing
        self._check_time(edition, release.due, confirmed=True, override_reason=override_reason, notice=True)
        event = ReleaseConfirmed(edition=edition, release_at=release.release_at, override_reason=_reason_or_none(override_reason))
        return self._append(edition, version, event, actor, source)

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
        if not (reason and reason.strip()):
            raise ReasonRequired(
                f"rescheduling {edition!r} needs --reason: the public is told why a release moved (Code of Practice)"
            )
        due = release_time(at)
        _, release, version = self._read(edition)
        release = self._require(edition, release, "rescheduled")
        if zoned_text(due) == release.release_at:
            raise InvalidReleaseTime(f"the release of {edition!r} is already at {_show(due)}: give the new time")
        # A move is announced promptly with its reason; four weeks' notice is asked of the first confirmation only.
        self._check_time(edition, due, confirmed=release.status == "confirmed", override_reason=override_reason, notice=False)
        event = ReleaseRescheduled(
            edition=edition,
            release_at=zoned_text(due),
            previous_release_at=release.release_at,
            reason=reason.strip(),
            override_reason=_reason_or_none(override_reason),
        )
        return self._append(edition, version, event, actor, source)

    def cancel(self, edition: str, *, reason: str, actor: str = "system", source: str = "cli") -> Release:
        if not (reason and reason.strip()):
            raise ReasonRequired(f"cancelling {edition!r} needs --reason: the public is told why a release was cancelled")
        _, release, version = self._read(edition)
        release = self._require(edition, release, "cancelled")
        event = ReleaseCancelled(edition=edition, release_at=release.release_at, reason=reason.strip())
        return self._append(edition, version, event, actor, source)

    def grant_access(
        self, edition: str, person: str, *, reason: str, role: str = "", actor: str = "system", source: str = "cli"
    ) -> None:
        if not (reason and reason.strip()):
            raise ReasonRequired(f"pre-release access to {edition!r} for {person!r} needs --reason")
        _, release, version = self._read(edition)
        if release is not None and release.status == "released":
            raise EmbargoOver(f"{edition!r} was released at {release.released_at}: it is public, no access needs granting")
        event = PreReleaseAccessGranted(edition=edition, person=person.strip(), role=role.strip(), reason=reason.strip())
        self.store.append(
            release_stream(edition), [NewEvent.of(event, registry)], expected_version=version,
            metadata=Metadata(actor=actor, source=source),
        )

    def record_access(
        self, edition: str, person: str, *, what: str, actor: str = "system", source: str = "cli"
    ) -> bool:
        """Record one access to the embargoed edition; returns whether the person had been granted access.

        An access by someone never granted is recorded all the same (flagged): refusing to
        record it would hide exactly the breach auditors need to see.
        """
        events, release, version = self._read(edition)
        if release is not None and release.status == "released":
            raise EmbargoOver(f"{edition!r} was released at {release.released_at}: access to it is public and not recorded")
        granted = person.strip() in granted_people(events)
        event = PreReleaseAccessRecorded(
            edition=edition, person=person.strip(), what=what.strip(), accessed_at=format_time(self.clock()), granted=granted
        )
        self.store.append(
            release_stream(edition), [NewEvent.of(event, registry)], expected_version=version,
            metadata=Metadata(actor=actor, source=source),
        )
        return granted

    def access_log(self, edition: str) -> list[dict]:
        """Grants and accesses, in order, for auditors."""
        return [
            {"type": event.type, "recorded_at": event.recorded_at, "actor": event.actor, **event.data}
            for event in self.store.read_stream(release_stream(edition))
            if event.type in ("PreReleaseAccessGranted", "PreReleaseAccessRecorded")
        ]

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
        """Record that `revision` went out for the release announced at `release_at`.

        Returns the release and whether this call recorded it: a retry after a crash, or a
        second process that published the same release, finds it recorded and records nothing.
        """
        released_at = released_at or self.clock()
        key = release_idempotency_key(edition, revision, release_at)
        for _ in range(5):
            _, release, version = self._read(edition)
            if release is not None and release.status == "released":
                if release.released_revision == revision and release.release_at == release_at:
                    return release, False
                raise ReleaseClosed(
                    f"{edition!r} was already released (revision {release.released_revision} for "
                    f"{release.release_at}), not revision {revision} for {release_at}"
                )
            release = self._require(edition, release, "released")
            if release.release_at != release_at:
                raise ReleaseMoved(
                    f"the release of {edition!r} is now at {release.release_at}, not {release_at}: it is released then"
                )
            due = parse_zoned(release_at)
            if released_at < due:
                raise ReleaseNotDue(f"{edition!r} is embargoed until {_show(due)}; it is {_show(released_at)}")
            delay = int((released_at - due).total_seconds())
            event = EditionReleased(
                edition=edition,
                revision=revision,
                release_at=release_at,
                released_at=format_time(released_at),
                late_by_seconds=delay if delay > ON_TIME_TOLERANCE_SECONDS else None,
                manifest_hash=outcome.manifest_hash,
                keys=list(outcome.keys),
            )
            try:
                self.store.append(
                    release_stream(edition),
                    [NewEvent.of(event, registry)],
                    expected_version=version,
                    idempotency_key=key,
                    metadata=Metadata(actor=actor, source=source),
                )
            except (WrongExpectedVersion, IdempotencyKeyReused):
                continue  # another writer got there first: look again at what it recorded
            return self.release(edition), True
        raise ReleaseRefused(f"the release stream of {edition!r} kept changing while recording its release: try again")

    # editions

    def _edition_title(self, edition: str) -> str:
        title = ""
        for event in self.store.read_stream(edition_stream(edition)):
            if event.type in ("EditionOpened", "EditionDetailsAmended") and event.data.get("title"):
                title = event.data["title"]
        return title


def approved_revision(store: EventStore, edition: str) -> int | None:
    """The edition's latest approved revision (what a release publishes), or None if never approved."""
    revisions = [e.data["revision"] for e in store.read_stream(edition_stream(edition)) if e.type == "EditionApproved"]
    return max(revisions) if revisions else None


def _reason_or_none(text: str | None) -> str | None:
    return text.strip() if text and text.strip() else None
