"""A measure in an area: one force's baseline is the 12 months to March 2020, another's the year
ending December 2019, and one files robbery under serious violence where West Midlands files it
under neighbourhood crime. Each area keeps its own; amending the measure moves none of them."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from events import Metadata
from events.domain.errors import InvalidValue, MeasureIsRetired, NothingToChange, UnknownMeasure
from events.domain.rules import measures as rules
from events.projections import Projections
from events.projections.model import fold_scorecard
from service.bootstrap import App
from service.cli import cli
from service.config import Settings
from service.handlers import editions, imports
from service.handlers.loading import load
from service.handlers.measures import amend_measure, define_measure_in_area, retire_measure, set_measure_for_area
from service.handlers.tokens import issue_token
from service.http import create_app

from .given import ANALYST, a_figure, a_measure, an_approved_edition, types_of

KENT_BASELINE = "2019-04/2020-03"  # the 12 months to March 2020
SURREY_BASELINE = "2019-01/2019-12"  # the year ending December 2019

# The first force's measures, as it imported them before areas had baselines of their own.
FIRST_FORCE = """id,title,priority,unit,polarity,baseline_period,source,definition
homicide,Homicides,homicide,count,lower-is-better,2019-04/2020-03,Kent Police recorded crime,
robbery,Robbery,serious-violence,count,lower-is-better,2019-04/2020-03,Kent Police recorded crime,
"""
# The second force's later report: the year ending December 2019, robbery under neighbourhood crime.
SECOND_FORCE = """id,title,priority,unit,polarity,baseline_period,source,definition,area
homicide,Homicides,homicide,count,lower-is-better,2019-01/2019-12,Surrey Police recorded crime,,Surrey Police
robbery,Robbery,neighbourhood-crime,count,lower-is-better,2019-01/2019-12,Surrey Police recorded crime,,E23000031
"""


def import_measures(store, text: str):
    rows, problems = imports.parse_rows(text, "csv", imports.MEASURE_COLUMNS, imports.MEASURE_OPTIONAL)
    return imports.import_measures(store, rows, ANALYST, problems=problems)


def refused(call) -> list[str]:
    with pytest.raises(imports.ImportRefused) as error:
        call()
    return [str(problem) for problem in error.value.problems]


def scorecard(store, **filters):
    projections = Projections(store)
    projections.catch_up()
    return {(line.measure, line.area): line for line in projections.scorecard_lines(**filters)}


def two_forces(store) -> None:
    import_measures(store, FIRST_FORCE.replace(",\n", ",,kent\n").replace("definition\n", "definition,area\n"))
    import_measures(store, SECOND_FORCE)
    for area, baseline, base, latest in (("kent", KENT_BASELINE, "20", "17"), ("surrey", SURREY_BASELINE, "10", "12")):
        a_figure(store, "homicide", baseline, base, area=area)
        a_figure(store, "homicide", "2021-01/2021-12", latest, area=area)


# -- the import the issue names ------------------------------------------------------------------------


def test_the_second_forces_measures_import_beside_the_firsts_and_each_keeps_its_baseline(store):
    import_measures(store, FIRST_FORCE)
    # Before: "expected a reason, since measure homicide exists with a different source, baseline_period".
    report = import_measures(store, SECOND_FORCE)

    assert (report.changed, report.unchanged) == (2, 0)
    homicide, _ = load(store, "measure-homicide", rules.fold)
    assert homicide.baseline_period == KENT_BASELINE  # the first force's, untouched
    assert homicide.for_area("surrey").baseline_period == SURREY_BASELINE
    assert homicide.for_area("surrey").source == "Surrey Police recorded crime"
    robbery, _ = load(store, "measure-robbery", rules.fold)
    assert (robbery.priority, robbery.for_area("surrey").priority) == ("serious-violence", "neighbourhood-crime")
    assert types_of(store, "measure-homicide") == ["MeasureDefined", "MeasureSetForArea"]
    assert import_measures(store, SECOND_FORCE).events == 0  # a second import changes nothing


def test_without_an_area_column_a_different_baseline_still_needs_a_reason_and_says_how_to_set_one_areas(store):
    import_measures(store, FIRST_FORCE)
    problems = refused(lambda: import_measures(store, SECOND_FORCE.replace(",Surrey Police\n", "\n").replace(",E23000031\n", "\n").replace(",area\n", "\n")))
    assert problems[0].startswith("line 2, column reason: expected a reason, since measure homicide exists with a different")
    assert "add an area column" in problems[0]
    assert store.head().position == 2


def test_each_area_is_compared_with_its_own_baseline_on_the_scorecard(store):
    two_forces(store)
    lines = scorecard(store)

    kent, surrey = lines[("homicide", "kent")], lines[("homicide", "surrey")]
    assert (kent.baseline_period, kent.baseline_value, kent.value, kent.change_percent) == (KENT_BASELINE, "20", "17", -15)
    assert (surrey.baseline_period, surrey.baseline_value, surrey.value, surrey.change_percent) == (SURREY_BASELINE, "10", "12", 20)


def test_amending_the_measure_moves_no_area_that_set_its_own_baseline(store):
    two_forces(store)
    position = store.head().position
    amend_measure(store, "homicide", "the national baseline", {"baseline_period": "2018-07/2019-06"}, ANALYST)

    lines = scorecard(store)
    assert lines[("homicide", "kent")].baseline_period == KENT_BASELINE
    assert lines[("homicide", "surrey")].baseline_period == SURREY_BASELINE
    assert scorecard(store, at=position)[("homicide", "kent")].change_percent == -15


def test_an_areas_new_baseline_recomputes_only_that_areas_line_and_the_past_stays_as_it_was(store):
    two_forces(store)
    a_figure(store, "homicide", SURREY_BASELINE.replace("2019", "2018"), "8", area="kent")  # 2018-01/2018-12
    before = store.head().position
    set_measure_for_area(store, "homicide", "kent", "compare with calendar 2018", {"baseline_period": "2018-01/2018-12"}, ANALYST)

    lines = scorecard(store)
    assert (lines[("homicide", "kent")].baseline_value, lines[("homicide", "kent")].change_percent) == ("8", 113)
    assert lines[("homicide", "surrey")].baseline_period == SURREY_BASELINE
    assert scorecard(store, at=before)[("homicide", "kent")].baseline_period == KENT_BASELINE
    # The persisted projection and the in-memory fold agree, and a rebuild gives the same.
    folded = {(line.measure, line.area): line[:14] for line in fold_scorecard(store.read_all())}
    assert folded == {key: line[:14] for key, line in lines.items()}
    projections = Projections(store)
    projections.rebuild()
    assert {(l.measure, l.area): l[:14] for l in projections.scorecard_lines()} == folded


def test_each_area_files_the_measure_under_its_own_priority(store):
    two_forces(store)
    a_figure(store, "robbery", KENT_BASELINE, "900", area="kent")
    a_figure(store, "robbery", SURREY_BASELINE, "300", area="surrey")
    lines = scorecard(store)
    assert lines[("robbery", "kent")].priority == "serious-violence"
    assert lines[("robbery", "surrey")].priority == "neighbourhood-crime"


# -- the rules -----------------------------------------------------------------------------------------


def test_changing_what_an_area_set_needs_a_reason_and_a_change(store):
    two_forces(store)
    with pytest.raises(InvalidValue, match="reason: expected a reason for changing measure homicide's baseline_period in area kent"):
        set_measure_for_area(store, "homicide", "kent", None, {"baseline_period": "2018-07/2019-06"}, ANALYST)
    with pytest.raises(NothingToChange, match="already has these details in area kent"):
        set_measure_for_area(store, "homicide", "Kent Police", "same", {"baseline_period": KENT_BASELINE}, ANALYST)


@pytest.mark.parametrize(
    "area, changes, expected",
    [
        ("E23000099", {"baseline_period": KENT_BASELINE}, "area: expected the ONS code of one of the 43 police force areas"),
        ("kent", {"title": "Murders"}, "title: expected only baseline_period, priority, source, definition set for an area"),
        ("kent", {"baseline_period": "2019/20/21"}, "baseline_period: expected a period"),
        ("kent", {"priority": "murder"}, "priority: expected one of homicide"),
        ("kent", {}, "baseline_period: expected at least one of baseline_period, priority"),
    ],
)
def test_a_bad_area_setting_is_refused_naming_the_field(store, area, changes, expected):
    a_measure(store, "homicide")
    with pytest.raises(InvalidValue) as error:
        set_measure_for_area(store, "homicide", area, None, changes, ANALYST)
    assert str(error.value).startswith(expected)
    assert store.head().position == 1


def test_an_unknown_or_retired_measure_cannot_be_set_for_an_area(store):
    with pytest.raises(UnknownMeasure):
        set_measure_for_area(store, "homicide", "kent", None, {"baseline_period": KENT_BASELINE}, ANALYST)
    a_measure(store, "homicide")
    retire_measure(store, "homicide", "replaced", ANALYST)
    with pytest.raises(MeasureIsRetired):
        set_measure_for_area(store, "homicide", "kent", None, {"baseline_period": KENT_BASELINE}, ANALYST)


def test_a_bad_area_in_a_measures_file_is_refused_with_its_line_and_nothing_is_written(store):
    problems = refused(lambda: import_measures(store, SECOND_FORCE.replace("E23000031", "Gotham Police")))
    assert len(problems) == 1 and problems[0].startswith("line 3, column area: expected") and "Gotham Police" in problems[0]
    assert store.head().position == 0


def test_an_editions_bound_baseline_is_its_areas(store):
    two_forces(store)
    editions.open_edition(
        store, "kent-2022-02", area="kent", title="Kent, February 2022",
        authors=[{"name": "A. Author", "job_title": "Analyst"}], lead_contact={"name": "A. Author"}, metadata=ANALYST,
    )  # fmt: skip
    text = "{{value:homicide:2021-01/2021-12}} against {{baseline:homicide}}, a {{percent:homicide:2021-01/2021-12}} {{direction:homicide:2021-01/2021-12}}; Surrey {{baseline:homicide::surrey}}"
    text = text.replace("{{baseline:homicide::surrey}}", "{{value:homicide:2019-01/2019-12:surrey}}")
    editions.write_paragraph(store, "kent-2022-02", 1, section="force-statement", text=text, metadata=ANALYST)
    view = editions.view_edition(store, "kent-2022-02")
    assert view.rendered(text) == "17 against 20, a 15% reduction; Surrey 10"
    assert not [p for p in view.problems() if p.kind == "binding"]


# -- CLI and HTTP --------------------------------------------------------------------------------------


def test_the_cli_defines_a_measure_in_an_area_and_sets_another_areas_baseline(database_url, tmp_path):
    runner = CliRunner()
    env = {"POLICING_METRICS_DATABASE_URL": database_url, "POLICING_METRICS_ACTOR": "analyst"}

    def run(*args):
        return runner.invoke(cli, list(args), env=env)

    assert run("db", "upgrade").exit_code == 0
    defined = run(
        "measures", "define", "homicide", "--title", "Homicides", "--priority", "homicide", "--unit", "count",
        "--polarity", "lower-is-better", "--baseline-period", "12 months to March 2020", "--area", "Kent",
    )  # fmt: skip
    assert defined.exit_code == 0, defined.output
    set_ = run("measures", "amend", "homicide", "--area", "E23000031", "--baseline-period", "year ending December 2019")
    assert set_.exit_code == 0, set_.output
    assert "measure homicide set for area surrey" in set_.output
    again = run("measures", "amend", "homicide", "--area", "surrey", "--baseline-period", "2018-07/2019-06")
    assert again.exit_code == 1
    assert "reason: expected a reason for changing measure homicide's baseline_period in area surrey" in again.output
    listed = json.loads(run("measures", "list", "--format", "json").output)
    assert listed[0]["areas"] == {
        "kent": {"baseline_period": KENT_BASELINE, "priority": "homicide", "source": "", "definition": ""},
        "surrey": {"baseline_period": SURREY_BASELINE},
    }
    shown = run("measures", "list").output
    assert f"in surrey: baseline_period {SURREY_BASELINE}" in shown


def test_http_sets_a_measure_for_an_area_and_refuses_bad_input_as_problem_details(store, database_url):
    application = App(Settings(database_url=database_url, default_area="kent"))
    application.__dict__.update(engine=store.engine, store=store)
    secret = issue_token(store, name="admin desk", role="admin", measures=None, metadata=Metadata(actor="admin"))[1]
    admin = {"Authorization": f"Bearer {secret}"}
    measure = {
        "measure": "homicide", "title": "Homicides", "priority": "homicide", "unit": "count",
        "polarity": "lower-is-better", "baseline_period": KENT_BASELINE, "area": "kent",
    }  # fmt: skip
    with TestClient(create_app(application)) as client:
        assert client.post("/measures", json=measure, headers=admin).status_code == 201
        ok = client.patch("/measures/homicide/areas/surrey", json={"baseline_period": SURREY_BASELINE}, headers=admin)
        assert ok.status_code == 200, ok.text
        bad = client.patch("/measures/homicide/areas/kent", json={"baseline_period": "2018-07/2019-06"}, headers=admin)
        assert bad.status_code == 422
        assert bad.headers["content-type"].startswith("application/problem+json")
        assert "a reason for changing measure homicide's baseline_period in area kent" in bad.json()["detail"]
        unknown = client.patch("/measures/homicide/areas/E23000099", json={"priority": "homicide"}, headers=admin)
        assert unknown.status_code == 422 and "E23000099" in unknown.text
    state, _ = load(store, "measure-homicide", rules.fold)
    assert (state.for_area("kent").baseline_period, state.for_area("surrey").baseline_period) == (KENT_BASELINE, SURREY_BASELINE)


def test_a_published_statement_files_each_measure_under_its_areas_priority_and_compares_with_its_baseline(store):
    from service.handlers.editions_published import RevisionTimes, edition_document

    two_forces(store)
    for area, baseline, base, latest in (("kent", KENT_BASELINE, "900", "800"), ("surrey", SURREY_BASELINE, "300", "330")):
        a_figure(store, "robbery", baseline, base, area=area)
        a_figure(store, "robbery", "2021-01/2021-12", latest, area=area)
    shown = {}
    for area in ("kent", "surrey"):
        edition = f"{area}-2022-02"
        approval = an_approved_edition(store, edition, area, "robbery")
        document = edition_document(store, edition, approval.revision, RevisionTimes("2026-02-05T09:30:00Z", "2026-02-05T09:30:00Z", ()), software_version="test")
        shown[area] = {line.measure: line for line in document.scorecard}, document.paragraphs[0].text
    kent, surrey = shown["kent"][0]["robbery"], shown["surrey"][0]["robbery"]
    assert (kent.priority, kent.baseline_period, kent.change_percent) == ("serious-violence", KENT_BASELINE, -11)
    assert (surrey.priority, surrey.baseline_period, surrey.change_percent) == ("neighbourhood-crime", SURREY_BASELINE, 10)
    assert (shown["kent"][1], shown["surrey"][1]) == ("800 of robbery against 900", "330 of robbery against 300")
