"""Rendering an approved revision: index.html (valid HTML5, WCAG 2.2 AA structure), edition.json against its
schema, scorecard.csv against its CSVW metadata, manifest.json; the same frozen position, the same bytes."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from decimal import Decimal
from pathlib import Path

import html5lib
import jsonschema
import pytest

from events.domain.fields import NATIONAL_PRIORITIES
from publishers.render import CSV_COLUMNS, linked, render_edition
from service.handlers import editions
from service.handlers.editions_published import RevisionTimes, edition_document

from .publish_support import (  # noqa: F401  (fixtures)
    EDITION,
    VERSION,
    clock,
    correct_burglary,
    example_database,
    example_store,
)

ROOT = Path(__file__).resolve().parent.parent
RELEASE_AT = "2022-02-01T09:30:00+00:00"
TIMES = RevisionTimes(RELEASE_AT, RELEASE_AT, ())
XHTML = "{http://www.w3.org/1999/xhtml}"
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def document(example_store):
    return edition_document(example_store, EDITION, 1, TIMES, software_version=VERSION)


@pytest.fixture
def rendered(document):
    return render_edition(document)


@pytest.fixture
def page(rendered):
    """index.html parsed strictly: html5lib raises on any HTML5 parse error."""
    parser = html5lib.HTMLParser(strict=True, namespaceHTMLElements=True)
    return parser.parse(rendered.files["index.html"])


def text_of(element) -> str:
    return re.sub(r"\s+", " ", "".join(element.itertext())).strip()


def all_of(page, tag: str) -> list:
    return list(page.iter(f"{XHTML}{tag}"))


# index.html: valid, structured, accessible


def test_the_page_is_valid_html5_in_british_english_with_a_viewport_and_no_script(rendered, page):
    html = rendered.files["index.html"].decode()
    assert html.startswith("<!DOCTYPE html>\n<html lang=\"en-GB\">")
    assert page.get("lang") == "en-GB"
    assert any(m.get("name") == "viewport" and "width=device-width" in m.get("content") for m in all_of(page, "meta"))
    assert not all_of(page, "script")
    assert not re.search(r"\son[a-z]+=", html), "no inline event handlers: the page needs no JavaScript"
    assert "@media (max-width:40rem)" in html


def test_the_page_has_landmarks_and_a_skip_link_first(page):
    body = page.find(f"{XHTML}body")
    first_link = next(body.iter(f"{XHTML}a"))
    assert first_link.get("href") == "#main" and text_of(first_link) == "Skip to main content"
    assert [len(all_of(page, tag)) for tag in ("header", "main", "footer")] == [1, 1, 1]
    assert all_of(page, "main")[0].get("id") == "main"
    assert all(nav.get("aria-label") or nav.get("aria-labelledby") for nav in all_of(page, "nav"))


def test_headings_start_at_one_h1_and_never_skip_a_level(page):
    levels = [int(element.tag[-1]) for element in page.iter() if re.fullmatch(rf"{re.escape(XHTML)}h[1-6]", str(element.tag))]
    assert levels[0] == 1 and levels.count(1) == 1
    assert all(later - earlier <= 1 for earlier, later in zip(levels, levels[1:])), levels


def test_every_table_has_a_caption_and_scoped_header_cells_and_each_row_a_row_header(page):
    tables = all_of(page, "table")
    assert len(tables) >= 2
    for table in tables:
        assert table.find(f"{XHTML}caption") is not None and text_of(table.find(f"{XHTML}caption"))
        header = table.find(f"{XHTML}thead")
        assert all(th.get("scope") == "col" for th in header.iter(f"{XHTML}th"))
        for row in table.find(f"{XHTML}tbody").iter(f"{XHTML}tr"):
            first = row[0]
            assert first.tag == f"{XHTML}th" and first.get("scope") == "row"


def test_every_id_is_unique_and_every_fragment_link_has_its_target(page):
    ids = [element.get("id") for element in page.iter() if element.get("id")]
    assert len(ids) == len(set(ids))
    for link in all_of(page, "a"):
        href = link.get("href")
        if href.startswith("#"):
            assert href[1:] in ids, href
        assert text_of(link) or link.get("aria-label"), "every link has a name"


def test_each_trend_chart_is_an_image_with_a_title_and_a_description_of_every_point(page, document):
    charts = list(page.iter(f"{SVG}svg"))
    assert len(charts) == len(document.scorecard)
    ids = {element.get("id"): element for element in page.iter() if element.get("id")}
    for chart, line in zip(charts, document.scorecard):
        assert chart.get("role") == "img"
        title_id, desc_id = chart.get("aria-labelledby").split()
        assert ids[title_id].tag == f"{SVG}title" and line.title in text_of(ids[title_id])
        description = text_of(ids[desc_id])
        assert description.count(";") == len(line.series) - 1
    homicide = next(chart for chart in charts if "homicide" in chart.get("aria-labelledby"))
    assert "52 in year ending June 2019 (baseline); 46 in January to December 2021." in text_of(homicide)


def test_the_colours_meet_wcag_aa_contrast(rendered):
    css = rendered.files["index.html"].decode()

    def luminance(colour: str) -> float:
        channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    def contrast(a: str, b: str) -> float:
        high, low = sorted((luminance(a), luminance(b)), reverse=True)
        return (high + 0.05) / (low + 0.05)

    text_pairs = [("#0b0c0c", "#ffffff"), ("#1d70b8", "#ffffff"), ("#4c2c92", "#ffffff"), ("#003078", "#ffffff"),
                  ("#505a5f", "#ffffff"), ("#ffffff", "#0b0c0c"), ("#0b0c0c", "#ffdd00")]  # fmt: skip
    for foreground, background in text_pairs:
        assert foreground in css and background in css
        assert contrast(foreground, background) >= 4.5, (foreground, background)
    # Graphical objects and borders (WCAG 1.4.11): the banner's border, the chart's line and baseline.
    for colour in ("#d4351c", "#003078", "#505a5f"):
        assert contrast(colour, "#ffffff") >= 3


def test_focus_is_visible_and_the_superseded_banner_is_hidden_in_the_immutable_page(rendered, page):
    html = rendered.files["index.html"].decode()
    assert "a:focus-visible" in html and "outline:3px solid" in html
    banner = page.find(f".//{XHTML}div[@id='superseded']")
    assert banner.get("hidden") is not None and "This is not the latest release." in text_of(banner)
    assert '<link rel="stylesheet" href="../status.css">' in html


# index.html: what it says


def test_the_page_names_the_release_time_in_london_the_authors_and_the_lead_contact(page):
    times = all_of(page, "time")
    assert times[0].get("datetime") == RELEASE_AT and text_of(times[0]) == "Tuesday 1 February 2022 09:30 GMT"
    meta = text_of(page.find(f".//{XHTML}dl"))
    assert "Harry Barton, Head of Strategy and Direction" in meta
    assert "Stuart Gardner, Business Planning & Performance Senior Manager" in meta
    assert "Lead contact Stuart Gardner" in meta
    assert "Area West Midlands" in meta  # the area as readers name it, not its id
    assert text_of(page.find(f".//{XHTML}caption[@id='scorecard-caption']")).endswith("in West Midlands against its baseline")


def test_an_area_is_named_as_readers_name_it_and_a_sub_area_as_recorded():
    from publishers.render import area_name

    assert [area_name(a) for a in ("west-midlands", "devon-and-cornwall", "birmingham-lpu")] == [
        "West Midlands",
        "Devon & Cornwall",
        "birmingham-lpu",
    ]


def test_all_seventy_paragraphs_read_as_the_edition_shows_them_with_values_filled_in(page, example_store):
    paragraphs = [p for p in all_of(page, "p") if (p.get("id") or "").startswith("p")]
    assert [p.get("id") for p in paragraphs] == [f"p{n}" for n in range(1, 71)]
    view = editions.view_edition(example_store, EDITION, editions.load_edition(example_store, EDITION)[0].approvals[0].position)
    for element, paragraph in zip(paragraphs, view.state.in_order()):
        expected = re.sub(r"\[\^(\d+)\]", r"[\1]", view.rendered(paragraph.text))
        assert text_of(element) == re.sub(r"\s+", " ", f"{paragraph.number}. {expected}").strip()
    assert "saw 46 homicides, compared to 52 in the year ending June 2019 baseline" in text_of(paragraphs[3])


def test_footnotes_link_both_ways(page):
    ids = {element.get("id") for element in page.iter() if element.get("id")}
    references = [a for a in all_of(page, "a") if (a.get("id") or "").endswith("-fnref1")]
    assert references, "the seed has a footnote"
    for reference in references:
        assert reference.get("href")[1:] in ids
        note = page.find(f".//{XHTML}li[@id='{reference.get('href')[1:]}']")
        back = note.findall(f"{XHTML}a")[-1]
        assert back.get("href") == f"#{reference.get('id')}"
        # WCAG 2.5.3: the name says what the link shows, and more only after it.
        assert back.get("aria-label") is None and text_of(back).startswith("Back to text of paragraph")


def test_a_url_written_in_a_footnote_is_a_link_to_itself(page):
    note = page.find(f".//{XHTML}li[@id='p34-fn1']")
    (link,) = [a for a in note.findall(f"{XHTML}a") if not a.get("href").startswith("#")]
    assert link.get("href") == text_of(link) == (
        "https://www.ons.gov.uk/peoplepopulationandcommunity/crimeandjustice/bulletins/crimeinenglandandwales/yearendingseptember2021#fraud"
    )
    assert "(ons.gov.uk)" in text_of(note), "a bare domain name stays text"


def test_urls_and_addresses_in_text_become_links_and_everything_else_stays_escaped_text():
    html = linked("See https://example.org/a?b=1&c=2, write to data@example.org, not ons.gov.uk <b>or</b> ftp://x.")
    assert html == (
        'See <a href="https://example.org/a?b=1&amp;c=2">https://example.org/a?b=1&amp;c=2</a>, write to '
        '<a href="mailto:data@example.org">data@example.org</a>, not ons.gov.uk &lt;b&gt;or&lt;/b&gt; ftp://x.'
    )


def test_each_national_priority_says_whether_it_applies_and_why(page):
    table = page.find(f".//{XHTML}table")
    assert "Applicability" in text_of(table.find(f"{XHTML}caption"))
    rows = list(table.find(f"{XHTML}tbody"))
    assert len(rows) == len(NATIONAL_PRIORITIES)
    assert text_of(rows[0][0]) == "Reduce murder and other homicide" and text_of(rows[0][1]) == "Applicable"
    assert "police recorded homicides are available for the force area" in text_of(rows[0][2])


def test_the_scorecard_row_shows_value_period_baseline_change_direction_and_assessment(page):
    row = page.find(f".//{XHTML}tr[@id='measure-homicide']")
    cells = [text_of(cell) for cell in row][:7]
    assert cells == ["Homicides", "46", "January to December 2021", "52 (year ending June 2019)", "−6 (−12%)", "reduction", "improving"]
    burglary = [text_of(cell) for cell in page.find(f".//{XHTML}tr[@id='measure-burglary']")][:7]
    assert burglary[1:5] == ["19,018", "year ending September 2021", "28,675 (year ending June 2019)", "−9,657 (−34%)"]


def test_figures_quoted_in_the_text_but_not_in_the_scorecard_are_listed_beside_it(page):
    table = page.find(f".//{XHTML}table[@id='other-figures']")
    rows = [[text_of(cell) for cell in row] for row in table.find(f"{XHTML}tbody")]
    assert ["Firearm discharges", "33", "October to December 2021", "West Midlands"] in [row[:4] for row in rows]
    assert ["Satisfaction with the service (SMS survey)", "79%", "December 2021", "West Midlands"] in [row[:4] for row in rows]


def test_a_first_revision_has_no_notices_and_says_it_is_the_first_release(page):
    assert page.find(f".//{XHTML}section[@aria-labelledby='notices']") is None
    previous = page.find(f".//{XHTML}section[@aria-labelledby='previous-versions']")
    assert "This is the first release of this statement." in text_of(previous)


def test_a_correction_carries_its_notice_and_lists_the_revision_it_supersedes(example_store, clock):
    from service.handlers.editions_published import ReleasedRevision

    revision = correct_burglary(example_store, clock)
    earlier = (ReleasedRevision(1, RELEASE_AT, "2022-02-01T09:30:02.000000Z", "0" * 64),)
    corrected_at = "2026-02-04T09:35:00+00:00"
    document = edition_document(
        example_store, EDITION, revision, RevisionTimes(corrected_at, RELEASE_AT, earlier), software_version=VERSION
    )
    (notice,) = document.notices
    assert notice.kind == "correction" and notice.subject == "Burglary, year ending September 2021"
    assert notice.what == "19,018 became 19,108" and notice.scale == "+90 (+0.5% of the previous figure)"
    assert notice.impact == (
        "Against the baseline it is now a 33% reduction (was a 34% reduction); the assessment is unchanged; quoted in paragraph 20."
    )
    assert "under-counted by 90 offences" in notice.reason
    page = html5lib.HTMLParser(strict=True).parse(render_edition(document).files["index.html"])
    notices = text_of(page.find(f".//{XHTML}section[@aria-labelledby='notices']"))
    assert "Revision 2 supersedes revision 1: Burglary for the year ending September 2021 was under-counted" in notices
    assert "Burglary, year ending September 2021: correction" in notices
    previous = text_of(page.find(f".//{XHTML}section[@aria-labelledby='previous-versions']"))
    assert "Revision 1, released Tuesday 1 February 2022 09:30 GMT; superseded Wednesday 4 February 2026 09:35 GMT by revision 2" in previous


# the machine-readable files


def test_edition_json_is_valid_against_the_documented_schema(rendered):
    schema = json.loads((ROOT / "docs" / "edition.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    errors = sorted(validator.iter_errors(json.loads(rendered.files["edition.json"])), key=str)
    assert not errors, [f"{e.json_path}: {e.message}" for e in errors[:5]]


def test_the_published_schema_is_the_documented_one():
    packaged = ROOT / "publishers" / "schemas" / "edition.schema.json"
    assert packaged.read_bytes() == (ROOT / "docs" / "edition.schema.json").read_bytes()


def test_edition_json_gives_every_figure_with_its_comparison_and_every_paragraph_with_its_bound_values(rendered):
    document = json.loads(rendered.files["edition.json"])
    figures = {(f["measure"], f["period"]): f for f in document["figures"]}
    homicide = figures[("homicide", "2021-01/2021-12")]
    assert {k: homicide[k] for k in ("area", "value", "unit", "baseline_period", "baseline_value", "change", "change_percent", "direction", "assessment")} == {
        "area": "west-midlands", "value": "46", "unit": "count", "baseline_period": "2018-07/2019-06", "baseline_value": "52",
        "change": "-6", "change_percent": -12, "direction": "reduction", "assessment": "improving",
    }  # fmt: skip
    assert "paragraph 4" in homicide["source"]
    quarter = figures[("firearm-discharges", "2021-10/2021-12")]
    assert quarter["change"] is None and quarter["baseline_value"] == "162", "a quarter is not compared with a year"
    paragraph = document["paragraphs"][3]
    assert paragraph["number"] == 4 and "saw 46 homicides" in paragraph["text"]
    assert [(b["kind"], b["text"]) for b in paragraph["bound_values"]] == [
        ("value", "46"), ("baseline", "52"), ("percent", "12%"), ("direction", "reduction")
    ]
    assert document["frozen_at"]["position"] > 0 and document["release_at"] == RELEASE_AT


def test_scorecard_csv_matches_its_csvw_metadata_column_for_column_and_type_for_type(rendered):
    metadata = json.loads(rendered.files["scorecard.csv-metadata.json"])
    assert metadata["@context"][0] == "http://www.w3.org/ns/csvw" and metadata["url"] == "scorecard.csv"
    columns = metadata["tableSchema"]["columns"]
    body = rendered.files["scorecard.csv"].decode()
    assert body.endswith("\r\n")
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0] == [c["name"] for c in columns] == [name for name, *_ in CSV_COLUMNS]
    keys = set()
    for row in rows[1:]:
        for cell, column in zip(row, columns, strict=True):
            if cell == "":
                assert not column["required"], (column["name"], row)
                continue
            datatype = column["datatype"]
            if datatype == "decimal":
                Decimal(cell)
                assert "," not in cell
            elif datatype == "integer":
                assert re.fullmatch(r"-?\d+", cell)
            elif isinstance(datatype, dict):
                assert re.fullmatch(datatype["format"], cell), (column["name"], cell)
        keys.add(tuple(row[[c["name"] for c in columns].index(k)] for k in metadata["tableSchema"]["primaryKey"]))
    assert len(keys) == len(rows) - 1
    homicide = dict(zip(rows[0], next(r for r in rows if r[0] == "homicide")))
    assert (homicide["value"], homicide["baseline_value"], homicide["change"], homicide["change_percent"]) == ("46", "52", "-6", "-12")
    assert metadata["dc:issued"]["@value"] == RELEASE_AT


def test_the_manifest_lists_every_file_with_its_sha256_and_size_and_the_position_it_was_frozen_at(rendered, example_store):
    manifest = json.loads(rendered.manifest)
    approval = editions.load_edition(example_store, EDITION)[0].approvals[0]
    assert manifest["frozen_at"] == {"position": approval.position, "head_hash": approval.head_hash}
    assert manifest["software"] == {"name": "policing-metrics", "version": VERSION}
    assert [f["path"] for f in manifest["files"]] == list(rendered.files)
    for entry in manifest["files"]:
        body = rendered.files[entry["path"]]
        assert entry["sha256"] == hashlib.sha256(body).hexdigest() and entry["size"] == len(body)
    assert rendered.manifest_hash == hashlib.sha256(rendered.manifest).hexdigest()


def test_the_same_frozen_position_renders_the_same_bytes_whatever_the_log_or_clock_did_since(example_store, clock, rendered):
    correct_burglary(example_store, clock)  # figures revised and a new revision approved after revision 1's position
    clock.advance(days=400)

    again = render_edition(edition_document(example_store, EDITION, 1, TIMES, software_version=VERSION))

    assert again.files == rendered.files and again.manifest == rendered.manifest
