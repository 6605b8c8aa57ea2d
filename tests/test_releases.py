"""Release calendar commands: given the calendar's events, when a command, then these events or this error.

The clock is a FakeClock at Monday 5 January 2026, 09:00 UTC (GMT).
"""

from __future__ import annotations

from datetime import date, timezone

import pytest
from typer.testing import CliRunner

from events import NewEvent
from events.domain.calendar import release_stream
from events.domain.rules.releases import bank_holiday, nation_of
from service.cli import cli
from service.handlers import editions
from service.handlers.access import access_list
from events.domain.errors import (
    AmbiguousLocalTime,
    BankHolidayRelease,
    EmbargoOver,
    InvalidReleaseTime,
    NonExistentLocalTime,
    ReasonRequired,
    ReleaseAlreadyAnnounced,
    ReleaseClosed,
    ReleaseNotAnnounced,
    ReleaseNotDue,
    ReleaseTimeInPast,
    TitleRequired,
    TooLittleNotice,
    WeekendRelease,
)
from service.handlers.releases import Releases, release_time

from .given import ANALYST
from .release_support import FakePublisher, approve


@pytest.fixture
def releases(store, clock) -> Releases:
    return Releases(store, clock)


def types(store, edition="2026-q1"):
    return [e.type for e in store.read_stream(release_stream(edition))]


# -- release times --------------------------------------------------------------------------------


def test_a_date_alone_means_half_past_nine_london_time_in_gmt_or_bst():
    assert release_time("2026-02-05").isoformat() == "2026-02-05T09:30:00+00:00"
    assert release_time("2026-07-02").isoformat() == "2026-07-02T09:30:00+01:00"
    assert release_time("2026-07-02T11:00").isoformat() == "2026-07-02T11:00:00+01:00"


def test_a_london_time_the_clocks_skip_on_29_march_2026_does_not_exist_and_is_refused():
    with pytest.raises(NonExistentLocalTime, match="does not exist in London: the clocks go forward"):
        release_time("2026-03-29T01:30")
    # either side of the gap is fine
    assert release_time("2026-03-29T00:59").isoformat() == "2026-03-29T00:59:00+00:00"
    assert release_time("2026-03-29T02:00").isoformat() == "2026-03-29T02:00:00+01:00"


def test_a_london_time_the_clocks_repeat_on_25_october_2026_is_ambiguous_unless_its_offset_is_given():
    with pytest.raises(AmbiguousLocalTime, match=r"happens twice.*2026-10-25T01:30\+01:00 for the first.*\+00:00 for the second"):
        release_time("2026-10-25T01:30")
    assert release_time("2026-10-25T01:30+01:00").astimezone(timezone.utc).hour == 0
    assert release_time("2026-10-25T01:30+00:00").astimezone(timezone.utc).hour == 1
    assert release_time("2026-10-25T02:30").isoformat() == "2026-10-25T02:30:00+00:00"


def test_unreadable_times_and_times_with_seconds_are_refused_with_an_example_of_what_to_write():
    with pytest.raises(InvalidReleaseTime, match="such as 2026-02-05T09:30"):
        release_time("5th Feb")
    with pytest.raises(InvalidReleaseTime, match="to the minute"):
        release_time("2026-02-05T09:30:15")


# -- announcing -----------------------------------------------------------------------------------


def test_a_confirmed_release_is_recorded_as_london_wall_clock_time_with_its_offset_and_zone(releases, store):
    release = releases.announce("2026-q1", "2026-07-02", title="Q1 2026 statement", actor="analyst")
    assert (release.status, release.release_at) == ("confirmed", "2026-07-02T09:30:00+01:00")
    [event] = store.read_stream(release_stream("2026-q1"))
    assert event.type == "ReleaseAnnounced"
    assert event.data == {
        "edition": "2026-q1",
        "title": "Q1 2026 statement",
        "release_at": "2026-07-02T09:30:00+01:00",
        "time_zone": "Europe/London",
        "state": "confirmed",
        "override_reason": None,
    }
    assert event.actor == "analyst"


