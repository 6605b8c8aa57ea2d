"""Text that XML, HTML or iCalendar cannot carry: refused where it comes in, naming the character and
the field; a log that already holds some still publishes; one file that cannot be rendered never keeps
a release out of the rest of the site, and `site check` sees a site that lags the log."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
from datetime import timedelta
from xml.etree import ElementTree

import feedparser
import icalendar
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from events import EventStore
from events.database import make_engine
from events.domain import registry

from events.domain import fields
from events.domain.errors import InvalidValue, NothingToChange, UnpublishableText
from publishers.check import check_lag, check_site
from publishers.proofcheck import check as proof_check
from publishers.stores import LocalDirectory
from service.cli import cli
from service.handlers import editions, figures, measures
from service.handlers.publishing import Publishing, SiteIncomplete
from service.handlers.releases import Releases

from .conftest import FakeClock
from .publish_support import (  # noqa: F401  (fixtures)
    ANALYST,
    EDITION,
    LOADED_AT,
    SITE_URL,
    VERSION,
    clock,
    example_database,
    example_store,
    publishing,
)

SITE_FILES = ("index.html", "latest/index.html", "feed.atom", "feed.rss", "calendar.ics", "calendar.json", "calendar.atom")


@pytest.mark.parametrize(
    "character, kind",
    [("\x0b", "a control character"), ("\x00", "a control character"), ("\x1b", "a control character"),
     ("\x85", "a control character"), ("\ufffe", "a noncharacter"), ("\U0010ffff", "a noncharacter"),
     ("\ud800", "a lone surrogate")],
)
def test_an_edition_title_with_a_character_xml_cannot_carry_is_refused_naming_the_character_and_field(
    example_store, character, kind
):
    with pytest.raises(UnpublishableText) as refused:
        editions.amend_edition(example_store, EDITION, reason="typo", metadata=ANALYST, title=f"x{character}")

    message = str(refused.value)
    assert message.startswith("title: ") and f"U+{ord(character):04X}, {kind}, at character 2" in message


def test_every_kind_of_text_refuses_it_figures_measures_paragraphs_people_and_the_calendar(example_store, clock):
    refusals = [
        lambda: figures.record_figure(example_store, "homicide", "west-midlands", "2022-01/2022-12", "5", ANALYST, note="a\x0cb"),
        lambda: figures.record_figure(example_store, "homicide", "west-midlands", "2022-01/2022-12", "5", ANALYST, source="\x1b[31m"),
        lambda: measures.define_measure(
            example_store, "knives", {"title": "Knife\x00crime", "priority": "serious-violence", "unit": "count",
                                      "polarity": "lower-is-better", "baseline_period": "2018-07/2019-06"}, ANALYST),
        lambda: editions.write_paragraph(example_store, EDITION, 99, section="force-statement", text="ok\ufffe", metadata=ANALYST),
        lambda: editions.amend_edition(example_store, EDITION, reason="new lead", metadata=ANALYST, lead_contact={"name": "A\x07B"}),
        lambda: editions.amend_edition(example_store, EDITION, reason="r\x08", metadata=ANALYST, title="A new title"),
        lambda: Releases(example_store, clock).announce("2099-01", "2027-03-02T09:30", title="a\x0cb", provisional=True),
    ]
    head = example_store.head()
    for refusal in refusals:
        with pytest.raises(InvalidValue, match=r"U\+00(0C|1B|00|07|08)|U\+FFFE"):
            refusal()
    assert example_store.head() == head, "nothing was written"


# str.strip() takes these off a text's ends, and the rules strip what people type: each must be refused
# there as anywhere else, not trimmed away in silence.
STRIPPED_BY_PYTHON = ["\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x1f", "\x85"]


@pytest.mark.parametrize("character", STRIPPED_BY_PYTHON)
def test_a_character_no_text_may_carry_is_refused_at_a_texts_end_too(example_store, clock, character):
    refusals = [
        lambda: Releases(example_store, clock).announce("2099-01", "2027-03-02T09:30", title="Next" + character, provisional=True),
        lambda: editions.amend_edition(example_store, EDITION, reason="new lead", metadata=ANALYST, lead_contact={"name": character + "A B"}),
        lambda: figures.record_figure(example_store, "homicide", "west-midlands", "2022-01/2022-12", "5", ANALYST, note="late" + character),
    ]
    head = example_store.head()
    for refusal in refusals:
        with pytest.raises(InvalidValue, match=f"U\\+{ord(character):04X}"):
            refusal()
    assert example_store.head() == head, "nothing was written"


def test_trimming_takes_off_exactly_the_white_space_that_can_be_published():
    spaces = {chr(code) for code in range(0x110000) if chr(code).isspace()}
    assert set(fields.TRIMMED) == {c for c in spaces if fields.uncarried(c) is None}
    assert fields.trim("\u3000 a b\t\n") == "a b" and fields.trim("a\x85") == "a\x85"


def a_database(example_database, tmp_path, monkeypatch) -> None:
    copy = tmp_path / "cli.db"
    shutil.copy(example_database, copy)
    monkeypatch.setenv("POLICING_METRICS_DATABASE_URL", f"sqlite:///{copy}")


@pytest.mark.parametrize(
    "args, character",
    [(["edition", "amend", EDITION, "--title", "x\x0b", "--reason", "typo"], "U+000B"),
     (["schedule", "2099-01", "--at", "2027-03-02T09:30", "--provisional", "--title", "a\x0cb"], "U+000C")],
)
def test_the_cli_refuses_it_with_a_non_zero_exit_and_the_message(example_database, tmp_path, monkeypatch, args, character):
    a_database(example_database, tmp_path, monkeypatch)
    command = [sys.executable, "-m", "service", *args]

    result = subprocess.run(command, capture_output=True, text=True, timeout=60)

    assert result.returncode == 1
    assert f"title: expected text without control characters" in result.stderr and character in result.stderr
    assert "Traceback" not in result.stderr


def test_a_figure_import_names_the_line_and_column_of_the_character(example_store, tmp_path):
    from service.handlers.imports import ImportRefused, import_figures, parse_rows

    text = "measure,area,period,value,note\nhomicide,west-midlands,2022-01/2022-12,5,\"a\x0bb\"\n"
    rows, problems = parse_rows(text, "csv", ("measure", "period", "value"), ("area", "note", "source", "reason", "kind"))

    with pytest.raises(ImportRefused) as refused:
        import_figures(example_store, rows, ANALYST, default_area="west-midlands", problems=problems)

    (problem,) = refused.value.problems
    assert (problem.line, problem.column) == (2, "note") and "U+000B" in problem.message


# a log recorded before the boundary refused such text


def record_unpublishable_text(store, clock, monkeypatch) -> None:
    """Recorded by the software as it was, whose boundary let every character through."""
    monkeypatch.setattr(fields, "_UNCARRIED", re.compile("(?!)"))
    editions.amend_edition(store, EDITION, reason="typo\x1b", metadata=ANALYST, title="Statement\x0b February 2022 \x7f")
    figures.revise_figure(store, "burglary", "west-midlands", "2020-10/2021-09", "19108", "correction", "late\x00data", ANALYST)
    editions.approve_edition(store, EDITION, ANALYST, reason="burglary \ufffe corrected")
    Releases(store, clock).announce("2099-01", "2027-03-02T09:30", title="a\x0cb", provisional=True)
    monkeypatch.undo()


def assert_publishable(site: LocalDirectory) -> None:
    for key in SITE_FILES:
        assert site.exists(key), key
    for key in ("feed.atom", "feed.rss", "calendar.atom"):
        ElementTree.fromstring(site.get(key))  # well-formed XML
        assert not feedparser.parse(site.get(key)).bozo, key
    icalendar.Calendar.from_ical(site.get("calendar.ics"))
    assert check_site(site, SITE_URL) == []


def test_a_log_already_holding_such_text_publishes_with_each_character_replaced(publishing, example_store, clock, tmp_path, monkeypatch):
    record_unpublishable_text(example_store, clock, monkeypatch)
    site = LocalDirectory(tmp_path / "site")

    report = publishing.publish(EDITION, to=site)

    assert_publishable(site)
    feed = feedparser.parse(site.get("feed.atom"))
    assert feed.entries[0].title == "Statement\ufffd February 2022 \ufffd"
    assert "a\ufffdb" in site.get("calendar.ics").decode()
    page = site.get(f"editions/{EDITION}/r{report.revision}/index.html").decode()
    assert "Statement\ufffd February 2022" in page and not fields.uncarried(page)
    document = site.get(f"editions/{EDITION}/r{report.revision}/edition.json").decode()
    assert "burglary \ufffd corrected" in json.loads(document)["reason"]
    # The approval is published as hashed, its character JSON-escaped, so its proof still holds.
    assert not fields.uncarried(document) and "burglary \\ufffe corrected" in document
    assert json.loads(document)["approval"]["data"]["reason"] == "burglary \ufffe corrected"
    assert proof_check(site).problems == []
    assert check_lag(site, publishing.site(site), SITE_URL) == []


def test_one_site_file_that_cannot_be_rendered_leaves_the_others_written_and_site_check_sees_the_lag(
    publishing, example_store, clock, tmp_path, monkeypatch
):
    from publishers import site as site_module

    def broken(site):
        raise ValueError("All strings must be XML compatible")

    monkeypatch.setattr(site_module, "feeds", broken)
    site = LocalDirectory(tmp_path / "site")

    with pytest.raises(SiteIncomplete) as incomplete:
        publishing.publish(EDITION, to=site)

    assert set(incomplete.value.failed) == {"feed.atom", "feed.rss"}
    assert "All strings must be XML compatible" in str(incomplete.value)
    for key in ("index.html", "latest/index.html", "calendar.ics", "calendar.json", f"editions/{EDITION}/index.html"):
        assert site.exists(key), f"{key} is written although the feeds are not"
    lag = check_lag(site, publishing.site(site), SITE_URL)
    assert lag and all("feed." in problem and "lags the log" in problem for problem in lag)

    monkeypatch.undo()
    publishing.publish(EDITION, to=site)  # publishing again completes the site
    assert check_lag(site, publishing.site(site), SITE_URL) == []


def test_site_check_reports_an_index_that_does_not_list_a_released_edition(example_database, tmp_path, monkeypatch):
    a_database(example_database, tmp_path, monkeypatch)
    runner = CliRunner()
    to = f"file://{tmp_path / 'site'}"
    published = runner.invoke(cli, ["publish", EDITION, "--to", to, "--site-url", SITE_URL, "--now", "--override-reason", "test"])
    assert published.exit_code == 0, published.output
    index = tmp_path / "site" / "index.html"
    before = index.read_bytes()
    index.write_bytes(re.sub(rb'<li><a href="editions/[^"]+">.*?</li>', b"", before, flags=re.S))

    check = runner.invoke(cli, ["site", "check", "--to", to, "--site-url", SITE_URL])

    assert check.exit_code == 1
    assert f"index.html does not list edition {EDITION} revision 1" in check.output and "lags the log" in check.output


# every text field through publish


# Letters and punctuation with markup, formula and line-break characters, and what XML cannot carry.
# No digits or braces: a number typed into a paragraph or a placeholder is another rule's business.
ODD = ["\x0b", "\x00", "\x1b", "\x7f", "\x85", "\ud800", "\udfff", "\ufffe", "\uffff", "\U0010fffe", "\r", "\n", "\t",
       "&", "<", ">", "]", '"', "'", "=", "@", "-", "+", ";", ",", "\\", "é", "\u202e", "\U0001f600", " "]  # fmt: skip
texts = st.text(alphabet=st.one_of(st.sampled_from(ODD), st.characters(categories=["L", "P", "Zs"], exclude_characters="{}")), min_size=1, max_size=12)

FIELDS = {
    "edition title": lambda s, t: editions.amend_edition(s, EDITION, reason="fuzz", metadata=ANALYST, title="Statement " + t),
    "lead contact": lambda s, t: editions.amend_edition(s, EDITION, reason="fuzz", metadata=ANALYST, lead_contact={"name": "A " + t}),
    "author": lambda s, t: editions.amend_edition(
        s, EDITION, reason="fuzz", metadata=ANALYST, authors=[{"name": "B " + t, "job_title": t}]),
    "amendment reason": lambda s, t: editions.amend_edition(s, EDITION, reason=t, metadata=ANALYST, title="Statement (fuzz)"),
    "paragraph": lambda s, t: editions.write_paragraph(
        s, EDITION, 99, section="force-statement", text="Text " + t, heading=t, footnotes=[t], metadata=ANALYST),
    "measure": lambda s, t: measures.amend_measure(s, "burglary", "fuzz", {"title": "Burglary " + t, "definition": t}, ANALYST),
    "figure": lambda s, t: figures.record_figure(s, "burglary", "west-midlands", "2022-01/2022-12", "5", ANALYST, source=t, note=t),
    "revision reason": lambda s, t: figures.revise_figure(
        s, "burglary", "west-midlands", "2020-10/2021-09", "19108", "correction", t, ANALYST),
}  # fmt: skip


def assert_valid_everywhere(site: LocalDirectory) -> None:
    import html5lib

    assert_publishable(site)
    for key in site.list():
        body = site.get(key)
        if key.endswith((".atom", ".rss")):
            ElementTree.fromstring(body)
        elif key.endswith(".html"):
            html5lib.HTMLParser(strict=True).parse(body)
        elif key.endswith(".json"):
            json.loads(body)
        elif key.endswith(".ics"):
            icalendar.Calendar.from_ical(body)
        elif key.endswith(".csv"):
            rows = list(csv.reader(io.StringIO(body.decode(), newline="")))
            assert len({len(row) for row in rows}) == 1
        if key.endswith((".atom", ".rss", ".html", ".json", ".ics", ".csv")):
            assert fields.uncarried(body.decode()) is None, key


@settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "12")), deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])  # fmt: skip
@given(field=st.sampled_from(sorted(FIELDS)), text=texts, title=texts)
def test_any_text_in_any_field_is_refused_at_the_boundary_or_publishes_valid_xml_html_ics_csv_and_json(
    example_database, tmp_path_factory, field, text, title
):
    directory = tmp_path_factory.mktemp("fuzz")
    shutil.copy(example_database, directory / "store.db")
    clock = FakeClock(LOADED_AT + timedelta(minutes=30))
    engine = make_engine(f"sqlite:///{directory / 'store.db'}")
    store = EventStore(engine, registry, clock=clock)
    try:
        head = store.head()
        try:
            FIELDS[field](store, text)
            Releases(store, clock).announce("2099-01", "2027-03-02T09:30", title="Next " + title, provisional=True)
        except UnpublishableText as refused:
            assert fields.uncarried(text) is not None or fields.uncarried(title) is not None
            assert re.search(r"U\+[0-9A-F]{4,6}, a (control character|lone surrogate|noncharacter), at character \d+", str(refused))
            if FIELDS[field] is not None and fields.uncarried(text) is not None:
                assert store.head().position <= head.position + 1  # the refused command wrote nothing
            return
        except (InvalidValue, NothingToChange):
            return  # refused for another reason: blank once stripped, the same as before
        assert fields.uncarried(text) is None and fields.uncarried(title) is None, "accepted what cannot be published"
        clock.advance(minutes=1)
        editions.approve_edition(store, EDITION, ANALYST, reason="fuzz")
        site = LocalDirectory(directory / "site")
        Publishing(store, site_url=SITE_URL, software_version=VERSION, clock=clock).publish(EDITION, to=site)
        assert_valid_everywhere(site)
    finally:
        engine.dispose()
