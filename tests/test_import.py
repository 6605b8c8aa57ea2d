"""Bulk import of measures and figures (CSV and JSON): the whole file is checked first, every bad
row reported, nothing written on a bad file, everything written in one transaction on a good one,
and a file imported twice changes nothing the second time."""

from __future__ import annotations

from datetime import date, timedelta

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from events.domain.rules import figures as figure_rules
from service.cli import cli
from service.handlers import imports
from service.handlers.loading import load
from service.handlers.measures import retire_measure

from .given import ANALYST, AREA, a_measure

MEASURES_CSV = """id,title,priority,unit,polarity,baseline_period,source,definition
homicide,Homicides,homicide,count,lower-is-better,2018-07/2019-06,Police recorded crime,
burglary,Burglary,neighbourhood-crime,count,lower-is-better,2018-07/2019-06,Police recorded crime,"Residential and business burglary, recorded"
"""
FIGURES_CSV = """measure,period,value,source,note
homicide,2018-07/2019-06,52,PRC,national baseline
homicide,2021-01/2021-12,46,PRC,
burglary,2018-07/2019-06,28675,PRC,
burglary,2020-10/2021-09,19018,PRC,"year ending September 2021, the latest Home Office release"
"""


def figures(store, text: str, format: str = "csv", **kwargs):
    rows, problems = imports.parse_rows(text, format, imports.FIGURE_COLUMNS, imports.FIGURE_OPTIONAL)
    unit = "item" if format == "json" else "line"
    return imports.import_figures(store, rows, ANALYST, default_area=AREA, problems=problems, unit=unit, **kwargs)


def measures(store, text: str, format: str = "csv"):
    rows, problems = imports.parse_rows(text, format, imports.MEASURE_COLUMNS, imports.MEASURE_OPTIONAL)
    return imports.import_measures(store, rows, ANALYST, problems=problems, unit="item" if format == "json" else "line")


def refused(call) -> list[str]:
    with pytest.raises(imports.ImportRefused) as error:
        call()
    return [str(problem) for problem in error.value.problems]


# -- measures -------------------------------------------------------------------------------------


def test_a_measures_file_defines_each_measure_and_a_second_import_changes_nothing(store):
    first = measures(store, MEASURES_CSV)
    assert (first.recorded, first.events) == (2, 2)
    assert store.read_stream("measure-burglary")[0].data["definition"] == "Residential and business burglary, recorded"

    second = measures(store, MEASURES_CSV)
    assert (second.unchanged, second.events) == (2, 0)
    assert "wrote 0 event(s): everything in the file is already recorded" in second.summary("defined", "amended")
    assert store.head().position == 2


def test_a_measures_row_that_differs_from_the_recorded_measure_needs_a_reason_to_amend_it(store):
    measures(store, MEASURES_CSV)
    changed = MEASURES_CSV.replace("Homicides,homicide", "Murder and homicide,homicide")
    assert refused(lambda: measures(store, changed)) == [
        "line 2, column reason: expected a reason, since measure homicide exists with a different title, found nothing"
    ]
    with_reason = changed.replace("definition\n", "definition,reason\n", 1).replace(
        "Police recorded crime,\n", "Police recorded crime,,renamed\n", 1
    ).replace("recorded\"\n", "recorded\",\n")
    report = measures(store, with_reason)
    assert (report.changed, report.unchanged) == (1, 1)
    assert store.read_stream("measure-homicide")[-1].data["title"] == "Murder and homicide"


def test_every_bad_measures_row_is_reported_and_nothing_is_written(store):
    text = """id,title,priority,unit,polarity,baseline_period,source,definition
Knife Crime,Knife crime,serious-violence,count,lower-is-better,2018-07/2019-06,,
robbery,Robbery,robbery,people,down,2019-06/2018-07,,
homicide,Homicides,homicide,count,lower-is-better,2018-07/2019-06,,
homicide,Homicides,homicide,count,lower-is-better,2018-07/2019-06,,
"""
    assert refused(lambda: measures(store, text)) == [
        "line 2, column id: expected an id of lower-case letters, digits and single hyphens, such as knife-crime, found 'Knife Crime'",
        "line 3, column priority: expected one of homicide, serious-violence, drugs-county-lines, neighbourhood-crime, victim-satisfaction, cyber-crime, local, found 'robbery'",
        "line 3, column unit: expected one of count, rate-per-1000, percent, money, percentage-points, found 'people'",
        "line 3, column polarity: expected one of lower-is-better, higher-is-better, found 'down'",
        "line 3, column baseline_period: expected a period that ends on or after its start, found '2019-06/2018-07'",
        "line 5, column id: expected each measure once, found 'homicide' again (first on line 4)",
    ]
    assert store.head().position == 0


