"""Other forces' published statements as examples: each loads by name and reads as it printed,
in its own style (Lancashire: one-decimal percents on the previous 12 months, five forces by
name; West Mercia: a percentage measure for one month, the force by its ONS code)."""

from __future__ import annotations

import pytest

from service.handlers import editions
from service.handlers.examples import example_directory, load_example

from .given import ANALYST

LANCASHIRE = [
    (2, "Lancashire: 95,509 in the earlier period, 92,739 in the later period, a change of 2,770 (2.9% reduction)."),
    (3, "Cheshire: 54,721 in the earlier period, 53,036 in the later period, a change of 1,685 (3.1% reduction)."),
    (4, "Cumbria: 23,915 in the earlier period, 25,285 in the later period, a change of 1,370 (5.7% increase)."),
    (5, "Greater Manchester: 182,336 in the earlier period, 204,010 in the later period, a change of 21,674 (11.9% increase)."),
    (6, "Merseyside: 93,450 in the earlier period, 98,052 in the later period, a change of 4,602 (4.9% increase)."),
    (7, "Lancashire: 87,928 in the earlier period, 85,661 in the later period, a change of 2,267 (2.6% reduction)."),
    (8, "Cheshire: 49,060 in the earlier period, 46,594 in the later period, a change of 2,466 (5.0% reduction)."),
    (9, "Cumbria: 20,721 in the earlier period, 21,638 in the later period, a change of 917 (4.4% increase)."),
    (10, "Greater Manchester: 164,456 in the earlier period, 183,597 in the later period, a change of 19,141 (11.6% increase)."),
    (11, "Merseyside: 78,267 in the earlier period, 83,668 in the later period, a change of 5,401 (6.9% increase)."),
]


def test_the_lancashire_table_reads_as_printed_with_one_decimal_percents_on_the_previous_12_months(store):
    report = load_example(store, example_directory("lancashire-2015-06"), ANALYST, None)
    assert report.edition.approved_revision == 1
    view = editions.view_edition(store, "2015-06")
    assert view.state.area == "lancashire"  # named "Lancashire Constabulary" in the file
    for number, printed in LANCASHIRE:
        assert view.rendered(view.state.paragraphs[number].text) == printed
    again = load_example(store, example_directory("lancashire-2015-06"), ANALYST, None)
    assert again.events == 0


def test_the_lancashire_figures_are_filed_under_each_force_read_from_its_name_and_separators(store):
    load_example(store, example_directory("lancashire-2015-06"), ANALYST, None)
    (event,) = store.read_stream("figure-all-recorded-crime/greater-manchester/2014-05/2015-04")
    assert event.data["value"] == "204010"


def test_the_west_mercia_statement_binds_its_percentage_for_one_month_and_reads_as_printed(store):
    load_example(store, example_directory("west-mercia-2021-10"), ANALYST, None)
    view = editions.view_edition(store, "2021-10")
    assert view.state.area == "west-mercia"  # named E23000016 in the file
    assert view.rendered(view.state.paragraphs[3].text).startswith("88% of emergency 999 calls are answered within 10 seconds")
    (event,) = store.read_stream("figure-emergency-calls-answered-in-10-seconds/west-mercia/2021-09/2021-09")
    assert event.data["value"] == "88"


@pytest.mark.parametrize("name", ["lancashire-2015-06", "west-mercia-2021-10", "wmp-2022-02"])
def test_an_example_is_found_by_its_name(name):
    assert (example_directory(name) / "edition.json").is_file()


def test_examples_load_takes_an_examples_name_and_shows_it_as_printed(database_url):
    from typer.testing import CliRunner

    from service.cli import cli

    runner = CliRunner()

    def run(*args):
        return runner.invoke(cli, ["--database-url", database_url, *args], catch_exceptions=False)

    assert run("db", "upgrade").exit_code == 0
    loaded = run("examples", "load", "lancashire-2015-06")
    assert loaded.exit_code == 0 and "edition 2015-06: opened" in loaded.output and "approved revision 1" in loaded.output
    shown = run("edition", "show", "2015-06")
    assert "4. Cumbria: 23,915 in the earlier period, 25,285 in the later period, a change of 1,370 (5.7% increase)." in shown.output
    assert run("examples", "load", "lancashire-2015-06").output.strip().endswith("nothing to do: the example is already loaded")
