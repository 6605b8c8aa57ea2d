"""The published site's comparison of a measure across forces (`comparison/{measure}/`, its CSV and the
index of measures): each area's line from its latest released revision, so one force's release never
shows another's unreleased edition or figures, on either engine."""

from __future__ import annotations

import csv
import io

import pytest

from events import Metadata
from publishers.check import check_site
from publishers.stores import LocalDirectory
from service.handlers import figures
from service.handlers.organisations import define_organisation
from service.handlers.publishing import Publishing, for_scheduler
from service.scheduler import ReleaseScheduler

from .given import ANALYST, BASELINE, Y2021, a_figure, a_measure, an_approved_edition
from .publish_support import SITE_URL, VERSION, announce

ADMIN = Metadata(actor="admin")
KENT, SURREY = "kent-2022-02", "surrey-2022-02"
KENT_DUE, SURREY_DUE = "2026-01-07T09:30", "2026-01-14T09:30"
PAGES = ("comparison/index.html", "comparison/homicide/index.html", "comparison/homicide.csv")


@pytest.fixture
def hub(store, clock, tmp_path):
    """Kent's and Surrey's statements approved in one deployment, Kent's due a week before Surrey's."""
    define_organisation(store, "kent-police", "Kent Police", ["Kent"], ADMIN)
    define_organisation(store, "surrey-police", "Surrey Police", ["Surrey"], ADMIN)
    a_measure(store, "homicide")
    for area, baseline, latest in (("kent", "20", "17"), ("surrey", "7", "9931")):  # 9931 shows wherever it leaks
        a_figure(store, "homicide", BASELINE, baseline, area=area)
        a_figure(store, "homicide", Y2021, latest, area=area)
    an_approved_edition(store, KENT, "kent")
    an_approved_edition(store, SURREY, "surrey")
    announce(store, clock, KENT, KENT_DUE)
    announce(store, clock, SURREY, SURREY_DUE)
    site = LocalDirectory(tmp_path / "site")
    publishing = Publishing(store, site_url=SITE_URL, software_version=VERSION, clock=clock)
    scheduler = ReleaseScheduler(store, for_scheduler(publishing, lambda: site), clock=clock)
    return site, publishing, scheduler


def at(clock, due: str, second_before: bool = False) -> None:
    day, time = due.split("T")
    clock.now = clock.now.replace(day=int(day[-2:]), hour=9, minute=29 if second_before else 30, second=59 if second_before else 0)


def text(site: LocalDirectory, key: str) -> str:
    return site.get(key).decode()


def test_the_site_compares_a_measure_across_forces_only_from_released_editions(hub, store, clock):
    site, publishing, scheduler = hub
    at(clock, KENT_DUE)
    assert [a.edition for a in scheduler.sweep()] == [KENT]

    for key in PAGES:
        assert "9931" not in text(site, key) and "surrey" not in text(site, key).lower(), key
    for key in site.list(""):
        assert "9931" not in text(site, key), f"{key} shows Surrey's unreleased figure"
    rows = list(csv.DictReader(io.StringIO(text(site, "comparison/homicide.csv"))))
    assert [(r["area"], r["area_name"], r["value"], r["baseline_value"], r["edition"]) for r in rows] == [("kent", "Kent", "17", "20", KENT)]
    assert f"editions/{KENT}/r1/" in text(site, "comparison/homicide/index.html")
    assert 'href="comparison/"' in text(site, "index.html") and 'href="homicide/"' in text(site, "comparison/index.html")
    assert check_site(site, SITE_URL) == []

    at(clock, SURREY_DUE, second_before=True)
    assert scheduler.sweep() == []
    publishing.refresh_site(site)
    for key in site.list(""):
        assert "9931" not in text(site, key), f"{key} shows Surrey's figure a second before its release"

    at(clock, SURREY_DUE)
    assert [a.edition for a in scheduler.sweep()] == [SURREY]
    rows = list(csv.DictReader(io.StringIO(text(site, "comparison/homicide.csv"))))
    assert [(r["area"], r["value"], r["edition"]) for r in rows] == [("kent", "17", KENT), ("surrey", "9931", SURREY)]
    page = text(site, "comparison/homicide/index.html")
    assert "9,931" in page and "Surrey" in page and f"editions/{SURREY}/r1/" in page

    # A revision Surrey has not released shows nowhere, however often the site is refreshed.
    figures.revise_figure(store, "homicide", "surrey", Y2021, "8888", "correction", "miscount", ANALYST)
    publishing.refresh_site(site)
    for key in site.list(""):
        assert "8888" not in text(site, key) and "8,888" not in text(site, key), key
    assert check_site(site, SITE_URL) == []
