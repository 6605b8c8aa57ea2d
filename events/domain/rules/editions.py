"""Statement editions: details, 7A(b) applicability, numbered paragraphs, literal numbers, approval.

An edition is approved only when every national priority is assessed, every placeholder binds
a defined measure to a recorded figure, and every number typed into the text is confirmed.
Approval names a log position: the edition is what the log said there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Iterable, Mapping


from ..comparisons import BASELINE, SEED_STYLE, NumberStyle, change_of, comparison, in_points, style_of
from ..editions import (
    Binding,
    EditionApproved,
    EditionDetailsAmended,
    EditionOpened,
    LiteralNumberConfirmed,
    NumberStyleChosen,
    ParagraphRemoved,
    ParagraphRevised,
    ParagraphWritten,
    PriorityApplicabilityAssessed,
    bindings,
    literal_numbers,
    unrecognised_placeholders,
)
from ..errors import (
    BadPlaceholders,
    EditionAlreadyOpened,
    InvalidValue,
    NotReadyToApprove,
    NothingToChange,
    ParagraphNumberTaken,
    UnknownEdition,
    UnknownParagraph,
)
from ..fields import NATIONAL_PRIORITIES, trim
from ..periods import Period
from . import values
from .figures import Figure, figure_key
from .measures import Measure

# Kinds that set a figure against a comparison's figure.
CHANGE_KINDS = ("change", "difference", "percent", "direction")


@dataclass
class Paragraph:
    number: int
    section: str
    text: str
    heading: str = ""
    priority: str | None = None
    footnotes: tuple[str, ...] = ()
    confirmed: dict[str, str] = field(default_factory=dict)  # literal -> reason

    def literals(self) -> list[str]:
        """Distinct literal numbers in the heading and text, in order."""
        return list(dict.fromkeys(literal_numbers(f"{self.heading}\n{self.text}")))

    def unconfirmed(self) -> list[str]:
        return [literal for literal in self.literals() if literal not in self.confirmed]


@dataclass(frozen=True)
class Approval:
    revision: int
    position: int
    head_hash: str
    reason: str
    recorded_at: str = ""
    content: dict[str, Any] | None = None  # what the revision publishes (EditionApproved v2), as data
    event_position: int = 0  # the approval's own log position (0: not read)

    @property
    def tree_size(self) -> int:
        """The tree its published edition is proved in (docs/proofs.md): an approval that names what it
        publishes is itself proved, so the tree runs to the approval; else the frozen position."""
        return self.event_position if self.content is not None and self.event_position else self.position


@dataclass
class Edition:
    edition: str
    area: str
    title: str
    authors: list[dict[str, str]]
    lead_contact: dict[str, str]
    sections: dict[str, str]  # slug -> title, in order
    applicability: dict[str, tuple[bool, str]] = field(default_factory=dict)
    paragraphs: dict[int, Paragraph] = field(default_factory=dict)
    approvals: list[Approval] = field(default_factory=list)
    style: NumberStyle = SEED_STYLE
    declared_cutoff: date | None = None  # the data cut-off the edition states (EditionDetailsAmended v2)

    def in_order(self) -> list[Paragraph]:
        return [self.paragraphs[number] for number in sorted(self.paragraphs)]

    def bindings(self) -> list[tuple[int, Binding]]:
        return [(p.number, b) for p in self.in_order() for b in bindings(f"{p.heading}\n{p.text}")]


def fold(
    events: Iterable[tuple[str, dict[str, Any]]], recorded_at: Iterable[str] | None = None, positions: Iterable[int] | None = None
) -> Edition | None:
    state: Edition | None = None
    times = iter(recorded_at) if recorded_at is not None else None
    places = iter(positions) if positions is not None else None
    for type_, data in events:
        when = next(times, "") if times is not None else ""
        where = next(places, 0) if places is not None else 0
        if type_ == "EditionOpened":
            state = Edition(
                data["edition"],
                data["area"],
                data["title"],
                list(data["authors"]),
                dict(data["lead_contact"]),
                {s["section"]: s["title"] for s in data["sections"]},
            )
        elif state is None:
            continue
        elif type_ == "EditionDetailsAmended":
            for name in ("title", "authors", "lead_contact"):
                if data.get(name) is not None:
                    setattr(state, name, data[name])
            if data.get("data_cutoff") is not None:
                state.declared_cutoff = date.fromisoformat(data["data_cutoff"])
        elif type_ == "NumberStyleChosen":
            state.style = style_of(data)
        elif type_ == "PriorityApplicabilityAssessed":
            state.applicability[data["priority"]] = (data["applicable"], data["reason"])
        elif type_ == "ParagraphWritten":
            state.paragraphs[data["number"]] = Paragraph(
                data["number"],
                data["section"],
                data["text"],
                data.get("heading", ""),
                data.get("priority"),
                tuple(data.get("footnotes", ())),
            )
        elif type_ == "ParagraphRevised":
            old = state.paragraphs[data["number"]]
            state.paragraphs[data["number"]] = Paragraph(
                old.number,
                old.section,
                data["text"],
                old.heading if data.get("heading") is None else data["heading"],
                old.priority,
                old.footnotes if data.get("footnotes") is None else tuple(data["footnotes"]),
            )
        elif type_ == "ParagraphRemoved":
            state.paragraphs.pop(data["number"], None)
        elif type_ == "LiteralNumberConfirmed":
            state.paragraphs[data["number"]].confirmed[data["literal"]] = data["reason"]
        elif type_ == "EditionApproved":
            state.approvals.append(
                Approval(
                    data["revision"], data["position"], data["head_hash"], data.get("reason", ""), when, data.get("content"), where
                )
            )
    return state


def _require(current: Edition | None, edition: str) -> Edition:
    if current is None:
        raise UnknownEdition(edition)
    return current


def _person(field_name: str, person: Any, keys: tuple[str, ...]) -> dict[str, str]:
    if not isinstance(person, Mapping) or not trim(str(person.get("name") or "")):
        raise InvalidValue(field_name, "a person with a name", person)
    unknown = set(person) - set(keys)
    if unknown:
        raise InvalidValue(field_name, f"only the keys {', '.join(keys)}", ", ".join(sorted(unknown)))
    return {key: trim(str(person.get(key) or "")) for key in keys}


def _contact(contact: Any) -> dict[str, str]:
    """The lead contact the public is told to write to or ring: an address and a number that can be used."""
    checked = _person("lead_contact", contact, ("name", "email", "phone"))
    if checked["email"]:
        import email_validator  # loaded when an address is checked, not at every start-up

        try:
            email_validator.validate_email(checked["email"], check_deliverability=False)
        except email_validator.EmailNotValidError as exc:
            raise InvalidValue(
                "lead_contact.email", "an email address such as performance@west-midlands.police.uk", checked["email"], str(exc)
            ) from None
    if checked["phone"]:
        import phonenumbers  # as email_validator

        try:
            number = phonenumbers.parse(checked["phone"], "GB")
        except phonenumbers.NumberParseException as exc:
            number, why = None, str(exc).split(") ", 1)[-1]
        else:
            why = "not a number in use in its country's numbering plan"
        if number is None or not phonenumbers.is_valid_number(number):
            raise InvalidValue(
                "lead_contact.phone", "a telephone number such as 0121 626 5000 or +44 121 626 5000", checked["phone"], why
            )
    return checked


def _authors(authors: Any) -> list[dict[str, str]]:
    if not isinstance(authors, (list, tuple)) or not authors:
        raise InvalidValue("authors", "at least one author with a name and job title", authors)
    return [_person("authors", author, ("name", "job_title")) for author in authors]


def open_edition(
    current: Edition | None,
    *,
    edition: str,
    area: str,
    title: str,
    authors: list[Mapping[str, str]],
    lead_contact: Mapping[str, str],
    sections: list[tuple[str, str]],
) -> EditionOpened:
    values.slug("edition", edition)
    area = values.area("area", area)
    values.text("title", title, required=True)
    if current is not None:
        raise EditionAlreadyOpened(edition)
    if not sections:
        raise InvalidValue("sections", "at least one section", sections)
    seen = set()
    for slug, section_title in sections:
        values.slug("section", slug)
        values.text("section title", section_title, required=True)
        if slug in seen:
            raise InvalidValue("sections", "each section once", slug)
        seen.add(slug)
    return EditionOpened(
        edition=edition,
        area=area,
        title=title,
        authors=_authors(authors),
        lead_contact=_contact(lead_contact),
        sections=[{"section": slug, "title": section_title} for slug, section_title in sections],
    )


def amend_details(
    current: Edition | None,
    *,
    edition: str,
    reason: str | None,
    title: str | None = None,
    authors: list[Mapping[str, str]] | None = None,
    lead_contact: Mapping[str, str] | None = None,
    data_cutoff: Any = None,
) -> EditionDetailsAmended:
    state = _require(current, edition)
    changes: dict[str, Any] = {}
    if data_cutoff is not None and (cutoff := declared_cutoff("data_cutoff", data_cutoff)) != state.declared_cutoff:
        changes["data_cutoff"] = cutoff.isoformat()
    if title is not None and values.text("title", title, required=True) != state.title:
        changes["title"] = title
    if authors is not None and (checked := _authors(authors)) != state.authors:
        changes["authors"] = checked
    if lead_contact is not None:
        contact = _contact(lead_contact)
        if contact != state.lead_contact:
            changes["lead_contact"] = contact
    if not changes:
        raise NothingToChange(f"edition {edition!r} already has these details: nothing to amend")
    values.reason("reason", reason, f"a reason for amending the edition's {', '.join(changes)}")
    return EditionDetailsAmended(edition=edition, reason=reason, **changes)


def choose_style(
    current: Edition | None, *, edition: str, percent_places: Any, separators: Any, reason: str | None = None
) -> NumberStyleChosen:
    """How the edition prints numbers: percent decimal places (0 to 3) and thousands separators."""
    state = _require(current, edition)
    if not isinstance(percent_places, int) or isinstance(percent_places, bool) or not 0 <= percent_places <= 3:
        raise InvalidValue("percent_places", "a whole number of decimal places from 0 to 3", percent_places)
    if not isinstance(separators, bool):
        raise InvalidValue("separators", "true (28,675) or false (28675)", separators)
    chosen = NumberStyle(percent_places, separators)
    if chosen == state.style:
        raise NothingToChange(f"edition {edition!r} already prints numbers so")
    if state.approvals:
        values.reason("reason", reason, "a reason for changing the number style of an approved edition")
    return NumberStyleChosen(edition=edition, percent_places=percent_places, separators=separators, reason=reason or "")


def assess_priority(
    current: Edition | None, *, edition: str, priority: str, applicable: bool, reason: str | None
) -> PriorityApplicabilityAssessed:
    """Order paragraph 7A(b): applicable or not, and why. A later assessment replaces an earlier one."""
    state = _require(current, edition)
    values.national_priority("priority", priority)
    values.reason("reason", reason, f"the reason {priority} is {'' if applicable else 'not '}applicable")
    if state.applicability.get(priority) == (applicable, reason):
        raise NothingToChange(f"priority {priority} is already assessed so, with that reason")
    return PriorityApplicabilityAssessed(edition=edition, priority=priority, applicable=applicable, reason=reason)


def binding_problems(binding: Binding, measures: Mapping[str, Measure | None]) -> list[str]:
    """What is wrong with a placeholder on its own: grammar, measure, period."""
    found = []
    measure = measures.get(binding.measure)
    if measure is None:
        found.append(f"{binding.text}: measure {binding.measure!r} is not defined")
    elif measure.retired:
        found.append(f"{binding.text}: measure {binding.measure!r} is retired ({measure.retired_reason})")
    if binding.kind == "baseline":
        if binding.period:
            found.append(f"{binding.text}: a baseline takes the measure's baseline period; write {{{{baseline:{binding.measure}}}}}")
        if binding.against != BASELINE:
            found.append(
                f"{binding.text}: the baseline is a comparison itself; write {{{{value@{binding.against}:{binding.measure}:PERIOD}}}} "
                "for the figure of that comparison"
            )
    elif not binding.period:
        found.append(f"{binding.text}: expected a period, such as {{{{{binding.kind}:{binding.measure}:2021-01/2021-12}}}}")
    else:
        try:
            values.period("period", binding.period)
        except InvalidValue as exc:
            found.append(f"{binding.text}: {exc.detail}")
    if binding.kind == "percent" and measure is not None and in_points(measure.unit):
        shown = binding.text.replace("{{percent", "{{difference", 1)
        found.append(
            f"{binding.text}: {binding.measure} is a {measure.unit} measure, so its change is in "
            f"{'percentage points' if measure.unit != 'rate-per-1000' else 'points per 1,000'}, never a percent of it: "
            f"write {shown} (it reads \"10.3 percentage points\") with {shown.replace('{{difference', '{{direction', 1)}"
        )
    return found


def _text_problems(text: str, heading: str, measures: Mapping[str, Measure | None]) -> list[str]:
    found = [
        f"{placeholder}: not a placeholder; expected {{{{KIND:MEASURE:PERIOD}}}} with KIND one of "
        "value, baseline, change, difference, percent, direction, period (and @previous or @year-earlier after it "
        "for another comparison)"
        for placeholder in unrecognised_placeholders(f"{heading}\n{text}")
    ]
    for binding in bindings(f"{heading}\n{text}"):
        found.extend(binding_problems(binding, measures))
    return found


def _require_text_bindings(text: str, heading: str, measures: Mapping[str, Measure | None]) -> None:
    found = _text_problems(text, heading, measures)
    if found:
        raise BadPlaceholders("text", found)


def write_paragraph(
    current: Edition | None,
    measures: Mapping[str, Measure | None],
    *,
    edition: str,
    number: int,
    section: str,
    text: str,
    heading: str = "",
    priority: str | None = None,
    footnotes: list[str] | tuple[str, ...] = (),
) -> ParagraphWritten:
    state = _require(current, edition)
    if not isinstance(number, int) or isinstance(number, bool) or number < 1:
        raise InvalidValue("number", "a paragraph number of 1 or more", number)
    if section not in state.sections:
        raise InvalidValue("section", f"one of the edition's sections: {', '.join(state.sections)}", section)
    if number in state.paragraphs:
        raise ParagraphNumberTaken(edition, number, state.paragraphs[number].section)
    values.text("text", text, required=True)
    values.text("heading", heading)
    if priority is not None:
        values.priority("priority", priority)
    _require_text_bindings(text, heading, measures)
    return ParagraphWritten(
        edition=edition,
        number=number,
        section=section,
        text=text,
        heading=heading or "",
        priority=priority,
        footnotes=list(footnotes),
    )


def revise_paragraph(
    current: Edition | None,
    measures: Mapping[str, Measure | None],
    *,
    edition: str,
    number: int,
    text: str,
    reason: str | None,
    heading: str | None = None,
    footnotes: list[str] | tuple[str, ...] | None = None,
) -> ParagraphRevised:
    """New text for a paragraph. Its literal-number confirmations are cleared (see LiteralNumberConfirmed)."""
    state = _require(current, edition)
    paragraph = state.paragraphs.get(number)
    if paragraph is None:
        raise UnknownParagraph(edition, number)
    values.text("text", text, required=True)
    same_heading = heading is None or heading == paragraph.heading
    same_notes = footnotes is None or tuple(footnotes) == paragraph.footnotes
    if text == paragraph.text and same_heading and same_notes:
        raise NothingToChange(f"paragraph {number} already reads so: nothing to revise")
    values.reason("reason", reason, f"a reason for revising paragraph {number}")
    _require_text_bindings(text, paragraph.heading if heading is None else heading, measures)
    return ParagraphRevised(
        edition=edition,
        number=number,
        text=text,
        reason=reason,
        heading=None if same_heading else heading,
        footnotes=None if same_notes else list(footnotes or ()),
    )


def remove_paragraph(current: Edition | None, *, edition: str, number: int, reason: str | None) -> ParagraphRemoved:
    state = _require(current, edition)
    if number not in state.paragraphs:
        raise UnknownParagraph(edition, number)
    values.reason("reason", reason, f"a reason for removing paragraph {number}")
    return ParagraphRemoved(edition=edition, number=number, reason=reason)


def confirm_literal(
    current: Edition | None, *, edition: str, number: int, literal: str, reason: str | None
) -> LiteralNumberConfirmed:
    """An editor confirms a literal number is meant as typed (not a figure to bind)."""
    state = _require(current, edition)
    paragraph = state.paragraphs.get(number)
    if paragraph is None:
        raise UnknownParagraph(edition, number)
    literals = paragraph.literals()
    if literal not in literals:
        raise InvalidValue(
            "literal",
            f"one of the numbers typed in paragraph {number}: {', '.join(literals) or 'there are none'}",
            literal,
        )
    if literal in paragraph.confirmed:
        raise NothingToChange(f"{literal!r} in paragraph {number} is already confirmed ({paragraph.confirmed[literal]})")
    values.reason("reason", reason, f"why {literal!r} in paragraph {number} is not a recorded figure")
    return LiteralNumberConfirmed(edition=edition, number=number, literal=literal, reason=reason)


# -- figures behind the placeholders -------------------------------------------------------------


def figures_needed(state: Edition, measures: Mapping[str, Measure | None]) -> set[tuple[str, str, str]]:
    """(measure, area, period) of every figure the edition's placeholders read, baselines included."""
    return {key for _, binding in state.bindings() for key in binding_reads(binding, state.area, measures)}


