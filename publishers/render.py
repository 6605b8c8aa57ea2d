"""An edition's revision as files: index.html, edition.json, scorecard.csv with its CSVW metadata, manifest.json.

A pure function of the EditionDocument: no clock, no lookups, no set or dict ordering left to chance,
so the same frozen position renders to the same bytes and publishing again is a no-op.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from linkify_it import LinkifyIt
from markupsafe import Markup, escape

from events.domain.areas import force_area
from events.domain.fields import UNCARRIED
from events.domain.comparisons import NumberStyle
from events.domain.editions import BINDING, FOOTNOTE_MARK

from .charts import trend_svg
from .model import (
    EditionDocument, EditionLine, EditionParagraph, Evidence, Figure, ProvenEvent, SourceProof, edition_directory, priority_title, publishable,
)  # fmt: skip
from .stores import content_type_for
from .times import display_time, iso_london, period_label, signed, signed_percent, styled_percent, value_text

SOFTWARE = "policing-metrics"
SCHEMA_VERSION = 1
INDEX, EDITION_JSON, SCORECARD_CSV, CSVW_METADATA, MANIFEST = (
    "index.html", "edition.json", "scorecard.csv", "scorecard.csv-metadata.json", "manifest.json",
)  # fmt: skip
# In the order they are written; the manifest comes last, once every file it lists is in place.
EDITION_FILES = (EDITION_JSON, SCORECARD_CSV, CSVW_METADATA, INDEX)
SITE_TITLE = "Policing performance statements"
NOTICE_KINDS = {
    "correction": "correction",
    "revision": "planned revision",
    "withdrawn": "figure withdrawn",
    "recorded": "figure added",
    "paragraph": "text revised",
}
_TOKENS = re.compile(f"{BINDING.pattern}|{FOOTNOTE_MARK.pattern}")
# Only addresses written out in full become links: a bare "ons.gov.uk" beside a URL stays text.
_LINKS = LinkifyIt(options={"fuzzy_link": False, "fuzzy_ip": False})
_LINKED_SCHEMES = ("http:", "https:", "mailto:")


@dataclass(frozen=True)
class RenderedEdition:
    """The files of one revision, in write order, and its manifest."""

    edition: str
    revision: int
    files: dict[str, bytes]
    manifest: bytes

    organisation: str = ""

    @property
    def directory(self) -> str:
        return edition_directory(self.edition, self.revision, self.organisation)

    @property
    def manifest_hash(self) -> str:
        return hashlib.sha256(self.manifest).hexdigest()

    def key(self, name: str) -> str:
        return f"{self.directory}/{name}"

    def keys(self) -> tuple[str, ...]:
        return tuple(self.key(name) for name in (*self.files, MANIFEST))


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("publishers", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(display_time=display_time, iso_london=iso_london, linked=linked, area_name=area_name)
    return env


def dumps(document: Any) -> bytes:
    """JSON as published: sorted keys, two-space indent, UTF-8, a final newline: stable bytes. A character
    no published text may carry (events.domain.fields.uncarried) is written as its JSON escape: only an
    event as hashed, inside a proof, can still hold one, and a reader must read back exactly its bytes."""
    text = json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    return UNCARRIED.sub(lambda m: json.dumps(m.group())[1:-1], text).encode()


# -- index.html ---------------------------------------------------------------------------------


def area_name(area: str) -> str:
    """A police force area as readers name it ("West Midlands"), from its id; any other area (a sub-area) as recorded."""
    force = force_area(area)
    return force.name if force is not None and force.area == area else area


def linked(text: str) -> Markup:
    """`text` escaped, with every URL and e-mail address written in it a link to itself (text as written)."""
    out, last = [], 0
    for match in _LINKS.match(text) or ():
        if match.schema not in _LINKED_SCHEMES:
            continue
        out.append(escape(text[last : match.index]))
        out.append(Markup('<a href="{}">{}</a>').format(match.url, match.text))
        last = match.last_index
    out.append(escape(text[last:]))
    return Markup("").join(out)


def paragraph_html(paragraph: EditionParagraph) -> Markup:
    """The paragraph's text, escaped, with bound values marked up and footnote marks linked."""
    bound = {value.placeholder: value.text for value in paragraph.bound}
    out, last = [], 0
    for match in _TOKENS.finditer(paragraph.template):
        out.append(linked(paragraph.template[last : match.start()]))
        token = match.group(0)
        if token.startswith("[^"):
            n = int(token[2:-1])
            out.append(
                Markup('<sup><a id="p{0}-fnref{1}" href="#p{0}-fn{1}" aria-label="Footnote {1}">[{1}]</a></sup>').format(
                    paragraph.number, n
                )
            )
        elif token in bound:
            out.append(Markup('<span class="bound">{}</span>').format(bound[token]))
        else:  # approval requires every placeholder to resolve; shown as written if one ever did not
            out.append(escape(token))
        last = match.end()
    out.append(linked(paragraph.template[last:]))
    return Markup("").join(out)