# -- figures --------------------------------------------------------------------------------------


def test_a_figures_file_records_every_figure_in_one_transaction_for_the_default_area(store):
    measures(store, MEASURES_CSV)
    report = figures(store, FIGURES_CSV)

    assert (report.recorded, report.events, report.first_position, report.last_position) == (4, 4, 3, 6)
    written = list(store.read_all(3))
    assert {e.recorded_at for e in written} == {written[0].recorded_at}  # one append
    assert written[-1].stream == f"figure-burglary/{AREA}/2020-10/2021-09"
    assert written[-1].data["note"] == "year ending September 2021, the latest Home Office release"
    assert written[0].metadata == {"actor": "analyst@wmp", "source": "test"}


def test_importing_the_same_figures_twice_writes_nothing_the_second_time_and_says_so(store):
    measures(store, MEASURES_CSV)
    figures(store, FIGURES_CSV)
    head = store.head()
    again = figures(store, FIGURES_CSV.replace(",52,", ",52.0,"))
    assert (again.unchanged, again.events) == (4, 0)
    assert again.summary("recorded", "revised").endswith("wrote 0 event(s): everything in the file is already recorded")
    assert store.head() == head


def test_every_bad_figures_row_is_reported_with_line_column_expected_and_found_and_nothing_is_written(store):
    measures(store, MEASURES_CSV)
    text = """measure,period,value,source,note
homicide,2021-01/2021-12,46,PRC,
robbery,2021-01/2021-12,7509,PRC,
homicide,2021-13/2021-12,46,PRC,
homicide,2020-01/2020-12,forty,PRC,
burglary,the last full 12 months,28675,PRC,

homicide,2019-01/2019-12,"10, 579",PRC,the seed's stray space
homicide,2021-01/2021-12,46,PRC,
homicide,2018-01/2018-12,12.5e3,PRC,
"""
    assert refused(lambda: figures(store, text)) == [
        "line 3, column measure: measure 'robbery' is not defined: define it first (measures define or measures import)",
        "line 4, column period: expected a period of real dates, found '2021-13/2021-12' (month must be in 1..12)",
        "line 5, column value: expected an exact decimal such as 46 or 12.5, found 'forty'",
        "line 6, column period: expected a period such as 2021-01/2021-12 (months) or 2021-01-01/2021-12-31 (days), "
        "found 'the last full 12 months' (also accepted: 2022/23 (a financial year), 2022-11 or November 2022 (a month), "
        "rolling year to November 2022)",
        "line 8, column value: expected an exact decimal such as 46 or 12.5, found '10, 579' (write 10579: no thousands separators or spaces)",
        f"line 9: expected one row per measure, area and period, found homicide/{AREA}/2021-01/2021-12 again (first on line 2)",
        "line 10, column value: expected an exact decimal such as 46 or 12.5, found '12.5e3'",
    ]
    assert store.head().position == 2  # the two measures only


def test_a_figures_file_header_must_name_the_columns(store):
    assert refused(lambda: figures(store, "measure,period,valu,source,note\nhomicide,2021-01/2021-12,46,,\n")) == [
        "line 1, column valu: expected one of the columns measure, period, value, source, note, area, reason, kind, found 'valu'",
        "line 1, column value: expected this column in the header, found it missing",
    ]
    assert refused(lambda: figures(store, "")) == [
        "line 1: expected a header line with the columns measure, period, value, source, note, area, reason, kind, found an empty file"
    ]
    assert refused(lambda: figures(store, "measure,period,value\nhomicide,2021-01/2021-12\n")) == [
        "line 2: expected 3 values (measure, period, value), found 2"
    ]


