"""The same moment for everyone: just before a release no public channel shows the edition, just after every one does.

Channels: the public site (root index, edition pages, latest/, feeds, calendar files), the public
HTTP API, and the public CLI command (`calendar`). The real scheduler releases the edition; the
clock is moved by hand.
"""

from __future__ import annotations

import json
import time

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from publishers.stores import LocalDirectory
from service.bootstrap import App
from service.cli import cli
from service.config import Settings
from service.handlers.publishing import for_scheduler
from service.http import create_app
from service.scheduler import ReleaseScheduler

from .publish_support import (  # noqa: F401  (fixtures)
    EDITION,
    announce,
    clock,
    example_database,
    example_store,
    publishing,
)

FIGURES = ("19018", "19,018", "28675", "28,675", "7509", "7,509")  # burglary and robbery, as the edition states them


@pytest.fixture
def site(tmp_path) -> LocalDirectory:
    return LocalDirectory(tmp_path / "site")


@pytest.fixture
def api(example_store, site):
    application = App(Settings(database_url=str(example_store.engine.url), publish_to=f"file://{site.root}"))
    application.__dict__.update(engine=example_store.engine, store=example_store)
    with TestClient(create_app(application)) as client:
        yield client


def site_text(site: LocalDirectory) -> dict[str, str]:
    return {key: site.get(key).decode("utf-8", "replace") for key in site.list("")}


def public_view(site: LocalDirectory, api: TestClient, database_url: str) -> dict[str, object]:
    """Everything a member of the public can reach, as text and status codes."""
    time.sleep(0.6)  # the API trusts its list of releases for half a second
    calendar = CliRunner().invoke(cli, ["--database-url", database_url, "calendar", "--format", "json"])
    return {
        "site": site_text(site),
        "api": {
            path: (response.status_code, response.text)
            for path in (
                "/public/editions",
                "/public/scorecard",
                f"/public/editions/{EDITION}/edition.json",
                f"/public/editions/{EDITION}/r1/index.html",
                "/public/history/burglary",
            )
            for response in [api.get(path)]
        },
        "cli": calendar.output,
    }


def test_no_public_channel_shows_the_edition_a_second_before_its_release_and_every_one_does_at_the_moment(
    example_store, clock, publishing, site, api
):
    database_url = str(example_store.engine.url)
    due = announce(example_store, clock, EDITION, "2026-01-07T09:30")
    scheduler = ReleaseScheduler(example_store, for_scheduler(publishing, lambda: site), clock=clock)
    publishing.refresh_site(site)  # the site as it stands with the release announced: calendar only

    clock.now = clock.now.replace(day=7, hour=9, minute=29, second=59)
    assert scheduler.sweep() == []
    before = public_view(site, api, database_url)
    for key, text in before["site"].items():
        assert not key.startswith("editions/"), f"{key} is on the site before the release"
        assert not key.startswith("latest/") or key == "latest/index.html", f"{key} is on the site before the release"
        assert not any(figure in text for figure in FIGURES), f"{key} shows a figure before the release"
    assert f"editions/{EDITION}" not in before["site"]["latest/index.html"]
    assert f"editions/{EDITION}" not in before["site"]["index.html"]
    calendar = json.loads(before["site"]["calendar.json"])
    assert calendar["releases"][0]["title"] and "released" not in json.dumps(calendar["releases"][0]).replace('"released": null', "")
    assert EDITION not in before["site"].get("feed.atom", "") and EDITION not in before["site"].get("feed.rss", "")
    assert json.loads(before["api"]["/public/editions"][1]) == []
    for path, (status, text) in before["api"].items():
        assert path == "/public/editions" or status == 404, path
        assert not any(figure in text for figure in FIGURES), path
    assert not any(figure in before["cli"] for figure in FIGURES)

    clock.now = clock.now.replace(minute=30, second=0)
    attempts = scheduler.sweep()
    assert [a.edition for a in attempts] == [EDITION]
    after = public_view(site, api, database_url)
    assert f"editions/{EDITION}/r1/index.html" in after["site"] and "latest/index.html" in after["site"]
    assert f"editions/{EDITION}/r1/" in after["site"]["index.html"]
    assert EDITION in after["site"]["feed.atom"] and EDITION in after["site"]["feed.rss"]
    assert "19018" in after["site"][f"editions/{EDITION}/r1/edition.json"]
    assert all(status == 200 for status, _ in after["api"].values()), after["api"]
    assert "19018" in after["api"]["/public/scorecard"][1]
    released = json.loads(after["site"]["calendar.json"])["releases"][0]["released"]
    assert released["revision"] == 1 and released["late_by_seconds"] is None
    assert due.startswith("2026-01-07T09:30")
