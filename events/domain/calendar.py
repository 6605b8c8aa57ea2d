"""The release calendar: when each edition is released, every change to that, and who saw it early.

Stream: `release-{edition}`. A release is announced (provisional or confirmed), may be confirmed,
rescheduled (the previous time is kept) or cancelled with a reason, and ends released: the
manifest that went out, and how late if it was late. Pre-release access is granted to named
people, and each access while the edition is embargoed is recorded, for auditors.

Release times are wall-clock times in Europe/London written as ISO 8601 with their UTC offset
(`2026-02-05T09:30:00+00:00`, `2026-07-02T09:30:00+01:00`) beside the zone's name, so a reader
needs no time zone database to know the instant, and a person sees the time they were told.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Annotated, Any, Literal, Optional
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, Field, model_validator

from . import registry
from .fields import DomainEvent, Reason, Slug, Text

TIME_ZONE = "Europe/London"
LONDON = ZoneInfo(TIME_ZONE)
TimeZoneName = Literal["Europe/London"]
AnnouncedState = Literal["provisional", "confirmed"]
# A release's state on the calendar: GOV.UK's provisional / confirmed / cancelled, and released.
ReleaseStatus = Literal["provisional", "confirmed", "cancelled", "released"]
# Anything published within this long after its time counts as on time: the scheduler's own
# wake-up jitter is seconds; a delay beyond a minute is one the public may have noticed.
ON_TIME_TOLERANCE_SECONDS = 60

# Who was given pre-release access to a release, and who saw it: on the release's stream.
ACCESS_TYPES = ("PreReleaseAccessGranted", "PreReleaseAccessRecorded")
CALENDAR_EVENT_TYPES = (
    "ReleaseAnnounced",
    "ReleaseConfirmed",
    "ReleaseRescheduled",
    "ReleaseCancelled",
    "EditionReleased",
    *ACCESS_TYPES,
)


def zoned_text(moment: datetime, zone: ZoneInfo = LONDON) -> str:
    """How a release time is written: the wall-clock time in `zone`, with its offset, to the second."""
    if moment.tzinfo is None:
        raise ValueError("a release time must carry a time zone")
    return moment.astimezone(zone).isoformat(timespec="seconds")


def parse_zoned(text: str) -> datetime:
    """A release time as written in an event, as an aware datetime in Europe/London."""
    return datetime.fromisoformat(text).astimezone(LONDON)


def _zoned_time(value: str) -> str:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"expected an ISO 8601 time with its UTC offset, such as 2026-02-05T09:30:00+00:00, found {value!r}") from None
    if moment.tzinfo is None:
        raise ValueError(f"a release time needs its UTC offset (+00:00 in GMT, +01:00 in BST), found {value!r}")
    if moment.second or moment.microsecond:
        raise ValueError(f"release times are to the minute, found {value!r}")
    return value


def _utc_time(value: str) -> str:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"expected an ISO 8601 UTC time, found {value!r}") from None
    if moment.utcoffset() is None or moment.utcoffset().total_seconds() != 0:
        raise ValueError(f"expected a UTC time (ending Z or +00:00), found {value!r}")
    return value


ZonedTime = Annotated[str, AfterValidator(_zoned_time)]
UtcTime = Annotated[str, AfterValidator(_utc_time)]


class _Zoned(DomainEvent):
    """Every release time in the event is written in the event's zone, offset and all."""

    @model_validator(mode="after")
    def _offsets_match_the_zone(self):
        zone = ZoneInfo(getattr(self, "time_zone", TIME_ZONE))
        for name in ("release_at", "previous_release_at"):
            value = getattr(self, name, None)
            if value is not None and zoned_text(datetime.fromisoformat(value), zone) != value:
                raise ValueError(
                    f"{name} {value!r} is not how {zone.key} writes that moment: "
                    f"{zoned_text(datetime.fromisoformat(value), zone)!r}"
                )
        return self


@registry.event("ReleaseAnnounced")
class ReleaseAnnounced(_Zoned):
    """An edition's release is put on the calendar (again, after a cancellation)."""

    edition: Slug
    title: Text = Field(min_length=1, max_length=300)  # shown publicly before release: never figures
    release_at: ZonedTime
    time_zone: TimeZoneName = TIME_ZONE
    state: AnnouncedState
    # Why the Code of Practice's usual rule (four weeks' notice, a weekday) is departed from.
    override_reason: Optional[Reason] = None


@registry.event("ReleaseConfirmed")
class ReleaseConfirmed(_Zoned):
    """A provisional release's time becomes firm."""

    edition: Slug
    release_at: ZonedTime
    time_zone: TimeZoneName = TIME_ZONE
    override_reason: Optional[Reason] = None


@registry.event("ReleaseRescheduled")
class ReleaseRescheduled(_Zoned):
    edition: Slug
    release_at: ZonedTime
    previous_release_at: ZonedTime
    time_zone: TimeZoneName = TIME_ZONE
    reason: Reason
    override_reason: Optional[Reason] = None


@registry.event("ReleaseCancelled")
class ReleaseCancelled(_Zoned):
    edition: Slug
    release_at: ZonedTime  # the time that had been announced
    time_zone: TimeZoneName = TIME_ZONE
    reason: Reason


@registry.event("EditionReleased")
class EditionReleased(_Zoned):
    """The edition's files went out: which revision, under which manifest, and when."""

    edition: Slug
    revision: int = Field(ge=1)
    release_at: ZonedTime  # the announced time it was released for
    time_zone: TimeZoneName = TIME_ZONE
    released_at: UtcTime  # when publishing finished
    late_by_seconds: Optional[int] = Field(None, ge=0)  # None when on time
    manifest_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    keys: list[Text] = Field(min_length=1)