def test_a_row_with_a_new_value_for_a_recorded_figure_is_a_revision_and_needs_a_reason(store):
    measures(store, MEASURES_CSV)
    figures(store, FIGURES_CSV)
    changed = FIGURES_CSV.replace("2021-12,46,PRC,", "2021-12,47,PRC,")
    assert refused(lambda: figures(store, changed)) == [
        f"line 3, column reason: expected a reason, since homicide/{AREA}/2021-01/2021-12 is recorded as 46 and this row says 47, found nothing"
    ]
    with_reason = "measure,period,value,source,note,reason,kind\nhomicide,2021-01/2021-12,47,PRC,,one reclassified,correction\nhomicide,2018-07/2019-06,53,PRC,,late data,\n"
    report = figures(store, with_reason)
    assert (report.changed, report.events) == (2, 2)
    assert report.details == [
        f"homicide/{AREA}/2021-01/2021-12: revised 46 -> 47 (correction: one reclassified)",
        f"homicide/{AREA}/2018-07/2019-06: revised 52 -> 53 (revision: late data)",
    ]
    assert [e.data["kind"] for e in store.read_all(7)] == ["correction", "revision"]


def test_a_figure_row_for_a_retired_measure_or_a_withdrawn_figure_is_refused(store):
    measures(store, MEASURES_CSV)
    figures(store, FIGURES_CSV)
    retire_measure(store, "burglary", "replaced", ANALYST)
    from service.handlers.figures import withdraw_figure

    withdraw_figure(store, "homicide", AREA, "2021-01/2021-12", "published in error", ANALYST)
    problems = refused(lambda: figures(store, FIGURES_CSV + "burglary,2021-01/2021-12,1,PRC,\n"))
    assert problems == [
        f"line 3: figure homicide/{AREA}/2021-01/2021-12 was withdrawn (published in error): an import does not bring it back; record it again deliberately",
        "line 6, column measure: measure 'burglary' was retired (replaced): recording a figure for it is refused",
    ]


def test_a_row_may_name_its_area(store):
    measures(store, MEASURES_CSV)
    figures(store, "measure,period,value,source,note,area\nhomicide,2021-01/2021-12,7,PRC,,coventry\n")
    assert load(store, "figure-homicide/coventry/2021-01/2021-12", figure_rules.fold)[0].value == "7"


def test_a_dry_run_reports_what_would_change_and_writes_nothing(store):
    measures(store, MEASURES_CSV)
    report = figures(store, FIGURES_CSV, dry_run=True)
    assert report.summary("recorded", "revised") == "4 row(s): 4 recorded, 0 revised, 0 unchanged; would write 4 event(s)"
    assert store.head().position == 2


def test_json_figures_keep_numbers_exact_and_report_items(store):
    measures(store, MEASURES_CSV)
    text = json.dumps([{"measure": "homicide", "period": "2021-01/2021-12", "value": 46}])[:-1]
    text += ', {"measure": "homicide", "period": "2020-01/2020-12", "value": 12.10, "note": null}]'
    figures(store, text, "json")
    assert load(store, f"figure-homicide/{AREA}/2020-01/2020-12", figure_rules.fold)[0].value == "12.10"

    bad = json.dumps([{"measure": "homicide", "period": "2019-01/2019-12", "value": "10, 579"}, {"measure": "homicide", "value": True, "colour": "red"}, 5])
    assert refused(lambda: figures(store, bad, "json")) == [
        "item 1, column value: expected an exact decimal such as 46 or 12.5, found '10, 579' (write 10579: no thousands separators or spaces)",
        "item 2, column value: expected text or a number, found true",
        "item 2, column colour: expected one of the keys measure, period, value, source, note, area, reason, kind, found 'colour'",
        "item 2, column period: expected this key, found it missing",
        "item 3: expected an object, found 5",
    ]
    assert refused(lambda: figures(store, '{"measure": "homicide"}', "json")) == ["line 1: expected a list of objects, found a JSON dict"]