def _line_view(line: EditionLine, style: NumberStyle) -> dict[str, Any]:
    percent = styled_percent(line.value, line.baseline_value, line.unit, style) if line.change is not None else None
    return {
        "measure": line.measure,
        "title": line.title,
        "value_text": value_text(line.value, line.unit, style),
        "period_label": period_label(line.period) or "—",
        "baseline_value": line.baseline_value,
        "baseline_text": value_text(line.baseline_value, line.unit, style),
        "baseline_label": period_label(line.baseline_period),
        "change_text": signed(line.change, line.unit, style),
        "change_percent": percent,
        "percent_text": signed_percent(percent, style),
        "direction": line.direction,
        "assessment": line.assessment,
        "comparisons": [
            {
                "label": compared.label,
                "change_text": signed(compared.change, line.unit, style),
                "percent_text": None
                if (p := styled_percent(line.value, compared.value, line.unit, style)) is None
                else signed_percent(p, style),
            }
            for compared in line.comparisons
        ],
        "chart": trend_svg(f"trend-{line.measure}", line.title, line.unit, line.series, line.baseline_period),
    }


def percent_note(style: NumberStyle) -> str:
    places = "whole percents" if style.percent_places == 0 else f"percents to {style.percent_places} decimal place" + (
        "s" if style.percent_places > 1 else ""
    )
    return f"percentages are {places}, rounded half away from zero"


def _other_figures(doc: EditionDocument) -> list[dict[str, Any]]:
    """Figures quoted in the text that the scorecard does not show (another period length, area, ...)."""
    shown = {(line.measure, line.area, line.period) for line in doc.scorecard}
    shown |= {(line.measure, line.area, line.baseline_period) for line in doc.scorecard if line.baseline_value is not None}
    return [
        {
            "title": figure.title,
            "value_text": value_text(figure.value, figure.unit, doc.number_style),
            "period_label": period_label(figure.period),
            "area": figure.area,
            "source": figure.source,
        }
        for figure in doc.figures
        if (figure.measure, figure.area, figure.period) not in shown
    ]


def render_html(doc: EditionDocument) -> bytes:
    sections = []
    scorecard_placed = False
    for section in doc.sections:
        paragraphs = [
            {
                "number": p.number,
                "heading": p.heading,
                "html": paragraph_html(p),
                "footnotes": p.footnotes,
            }
            for p in doc.paragraphs
            if p.section == section.section
        ]
        # The scorecard goes in the edition's scorecard section (the seed's Appendix A) when it has one.
        scorecard = section.section == "kpi-scorecard"
        scorecard_placed |= scorecard
        if paragraphs or scorecard:
            sections.append({"section": section.section, "title": section.title, "paragraphs": paragraphs, "scorecard": scorecard})
    if not scorecard_placed:
        sections.append({"section": "kpi-scorecard", "title": "KPI scorecard", "paragraphs": [], "scorecard": True})
    template = environment().get_template("edition.html")
    html = template.render(
        doc=_DocView(doc),
        sections=sections,
        scorecard=[_line_view(line, doc.number_style) for line in doc.scorecard],
        percent_note=percent_note(doc.number_style),
        other_figures=_other_figures(doc),
        notice_kinds=NOTICE_KINDS,
        root="../../../",
        hub="../../../../" if doc.organisation else "../../../",  # the checkpoints, proofs and schema are the hub's
        site_title=SITE_TITLE,
        software_version=doc.software_version,
    )
    return html.encode()


