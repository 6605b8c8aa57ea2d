"""A figure is public only once a release that covers it is out: an edition covers its area's figures
for periods ending by its data cut-off, and not those an earlier release still on the calendar
publishes first; a correction publishes what it corrects and nothing newer (issue 11, section 1)."""

from __future__ import annotations

import json
import time

import pytest
from fastapi.testclient import TestClient

from events.domain.errors import NotReadyToApprove
from events.domain.fields import NATIONAL_PRIORITIES
from publishers.stores import LocalDirectory
from service.bootstrap import App
from service.config import Settings
from service.handlers import editions, figures
from service.handlers.releases import Releases
from service.http import create_app

from .publish_support import (  # noqa: F401  (fixtures)
    ANALYST,
    EDITION,
    another_edition,
    clock,
    correct_burglary,
    example_database,
    example_store,
    publishing,
)

AREA = "west-midlands"


@pytest.fixture
def client(example_store, tmp_path):
    application = App(Settings(database_url=str(example_store.engine.url), default_area=AREA, publish_to=f"file://{tmp_path / 'site'}"))
    application.__dict__.update(engine=example_store.engine, store=example_store)
    with TestClient(create_app(application)) as client:
        yield client


def public_text(client, site: LocalDirectory) -> dict[str, str]:
    """Everything the public can read: every site file and every public endpoint."""
    time.sleep(0.6)  # the releases list is trusted for half a second
    texts = {key: site.get(key).decode(errors="replace") for key in site.list()}
    for path in ("/public/editions", "/public/scorecard", "/public/history/homicide", "/public/history/burglary"):
        texts[path] = client.get(path).text
    for released in client.get("/public/editions").json():
        for name in ("edition.json", "scorecard.csv", "index.html"):
            path = f"/public/editions/{released['edition']}/r{released['revision']}/{name}"
            texts[path] = client.get(path).text
    return texts


def leaks(texts: dict[str, str], *values: str) -> list[str]:
    return sorted(f"{where}: {value}" for where, text in texts.items() for value in values if value in text)


def an_edition(store, edition: str, title: str, text: str, approve: bool = True, area: str = AREA) -> None:
    editions.open_edition(
        store, edition, area=area, title=title, metadata=ANALYST,
        authors=[{"name": "Harry Barton", "job_title": "Head of Strategy and Direction"}], lead_contact={"name": "Stuart Gardner"},
    )  # fmt: skip
    for priority in NATIONAL_PRIORITIES:
        editions.assess_priority(store, edition, priority, True, f"{priority} applies to the area", ANALYST)
    editions.write_paragraph(store, edition, 1, section="force-statement", metadata=ANALYST, text=text)
    if approve:
        editions.approve_edition(store, edition, ANALYST)


def next_year_edition(store, clock, edition="2023-q1", value="31337") -> str:
    """Homicide for January to December 2022, recorded for an edition announced for next month."""
    figures.record_figure(store, "homicide", AREA, "2022-01/2022-12", value, ANALYST)
    an_edition(
        store, edition, "Statement for the year 2022",
        "Homicides in 2022: {{value:homicide:2022-01/2022-12}}, a {{percent:homicide:2022-01/2022-12}} "
        "{{direction:homicide:2022-01/2022-12}} against the baseline.",
    )  # fmt: skip
    return Releases(store, clock).announce(edition, "2026-02-05", provisional=True, actor="analyst").release_at


def test_a_figure_recorded_for_a_later_edition_is_in_no_channel_when_another_edition_is_published_now(
    client, example_store, clock, publishing, tmp_path
):
    next_year_edition(example_store, clock)
    another_edition(example_store, "2022-05")  # approved after 31337 was recorded; covers periods to March 2022
    site = LocalDirectory(tmp_path / "site")

    publishing.publish("2022-05", to=site, now=True, override_reason="the Board meets today")

    texts = public_text(client, site)
    assert any("2022-05" in key for key in texts), "the other edition is out"
    assert leaks(texts, "31337", "31,337") == []


