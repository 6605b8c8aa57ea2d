"""Writer processes for the concurrency and fault tests.

Each function here is the whole life of one child process (started with the "spawn" context,
so it shares nothing with the test but the database). Children report through files or a pipe;
the test does all the judging.
"""

from __future__ import annotations

import json
import os
import random
import time
import traceback
from itertools import count
from pathlib import Path
from typing import Any

from events import EventStore, WrongExpectedVersion
from events import store as store_module
from events.database import make_engine

from .support import counted, registry


def _store(url: str) -> EventStore:
    store = EventStore(make_engine(url), registry)
    store.head()  # connect now, so start-up costs are paid before the work begins
    return store


def _write_json(path: str, value: Any) -> None:
    # Written whole and renamed, so the test never reads half a report.
    partial = f"{path}.partial"
    Path(partial).write_text(json.dumps(value))
    os.replace(partial, path)


def contend(url: str, writer: int, streams: list[str], decisions: int, seed: int, start, report: str) -> None:
    """Append `decisions` times to a few shared streams, as a command handler would.

    Mostly: read the stream's version, decide, append with that expected version, and on a
    conflict read again and retry the same events. Sometimes a batch of several events; sometimes
    no expected version at all. Every event's data is (writer, sequence number): thing "w<writer>"
    and count <sequence>, so the test can find each acknowledged event exactly once.
    """
    acknowledged: list[dict[str, Any]] = []
    conflicts: list[dict[str, Any]] = []
    try:
        rng = random.Random(seed)
        store = _store(url)
        start.wait(timeout=120)
        sequence = 0
        for _ in range(decisions):
            stream = rng.choice(streams)
            size = rng.choice([1, 1, 1, 2, 3, 7])
            sequences = list(range(sequence, sequence + size))
            sequence += size
            events = [counted(f"w{writer}", n) for n in sequences]
            blind = rng.random() < 0.2
            while True:
                expected = None if blind else store.stream_version(stream)
                time.sleep(rng.random() * 0.003)  # deciding takes a moment: others may append meanwhile
                try:
                    result = store.append(stream, events, expected_version=expected)
                except WrongExpectedVersion as conflict:
                    conflicts.append(
                        {"stream": conflict.stream, "expected": conflict.expected, "actual": conflict.actual}
                    )
                    continue
                acknowledged.append(
                    {
                        "stream": stream,
                        "expected": expected,
                        "first": result.first_position,
                        "last": result.last_position,
                        "stream_version": result.stream_version,
                        "hash": result.hash,
                        "sequences": sequences,
                    }
                )
                break
        _write_json(report, {"writer": writer, "acknowledged": acknowledged, "conflicts": conflicts})
    except BaseException:
        _write_json(report, {"writer": writer, "error": traceback.format_exc()})
        raise


def append_and_stop(url: str, stream: str, size: int, moment: str, pipe) -> None:
    """Append one batch of `size` events and stop dead at `moment`, telling the parent.

    "before commit": every row is inserted, the transaction is open and holds the append lock.
    "after commit": the commit has returned, but the caller has not yet been told.
    The process then sleeps until the parent kills it.
    """
    store = _store(url)
    where: dict[str, Any] = {}
    notify = store.dialect.notify

    def stop() -> None:
        pipe.send(where)
        time.sleep(600)

    def before_commit(cursor, position: int) -> None:
        # notify runs after the inserts and just before the commit, in both dialects.
        where["last_position"] = position
        if store.dialect.name == "postgresql":
            where["backend_pid"] = cursor.connection.info.backend_pid
        notify(cursor, position)
        if moment == "before commit":
            if store.dialect.name == "postgresql":
                # Appends are pipelined: sync, so the server has run every insert sent so far
                # and sits idle in the transaction.
                with cursor.connection.pipeline() as pipeline:
                    pipeline.sync()
            stop()

    def after_commit(*fields, **named):
        stop()

    store.dialect.notify = before_commit
    if moment == "after commit":
        store_module.AppendResult = after_commit  # built only once the commit has returned
    store.append(stream, [counted("doomed", n) for n in range(size)], expected_version=0)
    raise AssertionError(f"the append should have stopped {moment}")


def append_batches_until_killed(url: str, prefix: str, size: int, journal: str, pipe) -> None:
    """Append batches of `size` events, one new stream each, until killed.

    The journal gets a line before each append ("started STREAM"), once its transaction holds the
    append lock ("began STREAM"), and after it is acknowledged ("acknowledged STREAM FIRST LAST");
    each line reaches the kernel before the next step, so it survives the kill.
    """
    store = _store(url)
    events = [counted("batch", n) for n in range(size)]
    begin_append = store.dialect.begin_append
    with open(journal, "a", buffering=1) as lines:

        def began(cursor) -> None:
            begin_append(cursor)
            lines.write(f"began {stream}\n")

        store.dialect.begin_append = began
        pipe.send("ready")
        for batch in count():
            stream = f"{prefix}-{batch}"
            lines.write(f"started {stream}\n")
            result = store.append(stream, events, expected_version=0)
            lines.write(f"acknowledged {stream} {result.first_position} {result.last_position}\n")
