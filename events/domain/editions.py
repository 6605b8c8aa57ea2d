"""Statement editions: who wrote them, their numbered paragraphs, 7A(b) applicability, approval.

Stream: `edition-{edition}`. Paragraph numbers run through the whole edition (the force and PCC
statements share one run, 1 to 70 in the seed).

Numbers in paragraphs are *bound* to figures with placeholders that are filled in from the
projection when the edition is rendered, so text and data cannot disagree:

    {{value:homicide:2021-01/2021-12}}          the figure's value            46
    {{baseline:homicide}}                        the baseline figure's value   52
    {{change:homicide:2021-01/2021-12}}          value minus baseline          -6
    {{difference:homicide:2021-01/2021-12}}      |change|                      6
    {{percent:homicide:2021-01/2021-12}}         |change| in whole percent     12%
    {{direction:homicide:2021-01/2021-12}}       reduction / increase / no change
    {{period:homicide:2021-01/2021-12}}          the period in words           January to December 2021

`difference` and `percent` are sizes, to be read with `direction`: "a {{direction:...}} of
{{difference:...}}" reads "a reduction of 70". A fourth part names an area other than the
edition's: `{{value:homicide:2021-01/2021-12:coventry}}`, `{{baseline:homicide::coventry}}`.

A comparison other than the baseline follows the kind after `@`: `previous` (the period of the
same length just before) or `year-earlier` (the same period a year before).
`{{percent@previous:burglary:2022-01/2022-12}}` is the percent change on the previous 12 months,
`{{value@previous:...}}` that period's figure, `{{period@previous:...}}` its period in words.

A measure in percent or a rate changes in points: `{{difference:...}}` reads "10.3 percentage
points", and `{{percent:...}}` on it is refused (a percent of a percentage is never the headline).

A footnote is marked in the text as `[^1]` and its text kept in the paragraph's `footnotes`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field

from . import registry
from .fields import DomainEvent, Priority, Reason, Slug, Text

BindingKind = Literal["value", "baseline", "change", "difference", "percent", "direction", "period"]
BINDING_KINDS: tuple[str, ...] = BindingKind.__args__
BINDING = re.compile(
    r"\{\{(?P<kind>value|baseline|change|difference|percent|direction|period)"
    r"(?:@(?P<against>baseline|previous|year-earlier))?:(?P<measure>[a-z0-9-]+)"
    r"(?::(?P<period>[0-9/-]*))?(?::(?P<area>[a-z0-9-]+))?\}\}"
)
# Anything between double braces, to tell a mistyped placeholder from a good one.
PLACEHOLDER = re.compile(r"\{\{.*?\}\}")
FOOTNOTE_MARK = re.compile(r"\[\^\d+\]")

DEFAULT_SECTIONS = (
    ("force-statement", "Force statement"),
    ("pcc-statement", "Police and Crime Commissioner statement"),
    ("kpi-scorecard", "Police and Crime Plan KPI scorecard"),
)


@dataclass(frozen=True)
class Binding:
    kind: str
    measure: str
    period: str | None
    area: str | None
    text: str  # the placeholder as written
    against: str = "baseline"  # the comparison: baseline, previous, year-earlier


def bindings(text: str) -> list[Binding]:
    return [
        Binding(m["kind"], m["measure"], m["period"] or None, m["area"], m.group(0), m["against"] or "baseline")
        for m in BINDING.finditer(text)
    ]


def unrecognised_placeholders(text: str) -> list[str]:
    """Placeholders in double braces that do not follow the binding grammar (typos)."""
    return [m.group(0) for m in PLACEHOLDER.finditer(text) if not BINDING.fullmatch(m.group(0))]


# -- literal numbers ---------------------------------------------------------------------------
#
# A number typed into prose is flagged unless it is part of a date: a year after a month
# ("January 2021", "June 19"), a day before one ("1 March"), a financial year ("2019/20",
# "2022-23", "2021/2022"), or a four-digit year 1900-2099 after a word that introduces a time
# ("in 2021", "since 2019", "Order 2021") or before "baseline" ("the 2019 baseline", "(2019)").
# A count in that range written without a thousands separator after such a word reads as a
# year: house style writes counts with separators (1,087), which are always flagged.
# Number words are flagged too ("averaging five a month", "one in four", "half a million").

_MONTHS = (
    "january|february|march|april|may|june|july|august|september|october|november|december"
    "|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec"
)
_NUMBER_WORDS = (
    "two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen"
    "|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety"
    "|hundred|thousand|million|billion|dozen"
)
LITERAL_NUMBER = re.compile(
    # Not glued to a word ("Q3", "DG6", "COVID-19"), a decimal point or footnote ("offences.1")
    # or a slash ("24/7" flags 24 only).
    r"(?<![\w.,/£])(?<!\w-)"
    r"(?P<digits>(?P<money>£)?"
    r"(?:\d{1,3}(?:, ?\d{3})+(?!\d)|\d+)(?:\.\d+)?"  # 28,675 and the mistyped 10, 579 are one number each
    r"(?:-\d+(?:\.\d+)?)?"  # a range: 10-15
    r"(?:%|(?(money)(?:bn|m|k|\s(?:million|billion|thousand))(?!\w)))?"
    r"(?![\w£])"
    r")"
    r"|(?P<words>(?i:\b(?:one in (?:two|three|four|five|six|seven|eight|nine|ten|\d+)"
    rf"|half an? (?:million|billion|thousand)|(?:{_NUMBER_WORDS})(?:-(?:{_NUMBER_WORDS}|fold))*)\b))"
)
_YEAR_WORDS = frozenset(
    "in of since from to until till by during before after late early mid ending order year through throughout".split()
)
_MONTH_BEFORE = re.compile(rf"(?i:\b(?:{_MONTHS}))\.?\s+$")
_MONTH_AFTER = re.compile(rf"^(?:st|nd|rd|th)?\s+(?i:(?:{_MONTHS})\b)")
_WORD_BEFORE = re.compile(r"(\w+)\W{0,2}$")
# A period's length is part of naming the period, not a figure: "the previous 12 months", "a
# 12-month period", "the last three years", "rolling 12 months to November 2022".
_LENGTH_BEFORE = re.compile(
    r"(?i:\b(?:previous|last|past|rolling|preceding|latest|recent|same|first|next|the|a|over|each|every|prior))\s+$"
)
_LENGTH_AFTER = re.compile(r"^(?:-|\s+)(?i:months?|quarters?|years?|weeks?)\b")
_FINANCIAL_YEAR = re.compile(r"^(?P<first>(?:19|20)\d\d)(?:[/-](?P<second>\d\d(?:\d\d)?))$")


def _is_date(literal: str, before: str, after: str) -> bool:
    if not literal.isdigit():
        financial = _FINANCIAL_YEAR.match(literal)
        if financial is None:
            return False
        first, second = int(financial["first"]), financial["second"]
        return int(second) in ((first + 1) % 100, first + 1)
    if _MONTH_BEFORE.search(before) and len(literal) in (2, 4):
        return True  # June 2019, June 19
    if len(literal) <= 2 and _MONTH_AFTER.match(after):
        return True  # 1 March
    if len(literal) != 4 or not 1900 <= int(literal) <= 2099:
        return False
    if after[:1] == "/" and after[1:3].isdigit():
        return True  # 2019/20, written with the slash outside the match
    if before.endswith("(") and after.startswith(")"):
        return True  # (2019)
    if after.lstrip().lower().startswith("baseline"):
        return True
    word = _WORD_BEFORE.search(before)
    return word is not None and word.group(1).lower() in _YEAR_WORDS


def _is_period_length(literal: str, before: str, after: str) -> bool:
    """'12' in "the previous 12 months", 'three' in "the last three years": how long a period is."""
    if literal.isdigit():
        if len(literal) > 2:
            return False
    elif not literal.isalpha() or not re.fullmatch(rf"(?i:{_NUMBER_WORDS})", literal):
        return False
    return bool(_LENGTH_BEFORE.search(before) and _LENGTH_AFTER.match(after))


def literal_numbers(text: str) -> list[str]:
    """Numbers typed literally into a paragraph (outside placeholders), for an editor to bind or confirm.

    In order of appearance, repeats included; each as written ("10, 579", "12%", "five").
    """
    prose = FOOTNOTE_MARK.sub(" ", PLACEHOLDER.sub(" ", text))
    found = []
    for match in LITERAL_NUMBER.finditer(prose):
        literal = match.group(0)
        start, end = match.span()
        before, after = prose[max(0, start - 40) : start], prose[end : end + 20]
        if match["digits"] is not None and _is_date(literal, before, after):
            continue
        if _is_period_length(literal, before, after):
            continue
        found.append(literal)
    return found


class Person(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: Text = Field(min_length=1)
    job_title: Text = ""


class Contact(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: Text = Field(min_length=1)
    email: Text = ""
    phone: Text = ""


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    section: Slug
    title: Text = Field(min_length=1)


@registry.event("EditionOpened")
class EditionOpened(DomainEvent):
    edition: Slug
    area: Slug
    title: Text = Field(min_length=1)
    authors: list[Person] = Field(min_length=1)
    lead_contact: Contact
    sections: list[Section] = Field(min_length=1)


def _details_v1_to_v2(data: dict) -> dict:
    """Version 1 had no data cut-off: an amendment then never declared one."""
    return {**data, "data_cutoff": None}


@registry.event("EditionDetailsAmended", version=2, upcasters={1: _details_v1_to_v2})
class EditionDetailsAmended(DomainEvent):
    """Version 2 adds `data_cutoff`: the edition's declared data cut-off (an ISO date, the last day of
    a month), which then decides what it covers instead of the periods its placeholders name."""

    edition: Slug
    reason: Reason
    title: Optional[Text] = None
    authors: Optional[list[Person]] = None
    lead_contact: Optional[Contact] = None
    data_cutoff: Optional[str] = Field(None, pattern=r"^\d{4}-\d{2}-\d{2}$")


@registry.event("NumberStyleChosen")
class NumberStyleChosen(DomainEvent):
    """How the edition prints numbers (events.domain.comparisons.NumberStyle); without one, the
    seed's style: whole percents, counts grouped with commas."""

    edition: Slug
    percent_places: int = Field(ge=0, le=3)
    separators: bool
    reason: Text = ""


