"""The report commands as a person (or a script) runs them: scorecard, history, diff, projections rebuild.

Given events in the log (appended directly, with a hand-moved clock), when the command runs, then
its output in each format; every command first brings the projections up to date.
"""

from __future__ import annotations

import csv
import io
import json

import pytest
from typer.testing import CliRunner

from events import EventStore
from events.database import make_engine
from events.domain import registry
from service.cli import cli

from .projection_support import BASELINE, Y2021, append, approved, measure, opened, recorded, revised, written

Y2020 = "2020-01/2020-12"


@pytest.fixture
def run(database_url):
    runner = CliRunner()

    def invoke(*args: str, code: int = 0):
        result = runner.invoke(
            cli, ["--database-url", database_url, "--log-format", "json", *args], catch_exceptions=False
        )
        assert result.exit_code == code, result.output
        return result

    return invoke


@pytest.fixture
def store(run, database_url, clock):
    run("db", "upgrade")
    engine = make_engine(database_url)
    yield EventStore(engine, registry, clock=clock)
    engine.dispose()


@pytest.fixture
def homicide(store, clock):
    """Day 1: homicide 52 -> 44 (ana). Day 2: 2021 revised to 46 (ben, late returns). Positions: 3, then 4."""
    append(
        store, measure("homicide"), recorded("homicide", BASELINE, "52"), recorded("homicide", Y2021, "44"), actor="ana"
    )
    clock.advance(days=1)
    append(store, revised("homicide", Y2021, "46", "44", reason="late returns"), actor="ben")


def test_the_scorecard_as_json_is_the_published_shape(run, homicide):
    lines = json.loads(run("scorecard", "--format", "json").stdout)
    assert lines == [
        {
            "measure": "homicide",
            "area": "west-midlands",
            "title": "Homicide",
            "period": Y2021,
            "value": "46",
            "unit": "count",
            "baseline_period": BASELINE,
            "baseline_value": "52",
            "change": "-6",
            "change_unit": "count",
            "change_percent": -12,
            "direction": "reduction",
            "assessment": "improving",
        }
    ]


def test_the_scorecard_as_csv_has_the_same_columns(run, homicide):
    rows = list(csv.DictReader(io.StringIO(run("scorecard", "--format", "csv").stdout)))
    assert list(rows[0]) == [
        "measure",
        "area",
        "title",
        "period",
        "value",
        "unit",
        "baseline_period",
        "baseline_value",
        "change",
        "change_unit",
        "change_percent",
        "direction",
        "assessment",
    ]
    assert (rows[0]["value"], rows[0]["change_percent"], rows[0]["assessment"]) == ("46", "-12", "improving")


def test_the_scorecard_table_says_it_in_words_and_names_the_moment(run, homicide):
    output = run("scorecard").stdout
    assert "Homicide [homicide]" in output and "-12%" in output and "reduction" in output and "improving" in output
    assert "by ben" in output and "as of log position 4 (recorded 2026-01-06T09:00:00.000000Z)" in output


def test_the_scorecard_as_of_a_past_time_or_position(run, homicide):
    assert (
        json.loads(run("scorecard", "--format", "json", "--as-of", "2026-01-05T12:00:00Z").stdout)[0]["value"] == "44"
    )
    assert json.loads(run("scorecard", "--format", "json", "--position", "3").stdout)[0]["change_percent"] == -15
    assert json.loads(run("scorecard", "--format", "json", "--position", "0").stdout) == []


def test_the_scorecard_refuses_two_moments_or_one_that_has_not_happened(run, homicide):
    assert "not both" in run("scorecard", "--as-of", "2026-01-05", "--position", "3", code=2).stderr
    assert (
        "the log ends at position 4; position 9 has not happened yet"
        in run("scorecard", "--position", "9", code=2).stderr
    )
    assert "expected a log position" in run("diff", "--from", "last week", "--to", "4", code=2).stderr


def test_the_scorecard_filters_by_area(run, store, homicide):
    append(store, recorded("homicide", Y2021, "5", area="coventry"))
    assert [line["area"] for line in json.loads(run("scorecard", "--format", "json").stdout)] == [
        "coventry",
        "west-midlands",
    ]
    assert [line["area"] for line in json.loads(run("scorecard", "--format", "json", "--area", "coventry").stdout)] == [
        "coventry"
    ]


def test_every_command_catches_the_projections_up_first(run, store, homicide):
    assert json.loads(run("scorecard", "--format", "json").stdout)[0]["value"] == "46"
    append(store, recorded("homicide", "2021-04/2022-03", "41"))
    assert json.loads(run("scorecard", "--format", "json").stdout)[0]["value"] == "41"


def test_history_lists_every_value_with_who_when_why(run, homicide):
    changes = json.loads(run("history", "homicide", "--period", Y2021, "--format", "json").stdout)
    assert [(c["value"], c["previous_value"], c["kind"], c["actor"], c["reason"]) for c in changes] == [
        ("44", None, "recorded", "ana", None),
        ("46", "44", "revision", "ben", "late returns"),
    ]
    rows = list(csv.DictReader(io.StringIO(run("history", "homicide", "--format", "csv").stdout)))
    assert [(row["period"], row["value"]) for row in rows] == [(BASELINE, "52"), (Y2021, "44"), (Y2021, "46")]
    assert "late returns" in run("history", "homicide").stdout


