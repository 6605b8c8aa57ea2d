"""The release calendar's rules (UK Code of Practice for Statistics): when a release may be
announced, confirmed, moved, cancelled, published early or recorded as released.

A release time is London time, 09:30 on a weekday by default (a bank holiday of England and
Wales, or of Wales for a Welsh force, counts like a weekend), confirmed at least four weeks
ahead and changed only with a reason; a provisional release is confirmed before it is released;
nothing is released before its time; a correction goes out at once. State is the calendar's `Release` folded from the stream `release-{edition}`
(`events.domain.calendar`); each decision here is pure and returns the event to append.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from typing import TYPE_CHECKING, Iterable, Sequence

from ...records import format_time
from ..areas import force_area
from ..calendar import (
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
    zoned_text,
)
from ..errors import (
    AmbiguousLocalTime,
    BankHolidayRelease,
    EmbargoInForce,
    EmbargoOver,
    InvalidReleaseTime,
    NonExistentLocalTime,
    ReasonRequired,
    ReleaseAlreadyAnnounced,
    ReleaseClosed,
    ReleaseMoved,
    ReleaseNotAnnounced,
    ReleaseNotConfirmed,
    ReleaseNotDue,
    ReleaseTimeInPast,
    ReleaseWasCancelled,
    TitleRequired,
    TooLittleNotice,
    WeekendRelease,
)
from ..fields import carried, trim

if TYPE_CHECKING:
    import holidays

DEFAULT_RELEASE_TIME = time(9, 30)
NOTICE = timedelta(weeks=4)  # Code of Practice T3.1: confirmed dates at least four weeks ahead
ON_DEMAND_REASON = "published on demand with `policing-metrics publish`; no release had been announced"
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
NATIONS = {"ENG": "England", "WLS": "Wales"}

__all__ = ["fold", "granted_people", "Release"]  # the state these rules decide on, re-exported


# -- release times ------------------------------------------------------------------------------


def _show(moment: datetime) -> str:
    local = moment.astimezone(LONDON)
    return f"{local:%a %d %b %Y %H:%M} {local.tzname()}"


def _spoken(moment: datetime) -> str:
    local = moment.astimezone(LONDON)
    return f"{local:%A} {local.day} {local:%B %Y %H:%M} {local.tzname()}"


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


def minute_of(moment: datetime) -> datetime:
    """The minute a moment falls in (release times are to the minute)."""
    return moment.astimezone(timezone.utc).replace(second=0, microsecond=0)


def _reason_or_none(text: str | None) -> str | None:
    return trim(text) if text and trim(text) else None


def nation_of(area: str | None) -> str:
    """The `holidays` subdivision whose bank holidays a force area keeps: WLS for a Welsh force (ONS code
    W15...), else ENG (England and Wales share their bank holidays today; Wales may add its own)."""
    force = force_area(area or "")
    return "WLS" if force is not None and force.code.startswith("W") else "ENG"


@lru_cache(maxsize=64)
def _bank_holidays(nation: str, year: int) -> holidays.HolidayBase:
    import holidays  # loaded when a release date is checked, not by every command's start-up

    return holidays.country_holidays("GB", subdiv=nation, years=year)


def bank_holiday(day: date, nation: str = "ENG") -> str | None:
    """The name of the bank holiday `day` is in `nation` (ENG or WLS), from the `holidays` package; None on a working day."""
    return _bank_holidays(nation, day.year).get(day)


def check_time(
    edition: str,
    due: datetime,
    now: datetime,
    *,
    confirmed: bool,
    override_reason: str | None,
    notice: bool,
    nation: str = "ENG",
) -> None:
    """A time may be announced, confirmed or moved to: in the future, a weekday that is not a bank holiday
    of the force's nation, four weeks ahead if confirmed."""
    if due <= now:
        raise ReleaseTimeInPast(f"{_show(due)} for {edition!r} is not in the future (it is now {_show(now)}): choose a later time")
    override = _reason_or_none(override_reason) is not None
    if due.weekday() >= 5 and not override:
        raise WeekendRelease(
            f"{_show(due)} for {edition!r} is a {due:%A}: releases are on weekdays; choose a weekday "
            "or give --override-reason saying why this one cannot wait"
        )
    holiday = bank_holiday(due.astimezone(LONDON).date(), nation)
    if holiday and not override:
        raise BankHolidayRelease(
            f"{_show(due)} for {edition!r} is {holiday}, a bank holiday in {NATIONS.get(nation, nation)}: releases are "
            "on working days, and a bank holiday counts like a weekend; choose another day or give --override-reason "
            "saying why this one cannot wait"
        )
    if notice and confirmed and due - now < NOTICE and not override:
        earliest = (now + NOTICE).astimezone(LONDON).date()
        raise TooLittleNotice(
            f"a confirmed release needs four weeks' notice (Code of Practice T3.1), but {_show(due)} for "
            f"{edition!r} is only {(due - now).days} days away: announce it --provisional, choose a date on "
            f"or after {earliest:%d %b %Y}, or give --override-reason"
        )


