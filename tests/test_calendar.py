"""The published calendar: calendar.ics read back with icalendar, calendar.json, the Atom feed of changes.

Given releases announced, moved, cancelled and released through the commands (FakeClock: Monday
5 January 2026, 09:00 UTC), the calendar projection and the renderers say the same thing, in
stable bytes, and nothing about an edition's content before its release.
"""

from __future__ import annotations

import html
import json
import re
from datetime import datetime, timezone

import feedparser
import html5lib
import icalendar
import pytest
from typer.testing import CliRunner

from events import NewEvent
from events.domain.calendar import LONDON, fold, release_stream
from events.projections.calendar import CalendarProjection, calendar_changes, calendar_releases, project
from publishers.calendar import calendar_feed, calendar_html, calendar_ics, calendar_json
from publishers.times import display_time
from service.cli import cli
from service.handlers.releases import Releases

from .release_support import FakePublisher, approve

FEED = {"feed_url": "https://pcc.example/calendar.atom", "site_url": "https://pcc.example/", "domain": "pcc.example"}


@pytest.fixture
def calendar(store, clock):
    """Three releases: q1 moved into BST then released, q2 provisional, q3 cancelled."""
    releases = Releases(store, clock)
    releases.announce("2026-q1", "2026-03-05", title="Q1 2026 statement")
    releases.announce("2026-q2", "2026-06-04", title="Q2 2026 statement", provisional=True)
    releases.announce("2026-q3", "2026-09-03", title="Q3 2026 statement")
    clock.advance(days=1)
    releases.reschedule("2026-q1", "2026-04-02", reason="Home Office data arrived late")
    releases.cancel("2026-q3", reason="merged into the annual statement")
    # A figure in the log: it must never reach the calendar.
    store.append(
        "figure-burglary/west-midlands/2021-01/2021-12",
        [NewEvent("FigureRecorded", {"measure": "burglary", "area": "west-midlands", "period": "2021-01/2021-12", "value": "19018"})],
        expected_version=0,
    )
    projection = CalendarProjection(store)
    projection.catch_up()
    return projection


def by_uid(ics: bytes) -> dict:
    parsed = icalendar.Calendar.from_ical(ics)
    return {str(event["uid"]): event for event in parsed.walk("VEVENT")}


def test_the_ics_has_one_event_per_release_with_a_stable_uid_sequence_status_and_london_time(calendar):
    ics = calendar_ics(calendar.releases(), domain="pcc.example")
    parsed = icalendar.Calendar.from_ical(ics)
    assert [str(tz["tzid"]) for tz in parsed.walk("VTIMEZONE")] == ["Europe/London"]
    events = by_uid(ics)
    q1, q2, q3 = (events[f"release-2026-q{n}@pcc.example"] for n in (1, 2, 3))
    assert (str(q1["status"]), q1.decoded("sequence")) == ("CONFIRMED", 1)
    assert (str(q2["status"]), q2.decoded("sequence")) == ("TENTATIVE", 0)
    assert (str(q3["status"]), q3.decoded("sequence")) == ("CANCELLED", 1)
    assert q1["dtstart"].params["TZID"] == "Europe/London"
    assert q1.decoded("dtstart") == datetime(2026, 4, 2, 9, 30, tzinfo=LONDON)  # BST: 08:30 UTC
    assert q1.decoded("dtstart").astimezone(timezone.utc).hour == 8
    assert q1.decoded("dtstamp") == datetime(2026, 1, 6, 9, 0, tzinfo=timezone.utc)  # the last change, not the build
    description = str(q1["description"])
    assert "Previously Thursday 5 March 2026 09:30 GMT" in description and "Home Office data arrived late" in description
    assert "merged into the annual statement" in str(q3["description"])


def test_the_uid_stays_and_the_sequence_rises_with_each_reschedule_or_cancellation(store, clock, calendar):
    releases = Releases(store, clock)
    before = by_uid(calendar_ics(calendar.releases(), domain="pcc.example"))["release-2026-q1@pcc.example"]
    releases.reschedule("2026-q1", "2026-04-09", reason="board meeting moved")
    releases.confirm("2026-q2")  # confirming is not a change of time: the sequence stays
    releases.cancel("2026-q1", reason="withdrawn")
    calendar.catch_up()
    after = by_uid(calendar_ics(calendar.releases(), domain="pcc.example"))
    assert before.decoded("sequence") == 1 and after["release-2026-q1@pcc.example"].decoded("sequence") == 3
    assert str(after["release-2026-q1@pcc.example"]["status"]) == "CANCELLED"
    assert (str(after["release-2026-q2@pcc.example"]["status"]), after["release-2026-q2@pcc.example"].decoded("sequence")) == ("CONFIRMED", 0)


