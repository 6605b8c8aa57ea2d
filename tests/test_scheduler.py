"""The release scheduler: on time, never early, once, across crashes, restarts and several processes.

In-process tests drive a FakeClock (Monday 5 January 2026, 09:00 UTC) and call the sweep
directly; the multi-process tests run real scheduler processes against one PostgreSQL schema.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text

from events import EventStore
from events.database import make_engine, upgrade
from events.domain import registry as domain_registry
from events.domain.calendar import parse_zoned
from events.claims import RELEASED_CLAIM_EXPIRY, ReleaseClaims
from service.handlers.releases import Releases
from service.scheduler import ReleaseScheduler

from . import scheduler_worker
from .conftest import POSTGRES_URL, _libpq
from .release_support import FakePublisher, announce_for, approve, released_events

EDITION = "2026-q1"


@pytest.fixture
def release_at(store, clock) -> str:
    """2026-q1 is announced for Wednesday 7 January 2026, 09:30 GMT, and approved."""
    at = announce_for(store, EDITION, "2026-01-07", announced_at=clock())
    approve(store, EDITION)
    return at


def scheduler(store, clock, publish, owner="process-a", lease=60.0) -> ReleaseScheduler:
    return ReleaseScheduler(store, publish, clock=clock, owner=owner, lease=timedelta(seconds=lease))


def at_due(clock, release_at: str, **after: float) -> None:
    clock.now = parse_zoned(release_at).astimezone(timezone.utc) + timedelta(**after)


# -- on time, once ---------------------------------------------------------------------------------


def test_a_due_release_is_published_once_and_recorded_with_its_manifest_and_keys_and_how_late_it_went_out(store, clock, release_at):
    publisher = FakePublisher()
    process = scheduler(store, clock, publisher)
    at_due(clock, release_at, seconds=2)
    [attempt] = process.sweep()
    # Two seconds after its time: the attempt says so; the calendar's "published late" waits for a minute.
    assert (attempt.outcome, attempt.revision, attempt.late_by_seconds) == ("released", 1, 2.0)
    assert process.sweep() == [] and process.attempt(EDITION, release_at).outcome == "claimed-elsewhere"
    assert publisher.calls == [(EDITION, 1)] and publisher.refreshed == [(EDITION, 1, 1)]  # the site after the release
    [event] = released_events(store, EDITION)
    assert event.data["keys"] == [f"editions/{EDITION}/r1/index.html", f"editions/{EDITION}/r1/manifest.json"]
    assert event.data["released_at"] == "2026-01-07T09:30:02.000000Z" and event.data["late_by_seconds"] is None
    claim = process.claims.get(EDITION, release_at)
    assert (claim["outcome"], claim["owner"], claim["revision"]) == ("released", "process-a", 1)


def test_nothing_is_published_before_its_time_whatever_wakes_the_scheduler(store, clock, release_at):
    publisher = FakePublisher()
    process = scheduler(store, clock, publisher)
    at_due(clock, release_at, microseconds=-1)
    assert process.sweep() == []
    assert process.attempt(EDITION, release_at).outcome == "not-yet"  # e.g. a timer that fired early
    assert publisher.calls == [] and process.claims.all() == []
    with pytest.raises(Exception, match="embargoed until"):
        process.releases.record_release(EDITION, 1, release_at, FakePublisher()(EDITION, 1))
    at_due(clock, release_at)
    assert [a.outcome for a in process.sweep()] == ["released"]


def test_a_release_missed_while_every_scheduler_was_down_goes_out_at_start_up_recorded_late_by_its_delay(store, clock, release_at):
    at_due(clock, release_at, hours=2, minutes=15)
    process = scheduler(store, clock, FakePublisher())
    try:
        missed = process.start(follow=False, paused=True)
    finally:
        process.stop(grace=1)
    assert [(a.outcome, a.late_by_seconds) for a in missed] == [("released", 8100.0)]
    assert released_events(store, EDITION)[0].data["late_by_seconds"] == 8100


def test_a_rescheduled_or_cancelled_release_is_not_published_at_its_old_time(store, clock, release_at):
    publisher = FakePublisher()
    process = scheduler(store, clock, publisher)
    Releases(store, clock).reschedule(EDITION, "2026-01-14", reason="late data")
    at_due(clock, release_at, minutes=1)
    # Asked about the old time (a timer built before the change), it looks at the stream, not the projection.
    assert process.attempt(EDITION, release_at).outcome == "moved"
    Releases(store, clock).cancel(EDITION, reason="withdrawn")
    clock.advance(days=8)
    assert process.sweep() == []
    assert process.attempt(EDITION, "2026-01-14T09:30:00+00:00").outcome == "cancelled"
    assert publisher.calls == []


def test_a_due_edition_without_an_approved_revision_is_reported_and_released_once_approved(store, clock):
    release_at = announce_for(store, "2026-q2", "2026-01-07", announced_at=clock())
    publisher = FakePublisher()
    process = scheduler(store, clock, publisher)
    at_due(clock, release_at)
    assert [a.outcome for a in process.sweep()] == ["not-approved"]
    approve(store, "2026-q2", revision=1)
    approve(store, "2026-q2", revision=2)  # a correction approved before release: the latest goes out
    clock.advance(minutes=5)
    assert [(a.outcome, a.revision) for a in process.sweep()] == [("released", 2)]
    assert publisher.calls == [("2026-q2", 2)]


def test_a_failed_publish_gives_the_claim_back_and_the_next_sweep_retries_it(store, clock, release_at):
    publisher = FakePublisher(fail_times=1)
    process = scheduler(store, clock, publisher)
    at_due(clock, release_at)
    assert [a.outcome for a in process.sweep()] == ["failed"]
    assert process.claims.get(EDITION, release_at)["expires_at"] == RELEASED_CLAIM_EXPIRY
    assert [a.outcome for a in process.sweep()] == ["released"]
    assert len(publisher.calls) == 2 and len(released_events(store, EDITION)) == 1


# -- claims, crashes and takeovers ---------------------------------------------------------------


def test_an_expired_claim_is_taken_over_by_exactly_one_of_the_processes_that_find_it(engine, clock):
    claims = ReleaseClaims(engine, clock, lease=timedelta(seconds=60))
    first = claims.claim(EDITION, "2026-01-07T09:30:00+00:00", "a", "job-a")
    assert first is not None and first.attempts == 1
    assert claims.claim(EDITION, "2026-01-07T09:30:00+00:00", "b", "job-b") is None  # a holds it
    clock.advance(seconds=59)
    assert claims.renew(first)  # a heartbeat: the lease runs from now
    clock.advance(seconds=61)
    taker = claims.claim(EDITION, "2026-01-07T09:30:00+00:00", "b", "job-b")
    assert taker is not None and (taker.attempts, taker.previous_owner) == (2, "a")
    assert claims.claim(EDITION, "2026-01-07T09:30:00+00:00", "c", "job-c") is None
    assert not claims.renew(first) and not claims.finish(first, "released")  # a lost it
    assert claims.finish(taker, "released", 1)
    clock.advance(days=1)
    assert claims.claim(EDITION, "2026-01-07T09:30:00+00:00", "c", "job-c") is None  # finished is final


class Crash(BaseException):
    """Stands for the process dying: nothing after it runs, no claim is given back."""


def test_a_crash_after_publishing_and_before_recording_is_completed_by_another_process_recording_once(store, clock, release_at):
    publisher = FakePublisher()

    def publish_then_die(edition, revision):
        publisher(edition, revision)
        raise Crash()

    a = scheduler(store, clock, publish_then_die, owner="process-a")
    b = scheduler(store, clock, publisher, owner="process-b")
    at_due(clock, release_at)
    with pytest.raises(Crash):
        a.sweep()
    assert [x.outcome for x in b.sweep()] == ["claimed-elsewhere"]  # a's lease has not run out
    clock.advance(seconds=61)
    assert [x.outcome for x in b.sweep()] == ["released"]
    # Publishing again was a no-op on identical content; the release is recorded once.
    assert publisher.calls == [(EDITION, 1), (EDITION, 1)]
    assert len(released_events(store, EDITION)) == 1
    claim = b.claims.get(EDITION, release_at)
    assert (claim["owner"], claim["attempts"], claim["outcome"]) == ("process-b", 2, "released")


def test_a_crash_after_recording_and_before_finishing_the_claim_is_completed_without_publishing_again(store, clock, release_at, monkeypatch):
    publisher = FakePublisher()
    a = scheduler(store, clock, publisher, owner="process-a")
    b = scheduler(store, clock, publisher, owner="process-b")

    def die(*args, **kwargs):
        raise Crash()

    monkeypatch.setattr(a.claims, "finish", die)
    at_due(clock, release_at)
    with pytest.raises(Crash):
        a.sweep()
    clock.advance(seconds=61)
    assert b.attempt(EDITION, release_at).outcome == "already-released"
    assert publisher.calls == [(EDITION, 1)] and len(released_events(store, EDITION)) == 1


# -- stopping ------------------------------------------------------------------------------------


def test_stopping_lets_a_release_that_is_being_published_finish(store, clock, release_at):
    unblock = threading.Event()
    publisher = FakePublisher(block=unblock)
    process = scheduler(store, clock, publisher)
    at_due(clock, release_at)
    outcome = []
    worker = threading.Thread(target=lambda: outcome.append(process.attempt(EDITION, release_at)))
    worker.start()
    assert publisher.started.wait(5)
    threading.Timer(0.2, unblock.set).start()
    process.stop(grace=5)
    worker.join(5)
    assert outcome[0].outcome == "released"
    assert process.claims.get(EDITION, release_at)["outcome"] == "released"


def test_stopping_gives_back_a_release_still_publishing_after_the_grace_period_for_another_process(store, clock, release_at):
    unblock = threading.Event()
    publisher = FakePublisher(block=unblock)
    a = scheduler(store, clock, publisher, owner="process-a")
    at_due(clock, release_at)
    worker = threading.Thread(target=a.attempt, args=(EDITION, release_at))
    worker.start()
    assert publisher.started.wait(5)
    a.stop(grace=0.1)
    assert a.claims.get(EDITION, release_at)["expires_at"] == RELEASED_CLAIM_EXPIRY
    b = scheduler(store, clock, FakePublisher(), owner="process-b")
    assert [x.outcome for x in b.sweep()] == ["released"]  # no wait for a's lease
    unblock.set()
    worker.join(5)
    assert len(released_events(store, EDITION)) == 1


# -- APScheduler: the plan, and a timer that really fires ----------------------------------------------


def test_the_date_jobs_follow_the_calendar_and_are_rebuilt_after_a_reschedule_or_cancellation(store, clock, release_at):
    other = announce_for(store, "2026-q2", "2026-02-04", announced_at=clock())
    process = scheduler(store, clock, FakePublisher())
    try:
        process.start(follow=False, paused=True)
        jobs = process.jobs()
        assert set(jobs) == {"sweep", f"release:{EDITION}@{release_at}", f"release:2026-q2@{other}"}
        # APScheduler runs on the system clock: the job is as far ahead of it as the release is of ours.
        ahead = jobs[f"release:{EDITION}@{release_at}"] - datetime.now(timezone.utc)
        assert abs(ahead - (parse_zoned(release_at) - clock())) < timedelta(seconds=5)
        Releases(store, clock).reschedule(EDITION, "2026-01-08", reason="late data")
        Releases(store, clock).cancel("2026-q2", reason="merged")
        process.sweep()
        assert set(process.jobs()) == {"sweep", f"release:{EDITION}@2026-01-08T09:30:00+00:00"}
    finally:
        process.stop(grace=1)


def test_a_date_job_fires_at_the_release_time_and_publishes_it_on_time(store, clock, release_at):
    due = parse_zoned(release_at)
    offset = due - datetime.now(timezone.utc) - timedelta(seconds=1.0)  # our clock: one second before the release
    publisher = FakePublisher()
    process = ReleaseScheduler(store, publisher, clock=lambda: datetime.now(timezone.utc) + offset, owner="timer")
    try:
        assert process.start(follow=False) == []  # nothing due at start-up
        deadline = time.monotonic() + 5
        while not publisher.calls and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        process.stop(grace=5)
    [event] = released_events(store, EDITION)
    assert event.data["late_by_seconds"] is None
    assert datetime.fromisoformat(event.data["released_at"]) >= due


def test_the_follower_rebuilds_the_date_jobs_soon_after_a_calendar_event(store, clock, release_at):
    process = scheduler(store, clock, FakePublisher())
    try:
        process.start(paused=True)
        Releases(store, clock).reschedule(EDITION, "2026-01-09", reason="late data")
        wanted = f"release:{EDITION}@2026-01-09T09:30:00+00:00"
        deadline = time.monotonic() + 5
        while wanted not in process.jobs() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert wanted in process.jobs()
    finally:
        process.stop(grace=1)


# -- real processes ------------------------------------------------------------------------------


@pytest.fixture
def shared(postgres_url, tmp_path):
    """A migrated PostgreSQL schema, a fake_publications table, and a directory for markers."""
    engine = make_engine(postgres_url)
    upgrade(engine)
    schema = postgres_url.split("search_path%3D")[1]
    with engine.begin() as connection:
        connection.execute(text(f"CREATE TABLE {schema}.fake_publications (id SERIAL PRIMARY KEY, edition TEXT, revision INT, pid INT)"))
    markers = tmp_path / "markers"
    markers.mkdir()
    store = EventStore(engine, domain_registry)
    yield store, postgres_url, schema, markers
    engine.dispose()


def publications(schema: str) -> list[tuple]:
    with psycopg.connect(_libpq(POSTGRES_URL)) as connection:
        return connection.execute(f"SELECT edition, revision, pid FROM {schema}.fake_publications ORDER BY id").fetchall()


def spawn(n: int, postgres_url: str, schema: str, markers: Path, **options) -> list:
    context = multiprocessing.get_context("spawn")
    processes = [
        context.Process(
            target=scheduler_worker.run,
            args=(postgres_url, _libpq(POSTGRES_URL), schema, str(markers)),
            kwargs=options,
        )
        for _ in range(n)
    ]
    for process in processes:
        process.start()
    deadline = time.monotonic() + 30
    while len(list(markers.glob("ready-*"))) < n and time.monotonic() < deadline:
        time.sleep(0.02)
    (markers / "go").touch()
    return processes


def wait_for(pattern: str, markers: Path, timeout: float = 15) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = list(markers.glob(pattern))
        if found:
            return found[0]
        time.sleep(0.02)
    raise AssertionError(f"no {pattern} within {timeout}s")


def due_a_minute_ago(store: EventStore, editions: list[str]) -> None:
    now = datetime.now(timezone.utc).replace(second=0, microsecond=0) - timedelta(minutes=1)
    for edition in editions:
        announce_for(store, edition, now.isoformat(), announced_at=now - timedelta(days=1))
        approve(store, edition)


@pytest.mark.postgres
def test_three_scheduler_processes_against_one_postgresql_publish_each_of_six_due_releases_exactly_once(shared):
    store, url, schema, markers = shared
    editions = [f"2026-e{n}" for n in range(6)]
    due_a_minute_ago(store, editions)
    processes = spawn(3, url, schema, markers, until_released=6, run_seconds=15)
    for process in processes:
        process.join(30)
    assert [p.exitcode for p in processes] == [0, 0, 0]
    published = publications(schema)
    assert sorted(edition for edition, _, _ in published) == editions  # each publish call once
    for edition in editions:
        [event] = released_events(store, edition)
        assert event.data["late_by_seconds"] is not None  # missed while nothing ran: recorded late
    claims = ReleaseClaims(store.engine).all()
    assert [c["outcome"] for c in claims] == ["released"] * 6 and all(c["attempts"] == 1 for c in claims)


@pytest.mark.postgres
def test_a_process_killed_after_claiming_is_completed_by_another_processs_sweep(shared):
    store, url, schema, markers = shared
    due_a_minute_ago(store, [EDITION])
    [victim] = spawn(1, url, schema, markers, lease_seconds=1.0, block_seconds=30, run_seconds=30)
    wait_for("publishing-*", markers)
    os.kill(victim.pid, signal.SIGKILL)
    victim.join(5)
    survivor = ReleaseScheduler(store, scheduler_worker.TablePublisher(_libpq(POSTGRES_URL), schema, markers), lease=timedelta(seconds=1), owner="survivor")
    outcomes = []
    deadline = time.monotonic() + 10
    while "released" not in outcomes and time.monotonic() < deadline:
        outcomes += [a.outcome for a in survivor.sweep()]
        time.sleep(0.1)
    assert "released" in outcomes
    assert [pid for _, _, pid in publications(schema)] == [victim.pid, os.getpid()]
    [event] = released_events(store, EDITION)
    claim = survivor.claims.get(EDITION, event.data["release_at"])
    assert (claim["owner"], claim["attempts"], claim["outcome"]) == ("survivor", 2, "released")


@pytest.mark.postgres
def test_sigterm_while_publishing_lets_the_release_finish_and_the_process_exit_cleanly(shared):
    store, url, schema, markers = shared
    due_a_minute_ago(store, [EDITION])
    [process] = spawn(1, url, schema, markers, block_seconds=1.0, signalled=True)
    wait_for("publishing-*", markers)
    os.kill(process.pid, signal.SIGTERM)
    process.join(15)
    assert process.exitcode == 0
    [event] = released_events(store, EDITION)
    assert event.metadata["actor"].split(":")[1] == str(process.pid)
    assert ReleaseClaims(store.engine).get(EDITION, event.data["release_at"])["outcome"] == "released"


def test_sigterm_stops_the_scheduler_command_cleanly_with_json_logs(tmp_path):
    url = f"sqlite:///{tmp_path / 'scheduler.db'}"
    engine = make_engine(url)
    upgrade(engine)
    store = EventStore(engine, domain_registry)
    due_a_minute_ago(store, [EDITION])
    engine.dispose()
    command = subprocess.Popen(
        [sys.executable, "-m", "service", "--database-url", url, "scheduler", "--sweep-seconds", "0.5"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    lines = []
    reader = threading.Thread(target=lambda: lines.extend(command.stderr))
    reader.start()
    deadline = time.monotonic() + 20
    while not any('"scheduler.jobs_rebuilt"' in line for line in lines) and time.monotonic() < deadline:
        time.sleep(0.05)
    command.send_signal(signal.SIGTERM)
    assert command.wait(20) == 0
    reader.join(5)
    logs = [json.loads(line) for line in lines if line.startswith("{")]
    events = [entry["event"] for entry in logs]
    assert events[0] == "scheduler.starting" and events[-1] == "scheduler.stopped"
    # The release is of an edition never opened, so publishing it fails loudly, with a job id, and it stays due.
    failed = [entry for entry in logs if entry["event"] == "release.failed"]
    assert failed and "has not been opened" in failed[0]["error"] and failed[0]["job_id"]
