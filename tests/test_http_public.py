"""The public API: released editions only, the same moment for everyone; auditors see everything."""

from __future__ import annotations


import pytest
from fastapi.testclient import TestClient

from events import Metadata
from publishers.stores import LocalDirectory
from service.bootstrap import App
from service.config import Settings
from service.http import create_app
from service.handlers.tokens import issue_token

from .publish_support import (  # noqa: F401  (fixtures)
    EDITION,
    announce,
    clock,
    correct_burglary,
    example_database,
    example_store,
    publishing,
)


@pytest.fixture
def client(example_store, tmp_path):
    site = f"file://{tmp_path / 'site'}"
    application = App(Settings(database_url=str(example_store.engine.url), default_area="west-midlands", publish_to=site))
    application.__dict__.update(engine=example_store.engine, store=example_store)
    with TestClient(create_app(application)) as client:
        yield client


def public_channels(client) -> dict[str, int]:
    return {
        path: client.get(path).status_code
        for path in (
            "/public/scorecard",
            f"/public/editions/{EDITION}/edition.json",
            f"/public/editions/{EDITION}/r1/index.html",
            "/public/history/homicide",
        )
    }


def test_before_its_release_time_an_approved_edition_is_on_no_public_endpoint(client, example_store, clock, publishing, tmp_path):
    due = announce(example_store, clock, EDITION, "2026-01-07T09:30")
    assert client.get("/public/editions").json() == []
    assert set(public_channels(client).values()) == {404}
    assert "46" not in client.get("/public/scorecard").text

    clock.now = clock.now.replace(day=7, hour=9, minute=29, second=59)
    with pytest.raises(Exception, match="embargoed"):
        publishing.publish(EDITION, to=LocalDirectory(tmp_path / "site"))
    assert set(public_channels(client).values()) == {404}

    clock.now = clock.now.replace(minute=30, second=0)
    publishing.publish(EDITION, to=LocalDirectory(tmp_path / "site"))
    import time

    time.sleep(0.6)  # the releases list is trusted for half a second
    assert set(public_channels(client).values()) == {200}
    assert due.startswith("2026-01-07T09:30")


def test_after_release_the_scorecard_reproduces_the_seeds_comparisons(client, example_store, clock, publishing, tmp_path):
    clock.advance(minutes=1)
    publishing.publish(EDITION, to=LocalDirectory(tmp_path / "site"), now=True, override_reason="test")
    body = client.get("/public/scorecard").json()
    assert body["edition"] == EDITION and body["revision"] == 1
    lines = {line["measure"]: line for line in body["scorecard"]}
    homicide = lines["homicide"]
    assert (homicide["baseline_value"], homicide["value"], homicide["change_percent"], homicide["direction"]) == (
        "52",
        "46",
        -12,
        "reduction",
    )
    assert set(homicide) == {
        "measure", "area", "title", "period", "value", "unit", "baseline_period", "baseline_value", "change_unit",
        "change", "change_percent", "direction", "assessment",
    }
    published = (tmp_path / "site" / f"editions/{EDITION}/r1/edition.json").read_bytes()
    assert client.get(f"/public/editions/{EDITION}/r1/edition.json").content == published


def test_a_correction_after_release_adds_a_revision_and_the_history_of_released_values(client, example_store, clock, publishing, tmp_path):
    site = LocalDirectory(tmp_path / "site")
    clock.advance(minutes=1)
    publishing.publish(EDITION, to=site, now=True, override_reason="test")
    correct_burglary(example_store, clock)
    publishing.publish(EDITION, to=site)
    import time

    time.sleep(0.6)
    editions = client.get("/public/editions").json()
    assert [(e["revision"], e["superseded"]) for e in editions] == [(2, False), (1, True)]
    vintages = client.get("/public/history/burglary").json()["vintages"]
    assert [v["revision"] for v in vintages] == [1, 2]
    assert vintages[0]["values"] != vintages[1]["values"]


def test_auditors_see_unreleased_figures_as_of_any_moment_and_the_public_does_not(client, example_store):
    secret = issue_token(example_store, name="panel", role="auditor", measures=None, metadata=Metadata(actor="admin"))[1]
    auditor = {"Authorization": f"Bearer {secret}"}
    lines = client.get("/audit/scorecard", headers=auditor).json()["scorecard"]
    assert any(line["measure"] == "homicide" and line["value"] == "46" for line in lines)
    assert client.get("/public/scorecard").status_code == 404
    early = client.get("/audit/scorecard", params={"at": "1"}, headers=auditor).json()
    assert early["position"] == 1 and all(line["value"] is None for line in early["scorecard"])
    diff = client.get("/audit/diff", params={"from": "0", "to": str(example_store.head().position)}, headers=auditor).json()
    assert any(f["measure"] == "homicide" and f["new_value"] == "46" for f in diff["figures"])
    history = client.get("/audit/history/homicide", headers=auditor).json()
    assert history["changes"] and all(change["actor"] for change in history["changes"])
    triangle = client.get("/audit/triangle/homicide", params={"area": "west-midlands", "format": "csv"}, headers=auditor)
    assert triangle.status_code == 200 and triangle.headers["content-type"].startswith("text/csv")
    bad = client.get("/audit/scorecard", params={"at": "yesterday-ish"}, headers=auditor)
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