def _require(edition: str, release: Release | None, doing: str) -> Release:
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


def check_confirmed(release: Release, *, edition: str) -> None:
    """Only a confirmed release is published at its time: a provisional one is confirmed first (or moved)."""
    if release.status == "provisional":
        raise ReleaseNotConfirmed(
            f"the release of {edition!r} for {_show(release.due)} is provisional, and a provisional release is not "
            f"published until it is confirmed: confirm it before its time with `policing-metrics confirm {edition}`, "
            f"or move it with `policing-metrics reschedule {edition} --at DATE --reason TEXT`"
        )


def is_due(release: Release, now: datetime) -> bool:
    """Whether the scheduler should release it now: confirmed, and its time has come."""
    return release.status == "confirmed" and release.due <= now


# -- the calendar commands ----------------------------------------------------------------------


def announce(
    current: Release | None,
    *,
    edition: str,
    at: str | datetime | date,
    now: datetime,
    title: str,
    provisional: bool = False,
    override_reason: str | None = None,
    nation: str = "ENG",
) -> ReleaseAnnounced:
    """Put a release on the calendar (again, after a cancellation). `title` is the calendar's, or the edition's."""
    due = release_time(at)
    if current is not None and current.status != "cancelled":
        _require(edition, current, "announced")
        raise ReleaseAlreadyAnnounced(
            f"the release of {edition!r} is already announced for {_show(current.due)}: "
            f"use `policing-metrics reschedule {edition} --at DATE --reason TEXT` to change it"
        )
    title = trim(title or "")
    if not title:
        raise TitleRequired(f"edition {edition!r} has not been opened, so it has no title to show on the calendar: give --title")
    check_time(edition, due, now, confirmed=not provisional, override_reason=override_reason, notice=True, nation=nation)
    return ReleaseAnnounced(
        edition=edition,
        title=title,
        release_at=zoned_text(due),
        state="provisional" if provisional else "confirmed",
        override_reason=_reason_or_none(override_reason),
    )


def confirm(
    current: Release | None, *, edition: str, now: datetime, override_reason: str | None = None, nation: str = "ENG"
) -> ReleaseConfirmed | None:
    """Make a provisional time firm; None when it already is (confirming again changes nothing)."""
    release = _require(edition, current, "confirmed")
    if release.status == "confirmed":
        return None
    check_time(edition, release.due, now, confirmed=True, override_reason=override_reason, notice=True, nation=nation)
    return ReleaseConfirmed(edition=edition, release_at=release.release_at, override_reason=_reason_or_none(override_reason))


def reschedule(
    current: Release | None,
    *,
    edition: str,
    at: str | datetime | date,
    now: datetime,
    reason: str | None,
    override_reason: str | None = None,
    nation: str = "ENG",
) -> ReleaseRescheduled:
    if _reason_or_none(reason) is None:
        raise ReasonRequired(f"rescheduling {edition!r} needs --reason: the public is told why a release moved (Code of Practice)")
    due = release_time(at)
    release = _require(edition, current, "rescheduled")
    if zoned_text(due) == release.release_at:
        raise InvalidReleaseTime(f"the release of {edition!r} is already at {_show(due)}: give the new time")
    # A move is announced promptly with its reason; four weeks' notice is asked of the first confirmation only.
    check_time(
        edition, due, now, confirmed=release.status == "confirmed", override_reason=override_reason, notice=False, nation=nation
    )
    return ReleaseRescheduled(
        edition=edition,
        release_at=zoned_text(due),
        previous_release_at=release.release_at,
        reason=trim(reason),
        override_reason=_reason_or_none(override_reason),
    )


def cancel(current: Release | None, *, edition: str, reason: str | None) -> ReleaseCancelled:
    if _reason_or_none(reason) is None:
        raise ReasonRequired(f"cancelling {edition!r} needs --reason: the public is told why a release was cancelled")
    release = _require(edition, current, "cancelled")
    return ReleaseCancelled(edition=edition, release_at=release.release_at, reason=trim(reason))


# -- pre-release access -------------------------------------------------------------------------


def grant_access(
    current: Release | None, *, edition: str, person: str, reason: str | None, role: str = "", token_id: str | None = None
) -> PreReleaseAccessGranted:
    if _reason_or_none(reason) is None:
        raise ReasonRequired(f"pre-release access to {edition!r} for {person!r} needs --reason")
    if current is not None and current.status == "released":
        raise EmbargoOver(f"{edition!r} was released at {current.released_at}: it is public, no access needs granting")
    return PreReleaseAccessGranted(
        edition=edition, person=trim(person), role=trim(role), reason=trim(reason), token_id=token_id
    )


def record_access(
    current: Release | None, granted: set[str], *, edition: str, person: str, what: str, now: str
) -> PreReleaseAccessRecorded:
    """One look at the embargoed edition. An access by someone never granted is recorded all the
    same (flagged): refusing to record it would hide exactly the breach auditors need to see."""
    if current is not None and current.status == "released":
        raise EmbargoOver(f"{edition!r} was released at {current.released_at}: access to it is public and not recorded")
    return PreReleaseAccessRecorded(edition=edition, person=trim(person), what=trim(what), accessed_at=now, granted=trim(person) in granted)