def binding_reads(binding: Binding, area: str, measures: Mapping[str, Measure | None]) -> set[tuple[str, str, str]]:
    """(measure, area, period) of every figure one placeholder reads."""
    needed = set()
    area = binding.area or area
    measure = measures.get(binding.measure)
    if measure is not None:
        measure = measure.for_area(area)  # one force's baseline is not another's
    if binding.kind != "baseline" and binding.period:
        needed.add((binding.measure, area, binding.period))
    if measure is None:
        return needed
    if binding.kind == "baseline":
        needed.add((binding.measure, area, measure.baseline_period))
    elif binding.period and (binding.kind in CHANGE_KINDS or binding.against != BASELINE):
        against = _against(binding, measure)
        if against is not None:
            needed.add((binding.measure, area, against.period))
    return needed


def _against(binding: Binding, measure: Measure):
    try:
        return comparison(binding.against, binding.period, measure.baseline_period)
    except ValueError:  # a malformed period: binding_problems says so
        return None


@dataclass(frozen=True)
class Resolved:
    text: str | None  # what the placeholder reads as, or None
    problem: str | None = None


def resolve(
    binding: Binding,
    area: str,
    measures: Mapping[str, Measure | None],
    figures: Mapping[tuple[str, str, str], Figure | None],
    style: NumberStyle = SEED_STYLE,
) -> Resolved:
    """The words a placeholder stands for, from the recorded figures, or the reason it has none."""
    grammar = binding_problems(binding, measures)
    if grammar:
        return Resolved(None, grammar[0])
    area = binding.area or area
    measure = measures[binding.measure].for_area(area)  # type: ignore[union-attr]

    def figure(period: str, what: str) -> tuple[Decimal | None, str | None]:
        found = figures.get((binding.measure, area, period))
        key = figure_key(binding.measure, area, period)
        if found is None:
            return None, f"{binding.text}: no {what} {key} is recorded"
        if found.withdrawn:
            return None, f"{binding.text}: the {what} {key} was withdrawn ({found.withdrawn_reason})"
        return Decimal(found.value), None

    if binding.kind == "baseline":
        baseline, problem = figure(measure.baseline_period, "baseline figure")
        return Resolved(None, problem) if problem else Resolved(style.value(baseline, measure.unit))
    period = binding.period
    against = None
    if binding.against != BASELINE or binding.kind in CHANGE_KINDS:
        against = _against(binding, measure)
        if against is None:
            return Resolved(None, f"{binding.text}: {period} has no {binding.against} period to compare with")
        if binding.against == BASELINE and not Period.parse(period).same_length(Period.parse(against.period)):
            return Resolved(
                None,
                f"{binding.text}: {period} is not the same length as the baseline period "
                f"{measure.baseline_period}; compare like with like",
            )
    if binding.kind == "period":
        return Resolved(Period.parse(against.period if against and binding.against != BASELINE else period).label())
    if binding.kind == "value" and against is not None and binding.against != BASELINE:
        earlier, problem = figure(against.period, f"{binding.against} figure")
        return Resolved(None, problem) if problem else Resolved(style.value(earlier, measure.unit))
    value, problem = figure(period, "figure")
    if problem:
        return Resolved(None, problem)
    if binding.kind == "value":
        return Resolved(style.value(value, measure.unit))
    what = "baseline figure" if binding.against == BASELINE else f"{binding.against} figure"
    earlier, problem = figure(against.period, what)  # type: ignore[union-attr]
    if problem:
        return Resolved(None, problem)
    change = change_of(value, earlier, measure.unit)
    if binding.kind == "direction":
        return Resolved(change.direction)
    if binding.kind == "change":
        return Resolved(style.signed(change.change, measure.unit).lstrip("+"))
    if binding.kind == "difference":
        return Resolved(style.size(change.change, measure.unit))
    percent = change.percent(style.percent_places)
    if percent is None:
        return Resolved(None, f"{binding.text}: the {what} is 0, so there is no percentage change")
    return Resolved(style.percent(percent))


