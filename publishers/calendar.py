"""The published release calendar: calendar.html, calendar.ics (RFC 5545), calendar.json, and an Atom feed of changes.

Pure functions of the calendar's releases, so the same log gives the same bytes: every time
in them comes from the events, none from the clock of the build.

Embargo: before its release, an entry says only the title, the time and the history of the
time (previous times, reasons for changes). Nothing about the edition's content is passed in,
so nothing can leak; after release an entry adds the revision and where it was published.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from typing import Callable, Iterable, Mapping, Sequence

from feedgen.feed import FeedGenerator
from icalendar import Calendar, Event

from events.domain.calendar import TIME_ZONE, Change, Release, parse_zoned
from events.records import parse_time

from .model import edition_directory, publishable
from .render import SITE_TITLE, environment
from .stores import content_type_for
from .times import display_time

ICS_CONTENT_TYPE = "text/calendar; charset=utf-8"
JSON_CONTENT_TYPE = "application/json"
ATOM_CONTENT_TYPE = "application/atom+xml"
STATUS = {"provisional": "TENTATIVE", "confirmed": "CONFIRMED", "released": "CONFIRMED", "cancelled": "CANCELLED"}
# The log's first moment stands in for "last changed" on an empty calendar, so its bytes are stable too.
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def release_uid(edition: str, domain: str) -> str:
    """Stable for the life of the release: calendar clients update the entry rather than add one."""
    return f"release-{edition}@{domain}"


def edition_path(edition: str, revision: int, organisations: Mapping[str, str] = {}) -> str:
    """A released revision's folder from the calendar's own folder; `organisations` (edition -> organisation)
    places a hub's editions in their organisations' sections."""
    return edition_directory(edition, revision, organisations.get(edition, "")) + "/"


def _url(base_url: str | None, path: str) -> str | None:
    return None if base_url is None else base_url.rstrip("/") + "/" + path


def _changed(change: Change) -> datetime:
    return parse_time(change.recorded_at)


def _last_changed(releases: Sequence[Release]) -> datetime:
    return max((_changed(c) for r in releases for c in r.changes), default=EPOCH)


def _sentence(release: Release, change: Change) -> str:
    """One change in words, as the calendar's description and the feed say it."""
    if change.kind == "announced":
        text = f"Release announced for {display_time(change.release_at)}."
        if change.reason:
            text += f" Announced against the usual practice (four weeks' notice, a working day) because: {change.reason}"
        return text
    if change.kind == "confirmed":
        text = f"Release confirmed for {display_time(change.release_at)}."
        if change.reason:
            text += f" Confirmed against the usual practice (four weeks' notice, a working day) because: {change.reason}"
        return text
    if change.kind == "rescheduled":
        return (
            f"Release moved from {display_time(change.previous_release_at)} to {display_time(change.release_at)}. "
            f"Reason: {change.reason}"
        )
    if change.kind == "cancelled":
        return f"Release for {display_time(change.release_at)} cancelled. Reason: {change.reason}"
    if change.kind == "corrected":
        return f"A corrected revision was released on {display_time(change.release_at)}; every earlier revision stays published."
    text = f"Released for {display_time(change.release_at)}."
    if release.late_by_seconds:
        text += f" Published late, by {_duration(release.late_by_seconds)}."
    return text