@registry.event("PriorityApplicabilityAssessed")
class PriorityApplicabilityAssessed(DomainEvent):
    """Order paragraph 7A(b): whether a national priority applies to the area, and why."""

    edition: Slug
    priority: Priority
    applicable: bool
    reason: Reason


@registry.event("ParagraphWritten")
class ParagraphWritten(DomainEvent):
    edition: Slug
    number: int = Field(ge=1)
    section: Slug
    text: Text = Field(min_length=1)
    heading: Text = ""  # a heading that starts before this paragraph, e.g. "Measure: Reduce Serious Violence"
    priority: Optional[Priority] = None
    footnotes: list[Text] = []  # footnote n is marked [^n] in the text


@registry.event("ParagraphRevised")
class ParagraphRevised(DomainEvent):
    edition: Slug
    number: int = Field(ge=1)
    text: Text = Field(min_length=1)
    reason: Reason
    heading: Optional[Text] = None
    footnotes: Optional[list[Text]] = None


@registry.event("ParagraphRemoved")
class ParagraphRemoved(DomainEvent):
    edition: Slug
    number: int = Field(ge=1)
    reason: Reason


@registry.event("LiteralNumberConfirmed")
class LiteralNumberConfirmed(DomainEvent):
    """An editor confirms a number typed into a paragraph is not a recorded figure (e.g. '22 officers').

    A confirmation covers every occurrence of the literal in the paragraph as it then reads; a
    later ParagraphRevised clears the paragraph's confirmations, since the words around a
    number are what made it safe.
    """

    edition: Slug
    number: int = Field(ge=1)
    literal: Text = Field(min_length=1)
    reason: Reason