def test_a_release_time_that_has_passed_is_refused(releases, clock):
    with pytest.raises(ReleaseTimeInPast, match="not in the future"):
        releases.announce("2026-q1", "2026-01-05T08:30", title="t", provisional=True)


def test_a_weekend_release_is_refused_unless_an_override_reason_is_recorded(releases, store):
    with pytest.raises(WeekendRelease, match="is a Saturday: releases are on weekdays"):
        releases.announce("2026-q1", "2026-03-07", title="t")
    release = releases.announce("2026-q1", "2026-03-07", title="t", override_reason="statutory deadline falls that day")
    assert release.override_reason == "statutory deadline falls that day"


# -- bank holidays count like weekends (the `holidays` package's GB subdivisions ENG and WLS) ----------


def test_a_release_on_an_england_and_wales_bank_holiday_is_refused_unless_an_override_reason_is_recorded(releases):
    with pytest.raises(BankHolidayRelease, match="Mon 06 Apr 2026 09:30 BST for '2026-q1' is Easter Monday, a bank holiday in England"):
        releases.announce("2026-q1", "2026-04-06", title="t", provisional=True)
    release = releases.announce("2026-q1", "2026-04-06", title="t", provisional=True, override_reason="the Board meets that day")
    assert release.override_reason == "the Board meets that day"


def test_confirming_a_provisional_release_that_falls_on_a_bank_holiday_needs_its_own_override_reason(releases):
    releases.announce("2026-q1", "2026-05-25", title="t", provisional=True, override_reason="the only date the data allows")
    with pytest.raises(BankHolidayRelease, match="Spring Bank Holiday"):
        releases.confirm("2026-q1")
    assert releases.confirm("2026-q1", override_reason="the only date the data allows").status == "confirmed"


def test_postponing_a_release_onto_a_bank_holiday_is_refused(releases):
    releases.announce("2026-q1", "2026-03-05", title="t")
    with pytest.raises(BankHolidayRelease, match="Late Summer Bank Holiday"):
        releases.reschedule("2026-q1", "2026-08-31", reason="late data")
    assert releases.reschedule("2026-q1", "2026-09-01", reason="late data").release_at == "2026-09-01T09:30:00+01:00"


def test_a_substitute_day_for_a_weekend_bank_holiday_counts_too(releases):
    # Boxing Day 2026 is a Saturday: Monday 28 December is the bank holiday in its place.
    with pytest.raises(BankHolidayRelease, match=r"Boxing Day \(observed\)"):
        releases.announce("2026-q4", "2026-12-28", title="t")


def test_scotlands_and_northern_irelands_bank_holidays_are_working_days_for_a_force_in_england(releases):
    for edition, day in (("a", "2026-08-03"), ("b", "2026-11-30"), ("c", "2026-03-17"), ("d", "2026-07-13")):
        assert releases.announce(edition, day, title="t").status == "confirmed"


def test_a_welsh_forces_releases_keep_the_bank_holidays_of_wales(store, releases):
    areas = ("south-wales", "Gwent Police", "W15000004", "west-midlands", "E23000032", "a-local-policing-unit", None)
    assert [nation_of(area) for area in areas] == ["WLS", "WLS", "WLS", "ENG", "ENG", "ENG", "ENG"]
    assert bank_holiday(date(2026, 1, 1), "WLS") == "New Year's Day" and bank_holiday(date(2026, 1, 2), "WLS") is None
    editions.open_edition(
        store, "2026-q4", area="south-wales", title="South Wales, Q4 2026", authors=[{"name": "A", "job_title": "B"}],
        lead_contact={"name": "A"}, metadata=ANALYST,
    )  # fmt: skip
    with pytest.raises(BankHolidayRelease, match="is Christmas Day, a bank holiday in Wales"):
        releases.announce("2026-q4", "2026-12-25T09:30")


def test_a_confirmed_release_needs_four_weeks_notice_unless_an_override_reason_is_recorded(releases):
    with pytest.raises(TooLittleNotice, match=r"four weeks' notice \(Code of Practice T3.1\).*on or after 02 Feb 2026"):
        releases.announce("2026-q1", "2026-01-29", title="t")
    assert releases.announce("2026-q1", "2026-01-29", title="t", override_reason="board meeting moved").status == "confirmed"
    # exactly four weeks ahead is enough
    assert releases.announce("2026-q2", "2026-02-02T09:00", title="t").status == "confirmed"