def render(
    text: str,
    area: str,
    measures: Mapping[str, Measure | None],
    figures: Mapping[tuple[str, str, str], Figure | None],
    style: NumberStyle = SEED_STYLE,
) -> str:
    """The text with each placeholder filled in; one that cannot be is left as written."""
    out = text
    for binding in bindings(text):
        resolved = resolve(binding, area, measures, figures, style)
        if resolved.text is not None:
            out = out.replace(binding.text, resolved.text, 1)
    return out


@dataclass(frozen=True)
class Problem:
    """One thing that stands in the way of approval."""

    where: str  # "paragraph 4", "priority cyber-crime", "edition"
    message: str
    kind: str  # literal, binding, priority, empty
    number: int | None = None
    literal: str | None = None

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


def check(
    state: Edition,
    measures: Mapping[str, Measure | None],
    figures: Mapping[tuple[str, str, str], Figure | None],
) -> list[Problem]:
    """Everything that stands in the way of approval, in paragraph order, priorities last."""
    found: list[Problem] = []
    if not state.paragraphs:
        found.append(Problem("edition", "has no paragraphs", "empty"))
    for paragraph in state.in_order():
        where = f"paragraph {paragraph.number}"
        for placeholder in unrecognised_placeholders(f"{paragraph.heading}\n{paragraph.text}"):
            found.append(Problem(where, f"{placeholder} is not a placeholder", "binding", paragraph.number))
        seen = set()
        for binding in bindings(f"{paragraph.heading}\n{paragraph.text}"):
            if binding.text in seen:
                continue
            seen.add(binding.text)
            resolved = resolve(binding, state.area, measures, figures, state.style)
            if resolved.problem:
                found.append(Problem(where, resolved.problem, "binding", paragraph.number))
        for literal in paragraph.unconfirmed():
            found.append(
                Problem(
                    where,
                    f"the number {literal!r} is typed, not bound to a figure: bind it to a figure or confirm it with a reason",
                    "literal",
                    paragraph.number,
                    literal,
                )
            )
    if state.declared_cutoff is not None:
        for number, binding in state.bindings():
            if binding.kind != "baseline" and binding.period and (binding.area or state.area) == state.area:
                try:
                    end = Period.parse(binding.period).end
                except ValueError:  # a malformed period: reported above
                    continue
                if end > state.declared_cutoff:
                    found.append(
                        Problem(
                            f"paragraph {number}",
                            f"{binding.text}: the period ends {end.isoformat()}, after the edition's data cut-off "
                            f"{state.declared_cutoff.isoformat()}: bind a period it covers, or amend the cut-off",
                            "binding",
                            number,
                        )
                    )
    for priority in NATIONAL_PRIORITIES:
        if priority not in state.applicability:
            found.append(
                Problem(f"priority {priority}", "applicability not assessed (Order paragraph 7A(b)): say whether it applies and why", "priority")
            )
    return found