def test_history_as_a_revision_triangle_in_csv(run, store, clock, homicide):
    append(store, opened("2022-02"))
    append(store, approved(store, "2022-02"))
    clock.advance(days=1)
    append(store, revised("homicide", Y2021, "47", "46", kind="correction", reason="one more"))
    append(store, approved(store, "2022-02", revision=2, reason="corrected homicide figure"))

    text = run("history", "homicide", "--triangle", "--format", "csv").stdout

    assert text.splitlines() == [
        "period,2022-02 r1,2022-02 r2,revision",
        f"{BASELINE},52,52,0",
        f"{Y2021},46,47,1",
        "mean revision,,,0.50",
        "mean absolute revision,,,0.50",
    ]
    assert "mean absolute revision" in run("history", "homicide", "--triangle").stdout
    assert (
        json.loads(run("history", "homicide", "--triangle", "--columns", "times", "--format", "json").stdout)["columns"]
        == "times"
    )


def test_a_triangle_for_a_measure_in_several_areas_needs_an_area(run, store, homicide):
    append(store, recorded("homicide", Y2021, "5", area="coventry"))
    assert "choose one with --area" in run("history", "homicide", "--triangle", code=2).stderr
    assert (
        run("history", "homicide", "--triangle", "--area", "coventry", "--format", "csv").stdout.splitlines()[1]
        == f"{Y2021},5,"
    )


def test_diff_between_two_times_shows_old_new_who_and_why(run, store, homicide):
    append(store, opened(), written(1, "Homicide is down [a lot]."))

    output = run("diff", "--from", "2026-01-05T12:00:00Z", "--to", "2026-01-06").stdout

    assert "homicide / west-midlands / 2021-01/2021-12: 44 → 46" in output
    assert "revision to 46 by ben: late returns (position 4)" in output
    assert "edition 2022-02, paragraph 1:" in output and "now: Homicide is down [a lot]." in output


def test_diff_as_json_between_positions(run, homicide):
    result = json.loads(run("diff", "--from", "3", "--to", "4", "--format", "json").stdout)
    assert (result["from_position"], result["to_position"]) == (3, 4)
    assert [(f["period"], f["old_value"], f["new_value"]) for f in result["figures"]] == [(Y2021, "44", "46")]
    assert result["figures"][0]["changes"][0]["actor"] == "ben"
    assert "later than --to" in run("diff", "--from", "4", "--to", "3", code=2).stderr


def test_projections_rebuild_reports_progress_as_json_lines_off_a_terminal(run, homicide):
    result = run("projections", "rebuild")
    assert "projections rebuilt to log position 4" in result.stdout
    logged = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    progress = [entry for entry in logged if entry["event"] == "projections.progress"]
    assert {entry["projection"] for entry in progress} == {"history", "scorecard"}
    assert all(entry["head"] == 4 for entry in progress)
    assert json.loads(run("scorecard", "--format", "json").stdout)[0]["value"] == "46"


def test_report_commands_refuse_an_unmigrated_database(database_url):
    result = CliRunner().invoke(cli, ["--database-url", database_url, "scorecard"])
    assert result.exit_code == 2 and "run `policing-metrics db upgrade`" in result.output


def test_the_walkthrough_in_docs_reports_md_runs_as_written(tmp_path):
    import re
    import shlex
    from pathlib import Path

    page = (Path(__file__).parent.parent / "docs" / "reports.md").read_text()
    block = re.search(r"```sh\n(.*?)```", page, re.S).group(1)
    runner = CliRunner()
    url = f"sqlite:///{tmp_path / 'docs.db'}"
    outputs = []
    for line in block.strip().splitlines():
        args = shlex.split(line.partition("  # ")[0])
        assert args[0] == "policing-metrics"
        result = runner.invoke(cli, ["--database-url", url, "--log-format", "json", *args[1:]], catch_exceptions=False)
        assert result.exit_code == 0, f"{line}\n{result.output}"
        outputs.append(result.stdout)
    first, after, before = json.loads(outputs[4]), outputs[6], list(csv.DictReader(io.StringIO(outputs[7])))
    assert (first[0]["value"], first[0]["change_percent"], first[0]["direction"]) == ("44", -15, "reduction")
    assert "-12%" in after and "improving" in after
    assert (before[0]["value"], before[0]["change_percent"]) == ("44", "-15")
    assert "late returns from the coroner" in outputs[8]
    assert outputs[9].splitlines()[2] == f"{Y2021},,44,46,2"  # one column per moment a figure changed
    assert "homicide / west-midlands / 2021-01/2021-12: 44 → 46" in outputs[10]
    assert "projections rebuilt to log position 4" in outputs[11]
