"""The public comparison of one measure across forces: each area's line from its latest released
edition, only from released editions. One force's release never shows another's unreleased figures."""

from __future__ import annotations

import csv
import io
import time

import pytest
from fastapi.testclient import TestClient

from publishers.stores import LocalDirectory
from service.bootstrap import App
from service.config import Settings
from service.handlers import figures
from service.http import create_app

from .given import an_approved_edition
from .publish_support import (  # noqa: F401  (fixtures)
    ANALYST,
    EDITION,
    announce,
    clock,
    example_database,
    example_store,
    publishing,
)

SURREY = "surrey-2022-02"


@pytest.fixture
def client(example_store, tmp_path):
    site = f"file://{tmp_path / 'site'}"
    application = App(Settings(database_url=str(example_store.engine.url), default_area="west-midlands", publish_to=site))
    application.__dict__.update(engine=example_store.engine, store=example_store)
    with TestClient(create_app(application)) as client:
        yield client


def surrey_approved(store) -> None:
    """A second force's statement, approved and on the calendar, not released: its figures are embargoed."""
    figures.record_figure(store, "homicide", "surrey", "2018-07/2019-06", "7", ANALYST)
    figures.record_figure(store, "homicide", "surrey", "2021-01/2021-12", "9931", ANALYST)  # shows wherever it leaks
    an_approved_edition(store, SURREY, "Surrey Police", title="Surrey, February 2022")


def rows(client, measure="homicide"):
    time.sleep(0.6)  # the releases list is trusted for half a second
    body = client.get(f"/public/comparison/{measure}")
    text = client.get(f"/public/comparison/{measure}.csv")
    return body, text


def test_the_comparison_shows_only_released_editions_lines_and_never_anothers_unreleased_figures(
    client, example_store, clock, publishing, tmp_path
):
    site = LocalDirectory(tmp_path / "site")
    assert client.get("/public/comparison/homicide").status_code == 404  # nothing released yet
    surrey_approved(example_store)
    announce(example_store, clock, SURREY, "2026-02-05T09:30")
    clock.advance(minutes=1)
    publishing.publish(EDITION, to=site, now=True, override_reason="test")

    body, text = rows(client)
    assert body.status_code == 200 and text.status_code == 200
    assert [(r["area"], r["area_name"], r["value"], r["baseline_value"], r["change_percent"]) for r in body.json()] == [
        ("west-midlands", "West Midlands", "46", "52", -12)
    ]
    table = list(csv.DictReader(io.StringIO(text.text)))
    assert [(r["area"], r["value"], r["edition"]) for r in table] == [("west-midlands", "46", EDITION)]
    for leaked in (body.text, text.text):
        assert "9931" not in leaked and "surrey" not in leaked.lower()
    # The released edition's document (which also carries hex hashes, where any digits may occur):
    # no line, figure or area of Surrey's.
    published = client.get(f"/public/editions/{EDITION}/edition.json")
    assert published.status_code == 200 and "surrey" not in published.text.lower()
    document = published.json()
    shown = [item.get("value") for key in ("scorecard", "figures") for item in document.get(key, [])]
    assert shown and "9931" not in shown

    # Surrey's release adds its line; a revision it has not released yet shows nowhere.
    publishing.publish(SURREY, to=site, now=True, override_reason="test")
    figures.revise_figure(example_store, "homicide", "surrey", "2021-01/2021-12", "8888", "correction", "miscount", ANALYST)
    body, text = rows(client)
    assert [(r["area"], r["value"], r["change_percent"]) for r in body.json()] == [("surrey", "9931", 141771), ("west-midlands", "46", -12)]
    assert "8888" not in body.text and "8888" not in text.text


def test_a_measure_no_release_shows_is_404(client):
    assert client.get("/public/comparison/no-such-measure").status_code == 404
    assert client.get("/public/comparison/no-such-measure.csv").status_code == 404