def approve(
    current: Edition | None,
    problems: list[Problem],
    *,
    edition: str,
    position: int,
    head_hash: str,
    reason: str | None = None,
    content: dict[str, Any] | None = None,
) -> EditionApproved:
    """Freeze the edition at `position`; a later approval is the next revision and needs a reason.
    `content`: what the revision publishes there (ApprovedContent's data), which the approval commits to."""
    state = _require(current, edition)
    if problems:
        raise NotReadyToApprove(edition, problems)
    revision = len(state.approvals) + 1
    if revision > 1:
        values.reason(
            "reason", reason, f"a reason for approving revision {revision}, which supersedes revision {revision - 1}"
        )
    return EditionApproved(
        edition=edition, revision=revision, position=position, head_hash=head_hash, reason=reason or "", content=content
    )


# -- what an edition covers ----------------------------------------------------------------------


def declared_cutoff(field_name: str, value: Any) -> date:
    """A data cut-off as stated: an ISO date that ends a month (reference periods are whole months),
    in 1900 or later."""
    expected = "the last day of a month as an ISO date, such as 2021-12-31 (the end of the latest reference period the edition covers)"
    if isinstance(value, date):
        value = value.isoformat()
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        raise InvalidValue(field_name, expected, value)
    try:
        cutoff = date.fromisoformat(value.strip())
    except ValueError as exc:
        raise InvalidValue(field_name, expected, value, str(exc)) from None
    if (cutoff + timedelta(days=1)).day != 1:
        raise InvalidValue(field_name, expected, value, f"{cutoff.isoformat()} does not end a month")
    if cutoff.year < values.EARLIEST_YEAR:
        raise InvalidValue(field_name, f"a date in {values.EARLIEST_YEAR} or later", value)
    return cutoff


