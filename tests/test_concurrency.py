"""The store under real concurrency and real crashes: writer processes racing, and writers killed mid-append.

Children are started with the "spawn" context and run the functions in tests/writers.py; the
`children` fixture kills and reaps any that are still alive when a test ends, however it ends.
"""

from __future__ import annotations

import json
import multiprocessing
import random
import sqlite3
import time
import uuid
from collections import Counter, defaultdict
from typing import Iterator

import psycopg
import pytest
from sqlalchemy.engine import make_url

from events import EventStore
from events.postgres import APPEND_LOCK_KEY

from . import writers
from .support import counted
from .support import registry as test_registry

WRITERS = {"postgresql": 8, "sqlite": 4}
DECISIONS_PER_WRITER = 40
SHARED_STREAMS = [f"tally-{n}" for n in range(4)]


class Children:
    """Child processes of one test, started with "spawn"; none outlives the test."""

    def __init__(self) -> None:
        self.context = multiprocessing.get_context("spawn")
        self.started: list = []

    def start(self, target, *args):
        child = self.context.Process(target=target, args=args, daemon=True)
        self.started.append(child)
        child.start()
        return child

    def start_reporting(self, target, *args):
        """Start `target(*args, pipe)`; return the process and our end of the pipe."""
        ours, theirs = self.context.Pipe()
        child = self.start(target, *args, theirs)
        theirs.close()  # the child holds its own copy: if it dies, we read end-of-file, not silence
        return child, ours

    def barrier(self, parties: int):
        return self.context.Barrier(parties)

    def close(self) -> None:
        for child in self.started:
            if child.is_alive():
                child.kill()
        for child in self.started:
            child.join(timeout=10)


@pytest.fixture
def children() -> Iterator[Children]:
    started = Children()
    try:
        yield started
    finally:
        started.close()


def is_postgres(url: str) -> bool:
    return url.startswith("postgresql")


def named(url: str, name: str) -> str:
    """The URL, with PostgreSQL sessions labelled `name` so the test can watch them end."""
    return f"{url}&application_name={name}" if is_postgres(url) else url


def admin_connection(url: str) -> psycopg.Connection:
    return psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://", 1), autocommit=True)


def wait_for_sessions_to_end(url: str, name: str, timeout: float = 15) -> None:
    """After a kill, PostgreSQL ends the session (and its transaction and lock) once it sees the socket close."""
    if not is_postgres(url):
        return
    deadline = time.monotonic() + timeout
    with admin_connection(url) as admin:
        while admin.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (name,)).fetchone()[0]:
            assert time.monotonic() < deadline, f"the killed writer's session {name} is still open after {timeout} s"
            time.sleep(0.05)