def test_ten_thousand_figures_import_whole_in_one_transaction(store):
    """How fast is for bench/ (`python -m bench http`); here: all of them, in one run of positions."""
    for n in range(10):
        a_measure(store, f"m{n}")
    lines = ["measure,period,value,source,note"]
    for i in range(10_000):
        day = (date(1990, 1, 1) + timedelta(days=i)).isoformat()  # 10,000 days that are over
        lines.append(f"m{i // 1000},{day}/{day},{i}.5,test,")
    text = "\n".join(lines) + "\n"
    head = store.head().position
    report = figures(store, text)
    assert report.events == 10_000
    assert (report.first_position, report.last_position) == (head + 1, head + 10_000)


rows = st.lists(
    st.tuples(st.sampled_from(["homicide", "burglary"]), st.integers(2000, 2025), st.integers(0, 99_999)),  # periods that are over (the clock: 2026)
    max_size=12,
    unique_by=lambda r: r[:2],
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=rows)
def test_any_good_file_imported_twice_leaves_exactly_its_rows_and_writes_nothing_the_second_time(store, rows):
    """Property: after importing a valid file (once or twice), every row's figure holds the row's
    value, and the second import writes no event."""
    if store.stream_version("measure-homicide") == 0:
        measures(store, MEASURES_CSV)
    area = f"area-{store.head().position}"  # each example its own area: a clean slate in one store
    text = "measure,period,value,source,note,area\n" + "".join(
        f"{m},{y}-01/{y}-12,{v},,,{area}\n" for m, y, v in rows
    )
    first = figures(store, text)
    head = store.head()
    second = figures(store, text)
    assert (first.recorded, second.events, second.unchanged) == (len(rows), 0, len(rows))
    assert store.head() == head
    found = store.read_streams([f"figure-{m}/{area}/{y}-01/{y}-12" for m, y, _ in rows])
    assert [events[-1].data["value"] for events in found.values()] == [str(v) for _, _, v in rows]


# -- the CLI --------------------------------------------------------------------------------------


@pytest.fixture
def run(database_url, monkeypatch):
    monkeypatch.setenv("POLICING_METRICS_ACTOR", "cli-analyst")
    monkeypatch.setenv("POLICING_METRICS_DEFAULT_AREA", AREA)
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(cli, ["--database-url", database_url, *args], catch_exceptions=False)

    assert invoke("db", "upgrade").exit_code == 0
    return invoke


@pytest.fixture
def files(tmp_path) -> Path:
    (tmp_path / "measures.csv").write_text(MEASURES_CSV)
    (tmp_path / "figures.csv").write_text(FIGURES_CSV)
    return tmp_path


def test_the_import_commands_write_a_good_file_once_and_say_so_the_second_time(run, files, database_url):
    first = run("measures", "import", str(files / "measures.csv"))
    assert first.exit_code == 0, first.output
    assert "2 row(s): 2 defined, 0 amended, 0 unchanged; wrote 2 event(s) at positions 1-2" in first.output
    assert run("figures", "import", str(files / "figures.csv")).exit_code == 0

    again = run("figures", "import", str(files / "figures.csv"))
    assert again.exit_code == 0
    assert "wrote 0 event(s): everything in the file is already recorded" in again.output
    log = [json.loads(line) for line in run("log").output.splitlines()]
    assert len(log) == 6
    assert log[-1]["metadata"] == {"actor": "cli-analyst", "source": "cli"}
    assert log[-1]["data"]["area"] == AREA


def test_an_import_command_pauses_the_cyclic_collector_only_while_it_imports(run, files, monkeypatch):
    import gc

    seen = []
    real = imports.import_figures
    monkeypatch.setattr(imports, "import_figures", lambda *a, **k: seen.append(gc.isenabled()) or real(*a, **k))
    run("measures", "import", str(files / "measures.csv"))
    assert run("figures", "import", str(files / "figures.csv")).exit_code == 0
    (files / "bad.csv").write_text("measure,period,value,source,note\nhomicide,2021-01/2021-12,x,,\n")
    assert run("figures", "import", str(files / "bad.csv")).exit_code == 1

    assert seen == [False, False]
    assert gc.isenabled()


