"""A scheduler process for the multi-process tests, started with multiprocessing's spawn.

Its publisher writes one row per publish call into `fake_publications` (a table the test made),
so the test counts calls across processes; with `block_seconds` each publish first drops a
marker file and then takes that long, so the test can kill or stop the process mid-release.
"""

from __future__ import annotations

import hashlib
import os
import time
from datetime import timedelta
from pathlib import Path

import psycopg

from service.handlers.releases import PublishOutcome


class TablePublisher:
    def __init__(self, libpq_url: str, schema: str, markers: Path, block_seconds: float = 0.0) -> None:
        self.libpq_url, self.schema, self.markers, self.block_seconds = libpq_url, schema, markers, block_seconds

    def __call__(self, edition: str, revision: int) -> PublishOutcome:
        with psycopg.connect(self.libpq_url, autocommit=True) as connection:
            connection.execute(
                f"INSERT INTO {self.schema}.fake_publications (edition, revision, pid) VALUES (%s, %s, %s)",
                (edition, revision, os.getpid()),
            )
        (self.markers / f"publishing-{edition}-{os.getpid()}").touch()
        time.sleep(self.block_seconds or 0.02)  # a publish takes a while: widen the window for races
        body = f"{edition}/r{revision}".encode()
        return PublishOutcome(hashlib.sha256(body).hexdigest(), (f"editions/{edition}/r{revision}/index.html",))

    def after_release(self, edition: str, revision: int) -> None:
        """A real publisher refreshes the site's indexes and feeds here; there is none to refresh."""


def run(
    url: str,
    libpq_url: str,
    schema: str,
    markers: str,
    *,
    lease_seconds: float = 30.0,
    block_seconds: float = 0.0,
    run_seconds: float = 6.0,
    until_released: int | None = None,
    signalled: bool = False,
) -> None:
    """Wait for the test's go, run a scheduler, stop after `run_seconds` or once `until_released` are out."""
    from events import EventStore
    from events.database import make_engine
    from events.domain import registry
    from service.logging import configure_logging
    from service.scheduler import ReleaseScheduler, run_until_signalled

    configure_logging("warning", "json")
    marker_dir = Path(markers)
    engine = make_engine(url)
    store = EventStore(engine, registry)
    scheduler = ReleaseScheduler(
        store,
        TablePublisher(libpq_url, schema, marker_dir, block_seconds),
        lease=timedelta(seconds=lease_seconds),
        sweep_interval=timedelta(seconds=0.2),
    )
    (marker_dir / f"ready-{os.getpid()}").touch()
    deadline = time.monotonic() + 20
    while not (marker_dir / "go").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    if signalled:
        run_until_signalled(scheduler, grace=10, ready=lambda: (marker_dir / f"started-{os.getpid()}").touch())
        return
    scheduler.start()
    try:
        deadline = time.monotonic() + run_seconds
        while time.monotonic() < deadline:
            if until_released is not None:
                scheduler.catch_up()
                if sum(r.status == "released" for r in scheduler.projection.releases(with_changes=False)) >= until_released:
                    break
            time.sleep(0.1)
    finally:
        scheduler.stop(grace=10)
        engine.dispose()