def sqlite_write_lock_is_free(url: str, timeout: float) -> bool:
    connection = sqlite3.connect(make_url(url).database, timeout=timeout, isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError as busy:
        assert "locked" in str(busy)
        return False
    finally:
        connection.close()


def hear_from(child, pipe, what: str, timeout: float = 60):
    try:
        if pipe.poll(timeout):
            return pipe.recv()
    except EOFError:
        pass
    child.join(timeout=1)
    pytest.fail(f"the writer never {what} (exit code {child.exitcode}; its traceback is in the captured stderr)")


def join_all(processes, barrier, timeout: float) -> None:
    """Wait for every process to finish; if one fails early, release the others from the start line."""
    deadline = time.monotonic() + timeout
    while any(process.is_alive() for process in processes):
        if any(process.exitcode not in (None, 0) for process in processes):
            barrier.abort()
        assert time.monotonic() < deadline, f"writers still running after {timeout} s"
        time.sleep(0.05)


# -- many writers at once -----------------------------------------------------------------------


@pytest.mark.slow
def test_concurrent_writers_lose_duplicate_and_reorder_nothing_and_every_conflict_is_reported(
    database_url, engine, children, tmp_path
):
    # Given several writer processes (8 on PostgreSQL, 4 on one SQLite file) deciding on the same
    # four streams: read the version, append with it, retry on a conflict; some batches, some blind appends
    backend = "postgresql" if is_postgres(database_url) else "sqlite"
    count = WRITERS[backend]
    start = children.barrier(count)
    reports = [tmp_path / f"writer-{writer}.json" for writer in range(count)]
    processes = [
        children.start(
            writers.contend, database_url, writer, SHARED_STREAMS, DECISIONS_PER_WRITER, writer, start, str(report)
        )
        for writer, report in enumerate(reports)
    ]

    # When they have all finished
    join_all(processes, start, timeout=120)
    results = [json.loads(report.read_text()) if report.exists() else {"error": "no report"} for report in reports]
    failures = {result.get("writer"): result["error"] for result in results if "error" in result}
    assert not failures and all(process.exitcode == 0 for process in processes), failures

    # Then positions are 1..N and every stream's versions are 1..n, in position order
    store = EventStore(engine, test_registry)
    log = list(store.read_all())
    assert [event.position for event in log] == list(range(1, len(log) + 1))
    versions = defaultdict(list)
    for event in log:
        versions[event.stream].append(event.version)
    assert set(versions) == set(SHARED_STREAMS)
    for stream, seen in versions.items():
        assert seen == list(range(1, len(seen) + 1)), f"stream {stream} has versions {seen}"
    assert all(earlier.recorded_at <= later.recorded_at for earlier, later in zip(log, log[1:]))

    # and every acknowledged append is in the log at the positions and versions it was told,
    # its events in order, with the hash it was told; each writer's appends in its own order
    acknowledged_events = 0
    decided = Counter()
    for result in results:
        writer, previous_last = result["writer"], 0
        for ack in result["acknowledged"]:
            size = len(ack["sequences"])
            assert ack["last"] - ack["first"] + 1 == size
            assert ack["first"] > previous_last, f"writer {writer}'s appends are out of order at {ack}"
            previous_last = ack["last"]
            landed = log[ack["first"] - 1 : ack["last"]]
            assert [(event.stream, event.version, event.data) for event in landed] == [
                (ack["stream"], ack["stream_version"] - size + 1 + index, {"thing": f"w{writer}", "count": sequence})
                for index, sequence in enumerate(ack["sequences"])
            ], f"writer {writer}'s append {ack} is not where it was acknowledged"
            assert landed[-1].hash == ack["hash"]
            if ack["expected"] is not None:
                assert ack["stream_version"] - size == ack["expected"]
                decided[ack["stream"], ack["expected"]] += 1
            acknowledged_events += size
        everything = [n for ack in result["acknowledged"] for n in ack["sequences"]]
        assert everything == list(range(len(everything))), f"writer {writer} lost a decision"
    # ... and nothing else: no event twice, none from an append that was refused
    assert len(log) == acknowledged_events
    assert Counter((event.data["thing"], event.data["count"]) for event in log).most_common(1)[0][1] == 1

    # and every lost race was reported: no two appends succeeded on the same expected version,
    # each conflict named a version the stream really had reached, and there were conflicts to report
    assert [key for key, times in decided.items() if times > 1] == []
    conflicts = [conflict for result in results for conflict in result["conflicts"]]
    for conflict in conflicts:
        assert conflict["expected"] < conflict["actual"] <= len(versions[conflict["stream"]]), conflict
    assert conflicts, "the writers never raced: the test proved nothing about conflicts"

    # and the chain verifies up to the last acknowledged hash
    report = store.verify()
    assert report.ok, report.breach
    assert (report.head.position, report.head.hash) == (len(log), log[-1].hash)


# -- writers killed mid-append ------------------------------------------------------------------


def given_some_events(store: EventStore) -> int:
    store.append("before", [counted(count=1), counted(count=2), counted(count=3)], expected_version=0)
    return store.head().position


def then_the_store_still_works(store: EventStore, database_url: str, name: str, head: int) -> None:
    wait_for_sessions_to_end(database_url, name)
    if not is_postgres(database_url):
        assert sqlite_write_lock_is_free(database_url, timeout=5), "the killed writer left the SQLite file locked"
    report = store.verify()
    assert report.ok, report.breach
    assert report.head.position == head
    after = store.append(f"after-{name}", [counted()], expected_version=0)
    assert after.first_position == head + 1
    assert store.verify().ok


@pytest.mark.slow
@pytest.mark.parametrize(
    "moment, outcome",
    [("before commit", "none of the batch"), ("after commit", "all of the batch")],
)
def test_a_writer_killed_in_the_middle_of_a_batch_leaves_all_of_it_or_none(
    database_url, engine, children, moment, outcome
):
    # Given a log with a few events, and a writer appending a batch of 20,000 events that stops
    # dead at `moment` (every row inserted and the transaction open; or just committed)
    store = EventStore(engine, test_registry)
    head = given_some_events(store)
    size, name = 20_000, f"doomed-{uuid.uuid4().hex[:8]}"
    writer, pipe = children.start_reporting(writers.append_and_stop, named(database_url, name), "doomed", size, moment)
    where = hear_from(writer, pipe, f"reached {moment}")
    assert where["last_position"] == head + size

    if moment == "before commit":
        # (it really is inside its transaction: it holds the append lock, and nothing is visible yet)
        if is_postgres(database_url):
            with admin_connection(database_url) as admin:
                state, holds_lock = admin.execute(
                    "SELECT state, EXISTS (SELECT 1 FROM pg_locks WHERE pid = %s AND locktype = 'advisory' "
                    "AND granted AND objsubid = 2 AND classid::bigint = %s) FROM pg_stat_activity WHERE pid = %s",
                    (where["backend_pid"], APPEND_LOCK_KEY, where["backend_pid"]),
                ).fetchone()
            assert (state, holds_lock) == ("idle in transaction", True)
        else:
            assert not sqlite_write_lock_is_free(database_url, timeout=0)
        assert store.head().position == head

    # When it is killed
    writer.kill()
    writer.join(timeout=10)

    # Then the log holds none of the batch or all of it, in order
    doomed = store.read_stream("doomed")
    if outcome == "none of the batch":
        assert doomed == []
        expected_head = head
    else:
        assert [event.version for event in doomed] == list(range(1, size + 1))
        assert [event.position for event in doomed] == list(range(head + 1, head + size + 1))
        assert [event.data["count"] for event in doomed] == list(range(size))
        expected_head = head + size
    # and the chain verifies, the lock is free, and the next append carries on from the head
    then_the_store_still_works(store, database_url, name, expected_head)


@pytest.mark.slow
def test_a_writer_killed_at_a_random_moment_leaves_every_batch_whole_or_absent(
    database_url, engine, children, tmp_path
):
    # Given a writer appending batches of 5,000 events, one new stream per batch
    store = EventStore(engine, test_registry)
    head = given_some_events(store)
    size, rng, outcomes = 5_000, random.Random(), []
    for attempt in range(3):
        name, journal = f"doomed-{uuid.uuid4().hex[:8]}", tmp_path / f"journal-{attempt}.txt"
        writer, pipe = children.start_reporting(
            writers.append_batches_until_killed, named(database_url, name), name, size, str(journal)
        )
        assert hear_from(writer, pipe, "started") == "ready"

        # When it is killed at a random moment
        delay = rng.uniform(0.05, 1.0)
        time.sleep(delay)
        writer.kill()
        writer.join(timeout=10)
        wait_for_sessions_to_end(database_url, name)

        # Then every batch in the log is whole and contiguous; every acknowledged batch is there at
        # its acknowledged positions; only the batch in flight may be missing
        lines = [line.split() for line in journal.read_text().splitlines()]
        started = [line[1] for line in lines if line[0] == "started"]
        acknowledged = {line[1]: (int(line[2]), int(line[3])) for line in lines if line[0] == "acknowledged"}
        in_log = defaultdict(list)
        for event in store.read_all(head + 1):
            in_log[event.stream].append(event)
        context = f"killed after {delay:.3f} s; started {started}, acknowledged {sorted(acknowledged)}"
        assert set(in_log) <= set(started), context
        for stream, events in in_log.items():
            assert [event.version for event in events] == list(range(1, size + 1)), context
            first, last = events[0].position, events[-1].position
            assert last - first + 1 == size, context
            assert acknowledged.get(stream, (first, last)) == (first, last), context
        assert set(acknowledged) <= set(in_log), context
        unacknowledged = [stream for stream in started if stream not in acknowledged]
        assert unacknowledged in ([], started[-1:]), context
        if not unacknowledged:
            outcomes.append("between batches")
        elif unacknowledged[0] in in_log:
            outcomes.append("all: killed after its commit")
        elif any(line == ["began", unacknowledged[0]] for line in lines):
            outcomes.append("none: killed inside its transaction")
        else:
            outcomes.append("none: killed before its transaction")

        # and the chain verifies and the store carries on from the new head
        head += size * len(in_log)
        then_the_store_still_works(store, database_url, name, head)
        head += 1
    print(f"the batch in flight when each writer was killed: {outcomes}")
