"""What the rendering, feed and publishing tests share: the example statement loaded once into a
template database that each test copies, a publisher on a test clock, and the givens of a correction
and of a second, embargoed edition."""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from events import EventStore, Metadata
from events.database import make_engine, upgrade
from events.domain import registry
from events.domain.fields import NATIONAL_PRIORITIES
from service.handlers import editions, figures
from service.handlers.examples import DEFAULT_EXAMPLE, load_example
from service.handlers.publishing import Publishing
from service.handlers.releases import Releases

from .conftest import FakeClock

EDITION = "2022-02"
SITE_URL = "https://statements.example.org/"
VERSION = "0.1.0-test"
ANALYST = Metadata(actor="analyst@wmp", source="test")
LOADED_AT = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)  # a Monday in GMT
CORRECTION_REASON = "Burglary for the year ending September 2021 was under-counted by 90 offences (a late batch of crime reports)"


@pytest.fixture(scope="session")
def example_database(tmp_path_factory) -> Path:
    """The seed statement loaded and approved (revision 1), at LOADED_AT, in an SQLite file to copy."""
    path = tmp_path_factory.mktemp("example") / "example.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    load_example(EventStore(engine, registry, clock=lambda: LOADED_AT), DEFAULT_EXAMPLE, ANALYST, "west-midlands")
    engine.dispose()
    return path


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(LOADED_AT + timedelta(minutes=30))


@pytest.fixture
def example_store(example_database, tmp_path, clock):
    path = tmp_path / "store.db"
    shutil.copy(example_database, path)
    engine = make_engine(f"sqlite:///{path}")
    yield EventStore(engine, registry, clock=clock)
    engine.dispose()


@pytest.fixture
def publishing(example_store, clock) -> Publishing:
    return Publishing(example_store, site_url=SITE_URL, software_version=VERSION, clock=clock)


def correct_burglary(store: EventStore, clock: FakeClock) -> int:
    """After publication, burglary's latest figure is corrected and revision 2 approved; returns the revision."""
    clock.advance(days=30)
    figures.revise_figure(
        store, "burglary", "west-midlands", "2020-10/2021-09", "19108", "correction", CORRECTION_REASON, ANALYST
    )
    clock.advance(minutes=5)
    _, approval = editions.approve_edition(store, EDITION, ANALYST, reason=CORRECTION_REASON)
    return approval.revision


def another_edition(store: EventStore, edition: str = "2022-05", title: str = "Statement for May 2022, not yet released") -> None:
    """A second edition, approved, quoting a figure no released edition quotes."""
    figures.record_figure(store, "homicide", "west-midlands", "2021-04/2022-03", "41", ANALYST)
    editions.open_edition(
        store,
        edition,
        area="west-midlands",
        title=title,
        authors=[{"name": "Harry Barton", "job_title": "Head of Strategy and Direction"}],
        lead_contact={"name": "Stuart Gardner"},
        metadata=ANALYST,
    )
    for priority in NATIONAL_PRIORITIES:
        editions.assess_priority(store, edition, priority, True, f"{priority} applies to the West Midlands", ANALYST)
    editions.write_paragraph(
        store, edition, 1, section="force-statement", metadata=ANALYST,
        text="Homicides in the year to March 2022: {{value:homicide:2021-04/2022-03}}, a {{percent:homicide:2021-04/2022-03}} "
        "{{direction:homicide:2021-04/2022-03}} against the baseline.",
    )
    editions.approve_edition(store, edition, ANALYST)


def rewrite_edition(site, revision: int, change, edition: str = EDITION) -> None:
    """Change a published edition.json (a LocalDirectory's) as a forger would, and its manifest's SHA-256 with it."""
    directory = site.root / f"editions/{edition}/r{revision}"
    document = json.loads((directory / "edition.json").read_text())
    change(document)
    body = json.dumps(document).encode()
    (directory / "edition.json").write_bytes(body)
    manifest = json.loads((directory / "manifest.json").read_text())
    for entry in manifest["files"]:
        if entry["path"] == "edition.json":
            entry["sha256"], entry["size"] = hashlib.sha256(body).hexdigest(), len(body)
    (directory / "manifest.json").write_text(json.dumps(manifest))


def announce(store: EventStore, clock: FakeClock, edition: str, at: str, *, confirmed: bool = True) -> str:
    """Put the edition on the calendar for `at`: provisionally, then confirmed (with less than four weeks' notice)."""
    releases = Releases(store, clock)
    release = releases.announce(edition, at, provisional=True, actor="analyst")
    if confirmed:
        release = releases.confirm(edition, override_reason="The Board meets the next day", actor="analyst")
    return release.release_at


# Homicide in the calendar years between the baseline and the latest figure: a series for the trend chart.
HOMICIDE_SERIES = (("2019-01/2019-12", "49"), ("2020-01/2020-12", "41"))


def published_example(store: EventStore, clock: FakeClock, publishing: Publishing, to) -> None:
    """The example site as the public sees it: revision 1 released at its confirmed time, then a correction
    (revision 2, which also has a homicide series), and a second edition provisionally on the calendar."""
    announce(store, clock, EDITION, "2026-01-07T09:30")
    clock.now = clock.now.replace(day=7, hour=9, minute=30, second=4)
    publishing.publish(EDITION, to=to)
    for period, value in HOMICIDE_SERIES:
        figures.record_figure(store, "homicide", "west-midlands", period, value, ANALYST)
    correct_burglary(store, clock)
    publishing.publish(EDITION, to=to)
    another_edition(store, "2022-05")
    announce(store, clock, "2022-05", "2026-03-05T09:30", confirmed=False)
    publishing.refresh_site(to)  # the calendar now lists the coming release
