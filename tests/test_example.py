"""The seed statement as example data (examples/wmp-2022-02/): it loads, approves, reproduces the
seed's text and comparisons from recorded figures, and loading it again changes nothing."""

from __future__ import annotations

import csv
import json
import re

import pytest
from typer.testing import CliRunner

from events.domain.editions import literal_numbers
from events.domain.fields import NATIONAL_PRIORITIES
from service.cli import cli
from service.handlers import editions
from service.handlers.examples import DEFAULT_EXAMPLE, load_example

from .given import ANALYST

SOURCE = DEFAULT_EXAMPLE / "source.txt"


def seed_paragraphs() -> dict[int, str]:
    """The 70 numbered paragraphs of the seed, line wrapping undone (the footnote marked [^1])."""
    document = json.loads((DEFAULT_EXAMPLE / "edition.json").read_text(encoding="utf-8"))
    headings = {p["heading"] for p in document["paragraphs"] if p.get("heading")}
    stops = ("National Policing Priorities", "Statement February 2022", "Author(s):", "Job Title:", "Manager", "Appendix A", "1 Crime in", "https://")
    paragraphs: dict[int, list[str]] = {}
    current = None
    for raw in SOURCE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        match = re.match(r"^(\d{1,2})\. (.*)$", line)
        if match and int(match.group(1)) == len(paragraphs) + 1:
            current = int(match.group(1))
            paragraphs[current] = [match.group(2)]
        elif line in headings or line.startswith(stops):
            current = None
        elif line and current is not None:
            paragraphs[current].append("offences.[^1]" if line == "offences.1" else line)
    joined = {}
    for number, lines in paragraphs.items():
        text = lines[0]
        for line in lines[1:]:
            text += line if re.search(r"[a-z]-$", text) else " " + line
        joined[number] = text
    return joined


@pytest.fixture
def loaded(store):
    report = load_example(store, DEFAULT_EXAMPLE, ANALYST, "force")
    return store, report


def test_the_example_loads_and_its_edition_approves_cleanly(loaded):
    store, report = loaded
    assert (report.measures.recorded, report.figures.recorded) == (21, 22)
    assert report.edition.opened and report.edition.approved_revision == 1
    state, problems = editions.check_edition(store, "2022-02")
    assert problems == []
    assert sorted(state.paragraphs) == list(range(1, 71))
    assert {p.section for p in state.in_order()[:36]} == {"force-statement"}
    assert {p.section for p in state.in_order()[36:]} == {"pcc-statement"}
    assert set(state.applicability) == set(NATIONAL_PRIORITIES)
    assert all(reason for _, reason in state.applicability.values())
    assert [a["name"] for a in state.authors] == ["Harry Barton", "Stuart Gardner"]
    assert store.verify().ok


def test_loading_the_example_again_changes_nothing(loaded):
    store, _ = loaded
    head = store.head()
    again = load_example(store, DEFAULT_EXAMPLE, ANALYST, "force")
    assert again.events == 0 and again.edition.already_approved == 1
    assert store.head() == head


def test_the_approved_edition_reads_exactly_as_the_seed_with_every_figure_filled_in_from_the_log(loaded):
    store, _ = loaded
    state, _ = editions.load_edition(store, "2022-02")
    frozen = editions.view_edition(store, "2022-02", state.approvals[0].position)
    seed = seed_paragraphs()
    assert len(seed) == 70
    for paragraph in frozen.state.in_order():
        assert frozen.rendered(paragraph.text) == seed[paragraph.number], f"paragraph {paragraph.number}"


@pytest.mark.parametrize(
    "number, phrase",
    [
        (4, "saw 46 homicides, compared to 52 in the year ending June 2019 baseline (National Baseline set by Home Office), a 12% reduction"),
        (8, "saw 145 episodes, a reduction of 70 compared to the national baseline"),
        (9, "saw 162 incidents in the baseline 12 months; this has reduced by 15 in the year ending December 2021 to 147"),
        (15, "from 1,087 to 1,229"),
        (20, "record 28,675 Burglaries; in the last statistics produced by the Home Office, this had reduced to 19,018, a 34% reduction"),
        (21, "saw 8,945 robberies recorded. The last full 12 months of data saw 7,509 robberies, a 16% reduction"),
    ],
)
def test_the_seeds_comparisons_come_from_the_recorded_figures(loaded, number, phrase):
    store, _ = loaded
    view = editions.view_edition(store, "2022-02")
    paragraph = view.state.paragraphs[number]
    assert "{{" in paragraph.text  # bound, not typed
    assert phrase in view.rendered(paragraph.text)


