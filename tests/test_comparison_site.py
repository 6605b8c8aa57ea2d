"""The published site's comparison of a measure across forces (`comparison/{measure}/`, its CSV and the
index of measures): each area's line from its latest released revision, so one force's release never
shows another's unreleased edition or figures, on either engine."""

from __future__ import annotations

import csv
import io

from publishers.check import check_site
from service.handlers import figures

from .given import ANALYST, Y2021
from .hub_support import KENT, KENT_DUE, SURREY, SURREY_DUE, at, hub  # noqa: F401  (fixture)
from .publish_support import SITE_URL

PAGES = ("comparison/index.html", "comparison/homicide/index.html", "comparison/homicide.csv")


def text(site, key: str) -> str:
    return site.get(key).decode()


def test_the_site_compares_a_measure_across_forces_only_from_released_editions(hub, store, clock):
    site, publishing, scheduler = hub.site, hub.publishing, hub.scheduler
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