@registry.event("PreReleaseAccessGranted")
class PreReleaseAccessGranted(DomainEvent):
    edition: Slug
    person: Text = Field(min_length=1, max_length=200)
    role: Text = Field("", max_length=200)
    reason: Reason
    # The API token the person reads with (GET /editions/{edition} before release); None: offline only.
    token_id: Optional[str] = Field(None, pattern=r"^[0-9a-f]{16}$")


@registry.event("PreReleaseAccessRecorded")
class PreReleaseAccessRecorded(DomainEvent):
    """One look at the embargoed edition. Recorded even without a grant: that is a breach to see."""

    # None for a read of unreleased material that no one edition holds (a figure, the audit log).
    edition: Optional[Slug]
    person: Text = Field(min_length=1, max_length=200)
    what: Text = Field(min_length=1, max_length=500)
    accessed_at: UtcTime
    granted: bool
    # Why the reader could see it: production (a data owner or editor, Code of Practice T3.3),
    # grant (named on the release's pre-release access list, T3.4), audit (auditors); None for a
    # look recorded by hand with `pre-release record`.
    basis: Optional[Literal["production", "grant", "audit"]] = None


def release_stream(edition: str) -> str:
    return f"release-{edition}"


# -- the state of one release, folded from its stream ---------------------------------------------


@dataclass(frozen=True)
class Change:
    """One line of a release's change history, as the public calendar shows it."""

    # "corrected": a later revision of an edition already released (its release_at is when the correction went out).
    kind: Literal["announced", "confirmed", "rescheduled", "cancelled", "released", "corrected"]
    release_at: str
    previous_release_at: str | None
    reason: str | None
    recorded_at: str
    position: int


@dataclass(frozen=True)
class Release:
    """A release as its events leave it. `sequence` counts reschedules and cancellations (iCalendar SEQUENCE)."""

    edition: str
    title: str
    status: ReleaseStatus
    release_at: str
    time_zone: str = TIME_ZONE
    previous_release_at: str | None = None
    cancellation_reason: str | None = None
    override_reason: str | None = None
    sequence: int = 0
    released_revision: int | None = None
    released_at: str | None = None
    late_by_seconds: int | None = None
    manifest_hash: str | None = None
    keys: tuple[str, ...] = ()
    changes: tuple[Change, ...] = ()
    position: int = 0  # of the last calendar event folded in

    @property
    def due(self) -> datetime:
        return parse_zoned(self.release_at)

    @property
    def open(self) -> bool:
        """Still to be released: it may be rescheduled, cancelled or released."""
        return self.status in ("provisional", "confirmed")


def apply(release: Release | None, event_type: str, data: dict[str, Any], *, position: int, recorded_at: str) -> Release | None:
    """The release after one more event of its stream (types other than the calendar's leave it as is)."""
    if event_type == "ReleaseAnnounced":
        change = Change("announced", data["release_at"], None, data.get("override_reason"), recorded_at, position)
        if release is None:
            release, sequence, previous = Release(data["edition"], data["title"], data["state"], data["release_at"]), 0, None
        else:
            # Announced again after a cancellation: the same calendar entry, so calendar clients update it.
            sequence, previous = release.sequence + 1, release.release_at
        return replace(
            release,
            title=data["title"],
            status=data["state"],
            release_at=data["release_at"],
            time_zone=data.get("time_zone", TIME_ZONE),
            previous_release_at=previous,
            cancellation_reason=None,
            override_reason=data.get("override_reason"),
            sequence=sequence,
            changes=release.changes + (change,),
            position=position,
        )
    if release is None:
        return None  # access granted or recorded before any announcement: see `granted_people`
    if event_type == "ReleaseConfirmed":
        change = Change("confirmed", data["release_at"], None, data.get("override_reason"), recorded_at, position)
        return replace(
            release,
            status="confirmed",
            override_reason=data.get("override_reason") or release.override_reason,
            changes=release.changes + (change,),
            position=position,
        )
    if event_type == "ReleaseRescheduled":
        change = Change("rescheduled", data["release_at"], data["previous_release_at"], data["reason"], recorded_at, position)
        return replace(
            release,
            release_at=data["release_at"],
            previous_release_at=data["previous_release_at"],
            sequence=release.sequence + 1,
            changes=release.changes + (change,),
            position=position,
        )
    if event_type == "ReleaseCancelled":
        change = Change("cancelled", data["release_at"], None, data["reason"], recorded_at, position)
        return replace(
            release,
            status="cancelled",
            cancellation_reason=data["reason"],
            sequence=release.sequence + 1,
            changes=release.changes + (change,),
            position=position,
        )
    if event_type == "EditionReleased":
        correction = release.status == "released"
        change = Change("corrected" if correction else "released", data["release_at"], None, None, recorded_at, position)
        return replace(
            release,
            status="released",
            released_revision=data["revision"],
            # When the edition first went out, and how late: a correction changes neither.
            released_at=release.released_at if correction else data["released_at"],
            late_by_seconds=release.late_by_seconds if correction else data.get("late_by_seconds"),
            manifest_hash=data["manifest_hash"],
            keys=tuple(data["keys"]),
            changes=release.changes + (change,),
            position=position,
        )
    return release


def fold(events) -> Release | None:
    """The release a stream's recorded events describe (None until it is announced)."""
    release = None
    for event in events:
        release = apply(release, event.type, event.data, position=event.position, recorded_at=event.recorded_at)
    return release


def granted_people(events) -> set[str]:
    """Who has been granted pre-release access, from a release stream's recorded events."""
    return {event.data["person"] for event in events if event.type == "PreReleaseAccessGranted"}