def test_the_same_log_gives_the_same_bytes_from_the_projection_or_from_the_streams(store, calendar):
    from_projection = calendar.releases()
    from_streams = [fold(store.read_stream(release_stream(r.edition))) for r in from_projection]
    for render in (calendar_ics, calendar_json, lambda r: calendar_feed(r, **FEED)):
        assert render(from_projection) == render(from_streams) == render(list(reversed(from_projection)))


def test_the_json_lists_each_release_with_its_previous_time_and_the_reasons_for_changes(calendar):
    document = json.loads(calendar_json(calendar.releases()))
    assert document["time_zone"] == "Europe/London"
    q1 = document["releases"][0]
    assert (q1["edition"], q1["status"], q1["release_at"]) == ("2026-q1", "confirmed", "2026-04-02T09:30:00+01:00")
    assert q1["release_at_display"] == "Thursday 2 April 2026 09:30 BST"
    assert q1["previous_release_at"] == "2026-03-05T09:30:00+00:00"
    assert [(c["kind"], c["reason"]) for c in q1["changes"]] == [("announced", None), ("rescheduled", "Home Office data arrived late")]
    q3 = next(r for r in document["releases"] if r["edition"] == "2026-q3")
    assert (q3["status"], q3["cancellation_reason"]) == ("cancelled", "merged into the annual statement")


def test_the_feed_of_changes_parses_cleanly_newest_first_with_stable_ids(calendar):
    atom = calendar_feed(calendar.releases(), **FEED)
    feed = feedparser.parse(atom)
    assert not feed.bozo, feed.get("bozo_exception")
    titles = [entry.title for entry in feed.entries]
    assert titles[:2] == [
        "Q3 2026 statement: release cancelled",
        "Q1 2026 statement: release moved to Thursday 2 April 2026 09:30 BST",
    ]
    assert len(feed.entries) == 5  # three announcements, one move, one cancellation
    updated = [entry.updated_parsed for entry in feed.entries]
    assert updated == sorted(updated, reverse=True)
    assert all(entry.id.startswith("tag:pcc.example,2026-01-0") for entry in feed.entries)
    assert feed.feed.links[0].rel == "self" and feed.feed.links[0].href == FEED["feed_url"]
    moved = next(entry for entry in feed.entries if "moved" in entry.title)
    assert "Reason: Home Office data arrived late" in moved.summary
    assert calendar_feed(calendar.releases(), **FEED) == atom  # rebuilding gives the same bytes


def test_before_release_the_calendar_says_only_title_and_time_and_after_it_where_the_edition_is(store, clock, calendar):
    public = [
        calendar_ics(calendar.releases(), base_url="https://pcc.example"),
        calendar_json(calendar.releases(), base_url="https://pcc.example"),
        calendar_feed(calendar.releases(), **FEED),
        calendar_html(calendar.releases()),
    ]
    for document in public:
        assert b"19018" not in document and b"19,018" not in document
        assert b"editions/2026-q1" not in document and b"manifest" not in document
    approve(store, "2026-q1")
    clock.now = datetime(2026, 4, 2, 8, 30, 1, tzinfo=timezone.utc)
    Releases(store, clock).record_release("2026-q1", 1, "2026-04-02T09:30:00+01:00", FakePublisher()("2026-q1", 1))
    calendar.catch_up()
    q1 = by_uid(calendar_ics(calendar.releases(), domain="pcc.example", base_url="https://pcc.example"))["release-2026-q1@pcc.example"]
    assert str(q1["url"]) == "https://pcc.example/editions/2026-q1/r1/"
    released = json.loads(calendar_json(calendar.releases()))["releases"][0]["released"]
    assert (released["revision"], released["late_by_seconds"], released["path"]) == (1, None, "editions/2026-q1/r1/")
    assert b'<a href="editions/2026-q1/r1/">Q1 2026 statement</a>' in calendar_html(calendar.releases())


def test_a_confirmation_against_the_usual_practice_says_why_on_the_calendar_page_and_feed(store, clock, calendar):
    releases = Releases(store, clock)
    releases.announce("2026-q4", "2026-01-08", title="Q4 statement", provisional=True)
    releases.confirm("2026-q4", override_reason="the Board meets that week")
    calendar.catch_up()
    said = "Confirmed against the usual practice (four weeks' notice, a working day) because: the Board meets that week"
    assert said in html.unescape(calendar_html(calendar.releases()).decode())
    assert said in feedparser.parse(calendar_feed(calendar.releases(), **FEED)).entries[0].summary