def test_a_provisional_release_needs_no_notice_but_confirming_it_late_needs_an_override_reason(releases, store):
    assert releases.announce("2026-q1", "2026-01-20", title="t", provisional=True).status == "provisional"
    with pytest.raises(TooLittleNotice):
        releases.confirm("2026-q1")
    assert releases.confirm("2026-q1", override_reason="data arrived early").status == "confirmed"
    assert types(store) == ["ReleaseAnnounced", "ReleaseConfirmed"]


def test_announcing_an_announced_release_again_points_to_reschedule(releases):
    releases.announce("2026-q1", "2026-03-05", title="t")
    with pytest.raises(ReleaseAlreadyAnnounced, match="policing-metrics reschedule 2026-q1"):
        releases.announce("2026-q1", "2026-03-12", title="t")


def test_the_title_is_the_editions_own_unless_given_and_an_unopened_edition_needs_one(releases, store):
    with pytest.raises(TitleRequired, match="give --title"):
        releases.announce("2026-q1", "2026-03-05")
    store.append(
        "edition-2026-q1",
        [
            # Only the title matters here; the rest is what opening an edition records.
            NewEvent(
                "EditionOpened",
                {
                    "edition": "2026-q1",
                    "area": "west-midlands",
                    "title": "National Policing Priorities statement, Q1 2026",
                    "authors": [{"name": "A. Analyst"}],
                    "lead_contact": {"name": "A. Analyst"},
                    "sections": [{"section": "force-statement", "title": "Force statement"}],
                },
            )
        ],
        expected_version=0,
    )
    assert releases.announce("2026-q1", "2026-03-05").title == "National Policing Priorities statement, Q1 2026"


# -- changing ------------------------------------------------------------------------------------


def test_rescheduling_keeps_the_previous_time_and_needs_a_reason(releases, store):
    releases.announce("2026-q1", "2026-03-05", title="t")
    with pytest.raises(ReasonRequired, match="needs --reason"):
        releases.reschedule("2026-q1", "2026-03-12", reason="  ")
    release = releases.reschedule("2026-q1", "2026-04-02", reason="late data from the Home Office")
    assert release.release_at == "2026-04-02T09:30:00+01:00"  # BST by then
    assert release.previous_release_at == "2026-03-05T09:30:00+00:00"
    assert release.sequence == 1
    assert [c.kind for c in release.changes] == ["announced", "rescheduled"]
    assert release.changes[-1].reason == "late data from the Home Office"


def test_rescheduling_into_a_non_existent_or_past_time_is_refused(releases):
    releases.announce("2026-q1", "2026-03-05", title="t")
    with pytest.raises(NonExistentLocalTime):
        releases.reschedule("2026-q1", "2026-03-29T01:30", reason="r")
    with pytest.raises(ReleaseTimeInPast):
        releases.reschedule("2026-q1", "2026-01-02", reason="r")


def test_cancelling_needs_a_reason_closes_the_release_and_a_new_announcement_reopens_it(releases):
    releases.announce("2026-q1", "2026-03-05", title="t")
    with pytest.raises(ReasonRequired):
        releases.cancel("2026-q1", reason="")
    cancelled = releases.cancel("2026-q1", reason="figures withdrawn by the Home Office")
    assert (cancelled.status, cancelled.cancellation_reason, cancelled.sequence) == ("cancelled", "figures withdrawn by the Home Office", 1)
    with pytest.raises(ReleaseClosed, match="was cancelled"):
        releases.reschedule("2026-q1", "2026-03-12", reason="r")
    again = releases.announce("2026-q1", "2026-04-02", title="t")
    assert (again.status, again.sequence, again.previous_release_at) == ("confirmed", 2, "2026-03-05T09:30:00+00:00")


def test_a_release_never_announced_cannot_be_changed(releases):
    with pytest.raises(ReleaseNotAnnounced, match="schedule 2026-q9 --at DATE"):
        releases.cancel("2026-q9", reason="r")