def test_a_figure_an_earlier_release_on_the_calendar_publishes_first_is_held_from_a_later_edition(
    client, example_store, clock, publishing, tmp_path
):
    next_year_edition(example_store, clock)
    figures.record_figure(example_store, "homicide", AREA, "2022-04/2023-03", "40", ANALYST)
    an_edition(example_store, "2023-q2", "Statement for the year to March 2023", "In the year to March 2023: {{value:homicide:2022-04/2023-03}}.")
    site = LocalDirectory(tmp_path / "site")

    publishing.publish("2023-q2", to=site, now=True, override_reason="the Board meets today")

    texts = public_text(client, site)
    assert "40" in texts["/public/scorecard"]
    assert leaks(texts, "31337", "31,337") == [], "2023-q1, still on the calendar, publishes 2022 first"


def test_an_edition_quoting_a_figure_an_earlier_release_on_the_calendar_publishes_first_cannot_be_approved(example_store, clock):
    next_year_edition(example_store, clock)
    figures.record_figure(example_store, "homicide", AREA, "2022-04/2023-03", "40", ANALYST)
    an_edition(
        example_store, "2023-q2", "Statement for the year to March 2023",
        "In 2022: {{value:homicide:2022-01/2022-12}}; to March 2023: {{value:homicide:2022-04/2023-03}}.", approve=False,
    )  # fmt: skip

    with pytest.raises(NotReadyToApprove, match="first published by edition 2023-q1, still on the release calendar"):
        editions.approve_edition(example_store, "2023-q2", ANALYST)


def test_a_correction_publishes_what_it_corrects_and_not_a_figure_recorded_for_a_later_edition(
    client, example_store, clock, publishing, tmp_path
):
    site = LocalDirectory(tmp_path / "site")
    clock.advance(minutes=1)
    publishing.publish(EDITION, to=site, now=True, override_reason="the Board meets today")
    clock.advance(days=30)
    figures.record_figure(
        example_store, "burglary", AREA, "2022-01/2022-12", "77777", ANALYST, note="for the Q1 2027 edition"
    )
    figures.revise_figure(
        example_store, "robbery", AREA, "2021-01/2021-12", "7519", "correction", "robbery corrected: 10 offences missed", ANALYST
    )
    _, approval = editions.approve_edition(example_store, EDITION, ANALYST, reason="robbery corrected")

    report = publishing.publish(EDITION, to=site)

    assert (report.mode, report.revision) == ("correction", approval.revision)
    texts = public_text(client, site)
    assert leaks(texts, "77777", "77,777", "for the Q1 2027 edition") == []
    r2 = texts[f"/public/editions/{EDITION}/r2/edition.json"]
    assert "7519" in r2 and "robbery corrected: 10 offences missed" in r2


def test_approving_a_correction_shows_exactly_which_published_numbers_it_changes(example_database, tmp_path):
    import shutil

    from typer.testing import CliRunner

    from service.cli import cli

    path = tmp_path / "cli.db"
    shutil.copy(example_database, path)
    base = ["--database-url", f"sqlite:///{path}"]

    def run(*args):
        result = CliRunner().invoke(cli, [*base, *args])
        assert result.exit_code == 0, result.output
        return result.output

    run("publish", EDITION, "--to", f"file://{tmp_path / 'site'}", "--now", "--override-reason", "the Board meets today")
    run("figures", "record", "burglary", "2022-01/2022-12", "77777", "--area", AREA, "--note", "for the Q1 2027 edition")
    run("figures", "revise", "robbery", "2021-01/2021-12", "7519", "--area", AREA, "--kind", "correction", "--reason", "10 offences missed")

    shown = run("edition", "approve", EDITION, "--reason", "robbery corrected")

    assert "against released revision 1, publishing it changes 1:" in shown
    assert "7,509 became 7,519 (correction: 10 offences missed)" in shown
    assert "77,777" not in shown and "Q1 2027" not in shown