def named_cutoff(state: Edition) -> date | None:
    """The latest end of the reference periods the edition's placeholders name (None: it names none)."""
    ends = [Period.parse(binding.period).end for _, binding in state.bindings() if binding.kind != "baseline" and binding.period]
    return max(ends, default=None)


def data_cutoff(state: Edition) -> date | None:
    """The edition's data cut-off: the one it declares (`edition amend --data-cutoff`), else the latest
    end of the reference periods its placeholders name. The edition covers its area's figures for
    periods ending on or before it (None: it declares none and names none)."""
    return state.declared_cutoff or named_cutoff(state)


Key = tuple[str, str, str]  # (measure, area, period)


@dataclass(frozen=True)
class OtherRelease:
    """Another edition as the calendar and its placeholders stood at a position."""

    edition: str
    area: str
    cutoff: date | None
    status: str | None  # the release's status (provisional, confirmed, cancelled, released), None if never announced
    release_at: str | None
    binds: frozenset[Key] = frozenset()  # the figures its placeholders quote, any area's

    @property
    def on_calendar(self) -> bool:
        return self.status in ("provisional", "confirmed")

    def covers(self, area: str, end: date) -> bool:
        return self.area == area and self.cutoff is not None and end <= self.cutoff


@dataclass(frozen=True)
class Coverage:
    """What an edition may show: its area's figures for periods ending by its cut-off, except those
    a release still on the calendar publishes first (`held_for`), unless a released revision already
    published them (`published`). A figure of another area shows only where a placeholder binds it."""

    edition: str
    area: str
    cutoff: date | None
    # Same-area releases still on the calendar that publish the periods they cover before this edition.
    held: tuple[OtherRelease, ...] = ()
    # Every other release still on the calendar.
    calendar: tuple[OtherRelease, ...] = ()
    # Figures a released revision (of any edition) published: public already, so never held.
    published: frozenset[Key] = frozenset()
    # The edition has been released: this is a correction, which corrects what it published; a
    # figure new to it that a release still on the calendar covers waits for that release.
    correction: bool = False

    def held_for(self, measure: str, area: str, period: str) -> str | None:
        """The release still on the calendar a figure waits for, or None."""
        if (measure, area, period) in self.published:
            return None
        end = Period.parse(period).end
        if area == self.area:
            first = self.calendar if self.correction else self.held
            return next((other.edition for other in first if other.covers(area, end)), None)
        # Another area's figure belongs to that area's release on the calendar covering it, or to
        # a release on the calendar that quotes it.
        return next(
            (other.edition for other in self.calendar if other.covers(area, end) or (measure, area, period) in other.binds),
            None,
        )

    def shows(self, measure: str, area: str, period: str) -> bool:
        if self.cutoff is None or Period.parse(period).end > self.cutoff:
            return False
        return self.held_for(measure, area, period) is None


