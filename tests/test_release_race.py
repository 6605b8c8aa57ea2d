"""Two `publish --now` of one edition at once, each in its own process, both deciding from the same
calendar: the release is moved once, released once, and neither process fails."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from events import EventStore
from events.database import make_engine
from events.domain import registry
from events.domain.calendar import release_stream

from .publish_support import EDITION, announce, clock, example_database  # noqa: F401  (fixtures)

ROOT = Path(__file__).resolve().parents[1]


def test_two_processes_publishing_now_at_once_move_the_release_once_and_record_it_once(example_database, tmp_path, clock):
    path = tmp_path / "race.db"
    shutil.copy(example_database, path)
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    store = EventStore(engine, registry, clock=clock)
    announced = announce(store, clock, EDITION, "2026-01-07T09:30")
    head = store.head().position  # the calendar as both processes find it
    markers = tmp_path / "markers"
    markers.mkdir()
    now = clock.advance(minutes=1).isoformat()

    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.publish_race_worker", url, str(tmp_path / "site"), str(markers), now],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for _ in range(2)
    ]  # fmt: skip
    results = [worker.communicate(timeout=120) for worker in workers]

    assert [worker.returncode for worker in workers] == [0, 0], [err[-2000:] for _, err in results]
    assert all(len(list(markers.glob(f"read-*-{n}"))) == 2 for n in (1, 2)), "both processes read the calendar before either wrote"
    events = store.read_stream(release_stream(EDITION))
    after = [e.type for e in events if e.position > head]
    assert after == ["ReleaseRescheduled", "EditionReleased"], "moved once, released once"
    moved = events[-2].data
    assert moved["previous_release_at"] == announced and moved["release_at"] == "2026-01-05T09:31:00+00:00"
    reports = [json.loads(out.strip().splitlines()[-1]) for out, _ in results]
    assert sorted(r["recorded"] for r in reports) == [False, True]
    assert {r["release_at"] for r in reports} == {"2026-01-05T09:31:00+00:00"}
    engine.dispose()