def test_a_released_release_can_be_neither_rescheduled_nor_cancelled_and_is_recorded_once(releases, store, clock):
    release_at = releases.announce("2026-q1", "2026-01-07", title="t", override_reason="test").release_at
    approve(store, "2026-q1")
    outcome = FakePublisher()("2026-q1", 1)
    with pytest.raises(ReleaseNotDue, match="embargoed until"):
        releases.record_release("2026-q1", 1, release_at, outcome)
    clock.advance(days=2, minutes=30, seconds=5)  # 09:30:05 on the day: on time
    released, recorded = releases.record_release("2026-q1", 1, release_at, outcome)
    assert recorded and released.status == "released" and released.late_by_seconds is None
    again, recorded_again = releases.record_release("2026-q1", 1, release_at, outcome)
    assert not recorded_again and again.released_at == released.released_at
    assert types(store).count("EditionReleased") == 1
    with pytest.raises(ReleaseClosed, match="was released"):
        releases.reschedule("2026-q1", "2026-02-12", reason="r")
    with pytest.raises(ReleaseClosed, match="was released"):
        releases.cancel("2026-q1", reason="r")


# -- pre-release access -----------------------------------------------------------------------


def test_pre_release_access_is_granted_to_named_people_and_every_access_is_recorded_ungranted_ones_flagged(releases, store, clock):
    releases.announce("2026-q1", "2026-03-05", title="t")
    releases.grant_access("2026-q1", "Jo Bloggs", reason="PCC's press office prepares a statement", role="press officer")
    assert releases.record_access("2026-q1", "Jo Bloggs", what="draft r1 scorecard") is True
    clock.advance(hours=1)
    assert releases.record_access("2026-q1", "Sam Smith", what="draft r1 index.html") is False
    log = access_list(store, "2026-q1")
    assert [(e["type"], e["person"]) for e in log] == [
        ("PreReleaseAccessGranted", "Jo Bloggs"),
        ("PreReleaseAccessRecorded", "Jo Bloggs"),
        ("PreReleaseAccessRecorded", "Sam Smith"),
    ]
    assert log[2]["granted"] is False and log[2]["accessed_at"] == "2026-01-05T10:00:00.000000Z"
    with pytest.raises(ReasonRequired):
        releases.grant_access("2026-q1", "Al", reason="")


def test_access_after_release_is_public_and_not_recorded(releases, store, clock):
    release_at = releases.announce("2026-q1", "2026-01-07", title="t", override_reason="test").release_at
    clock.advance(days=3)
    releases.record_release("2026-q1", 1, release_at, FakePublisher()("2026-q1", 1))
    with pytest.raises(EmbargoOver, match="public"):
        releases.record_access("2026-q1", "Jo", what="index.html")


# -- the commands as a person types them --------------------------------------------------------


def test_schedule_reschedule_and_cancel_from_the_command_line(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    runner = CliRunner()

    def run(*args):
        return runner.invoke(cli, ["--database-url", url, *args], catch_exceptions=False)

    assert run("db", "upgrade").exit_code == 0
    done = run("schedule", "2030-q1", "--at", "2030-02-05T09:30", "--title", "Q1 statement", "--actor", "analyst")
    assert done.exit_code == 0, done.output
    assert "announced 2030-q1: confirmed, Tuesday 5 February 2030 09:30 GMT" in done.output
    refused = run("schedule", "2030-q2", "--at", "2030-03-31T01:30", "--title", "x")  # the clocks go forward
    assert refused.exit_code == 2 and "does not exist in London" in refused.output
    moved = run("reschedule", "2030-q1", "--at", "2030-04-02", "--reason", "late data")
    assert moved.exit_code == 0, moved.output
    assert "Tuesday 2 April 2030 09:30 BST" in moved.output and "previously Tuesday 5 February 2030 09:30 GMT" in moved.output
    assert run("reschedule", "2030-q1", "--at", "2030-04-09").exit_code != 0  # --reason is required
    assert run("cancel", "2030-q1", "--reason", "merged into Q2").exit_code == 0
    table = run("calendar").output
    assert "cancelled" in table and "merged into Q2" in table and "previously 2030-02-05T09:30:00+00:00" in table