def quoted(state: Edition) -> frozenset[Key]:
    """(measure, area, period) of each figure the edition's placeholders name by period."""
    return frozenset(
        (binding.measure, binding.area or state.area, binding.period)
        for _, binding in state.bindings()
        if binding.kind != "baseline" and binding.period
    )


def coverage(
    state: Edition,
    others: Iterable[OtherRelease],
    own_release_at: str | None,
    *,
    published: Iterable[Key] = (),
    correction: bool = False,
) -> Coverage:
    """The edition's coverage at a position, given every other edition there. An edition of the same
    area on the calendar (announced, not released or cancelled) with an earlier cut-off, or the same
    cut-off and an earlier time, publishes the periods it covers first; once the edition is released
    (a correction), every release on the calendar covering a figure new to it does."""
    cutoff = data_cutoff(state)
    calendar = tuple(other for other in others if other.edition != state.edition and other.on_calendar)
    held = []
    if cutoff is not None:
        for other in calendar:
            if other.area != state.area or other.cutoff is None:
                continue
            earlier_time = own_release_at is None or (
                other.release_at is not None and datetime.fromisoformat(other.release_at) < datetime.fromisoformat(own_release_at)
            )
            if other.cutoff < cutoff or (other.cutoff == cutoff and earlier_time):
                held.append(other)
    return Coverage(
        state.edition, state.area, cutoff, tuple(sorted(held, key=lambda h: h.cutoff)), calendar, frozenset(published), correction
    )


def coverage_problems(state: Edition, measures: Mapping[str, Measure | None], covered: Coverage) -> list[Problem]:
    """Placeholders that read a figure another release still on the calendar publishes first."""
    found = []
    for number, binding in state.bindings():
        for measure, area, period in sorted(binding_reads(binding, state.area, measures)):
            holder = covered.held_for(measure, area, period)
            if holder is not None:
                found.append(
                    Problem(
                        f"paragraph {number}",
                        f"{binding.text}: {figure_key(measure, area, period)} is first published by edition "
                        f"{holder}, still on the release calendar: quote it after that release, or bind another period",
                        "binding",
                        number,
                    )
                )
    return found
