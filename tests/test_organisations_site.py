"""Every force in one deployment, on the published site: each organisation's editions, index, feeds,
calendar and latest/ in its own section (`kent-police/...`), one tree of checkpoints for all, and the
embargo per organisation: a second before Surrey's release no file anywhere shows Surrey's edition or
figures, Kent's released section never does, and at Surrey's release it appears in Surrey's section only.
"""

from __future__ import annotations

import json

import pytest

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from events.domain.rules.organisations import SITE_ROOT_NAMES, section_of
from publishers.check import check_lag, check_site
from publishers.proofcheck import check as proof_check
from publishers.stores import LocalDirectory
from service.bootstrap import App
from service.cli import cli
from service.config import Settings
from service.http import create_app
from service.handlers.organisations import define_organisation, edition_organisation, load_organisations
from service.handlers.publishing import HeldForAnotherRelease, Publishing, for_scheduler
from service.scheduler import ReleaseScheduler

from .given import BASELINE, Y2021, a_figure, a_measure, an_approved_edition
from .hub_support import ADMIN, KENT, KENT_DUE, KEY, SURREY, SURREY_DUE, SURREY_FIGURE, Hub, at, hub, two_forces  # noqa: F401
from .publish_support import SITE_URL, VERSION, announce
from .serving import StaticSite

SECTION_PAGES = ("index.html", "feed.atom", "feed.rss", "calendar.json", "calendar.ics", "calendar.atom", "calendar.html", "latest/index.html")


def surrey_nowhere(hub: Hub) -> None:
    """No file shows Surrey's figures; none but a calendar's (by title and time) names its edition; no
    Surrey file or page exists but its section's empty pages."""
    for key, text in hub.files().items():
        assert SURREY_FIGURE not in text, f"{key} shows Surrey's unreleased figure"
        if "calendar." not in key:
            assert SURREY not in text, f"{key} names Surrey's unreleased edition"
        assert SURREY not in key, f"{key} is on the site before Surrey's release"


def consistent(hub: Hub, database_url: str) -> None:
    """site check (links and manifests, the site against the log), verify --site and proof check."""
    site = hub.publishing.site(hub.site)
    assert check_site(hub.site, SITE_URL) == [] and check_lag(hub.site, site, SITE_URL) == []
    for command in (
        ["site", "check", "--to", f"file://{hub.site.root}", "--site-url", SITE_URL],
        ["verify", "--site", f"file://{hub.site.root}"],
    ):
        result = CliRunner().invoke(cli, ["--database-url", database_url, *command])
        assert result.exit_code == 0, (command, result.output)
    report = proof_check(hub.site, [KEY.verifier()])
    assert report.exit_code == 0 and report.editions == len(site.editions), report.problems
    # One revision directory, as a reader downloads it: its checkpoints are found four levels up, at the hub's root.
    key = hub.site.root.parent / "checkpoint.pub"
    key.write_text(f"{KEY.verifier()}\n")
    kent = CliRunner().invoke(cli, ["proof", "check", str(hub.site.root / "kent-police" / "editions" / KENT / "r1"), "--key", str(key)])
    assert kent.exit_code == 0, kent.output
    # And as the public reads it, over HTTP, following the links from the root into each section.
    with StaticSite(hub.site.root) as url:
        over_http = CliRunner().invoke(cli, ["proof", "check", url, "--key", str(key)])
        assert over_http.exit_code == 0 and f"{len(site.editions)} edition(s)" in over_http.output, over_http.output
        verified = CliRunner().invoke(cli, ["--database-url", database_url, "verify", "--site", url])
        assert verified.exit_code == 0 and f"({len(site.editions)})" in verified.output, verified.output


def public_file(store, database_url: str, hub: Hub, edition: str) -> int:
    """The public API's answer for an edition's edition.json, served from its section."""
    application = App(Settings(database_url=database_url, publish_to=f"file://{hub.site.root}"))
    application.__dict__.update(engine=store.engine, store=store)
    with TestClient(create_app(application)) as client:
        response = client.get(f"/public/editions/{edition}/edition.json")
    assert response.status_code != 200 or edition in response.text
    return response.status_code