def test_every_example_figure_has_an_explicit_period_a_source_and_a_note_saying_why():
    with (DEFAULT_EXAMPLE / "figures.csv").open(encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == 22
    assert all(row["area"] == "west-midlands" and row["source"] and row["note"] for row in rows)
    derived = next(r for r in rows if r["measure"] == "sharp-object-admissions-under-25" and r["period"] == "2018-07/2019-06")
    assert derived["value"] == "215" and "145 + 70 = 215" in derived["note"]
    robbery = next(r for r in rows if r["measure"] == "robbery" and r["period"] != "2018-07/2019-06")
    assert "the last full 12 months of data" in robbery["note"]


# -- the seed's quirks ----------------------------------------------------------------------------


def test_averaging_five_a_month_beside_46_a_year_is_flagged_and_confirmed_only_with_the_contradiction_noted(loaded):
    store, _ = loaded
    paragraph = editions.load_edition(store, "2022-02")[0].paragraphs[4]
    assert literal_numbers(paragraph.text) == ["five"]
    assert "3.8 a month, not five" in paragraph.confirmed["five"]


def test_the_truncated_in_20_is_flagged_and_kept_as_published(loaded):
    store, _ = loaded
    paragraph = editions.load_edition(store, "2022-02")[0].paragraphs[31]
    assert paragraph.text.endswith("Neighbourhood Policing Units in 20")
    assert literal_numbers(paragraph.text) == ["20"]
    assert "truncated" in paragraph.confirmed["20"]


def test_the_stray_space_in_10_comma_579_is_one_literal_and_kept_as_published(loaded):
    store, _ = loaded
    paragraph = editions.load_edition(store, "2022-02")[0].paragraphs[43]
    assert literal_numbers(paragraph.text)[0] == "10, 579"
    assert "stray space" in paragraph.confirmed["10, 579"]


def test_identify_fraud_stays_as_typed(loaded):
    store, _ = loaded
    assert editions.load_edition(store, "2022-02")[0].paragraphs[36].text.startswith("Identify fraud, such as impersonations")


def test_the_cli_loads_the_example_once_and_then_has_nothing_to_do(database_url):
    runner = CliRunner()

    def run(*args):
        return runner.invoke(cli, ["--database-url", database_url, *args], catch_exceptions=False)

    assert run("db", "upgrade").exit_code == 0
    first = run("examples", "load")
    assert first.exit_code == 0, first.output
    assert "edition 2022-02: opened, wrote 132 event(s); approved revision 1" in first.output
    second = run("examples", "load")
    assert second.exit_code == 0 and "nothing to do: the example is already loaded" in second.output
    assert run("edition", "check", "2022-02").exit_code == 0
    reimported = run("edition", "import", str(DEFAULT_EXAMPLE / "edition.json"))
    assert reimported.exit_code == 0 and reimported.output.strip() == "edition 2022-02: wrote 0 event(s)"
    shown = run("edition", "show", "2022-02", "--approved", "1")
    assert "4. The volume of Homicides in West Midlands" in shown.output and "saw 46 homicides" in shown.output


def test_an_edition_document_updated_and_imported_again_revises_only_what_changed(loaded, tmp_path):
    from service.handlers.examples import import_edition, read_edition_document

    store, _ = loaded
    document = read_edition_document(DEFAULT_EXAMPLE / "edition.json")
    document["amendment_reason"] = "author's corrections"
    paragraph = next(p for p in document["paragraphs"] if p["number"] == 31)
    paragraph["text"] = paragraph["text"].replace("in 20", "in 2022")
    paragraph.pop("confirmed")
    document["paragraphs"] = [p for p in document["paragraphs"] if p["number"] != 70]  # absent: left alone

    report = import_edition(store, document, ANALYST, approve=False)

    assert report.events == 1 and report.approved_revision is None
    last = store.read_stream("edition-2022-02")[-1]
    assert (last.type, last.data["number"], last.data["reason"]) == ("ParagraphRevised", 31, "author's corrections")
    state, problems = editions.check_edition(store, "2022-02")
    assert 70 in state.paragraphs and problems == []  # "in 2022" is a date, so nothing is left to confirm


def test_a_malformed_edition_document_is_refused_whole(store):
    from service.handlers.examples import import_edition
    from service.handlers.imports import ImportRefused

    document = {"edition": "2022-02", "area": "west-midlands", "title": "T", "authors": [{"name": "A"}], "lead_contact": {"name": "B"},
                "sections": [{"section": "force-statement", "title": "Force"}],
                "applicability": ["homicide"], "paragraphs": [{"number": 1, "section": "nowhere", "text": "x"}, 7]}
    with pytest.raises(ImportRefused) as refused:
        import_edition(store, document, ANALYST)
    assert [str(p) for p in refused.value.problems] == [
        "applicability 1: expected an object with priority, applicable, reason",
        "paragraph item 2: expected an object with number, section, text",
        "paragraph 1, column section: expected one of the edition's sections: force-statement, found 'nowhere'",
    ]
    assert store.head().position == 0