def test_a_correction_does_not_carry_a_figure_recorded_since_that_a_release_on_the_calendar_publishes_first(
    client, example_store, clock, publishing, tmp_path
):
    """Revision 2 of 2022-02 corrects burglary. Homicide for 2020, recorded since revision 1 went out,
    is within 2022-02's cut-off, but 2022-05 (on the calendar, covering periods to March 2022) is the
    release that first includes it: the correction shows the burglary correction and nothing new.
    (A revision 2 once seemed to show 2022-05's homicide 41 for the year to March 2022: what it showed
    was an equal figure for 2020, recorded after revision 1, riding along in the correction.)"""
    site = LocalDirectory(tmp_path / "site")
    clock.advance(minutes=1)
    publishing.publish(EDITION, to=site, now=True, override_reason="the Board meets today")
    figures.record_figure(example_store, "homicide", AREA, "2020-01/2020-12", "4107", ANALYST)
    another_edition(example_store, "2022-05")  # homicide 41 for the year to March 2022
    Releases(example_store, clock).announce("2022-05", "2026-03-05", provisional=True, actor="analyst")
    correct_burglary(example_store, clock)

    report = publishing.publish(EDITION, to=site)

    assert (report.mode, report.revision) == ("correction", 2)
    texts = public_text(client, site)
    assert leaks(texts, "4107", "4,107") == []
    r2 = json.loads(texts[f"/public/editions/{EDITION}/r2/edition.json"])
    shown = {f["period"] for f in r2["figures"] if f["measure"] == "homicide"} | {
        point["period"] for line in r2["scorecard"] if line["measure"] == "homicide" for point in line["series"]
    }
    assert shown == {"2018-07/2019-06", "2021-01/2021-12"}, "what revision 1 published, and nothing new"
    assert [n["what"] for n in r2["notices"]] == ["19,018 became 19,108"], "the correction's one change"
    history = json.loads(texts["/public/history/homicide"])["vintages"]
    assert [sorted(vintage["values"]) for vintage in history] == [["2018-07/2019-06", "2021-01/2021-12"]] * 2
    scorecard = json.loads(texts["/public/scorecard"])["scorecard"]
    assert [(line["period"], line["value"]) for line in scorecard if line["measure"] == "homicide"] == [("2021-01/2021-12", "46")]


def test_another_areas_figure_its_release_on_the_calendar_publishes_first_is_held_until_that_release(
    example_store, clock, publishing, tmp_path
):
    figures.record_figure(example_store, "homicide", "staffordshire", "2022-01/2022-12", "7301", ANALYST)
    an_edition(example_store, "staffs-2023", "Staffordshire's statement for 2022", "In 2022: {{value:homicide:2022-01/2022-12}}.", area="staffordshire")
    Releases(example_store, clock).announce("staffs-2023", "2026-02-05", provisional=True, actor="analyst")
    figures.record_figure(example_store, "homicide", AREA, "2022-01/2022-12", "7302", ANALYST)
    quoting = "In 2022: {{value:homicide:2022-01/2022-12}}; in Staffordshire {{value:homicide:2022-01/2022-12:staffordshire}}."
    an_edition(example_store, "2023-q1", "Statement for the year 2022", quoting, approve=False)

    with pytest.raises(NotReadyToApprove, match="homicide/staffordshire/2022-01/2022-12 is first published by edition staffs-2023"):
        editions.approve_edition(example_store, "2023-q1", ANALYST)

    Releases(example_store, clock).confirm("staffs-2023", override_reason="The Board meets the next day", actor="analyst")
    publishing.publish("staffs-2023", to=LocalDirectory(tmp_path / "site"), now=True, override_reason="the Board meets today")
    editions.approve_edition(example_store, "2023-q1", ANALYST)  # public now: it may be quoted


def test_a_figure_of_another_area_that_a_release_on_the_calendar_quotes_is_held_for_that_release(example_store, clock):
    figures.record_figure(example_store, "homicide", "coventry", "2022-01/2022-12", "7303", ANALYST)
    figures.record_figure(example_store, "homicide", AREA, "2022-01/2022-12", "7304", ANALYST)
    text = "In 2022: {{value:homicide:2022-01/2022-12}}, in Coventry {{value:homicide:2022-01/2022-12:coventry}}."
    an_edition(example_store, "2023-q1", "Statement for the year 2022", text)
    Releases(example_store, clock).announce("2023-q1", "2026-02-05", provisional=True, actor="analyst")
    an_edition(example_store, "coventry-note", "A note on Coventry", "Coventry in 2022: {{value:homicide:2022-01/2022-12:coventry}}.", approve=False)

    with pytest.raises(NotReadyToApprove, match="homicide/coventry/2022-01/2022-12 is first published by edition 2023-q1"):
        editions.approve_edition(example_store, "coventry-note", ANALYST)