def test_each_organisation_has_its_own_section_and_none_shows_another_s_edition_before_its_release(hub, store, clock, database_url):
    at(clock, KENT_DUE)
    assert [a.edition for a in hub.scheduler.sweep()] == [KENT]

    keys = set(hub.site.list())
    assert f"kent-police/editions/{KENT}/r1/index.html" in keys and f"kent-police/editions/{KENT}/index.html" in keys
    assert not any(key.startswith("editions/") for key in keys), "a hub's edition is in its organisation's section"
    # Beside the sections, the root holds only files and the names no organisation may take as its id.
    # (editions/ is the root's only for editions of an area no organisation owns.)
    top = {key.split("/")[0] for key in keys if "." not in key.split("/")[0]}
    assert top == {"kent-police", "surrey-police"} | SITE_ROOT_NAMES - {"editions"}, top
    for page in SECTION_PAGES:
        assert f"kent-police/{page}" in keys and f"surrey-police/{page}" in keys, page
    kent = {key: text for key, text in hub.files().items() if key.startswith("kent-police/")}
    for key, text in kent.items():
        assert "surrey" not in text.lower(), f"{key}, in Kent's section, names Surrey"
    for page in ("index.html", "feed.atom", "feed.rss", "calendar.json", "latest/index.html"):
        assert f"editions/{KENT}/r1/" in kent[f"kent-police/{page}"], page
    assert json.loads(kent["kent-police/calendar.json"])["releases"][0]["released"]["path"] == f"editions/{KENT}/r1/"
    assert f"{SITE_URL}kent-police/feed.atom" in kent["kent-police/feed.atom"]
    assert ":statements/kent-police</id>" in kent["kent-police/feed.atom"] and ":calendar/kent-police</id>" in kent["kent-police/calendar.atom"]
    root = hub.text("index.html")
    assert 'href="kent-police/"' in root and 'href="surrey-police/"' in root and f"kent-police/editions/{KENT}/r1/" in root
    assert json.loads(hub.text("calendar.json"))["releases"][0]["released"]["path"] == f"kent-police/editions/{KENT}/r1/"
    # The edition's page reaches its section's pages and the hub's checkpoints and proofs.
    page = hub.text(f"kent-police/editions/{KENT}/r1/index.html")
    assert 'href="../../../latest/"' in page and 'href="../../../../proofs/"' in page
    surrey_nowhere(hub)
    consistent(hub, database_url)

    at(clock, SURREY_DUE, second_before=True)
    assert hub.scheduler.sweep() == []
    hub.publishing.refresh_site(hub.site)
    surrey_nowhere(hub)
    assert (public_file(store, database_url, hub, KENT), public_file(store, database_url, hub, SURREY)) == (200, 404)

    at(clock, SURREY_DUE)
    assert [a.edition for a in hub.scheduler.sweep()] == [SURREY]
    keys = set(hub.site.list())
    assert f"surrey-police/editions/{SURREY}/r1/edition.json" in keys
    assert SURREY_FIGURE in hub.text(f"surrey-police/editions/{SURREY}/r1/edition.json")
    for key, text in hub.files().items():
        if key.startswith("kent-police/"):
            assert "surrey" not in text.lower(), f"{key}, in Kent's section, names Surrey after its release"
        if SURREY in key:
            assert key.startswith("surrey-police/"), f"{key} is outside Surrey's section"
    for page in ("index.html", "feed.atom", "feed.rss", "calendar.json", "latest/index.html"):
        assert f"editions/{SURREY}/r1/" in hub.text(f"surrey-police/{page}"), page
    assert f"surrey-police/editions/{SURREY}/r1/" in hub.text("index.html")
    assert public_file(store, database_url, hub, SURREY) == 200
    consistent(hub, database_url)


def test_an_edition_stays_in_the_section_it_was_first_approved_in(store):
    a_measure(store, "homicide")
    a_figure(store, "homicide", BASELINE, "20", area="kent")
    a_figure(store, "homicide", Y2021, "17", area="kent")
    an_approved_edition(store, "kent-2021-11", "kent")
    define_organisation(store, "kent-police", "Kent Police", ["Kent"], ADMIN)
    assert edition_organisation(store, "kent-2021-11") == ""  # approved before Kent Police owned the area
    an_approved_edition(store, "kent-2022-02", "kent")
    assert edition_organisation(store, "kent-2022-02") == "kent-police"
    assert section_of(load_organisations(store)[0], "surrey") == ""


def test_a_statement_quoting_another_forces_figure_waits_for_that_forces_release_announced_after_its_approval(store, clock, tmp_path):
    # Kent's statement quotes Surrey's 2021 figure and is approved while no release of Surrey's is on the
    # calendar; Surrey's is then announced for a week after Kent's. Kent's release published Surrey's
    # figure a week early (its coverage was decided at its approval only); now it is refused until then.
    two_forces(store)
    quoting = f"{{{{value:homicide:{Y2021}}}}} in Kent, {{{{value:homicide:{Y2021}:surrey}}}} in Surrey"
    an_approved_edition(store, KENT, "kent", title="Kent, February 2022", text=quoting)
    announce(store, clock, KENT, KENT_DUE)
    an_approved_edition(store, SURREY, "surrey", title="Surrey, February 2022")
    announce(store, clock, SURREY, SURREY_DUE)
    site = LocalDirectory(tmp_path / "site")
    publishing = Publishing(store, site_url=SITE_URL, software_version=VERSION, clock=clock, signing_key=KEY)
    hub = Hub(site, publishing, ReleaseScheduler(store, for_scheduler(publishing, lambda: site), clock=clock))

    at(clock, KENT_DUE)
    assert [a.outcome for a in hub.scheduler.sweep()] == ["failed"]
    with pytest.raises(HeldForAnotherRelease, match=f"homicide surrey {Y2021} \\(edition {SURREY}'s release publishes it first\\)"):
        publishing.publish(KENT, to=site, now=True, override_reason="try again")
    assert all(SURREY_FIGURE not in text for text in hub.files().values())

    at(clock, SURREY_DUE)
    hub.scheduler.sweep()
    assert f"surrey-police/editions/{SURREY}/r1/edition.json" in set(site.list())
    publishing.publish(KENT, to=site)
    assert SURREY_FIGURE in hub.text(f"kent-police/editions/{KENT}/r1/edition.json")