def test_the_calendar_page_lists_coming_releases_soonest_first_then_past_ones_each_with_its_reasons(calendar):
    page = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parse(calendar_html(calendar.releases()))
    assert [h2.get("id") for h2 in page.iter("h2")] == ["coming", "past"]
    coming, past = page.findall(".//ul[@class='revisions']")
    text = [re.sub(r"\s+", " ", "".join(li.itertext())).strip() for li in coming.findall("li")]
    assert text[0].startswith("Q1 2026 statement Confirmed: Thursday 2 April 2026 09:30 BST (previously Thursday 5 March 2026 09:30 GMT)")
    assert "Reason: Home Office data arrived late" in text[0]
    assert text[1].startswith("Q2 2026 statement Provisional: Thursday 4 June 2026 09:30 BST")
    (cancelled,) = past.findall("li")
    assert "Cancelled: Thursday 3 September 2026 09:30 BST. Reason: merged into the annual statement" in "".join(cancelled.itertext())


def test_the_projection_keeps_every_change_and_folding_a_batch_twice_changes_nothing(store, engine, calendar):
    # Two scheduler processes may catch the same batch up at once: the second pass must be a no-op.
    events = list(store.read_all())
    with engine.connect() as connection:
        before = (connection.execute(calendar_releases.select()).all(), connection.execute(calendar_changes.select()).all())
    with engine.begin() as connection:
        project(connection, events)
    with engine.connect() as connection:
        after = (connection.execute(calendar_releases.select()).all(), connection.execute(calendar_changes.select()).all())
    assert before == after
    assert [(c.kind, c.release_at) for c in calendar.release("2026-q1").changes] == [
        ("announced", "2026-03-05T09:30:00+00:00"),
        ("rescheduled", "2026-04-02T09:30:00+01:00"),
    ]


def test_display_times_say_gmt_or_bst():
    assert display_time("2026-03-28T09:30:00+00:00") == "Saturday 28 March 2026 09:30 GMT"
    assert display_time("2026-03-30T09:30:00+01:00") == "Monday 30 March 2026 09:30 BST"


def test_the_calendar_command_prints_an_ics_that_icalendar_reads(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    runner = CliRunner()

    def run(*args):
        return runner.invoke(cli, ["--database-url", url, *args], catch_exceptions=False)

    run("db", "upgrade")
    assert run("schedule", "2030-q1", "--at", "2030-02-05", "--title", "Q1 statement").exit_code == 0
    result = run("calendar", "--format", "ics")
    assert result.exit_code == 0
    [event] = icalendar.Calendar.from_ical(result.stdout).walk("VEVENT")
    assert event.decoded("dtstart") == datetime(2030, 2, 5, 9, 30, tzinfo=LONDON)
    assert json.loads(run("calendar", "--format", "json").stdout)["releases"][0]["edition"] == "2030-q1"
    out = tmp_path / "calendar.atom"
    assert run("calendar", "--format", "atom", "--output", str(out)).exit_code == 0
    assert not feedparser.parse(out.read_bytes()).bozo


def test_an_empty_calendar_still_renders_valid_documents():
    assert icalendar.Calendar.from_ical(calendar_ics([])).walk("VEVENT") == []
    assert json.loads(calendar_json([]))["releases"] == []
    assert not feedparser.parse(calendar_feed([], **FEED)).bozo
    assert calendar_feed([], **FEED) == calendar_feed([], **FEED)


def test_a_correction_is_its_own_change_and_leaves_the_first_release_as_it_was(store, clock, calendar):
    approve(store, "2026-q1")
    clock.now = datetime(2026, 4, 2, 8, 45, 0, tzinfo=timezone.utc)  # 15 minutes late
    releases = Releases(store, clock)
    releases.record_release("2026-q1", 1, "2026-04-02T09:30:00+01:00", FakePublisher()("2026-q1", 1))
    approve(store, "2026-q1", revision=2)
    clock.now = datetime(2026, 4, 9, 10, 0, 0, tzinfo=timezone.utc)
    releases.record_release("2026-q1", 2, "2026-04-09T11:00:00+01:00", FakePublisher()("2026-q1", 2))
    calendar.catch_up()
    q1 = next(r for r in calendar.releases() if r.edition == "2026-q1")
    assert [c.kind for c in q1.changes] == ["announced", "rescheduled", "released", "corrected"]
    assert (q1.released_revision, q1.late_by_seconds, q1.released_at[:16]) == (2, 900, "2026-04-02T08:45")
    assert q1 == fold(store.read_stream(release_stream("2026-q1")))  # the projection and the stream agree
    page = html.unescape(calendar_html(calendar.releases()).decode())
    assert "Released for Thursday 2 April 2026 09:30 BST. Published late, by 15 minutes." in page
    assert "A corrected revision was released on Thursday 9 April 2026 11:00 BST" in page
    assert page.count("Released for") == 1
    entries = feedparser.parse(calendar_feed(calendar.releases(), **FEED)).entries
    assert entries[0].title == "Q1 2026 statement: corrected revision released (Thursday 9 April 2026 11:00 BST)"
    assert entries[0].tags[0].term == "corrected"
    changes = json.loads(calendar_json(calendar.releases()))["releases"][0]["changes"]
    assert [c["kind"] for c in changes][-2:] == ["released", "corrected"]
