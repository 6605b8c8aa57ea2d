"""Statement editions: who wrote them, their numbered paragraphs, 7A(b) applicability, approval.

Stream: `edition-{edition}`. Paragraph numbers run through the whole edition (the force and PCC
statements share one run, 1 to 70 in the seed).

Numbers in paragraphs are *bound* to figures with placeholders that are filled in from the
projection when the edition is rendered, so text and data cannot disagree:

    {{value:homicide:2021-01/2021-12}}          the figure's value            46
    {{baseline:homicide}}                        the baseline figure's value   52
    {{change:homicide:2021-01/2021-12}}          value minus baseline          -6
    {{percent:homicide:2021-01/2021-12}}         |change| in whole percent     12%
    {{direction:homicide:2021-01/2021-12}}       reduction / increase / no change

A fourth part names an area other than the edition's: `{{value:homicide:2021-01/2021-12:coventry}}`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field

from . import registry
from .fields import DomainEvent, PeriodText, Priority, Reason, Slug, Text

BindingKind = Literal["value", "baseline", "change", "percent", "direction"]
BINDING = re.compile(
    r"\{\{(?P<kind>value|baseline|change|percent|direction):(?P<measure>[a-z0-9-]+)"
    r"(?::(?P<period>[0-9/-]+))?(?::(?P<area>[a-z0-9-]+))?\}\}"
)
# Anything that reads as a number typed into prose: 46, 28,675, 10, 579, 12%, 1.5, £2m.
LITERAL_NUMBER = re.compile(r"(?<![\w{:/-])£?\d[\d,.]*(?:, \d{3})*%?(?![\w}])")

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


def bindings(text: str) -> list[Binding]:
    return [
        Binding(m["kind"], m["measure"], m["period"], m["area"], m.group(0)) for m in BINDING.finditer(text)
    ]


def literal_numbers(text: str) -> list[str]:
    """Numbers typed literally into a paragraph (outside placeholders), for an editor to bind or confirm."""
    return [m.group(0).rstrip(".,") for m in LITERAL_NUMBER.finditer(BINDING.sub(" ", text))]


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


@registry.event("EditionDetailsAmended")
class EditionDetailsAmended(DomainEvent):
    edition: Slug
    reason: Reason
    title: Optional[Text] = None
    authors: Optional[list[Person]] = None
    lead_contact: Optional[Contact] = None


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


@registry.event("ParagraphRevised")
class ParagraphRevised(DomainEvent):
    edition: Slug
    number: int = Field(ge=1)
    text: Text = Field(min_length=1)
    reason: Reason
    heading: Optional[Text] = None


@registry.event("ParagraphRemoved")
class ParagraphRemoved(DomainEvent):
    edition: Slug
    number: int = Field(ge=1)
    reason: Reason


@registry.event("LiteralNumberConfirmed")
class LiteralNumberConfirmed(DomainEvent):
    """An editor confirms a number typed into a paragraph is not a recorded figure (e.g. '22 officers')."""

    edition: Slug
    number: int = Field(ge=1)
    literal: Text = Field(min_length=1)
    reason: Reason


@registry.event("EditionApproved")
class EditionApproved(DomainEvent):
    """Freezes the edition at a log position: it is rendered from the log as it stood there.

    Revision 1 is the first approval; a correction after publication approves revision 2, ...
    with the reason it supersedes the previous one.
    """

    edition: Slug
    revision: int = Field(ge=1)
    position: int = Field(ge=0)
    head_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    reason: Text = ""


def edition_stream(edition: str) -> str:
    return f"edition-{edition}"
