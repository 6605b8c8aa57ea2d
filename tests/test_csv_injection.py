"""scorecard.csv never hands a spreadsheet a formula (OWASP CSV injection), and its numbers stay numbers."""

from __future__ import annotations

import csv
import io
import json

import pytest

from publishers.render import CSVW_METADATA, SCORECARD_CSV, render_edition
from service.handlers import editions, figures, measures
from service.handlers.editions_published import RevisionTimes, edition_document

from .publish_support import ANALYST, EDITION, VERSION, clock, example_database, example_store  # noqa: F401

RELEASE_AT = "2022-02-01T09:30:00+00:00"
HOSTILE = {
    "burglary": {"title": "=HYPERLINK(\"https://evil.example/\",\"Burglary\")", "source": "@cmd"},
    "robbery": {"title": "-2+3+cmd|' /C calc'!A0", "source": "+SUM(1,2)"},
    "homicide": {"title": "\tHomicide", "source": "\rrecorded crime"},
}
# Each measure's latest figure within the edition's data cut-off (December 2021).
LATEST_PERIOD = {"burglary": "2020-10/2021-09", "robbery": "2021-01/2021-12", "homicide": "2021-01/2021-12"}


@pytest.fixture
def scorecard(example_store):
    for measure, changes in HOSTILE.items():
        measures.amend_measure(example_store, measure, "spreadsheet test", {"title": changes["title"]}, ANALYST)
        # The scorecard's source is its latest covered figure's: that figure revised with a hostile source.
        figures.revise_figure(
            example_store, measure, "west-midlands", LATEST_PERIOD[measure], "100", "correction", "spreadsheet test", ANALYST,
            source=changes["source"],
        )
    _, approval = editions.approve_edition(example_store, EDITION, ANALYST, reason="titles amended")
    document = edition_document(example_store, EDITION, approval.revision, RevisionTimes(RELEASE_AT, RELEASE_AT, ()), software_version=VERSION)
    rendered = render_edition(document)
    rows = list(csv.DictReader(io.StringIO(rendered.files[SCORECARD_CSV].decode(), newline="")))
    return rows, json.loads(rendered.files[CSVW_METADATA]), document


def test_a_title_or_source_a_spreadsheet_would_run_starts_with_an_apostrophe(scorecard):
    rows, _, _ = scorecard
    by_measure = {row["measure"]: row for row in rows}

    for measure, changes in HOSTILE.items():
        for column, text in changes.items():
            assert by_measure[measure][column] == "'" + text, (measure, column)


def test_numbers_are_left_as_they_are_a_negative_change_included(scorecard):
    rows, _, document = scorecard
    lines = {line.measure: line for line in document.scorecard}
    negative = [row for row in rows if row["change"].startswith("-")]

    assert negative, "the seed's reductions are negative changes"
    for row in rows:
        line = lines[row["measure"]]
        assert row["value"] == (line.value or "") and row["change"] == (line.change or "")
        assert row["change_percent"] == ("" if line.change_percent is None else str(line.change_percent))


def test_the_csvw_metadata_says_so_and_no_text_cell_starts_a_formula(scorecard):
    rows, metadata, _ = scorecard
    text_columns = [c["name"] for c in metadata["tableSchema"]["columns"] if c["datatype"] == "string"]

    assert "apostrophe" in metadata["rdfs:comment"]
    for row in rows:
        for column in text_columns:
            assert not row[column].startswith(("=", "+", "-", "@", "\t", "\r")), (column, row[column])
