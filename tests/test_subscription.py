"""Catch-up subscriptions: resume from a checkpoint, then follow new events."""

from __future__ import annotations

import threading
import time

from sqlalchemy import text

from events import CatchUpSubscription

from .support import counted


class Recorder:
    """A handler that keeps what it saw in a table, in the same transaction as the checkpoint."""

    def __init__(self, fail_at: int | None = None) -> None:
        self.seen: list[int] = []
        self.fail_at = fail_at

    def __call__(self, connection, events) -> None:
        for event in events:
            if event.position == self.fail_at:
                raise RuntimeError("handler failed")
            self.seen.append(event.position)


def test_a_subscription_catches_up_from_its_checkpoint_and_resumes_after_a_restart(store):
    for n in range(5):
        store.append("a", [counted(count=n)], expected_version=None)
    first = Recorder()
    assert CatchUpSubscription(store, "p", first, batch_size=2).catch_up() == 5
    assert first.seen == [1, 2, 3, 4, 5]

    store.append("a", [counted(), counted()], expected_version=None)
    restarted = Recorder()
    assert CatchUpSubscription(store, "p", restarted).catch_up() == 7
    assert restarted.seen == [6, 7]


def test_a_failing_handler_leaves_the_checkpoint_at_the_last_committed_batch(store):
    for n in range(6):
        store.append("a", [counted(count=n)], expected_version=None)
    failing = Recorder(fail_at=5)
    subscription = CatchUpSubscription(store, "p", failing, batch_size=2)
    try:
        subscription.catch_up()
    except RuntimeError:
        pass
    assert subscription.checkpoint() == 4
    again = Recorder()
    CatchUpSubscription(store, "p", again, batch_size=2).catch_up()
    assert again.seen == [5, 6]


def test_handler_writes_and_checkpoint_commit_together(store, engine):
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE seen (position INTEGER)"))

    def handler(connection, events):
        for event in events:
            connection.execute(text("INSERT INTO seen VALUES (:p)"), {"p": event.position})
            if event.position == 3:
                raise RuntimeError("crash mid-batch")

    for n in range(4):
        store.append("a", [counted(count=n)], expected_version=None)
    try:
        CatchUpSubscription(store, "p", handler, batch_size=2).catch_up()
    except RuntimeError:
        pass
    with engine.connect() as connection:
        assert [row[0] for row in connection.execute(text("SELECT position FROM seen ORDER BY position"))] == [1, 2]
    assert CatchUpSubscription(store, "p", handler).checkpoint() == 2


def test_a_running_subscription_follows_events_appended_later(store):
    recorder = Recorder()
    subscription = CatchUpSubscription(store, "p", recorder)
    stop = threading.Event()
    runner = threading.Thread(target=subscription.run, args=(stop,), kwargs={"poll_interval": 0.05})
    runner.start()
    try:
        store.append("a", [counted()], expected_version=None)
        store.append("b", [counted(), counted()], expected_version=None)
        deadline = time.monotonic() + 10
        while recorder.seen != [1, 2, 3] and time.monotonic() < deadline:
            time.sleep(0.02)
        assert recorder.seen == [1, 2, 3]
    finally:
        stop.set()
        runner.join(timeout=10)
    assert not runner.is_alive()


def test_the_postgresql_listener_wakes_on_notify_and_sqlite_polls(store):
    with store.listener(poll_interval=0.05) as listener:
        assert listener.wait(0, timeout=0.1) is False
        store.append("a", [counted()], expected_version=None)
        assert listener.wait(0, timeout=5) is True


def test_two_processes_catching_up_one_subscription_apply_each_event_once(store, engine):
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE seen (position INTEGER PRIMARY KEY)"))
    store.append_many([(f"s{n}", [counted(count=i) for i in range(100)], None) for n in range(10)])

    def handler(connection, events):
        for event in events:
            connection.execute(text("INSERT INTO seen VALUES (:p)"), {"p": event.position})

    errors: list[BaseException] = []

    def worker():
        try:
            CatchUpSubscription(store, "shared", handler, batch_size=50).catch_up()
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM seen")).scalar() == 1000
    assert CatchUpSubscription(store, "shared", handler).checkpoint() == 1000


def test_a_new_format_version_clears_what_the_old_one_wrote_and_starts_again_from_zero(store):
    for n in range(3):
        store.append("a", [counted(count=n)], expected_version=None)
    old = Recorder()
    assert CatchUpSubscription(store, "p", old, version=1).catch_up() == 3
    cleared: list[int] = []
    new = Recorder()
    subscription = CatchUpSubscription(store, "p", new, version=2, reset=lambda connection: cleared.append(1))
    assert subscription.catch_up() == 3
    assert (new.seen, cleared) == ([1, 2, 3], [1])
    assert CatchUpSubscription(store, "p", Recorder(), version=2).checkpoint() == 3