def _duration(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes = rest // 60
    parts = [f"{hours} hour{'s' if hours != 1 else ''}"] if hours else []
    if minutes or not hours:
        parts.append(f"{minutes} minute{'s' if minutes != 1 else ''}")
    return " ".join(parts)


def _description(release: Release) -> str:
    lines = [f"{release.title}: {release.status} release, {display_time(release.release_at)}."]
    if release.previous_release_at:
        lines.append(f"Previously {display_time(release.previous_release_at)}.")
    lines.extend(_sentence(release, change) for change in release.changes)
    return "\n".join(lines)


def _ordered(releases: Iterable[Release]) -> list[Release]:
    return sorted(releases, key=lambda r: (parse_zoned(r.release_at), r.edition))


def calendar_ics(
    releases: Iterable[Release], *, domain: str = "policing-metrics.invalid", name: str = "Release calendar", base_url: str | None = None,
    organisations: Mapping[str, str] = {},
) -> bytes:
    """calendar.ics: one VEVENT per release, times in Europe/London with its VTIMEZONE."""
    releases = _ordered(releases)
    calendar = Calendar()
    calendar.add("prodid", "-//policing-metrics//release calendar//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", TIME_ZONE)
    for release in releases:
        event = Event()
        event.add("uid", release_uid(release.edition, domain))
        event.add("sequence", release.sequence)
        event.add("status", STATUS[release.status])
        event.add("summary", release.title if release.status != "cancelled" else f"Cancelled: {release.title}")
        event.add("dtstart", parse_zoned(release.release_at))
        # The moment of last change stands for DTSTAMP (RFC 5545 3.8.7.2 for a published calendar).
        changed = [_changed(c) for c in release.changes]
        if changed:
            event.add("dtstamp", max(changed))
            event.add("created", min(changed))
            event.add("last-modified", max(changed))
        else:
            event.add("dtstamp", EPOCH)
        event.add("description", _description(release))
        event.add("transp", "TRANSPARENT")  # a release does not make anyone busy
        if release.status == "released" and release.released_revision is not None:
            url = _url(base_url, edition_path(release.edition, release.released_revision, organisations))
            if url:
                event.add("url", url)
        calendar.add_component(event)
    if releases:
        # Only the transitions around the calendar's own dates: every client can then show the
        # times, and the file stays small and depends only on the releases.
        years = [parse_zoned(r.release_at).year for r in releases]
        calendar.add_missing_timezones(first_date=date(min(years) - 1, 1, 1), last_date=date(max(years) + 2, 1, 1))
    return calendar.to_ical()


def release_record(release: Release, base_url: str | None = None, organisations: Mapping[str, str] = {}) -> dict:
    """One release as calendar.json has it."""
    released = None
    if release.status == "released":
        released = {
            "revision": release.released_revision,
            "released_at": release.released_at,
            "late_by_seconds": release.late_by_seconds,
            "manifest_hash": release.manifest_hash,
            "path": edition_path(release.edition, release.released_revision, organisations),
            "url": _url(base_url, edition_path(release.edition, release.released_revision, organisations)),
        }
    return {
        "edition": release.edition,
        "title": release.title,
        "status": release.status,
        "release_at": release.release_at,
        "release_at_display": display_time(release.release_at),
        "time_zone": release.time_zone,
        "previous_release_at": release.previous_release_at,
        "cancellation_reason": release.cancellation_reason,
        "override_reason": release.override_reason,
        "sequence": release.sequence,
        "changes": [
            {
                "kind": change.kind,
                "release_at": change.release_at,
                "previous_release_at": change.previous_release_at,
                "reason": change.reason,
                "recorded_at": change.recorded_at,
            }
            for change in release.changes
        ],
        "released": released,
    }


def calendar_json(releases: Iterable[Release], *, base_url: str | None = None, organisations: Mapping[str, str] = {}) -> bytes:
    """calendar.json: every release, soonest first, with its change history."""
    releases = _ordered(releases)
    document = {
        "time_zone": TIME_ZONE,
        "updated": _last_changed(releases).strftime("%Y-%m-%dT%H:%M:%S.%fZ") if releases else None,
        "releases": [release_record(r, base_url, organisations) for r in releases],
    }
    return (json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True) + "\n").encode()


def calendar_feed(
    releases: Iterable[Release],
    *,
    feed_url: str,
    site_url: str,
    domain: str = "policing-metrics.invalid",
    title: str = "Release calendar changes",
    author: str = SITE_TITLE,
    organisations: Mapping[str, str] = {},
    section: str = "",
) -> bytes:
    """An Atom feed with one entry per calendar change (announced, confirmed, moved, cancelled, released), newest first.

    The publisher is the feed's author, as in feed.atom: RFC 4287 4.1.1 wants an author on the feed
    unless every entry has one, and a change to the calendar is the publisher's."""
    releases = list(releases)
    feed = FeedGenerator()
    feed.id(f"tag:{domain},2026:calendar" + (f"/{section}" if section else ""))  # a hub's section: its own feed
    feed.title(title)
    feed.link(href=feed_url, rel="self", type=ATOM_CONTENT_TYPE)
    feed.link(href=site_url, rel="alternate")
    feed.language("en-GB")
    feed.author({"name": author})
    feed.updated(_last_changed(releases))
    feed.generator("policing-metrics")
    entries = sorted(((c, r) for r in releases for c in r.changes), key=lambda pair: pair[0].position)
    # feedgen puts the entry added last first, so oldest first in gives newest first out.
    for change, release in entries:
        entry = feed.add_entry()
        entry.id(f"tag:{domain},{change.recorded_at[:10]}:release/{release.edition}/{change.position}")
        entry.title(f"{release.title}: {_headline(change)}")
        entry.updated(_changed(change))
        entry.published(_changed(change))
        entry.content(_sentence(release, change), type="text")
        entry.category(term=change.kind, label=change.kind)
        if change.kind in ("released", "corrected") and release.released_revision is not None:
            path = edition_path(release.edition, release.released_revision, organisations)
            entry.link(href=site_url.rstrip("/") + "/" + path, rel="alternate")
        else:
            entry.link(href=site_url, rel="alternate")
    return feed.atom_str(pretty=True)