class _DocView:
    """The document, plus what the template asks of it."""

    def __init__(self, doc: EditionDocument) -> None:
        self._doc = doc

    def __getattr__(self, name: str) -> Any:
        return getattr(self._doc, name)

    @property
    def revision_is_correction(self) -> bool:
        return bool(self._doc.previous_versions)


# -- edition.json -------------------------------------------------------------------------------


def proven_event_json(e: ProvenEvent) -> dict[str, Any]:
    """An event exactly as the log hashed it, with its inclusion proof (docs/proofs.md)."""
    return {**e.row._asdict(), "data": json.loads(e.row.data), "metadata": json.loads(e.row.metadata), "inclusion_proof": list(e.proof)}


def evidence_json(evidence: Evidence | SourceProof | None) -> dict[str, Any]:
    """A figure's or paragraph's `position` and `proof` (docs/proofs.md). Proof format 2: the inclusion proof
    of the source event the approval names, in the tree of the edition's checkpoint. Format 1: its events as
    hashed, each with its inclusion proof."""
    if evidence is None:
        return {"position": None, "proof": None}
    if isinstance(evidence, SourceProof):
        return {"position": evidence.position, "proof": {"tree_size": evidence.tree_size, "inclusion_proof": list(evidence.proof)}}
    return {
        "position": evidence.position,
        "proof": {"tree_size": evidence.tree_size, "events": [proven_event_json(e) for e in evidence.events]},
    }


def approval_json(doc: EditionDocument) -> dict[str, Any]:
    """Proof format 2 (the approval names what the revision publishes): the marker and the approval event;
    nothing for a revision published in format 1, whose edition.json keeps its bytes."""
    if doc.approval is None:
        return {}
    return {"proof_format": 2, "approval": proven_event_json(doc.approval)}


def checkpoint_json(doc: EditionDocument) -> dict[str, Any] | None:
    if doc.checkpoint is None:
        return None
    return {"size": doc.checkpoint.size, "root_hash": doc.checkpoint.root, "key": doc.checkpoint.key}


def figure_json(figure: Figure) -> dict[str, Any]:
    return {
        "measure": figure.measure,
        "title": figure.title,
        "priority": figure.priority,
        "area": figure.area,
        "period": figure.period,
        "period_label": period_label(figure.period),
        "value": figure.value,
        "unit": figure.unit,
        "polarity": figure.polarity,
        "baseline_period": figure.baseline_period,
        "baseline_value": figure.baseline_value,
        "change": figure.change,
        "change_percent": figure.change_percent,
        "direction": figure.direction,
        "assessment": figure.assessment,
        "source": figure.source,
        "note": figure.note,
        **evidence_json(figure.evidence),
    }


def scorecard_json(line: EditionLine) -> dict[str, Any]:
    return {
        "measure": line.measure,
        "title": line.title,
        "priority": line.priority,
        "area": line.area,
        "period": line.period,
        "period_label": period_label(line.period) or None,
        "value": line.value,
        "unit": line.unit,
        "polarity": line.polarity,
        "baseline_period": line.baseline_period,
        "baseline_value": line.baseline_value,
        "change": line.change,
        "change_unit": line.change_unit,
        "change_percent": line.change_percent,
        "direction": line.direction,
        "assessment": line.assessment,
        "comparisons": [
            {
                "comparison": c.comparison,
                "label": c.label,
                "period": c.period,
                "value": c.value,
                "change": c.change,
                "change_percent": c.change_percent,
                "direction": c.direction,
                "assessment": c.assessment,
            }
            for c in line.comparisons
        ],
        "source": line.source,
        "definition": line.definition,
        "series": [{"period": period, "value": value} for period, value in line.series],
    }


