"""The published example site in a real browser: Debian's headless Chromium, driven by Playwright, with
axe-core (from npm, `npm ci`) injected into each page. Every page type passes WCAG 2.2 AA's rules and
reflows at 320 px and 1280 px without sideways scrolling; the scorecard cuts nothing off at 320, 390
and 1280 px. Screenshots of every page at both widths are kept under var/screenshots/ (gitignored).

The site is served by `policing-metrics site serve`, as a reader would get it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from events import EventStore
from events.database import make_engine
from events.domain import registry
from publishers.stores import LocalDirectory
from service.handlers.publishing import Publishing

from .conftest import IN_CI, FakeClock
from .hub_support import KENT, KENT_DUE, at, hub  # noqa: F401  (fixture)
from .publish_support import EDITION, HOMICIDE_SERIES, LOADED_AT, SITE_URL, VERSION, example_database, published_example  # noqa: F401
from .serving import StaticSite

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "var" / "screenshots"
# No download, no update check, no sync: the browser talks to the test's server only.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip
WCAG_22_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
WIDTHS = (320, 1280)
# Every page type of the published site: an edition with a correction (r2) and the revision it superseded
# (r1, with its banner), the page of revisions, the index, latest/, the calendar, how to check the proofs,
# the comparison across forces.
PAGES = {
    "index": "index.html",
    "latest": "latest/",
    "revisions": f"editions/{EDITION}/",
    "edition-superseded": f"editions/{EDITION}/r1/",
    "edition-corrected": f"editions/{EDITION}/r2/",
    "calendar": "calendar.html",
    "proofs": "proofs/index.html",
    "comparison-index": "comparison/",
    "comparison": "comparison/homicide/",
}
FEEDS = ("feed.atom", "feed.rss", "calendar.atom")
REFRESH = re.compile(rb'<meta http-equiv="refresh"[^>]*>')


def _missing(what: str) -> None:
    if IN_CI:
        pytest.fail(what)
    pytest.skip(what)


@pytest.fixture(scope="module")
def site_url(example_database, tmp_path_factory):  # noqa: F811
    """The published example, served on localhost by `site serve` until the module's tests are done."""
    folder = tmp_path_factory.mktemp("browser")
    shutil.copy(example_database, folder / "store.db")
    engine = make_engine(f"sqlite:///{folder / 'store.db'}")
    clock = FakeClock(LOADED_AT + timedelta(minutes=30))
    store = EventStore(engine, registry, clock=clock)
    published_example(store, clock, Publishing(store, site_url=SITE_URL, software_version=VERSION, clock=clock), LocalDirectory(folder / "site"))
    engine.dispose()
    server = subprocess.Popen(
        [sys.executable, "-m", "service", "site", "serve", "--dir", str(folder / "site"), "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        yield re.search(r"http://127\.0\.0\.1:\d+/", server.stdout.readline()).group(0)
    finally:
        server.terminate()
        server.wait(10)


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        _missing(f"{CHROMIUM} is missing: `apt-get install -y chromium` (.ci/run does)")
    if not AXE.exists():
        _missing(f"{AXE} is missing: `npm ci` (make test does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def axe() -> str:
    return AXE.read_text(encoding="utf-8")


def open_page(browser, site_url: str, path: str, width: int):
    """The page at `width` (800 px high). latest/ is checked as its own page: its redirect is taken out, so it stays."""
    context = browser.new_context(viewport={"width": width, "height": 800})
    page = context.new_page()
    if path == "latest/":

        def without_refresh(route):
            response = route.fetch()
            route.fulfill(response=response, body=REFRESH.sub(b"", response.body()))

        page.route(f"{site_url}latest/", without_refresh)
    response = page.goto(site_url + path)
    assert response.status == 200, path
    return context, page


def violations(page, axe: str) -> list[str]:
    page.add_script_tag(content=axe)
    result = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_22_AA)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[node['target'] for node in v['nodes']]}" for v in result["violations"]
    ]


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", list(PAGES))
def test_every_page_type_passes_wcag_2_2_aa_and_reflows_without_sideways_scrolling(browser, axe, site_url, name, width):
    context, page = open_page(browser, site_url, PAGES[name], width)
    try:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shot = SCREENSHOTS / f"{name}-{width}.png"
        page.screenshot(path=str(shot), full_page=True)
        print(f"screenshot: {shot}")
        assert page.evaluate("document.documentElement.scrollWidth") <= width, f"{name} scrolls sideways at {width} px"
        assert violations(page, axe) == []
    finally:
        context.close()