class CalendarFiles(dict):
    """key -> (bytes, content type), and the files that could not be rendered: key -> why."""

    def __init__(self) -> None:
        super().__init__()
        self.failed: dict[str, str] = {}

    def add(self, key: str, render: Callable[[], bytes], content_type: str) -> None:
        try:
            self[key] = (render(), content_type)
        except Exception as exc:  # noqa: BLE001 - one file's failure must not keep the others off the site
            self.failed[key] = f"{type(exc).__name__}: {exc}"


STATUS_WORDS = {"provisional": "Provisional", "confirmed": "Confirmed", "released": "Released", "cancelled": "Cancelled"}


def calendar_html(releases: Iterable[Release], organisations: Mapping[str, str] = {}) -> bytes:
    """calendar.html: coming releases soonest first, then past and cancelled ones newest first, each with its changes."""
    releases = _ordered(releases)

    def view(release: Release) -> dict:
        url = None
        if release.status == "released" and release.released_revision is not None:
            url = edition_path(release.edition, release.released_revision, organisations)
        return {
            "title": release.title,
            "status": release.status,
            "release_at": release.release_at,
            "release_at_display": display_time(release.release_at),
            "previous_release_at_display": display_time(release.previous_release_at) if release.previous_release_at else None,
            "cancellation_reason": release.cancellation_reason,
            "changes": [_sentence(release, change) for change in release.changes],
            "url": url,
        }

    coming = [view(r) for r in releases if r.status in ("provisional", "confirmed")]
    past = [view(r) for r in reversed(releases) if r.status in ("released", "cancelled")]
    groups = [
        {"id": "coming", "title": "Coming releases, soonest first", "releases": coming, "empty": "No release is announced."},
        {"id": "past", "title": "Released and cancelled, newest first", "releases": past, "empty": "Nothing has been released yet."},
    ]
    template = environment().get_template("calendar.html")
    return template.render(groups=groups, statuses=STATUS_WORDS, root="", site_title=SITE_TITLE, software_version="").encode()


def calendar_files(
    releases: Iterable[Release], *, base_url: str, domain: str, name: str = "Release calendar",
    organisations: Mapping[str, str] = {}, section: str = "",
) -> CalendarFiles:
    """The calendar's files at `base_url` (the site's root, or an organisation's section), key -> (bytes,
    content type): mutable keys, short cache. `organisations` (edition -> organisation) places a hub's
    editions, from the root, in their sections; `section` names the organisation whose section's calendar it is."""
    releases = [publishable(release) for release in releases]
    root = base_url.rstrip("/") + "/"
    files = CalendarFiles()
    files.add("calendar.html", lambda: calendar_html(releases, organisations), content_type_for("calendar.html"))
    files.add(
        "calendar.ics",
        lambda: calendar_ics(releases, domain=domain, name=name, base_url=base_url, organisations=organisations),
        ICS_CONTENT_TYPE,
    )
    files.add("calendar.json", lambda: calendar_json(releases, base_url=base_url, organisations=organisations), JSON_CONTENT_TYPE)
    files.add(
        "calendar.atom",
        lambda: calendar_feed(
            releases, feed_url=root + "calendar.atom", site_url=root, domain=domain, title=f"{name}: changes",
            organisations=organisations, section=section,
        ),  # fmt: skip
        ATOM_CONTENT_TYPE,
    )
    return files


def _headline(change: Change) -> str:
    when = display_time(change.release_at)
    return {
        "announced": f"release announced for {when}",
        "confirmed": f"release confirmed for {when}",
        "rescheduled": f"release moved to {when}",
        "cancelled": "release cancelled",
        "released": f"released ({when})",
        "corrected": f"corrected revision released ({when})",
    }[change.kind]


__all__ = [
    "calendar_feed",
    "calendar_files",
    "calendar_html",
    "calendar_ics",
    "calendar_json",
    "display_time",
    "release_record",
    "release_uid",
]