def edition_json(doc: EditionDocument) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "edition": doc.edition,
        "revision": doc.revision,
        "area": doc.area,
        "title": doc.title,
        "release_at": doc.release_at,
        "first_release_at": doc.first_release_at,
        "time_zone": "Europe/London",
        "approved_at": doc.approved_at,
        "reason": doc.reason,
        "frozen_at": {"position": doc.frozen_position, "head_hash": doc.head_hash},
        "checkpoint": checkpoint_json(doc),
        **approval_json(doc),
        "number_style": doc.number_style.as_data(),
        "authors": [{"name": p.name, "job_title": p.job_title} for p in doc.authors],
        "lead_contact": {"name": doc.lead_contact.name, "email": doc.lead_contact.email, "phone": doc.lead_contact.phone},
        "sections": [{"section": s.section, "title": s.title} for s in doc.sections],
        "applicability": [
            {"priority": a.priority, "title": a.title, "applicable": a.applicable, "reason": a.reason} for a in doc.applicability
        ],
        "paragraphs": [
            {
                "number": p.number,
                "section": p.section,
                "heading": p.heading,
                "priority": p.priority,
                "priority_title": priority_title(p.priority) or None,
                "text": p.text,
                "template": p.template,
                "footnotes": list(p.footnotes),
                "bound_values": [
                    {
                        "placeholder": b.placeholder,
                        "kind": b.kind,
                        "measure": b.measure,
                        "area": b.area,
                        "period": b.period,
                        "text": b.text,
                    }
                    for b in p.bound
                ],
                "heading_template": p.heading_template,
                **evidence_json(p.evidence),
            }
            for p in doc.paragraphs
        ],
        "scorecard": [scorecard_json(line) for line in doc.scorecard],
        "figures": [figure_json(figure) for figure in doc.figures],
        "notices": [
            {
                "kind": n.kind,
                "subject": n.subject,
                "what": n.what,
                "reason": n.reason,
                "scale": n.scale,
                "impact": n.impact,
                "recorded_at": n.recorded_at,
            }
            for n in doc.notices
        ],
        "previous_versions": [
            {
                "revision": v.revision,
                "released_at": v.released_at,
                "superseded_at": v.superseded_at,
                "superseded_by": v.superseded_by,
                "reason": v.reason,
                "path": f"../r{v.revision}/",
            }
            for v in doc.previous_versions
        ],
        "software": {"name": SOFTWARE, "version": doc.software_version},
    }


# -- scorecard.csv and its CSV on the Web metadata -----------------------------------------------

# An ISO 8601 interval of months or days, as events.domain.fields writes a period.
PERIOD = {"base": "string", "format": r"^\d{4}-\d{2}(-\d{2})?/\d{4}-\d{2}(-\d{2})?$"}
# (name, CSVW datatype, required, description): one concept, one name, as in edition.json.
CSV_COLUMNS: tuple[tuple[str, Any, bool, str], ...] = (
    ("measure", "string", True, "The measure's id."),
    ("title", "string", True, "What the measure counts."),
    ("priority", "string", True, "The national priority the measure reports on (or local)."),
    ("area", "string", True, "The area the figures are for."),
    ("period", PERIOD, False, "The latest figure's reference period: an ISO 8601 interval, both ends inclusive."),
    ("period_label", "string", False, "The reference period in words."),
    ("value", "decimal", False, "The latest figure, exact as recorded."),
    ("unit", "string", True, "count, rate-per-1000, percent, money or percentage-points."),
    ("polarity", "string", True, "lower-is-better or higher-is-better."),
    ("baseline_period", PERIOD, True, "The baseline's reference period (the national baseline is the year ending June 2019)."),
    ("baseline_value", "decimal", False, "The baseline figure."),
    ("change", "decimal", False, "value minus baseline_value, exact, in change_unit."),
    ("change_unit", "string", True, "The unit of change: percentage-points for a percentage, points-per-1000 for a rate, else the unit."),
    ("change_percent", "integer", False,
     "The change as a whole percent of the baseline, rounded half away from zero; empty for a percentage or a rate, "
     "whose change is in points."),
    ("direction", "string", False, "reduction, increase or no change."),
    ("assessment", "string", False, "improving, worsening or no change, given the polarity."),
    ("source", "string", False, "Where the latest figure comes from."),
    ("previous_period", PERIOD, False, "The period of the same length just before the latest figure's."),
    ("previous_value", "decimal", False, "The figure for previous_period."),
    ("previous_change", "decimal", False, "value minus previous_value, exact, in change_unit."),
    ("previous_change_percent", "integer", False, "previous_change as a whole percent of previous_value (counts and money)."),
    ("year_earlier_period", PERIOD, False, "The same period a year before the latest figure's (when it is not previous_period)."),
    ("year_earlier_value", "decimal", False, "The figure for year_earlier_period."),
    ("year_earlier_change", "decimal", False, "value minus year_earlier_value, exact, in change_unit."),
    ("year_earlier_change_percent", "integer", False, "year_earlier_change as a whole percent of year_earlier_value."),
)


