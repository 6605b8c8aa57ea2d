"""One `publish --now` in its own process, for the race tests: `python -m tests.publish_race_worker
DATABASE_URL SITE_DIR MARKERS NOW`.

Its first two reads of the release stream wait for the other process's reads of the same number
(or for it to finish), so two processes decide from the same state before either appends: the
window a race needs, made certain instead of likely.
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import datetime
from pathlib import Path

LOCKSTEP_READS = 2
WAIT_SECONDS = 20.0


def lockstep(markers: Path, stream: str):
    from events import EventStore

    original = EventStore.read_stream
    count = {"reads": 0}

    def read_stream(self, name, *args, **kwargs):
        events = original(self, name, *args, **kwargs)
        if name == stream and count["reads"] < LOCKSTEP_READS:
            count["reads"] += 1
            (markers / f"read-{os.getpid()}-{count['reads']}").touch()
            deadline = time.monotonic() + WAIT_SECONDS
            while time.monotonic() < deadline:
                others = {p.name.split("-")[1] for p in markers.glob(f"read-*-{count['reads']}")} - {str(os.getpid())}
                finished = {p.name.split("-")[1] for p in markers.glob("done-*")}
                if others or (finished - {str(os.getpid())}):
                    break
                time.sleep(0.01)
        return events

    EventStore.read_stream = read_stream


def main(url: str, site: str, markers: str, now: str) -> None:
    from events import EventStore
    from events.database import make_engine
    from events.domain import registry
    from publishers.stores.local import LocalDirectory
    from service.handlers.publishing import Publishing

    marker_dir = Path(markers)
    lockstep(marker_dir, "release-2022-02")
    moment = datetime.fromisoformat(now)
    store = EventStore(make_engine(url), registry, clock=lambda: moment)
    publishing = Publishing(store, site_url="https://statements.example.org/", software_version="0.1.0-test", clock=lambda: moment)
    try:
        report = publishing.publish("2022-02", to=LocalDirectory(Path(site)), now=True, override_reason="the Board meets today")
        print(json.dumps({"mode": report.mode, "release_at": report.release_at, "recorded": report.recorded}))
    finally:
        (marker_dir / f"done-{os.getpid()}").touch()


if __name__ == "__main__":
    main(*sys.argv[1:5])