# -- publishing and releasing -------------------------------------------------------------------


@dataclass(frozen=True)
class ReleasedRevision:
    """A revision the release stream records as released."""

    revision: int
    release_at: str  # London, with offset
    released_at: str  # UTC
    manifest_hash: str


def released_revisions(events: Iterable) -> list[ReleasedRevision]:
    """The revisions a release stream records as released, oldest first (a repeat of one counts once)."""
    seen: dict[int, ReleasedRevision] = {}
    for event in events:
        if event.type == "EditionReleased" and event.data["revision"] not in seen:
            data = event.data
            seen[data["revision"]] = ReleasedRevision(data["revision"], data["release_at"], data["released_at"], data["manifest_hash"])
    return sorted(seen.values(), key=lambda r: r.revision)


def publish_time(
    current: Release | None, *, edition: str, title: str, now: datetime, early: bool, override_reason: str | None
) -> tuple[str, ReleaseAnnounced | ReleaseRescheduled | None]:
    """When a first release published on demand goes out, and the calendar event that fixes that time.

    At its announced time, it goes out then (no event). Never announced, it is announced for this
    minute with the reason given (or a default one). Announced for later or cancelled, it is
    refused unless `early` with a reason, which moves it (or announces it again) to this minute.
    """
    minute = zoned_text(minute_of(now))
    reason = _reason_or_none(override_reason)
    if current is None:
        return minute, ReleaseAnnounced(
            edition=edition, title=carried(title)[:300], release_at=minute, state="confirmed", override_reason=reason or ON_DEMAND_REASON
        )
    if current.status == "cancelled":
        if not (early and reason):
            raise ReleaseWasCancelled(
                f"the release of {edition} was cancelled ({current.cancellation_reason}): announce it again with "
                f"`policing-metrics schedule {edition} --at DATE`, or publish it at once with --now --override-reason TEXT"
            )
        return minute, ReleaseAnnounced(edition=edition, title=carried(current.title), release_at=minute, state="confirmed", override_reason=reason)
    check_confirmed(current, edition=edition)
    if current.due > now:
        if not (early and reason):
            raise EmbargoInForce(
                f"edition {edition} is embargoed until {_spoken(current.due)}: the scheduler "
                "(`policing-metrics scheduler`) publishes it at that moment. To publish it now instead, give "
                "--now --override-reason TEXT; the release is then moved to now, with that reason on the calendar"
            )
        return minute, ReleaseRescheduled(
            edition=edition, release_at=minute, previous_release_at=current.release_at, reason=reason, override_reason=reason
        )
    return current.release_at, None


def correction_time(approved_at: datetime, released: Sequence[ReleasedRevision]) -> str:
    """A correction goes out at once: its time is its approval's minute, never before the release it corrects."""
    return zoned_text(max(minute_of(approved_at), parse_zoned(released[-1].release_at)))


def release(
    current: Release | None,
    released: Sequence[ReleasedRevision],
    *,
    edition: str,
    revision: int,
    release_at: str,
    released_at: datetime,
    manifest_hash: str,
    keys: Sequence[str],
) -> EditionReleased | None:
    """Record that `revision` went out for `release_at`: the first release at its announced time, or a
    correction of a released edition. None when that release is already recorded (a retry, or a
    second process that published the same release)."""
    done = next((r for r in released if r.revision == revision), None)
    if done is not None:
        if done.release_at == release_at:
            return None
        raise ReleaseClosed(f"{edition!r} revision {revision} was already released for {done.release_at}, not for {release_at}")
    if current is not None and current.status == "released":
        latest = released[-1] if released else None
        if latest is None or revision < latest.revision:
            raise ReleaseClosed(
                f"{edition!r} was already released (revision {current.released_revision} for "
                f"{current.release_at}), not revision {revision} for {release_at}"
            )
        if parse_zoned(release_at) < parse_zoned(latest.release_at):
            raise ReleaseClosed(f"a correction of {edition!r} cannot be released for {release_at}, before the release it corrects")
    else:
        current = _require(edition, current, "released")
        check_confirmed(current, edition=edition)
        if current.release_at != release_at:
            raise ReleaseMoved(f"the release of {edition!r} is now at {current.release_at}, not {release_at}: it is released then")
    due = parse_zoned(release_at)
    if released_at < due:
        raise ReleaseNotDue(f"{edition!r} is embargoed until {_show(due)}; it is {_show(released_at)}")
    delay = int((released_at - due).total_seconds())
    return EditionReleased(
        edition=edition,
        revision=revision,
        release_at=release_at,
        released_at=format_time(released_at),
        late_by_seconds=delay if delay > ON_TIME_TOLERANCE_SECONDS else None,
        manifest_hash=manifest_hash,
        keys=list(keys),
    )