# OWASP, CSV Injection: a spreadsheet runs a cell that begins with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
FORMULA_NOTE = (
    "A text cell that would begin with =, +, -, @, a tab or a carriage return begins with an apostrophe instead, "
    "so that no spreadsheet runs it as a formula (OWASP CSV injection guidance); edition.json has the text as recorded."
)
_TEXT_COLUMNS = frozenset(
    name for name, datatype, *_ in CSV_COLUMNS if datatype == "string" or (isinstance(datatype, dict) and datatype["base"] == "string")
)


def csv_cell(name: str, value: Any) -> Any:
    """A cell as scorecard.csv writes it: text that a spreadsheet would run as a formula is defused;
    numbers (decimal and integer columns: -12 is a change, not a formula) are written as they are."""
    if value is None:
        return ""
    if name in _TEXT_COLUMNS and isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def scorecard_csv(doc: EditionDocument) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180
    writer.writerow([name for name, *_ in CSV_COLUMNS])
    for line in doc.scorecard:
        row = scorecard_json(line)
        for compared in line.comparisons:
            prefix = compared.comparison.replace("-", "_")
            row.update({
                f"{prefix}_period": compared.period, f"{prefix}_value": compared.value,
                f"{prefix}_change": compared.change, f"{prefix}_change_percent": compared.change_percent,
            })  # fmt: skip
        writer.writerow([csv_cell(name, row.get(name)) for name, *_ in CSV_COLUMNS])
    return out.getvalue().encode()


def csvw_metadata(doc: EditionDocument) -> dict[str, Any]:
    return {
        "@context": ["http://www.w3.org/ns/csvw", {"@language": "en"}],
        "url": SCORECARD_CSV,
        "dc:title": f"{doc.title}: KPI scorecard",
        "dc:description": (
            "The latest figure for each measure in the area against its baseline figure, as of the log position "
            f"{doc.frozen_position} at which revision {doc.revision} of edition {doc.edition} was approved."
        ),
        "dc:issued": {"@value": doc.release_at, "@type": "xsd:dateTime"},
        "dc:identifier": f"{doc.directory}/{SCORECARD_CSV}",
        "dialect": {"header": True, "encoding": "utf-8", "delimiter": ",", "lineTerminators": ["\r\n"]},
        "tableSchema": {
            "columns": [
                {"name": name, "titles": name, "datatype": datatype, "required": required, "dc:description": description}
                for name, datatype, required, description in CSV_COLUMNS
            ],
            "primaryKey": ["measure", "area"],
        },
        "rdfs:comment": FORMULA_NOTE,
    }


# -- the whole revision ---------------------------------------------------------------------------


def manifest(doc: EditionDocument, files: dict[str, bytes]) -> bytes:
    return dumps(
        {
            "edition": doc.edition,
            "revision": doc.revision,
            "title": doc.title,
            "release_at": doc.release_at,
            "frozen_at": {"position": doc.frozen_position, "head_hash": doc.head_hash},
            "checkpoint": checkpoint_json(doc),
            "software": {"name": SOFTWARE, "version": doc.software_version},
            "directory": doc.directory + "/",
            "files": [
                {
                    "path": name,
                    "sha256": hashlib.sha256(body).hexdigest(),
                    "size": len(body),
                    "content_type": content_type_for(name),
                }
                for name, body in files.items()
            ],
        }
    )


def render_edition(doc: EditionDocument) -> RenderedEdition:
    doc = publishable(doc)
    files = {
        EDITION_JSON: dumps(edition_json(doc)),
        SCORECARD_CSV: scorecard_csv(doc),
        CSVW_METADATA: dumps(csvw_metadata(doc)),
        INDEX: render_html(doc),
    }
    assert tuple(files) == EDITION_FILES
    return RenderedEdition(doc.edition, doc.revision, files, manifest(doc, files), doc.organisation)