@pytest.mark.parametrize("width", (320, 390, 1280))
def test_the_scorecard_cuts_nothing_off_and_shows_every_trend_whole(browser, site_url, width):
    context, page = open_page(browser, site_url, PAGES["edition-corrected"], width)
    try:
        region = page.locator(".table-wrap:has(#scorecard)")
        region.screenshot(path=str(SCREENSHOTS / f"scorecard-{width}.png"))
        assert region.evaluate("e => e.scrollWidth <= e.clientWidth"), f"the scorecard scrolls inside its box at {width} px"
        right = region.evaluate("e => e.getBoundingClientRect().right")
        charts = page.locator("#scorecard svg.trend")
        assert charts.count() == page.locator("#scorecard tbody tr").count()
        for index in range(charts.count()):
            assert charts.nth(index).evaluate("e => e.getBoundingClientRect().right") <= right, f"trend {index} is clipped"
        # A measure's name gets more than a word a line: its cell is at least 10 em wide on a wide screen.
        if width >= 1280:
            name = page.locator("#measure-burglary th")
            assert name.evaluate("e => e.getBoundingClientRect().width / parseFloat(getComputedStyle(e).fontSize)") >= 10
    finally:
        context.close()


def test_the_homicide_trend_draws_every_figure_of_its_series(browser, site_url):
    context, page = open_page(browser, site_url, PAGES["edition-corrected"], 1280)
    try:
        # The baseline, the two calendar years recorded before the correction, and the latest.
        assert page.locator("#measure-homicide svg circle").count() == 2 + len(HOMICIDE_SERIES)
    finally:
        context.close()


def test_a_long_url_in_a_footnote_is_a_link_and_wraps_on_a_phone(browser, site_url):
    context, page = open_page(browser, site_url, PAGES["edition-corrected"], 320)
    try:
        link = page.locator("#p34-fn1 a[href^='https://www.ons.gov.uk/']")
        assert link.count() == 1
        assert link.evaluate("e => e.getBoundingClientRect().right") <= 320
        back = page.get_by_role("link", name=re.compile("^Back to text"))
        assert back.count() >= 1, "the back-link's name starts with the words it shows (WCAG 2.5.3)"
    finally:
        context.close()


@pytest.mark.parametrize("feed", FEEDS)
def test_every_feed_opens_in_the_browser_as_well_formed_xml(browser, site_url, feed):
    context = browser.new_context()
    page = context.new_page()
    try:
        response = page.goto(site_url + feed)
        assert response.status == 200 and "xml" in response.headers["content-type"]
        assert page.locator("parsererror").count() == 0, f"{feed} is not well-formed XML"
    finally:
        context.close()


# A hub's pages: the root index listing the organisations, and one organisation's section.
HUB_PAGES = ("index.html", "kent-police/", "kent-police/calendar.html", f"kent-police/editions/{KENT}/")


@pytest.mark.parametrize("width", WIDTHS)
def test_a_hubs_index_and_an_organisations_section_pass_wcag_2_2_aa(browser, axe, hub, clock, width):  # noqa: F811
    at(clock, KENT_DUE)
    assert [a.edition for a in hub.scheduler.sweep()] == [KENT]
    with StaticSite(hub.site.root) as url:
        for path in HUB_PAGES:
            context, page = open_page(browser, url, path, width)
            try:
                assert page.evaluate("document.documentElement.scrollWidth") <= width, f"{path} scrolls sideways at {width} px"
                assert violations(page, axe) == [], path
            finally:
                context.close()