def test_a_bad_file_exits_non_zero_lists_every_bad_row_and_writes_nothing(run, files):
    run("measures", "import", str(files / "measures.csv"))
    bad = files / "bad.csv"
    bad.write_text("measure,period,value,source,note\nhomicide,2021-01/2021-12,46,,\nhomicide,2019-01/2019-12,\"10, 579\",,\nrobbery,2021-01/2021-12,1,,\n")

    result = run("figures", "import", str(bad))

    assert result.exit_code == 1
    assert "2 bad row(s), nothing was imported" in result.output
    assert "line 3, column value: expected an exact decimal such as 46 or 12.5, found '10, 579'" in result.output
    assert "line 4, column measure: measure 'robbery' is not defined" in result.output
    assert len(run("log").output.splitlines()) == 2


def test_json_is_detected_by_extension_or_chosen_with_format(run, files):
    run("measures", "import", str(files / "measures.csv"))
    data = json.dumps([{"measure": "homicide", "period": "2021-01/2021-12", "value": "46"}])
    (files / "figures.json").write_text(data)
    (files / "figures.txt").write_text(data)
    assert run("figures", "import", str(files / "figures.json")).exit_code == 0
    unknown = run("figures", "import", str(files / "figures.txt"))
    assert unknown.exit_code == 1 and "format: expected a file ending .csv or .json, or --format csv|json" in unknown.output
    assert "1 unchanged" in run("figures", "import", "--format", "json", str(files / "figures.txt")).output


def test_the_figure_commands_record_revise_and_withdraw_with_clear_refusals(run, files):
    run("measures", "import", str(files / "measures.csv"))
    ok = run("figures", "record", "homicide", "2021-01/2021-12", "46", "--note", "calendar 2021")
    assert ok.exit_code == 0 and f"figure homicide/{AREA}/2021-01/2021-12 recorded as 46" in ok.output

    again = run("figures", "record", "homicide", "2021-01/2021-12", "47")
    assert again.exit_code == 1 and "already recorded as 46: to change it to 47, revise it" in again.output
    no_reason = run("figures", "revise", "homicide", "2021-01/2021-12", "47")
    assert no_reason.exit_code == 1 and "reason: expected a reason for revising" in no_reason.output
    revised = run("figures", "revise", "homicide", "2021-01/2021-12", "47", "--reason", "late data", "--kind", "revision")
    assert revised.exit_code == 0, revised.output
    same = run("figures", "revise", "homicide", "2021-01/2021-12", "47", "--reason", "again")
    assert same.exit_code == 1 and "nothing to revise" in same.output
    assert run("figures", "withdraw", "homicide", "2021-01/2021-12", "--reason", "error").exit_code == 0
    bad_value = run("figures", "record", "homicide", "2020-01/2020-12", "10, 579")
    assert bad_value.exit_code == 1 and "found '10, 579'" in bad_value.output


def test_the_measure_commands_define_amend_retire_and_list(run):
    defined = run("measures", "define", "knife-crime", "--title", "Knife crime", "--priority", "serious-violence", "--unit", "count", "--polarity", "lower-is-better")
    assert defined.exit_code == 0, defined.output
    assert run("measures", "define", "knife-crime", "--title", "x", "--priority", "serious-violence", "--unit", "count", "--polarity", "lower-is-better").exit_code == 1
    assert run("measures", "amend", "knife-crime", "--title", "Knife crime").exit_code == 1  # nothing changes
    assert run("measures", "amend", "knife-crime", "--title", "Knife-enabled crime").exit_code == 1  # no reason
    assert run("measures", "amend", "knife-crime", "--title", "Knife-enabled crime", "--reason", "Home Office name").exit_code == 0
    assert run("measures", "retire", "knife-crime", "--reason", "merged").exit_code == 0
    assert run("measures", "list").output.strip() == "no measures defined"
    listed = json.loads(run("measures", "list", "--all", "--format", "json").output)
    assert [(m["id"], m["title"], m["retired"]) for m in listed] == [("knife-crime", "Knife-enabled crime", True)]