class ApprovedFigure(BaseModel):
    """A figure as the approved revision publishes it, and the event that gave it that value."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    measure: Slug
    area: Slug
    period: str
    value: str
    note: str = ""
    source: str = ""
    position: int = Field(ge=1)  # the figure's last FigureRecorded or FigureRevised up to the frozen position
    hash: str = Field(pattern=r"^[0-9a-f]{64}$")  # that event's stored hash: its Merkle leaf


class ApprovedParagraph(BaseModel):
    """A paragraph as the approved revision publishes it (text and heading as written, with their
    placeholders), and the event that gave it that text."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    number: int = Field(ge=1)
    section: Slug
    text: str
    heading: str = ""
    priority: Optional[Priority] = None
    footnotes: list[str] = []
    position: int = Field(ge=1)  # its last ParagraphWritten or ParagraphRevised up to the frozen position
    hash: str = Field(pattern=r"^[0-9a-f]{64}$")


class ApprovedContent(BaseModel):
    """What an approved revision publishes, as the log stood at its frozen position: the approval commits
    to it, so a published edition's proof opens the approval and never the events under it (docs/proofs.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    figures: list[ApprovedFigure]
    paragraphs: list[ApprovedParagraph]


def _approved_v1_to_v2(data: dict) -> dict:
    """Version 1 did not carry what the revision publishes: its edition proves its figures with their events."""
    return {**data, "content": None}


@registry.event("EditionApproved", version=2, upcasters={1: _approved_v1_to_v2})
class EditionApproved(DomainEvent):
    """Freezes the edition at a log position: it is rendered from the log as it stood there.

    Revision 1 is the first approval; a correction after publication approves revision 2, ...
    with the reason it supersedes the previous one. Version 2 adds `content`: every figure and
    paragraph the revision publishes, each with the position and hash of the event it comes from.
    """

    edition: Slug
    revision: int = Field(ge=1)
    position: int = Field(ge=0)
    head_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    reason: Text = ""
    content: Optional[ApprovedContent] = None


def edition_stream(edition: str) -> str:
    return f"edition-{edition}"
