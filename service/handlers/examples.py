"""Loading a statement kept as files: measures.csv, figures.csv and edition.json.

`examples/wmp-2022-02/` is the seed statement in this form. Loading is idempotent: what is
already recorded is skipped, so loading the same directory twice changes nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from events import EventStore, Metadata, NewEvent
from events.domain.editions import bindings, edition_stream
from events.domain.errors import DomainError, InvalidValue, NothingToChange
from events.domain.rules import editions as rules

from . import imports
from .editions import approve_edition, load_edition
from .loading import load_measures

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
DEFAULT_EXAMPLE = EXAMPLES / "wmp-2022-02"


def example_directory(name: Path | str | None) -> Path:
    """An example by its name (a folder of examples/) or any directory; the seed when None."""
    if name is None:
        return DEFAULT_EXAMPLE
    path = Path(name)
    if not path.is_dir() and (EXAMPLES / path.name).is_dir() and path.name == str(name):
        return EXAMPLES / path.name
    return path


@dataclass
class EditionReport:
    edition: str
    opened: bool = False
    events: int = 0
    approved_revision: int | None = None
    already_approved: int = 0
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        parts = [f"edition {self.edition}: {'opened, ' if self.opened else ''}wrote {self.events} event(s)"]
        if self.approved_revision is not None:
            parts.append(f"approved revision {self.approved_revision}")
        elif self.already_approved:
            parts.append(f"already approved (revision {self.already_approved})")
        return "; ".join(parts)


def _problem(item: str, number: int, exc: DomainError) -> imports.RowProblem:
    if isinstance(exc, InvalidValue):
        return imports.RowProblem(number, exc.field, exc.detail, item)
    return imports.RowProblem(number, None, str(exc), item)


def import_edition(
    store: EventStore, document: dict[str, Any], metadata: Metadata, *, name: str = "edition", approve: bool | None = None
) -> EditionReport:
    """Bring an edition in line with `document`: open it, assess priorities, write or revise
    paragraphs, confirm literals, all in one append; then approve it if the document asks and it
    has never been approved. Paragraphs the document lacks are left alone, never removed."""
    edition = document.get("edition")
    if not isinstance(edition, str):
        raise InvalidValue("edition", "the edition's id, such as 2022-02", edition)
    state, version = load_edition(store, edition)
    report = EditionReport(edition)
    log: list[tuple[str, dict[str, Any]]] = [(e.type, e.data) for e in store.read_stream(edition_stream(edition))]
    new = []
    problems: list[imports.RowProblem] = []

    def take(event) -> None:
        nonlocal state
        payload = NewEvent.of(event, store.registry)
        new.append(payload)
        log.append((payload.type, payload.data))
        state = rules.fold(log)

    details = dict(
        title=document.get("title"),
        authors=document.get("authors"),
        lead_contact=document.get("lead_contact"),
    )
    try:
        if state is None:
            take(
                rules.open_edition(
                    None,
                    edition=edition,
                    area=document.get("area"),
                    sections=[(s.get("section"), s.get("title")) for s in document.get("sections") or []],
                    **details,
                )
            )
            report.opened = True
        else:
            try:
                take(rules.amend_details(state, edition=edition, reason=document.get("amendment_reason"), **details))
            except NothingToChange:
                pass
        style = document.get("number_style")
        if style is not None:
            if not isinstance(style, dict):
                raise InvalidValue("number_style", "an object with percent_places and separators", style)
            try:
                take(
                    rules.choose_style(
                        state,
                        edition=edition,
                        percent_places=style.get("percent_places", 0),
                        separators=style.get("separators", True),
                        reason=document.get("amendment_reason"),
                    )
                )
            except NothingToChange:
                pass
    except DomainError as exc:
        raise imports.ImportRefused(name, [_problem("edition", 1, exc)]) from None

    for index, item in enumerate(document.get("applicability") or [], start=1):
        if not isinstance(item, dict):
            problems.append(imports.RowProblem(index, None, "expected an object with priority, applicable, reason", "applicability"))
            continue
        try:
            take(
                rules.assess_priority(
                    state,
                    edition=edition,
                    priority=item.get("priority"),
                    applicable=bool(item.get("applicable")),
                    reason=item.get("reason"),
                )
            )
        except NothingToChange:
            pass
        except DomainError as exc:
            problems.append(_problem("applicability", index, exc))

    paragraphs = []
    for index, item in enumerate(document.get("paragraphs") or [], start=1):
        if isinstance(item, dict):
            paragraphs.append(item)
        else:
            problems.append(imports.RowProblem(index, None, "expected an object with number, section, text", "paragraph item"))
    names = [b.measure for p in paragraphs for b in bindings(f"{p.get('heading', '')}\n{p.get('text', '')}")]
    measures = {measure: found for measure, (found, _) in load_measures(store, names).items()}
    for item in paragraphs:
        number = item.get("number")
        # What a paragraph says, whether it is written new or revised.
        says = dict(
            edition=edition, number=number, text=item.get("text"), heading=item.get("heading") or "", footnotes=item.get("footnotes") or []
        )
        try:
            if state.paragraphs.get(number) is None:
                take(rules.write_paragraph(state, measures, section=item.get("section"), priority=item.get("priority"), **says))
            else:
                reason = item.get("revision_reason") or document.get("amendment_reason")
                try:
                    take(rules.revise_paragraph(state, measures, reason=reason, **says))
                except NothingToChange:
                    pass
            for confirmation in item.get("confirmed") or []:
                try:
                    take(
                        rules.confirm_literal(
                            state,
                            edition=edition,
                            number=number,
                            literal=confirmation.get("literal"),
                            reason=confirmation.get("reason"),
                        )
                    )
                except NothingToChange:
                    pass
        except DomainError as exc:
            problems.append(_problem("paragraph", number if isinstance(number, int) else 0, exc))
    if problems:
        raise imports.ImportRefused(name, problems)

    if new:
        store.append(edition_stream(edition), new, version, metadata=metadata)
        report.events = len(new)
    if approve is None:
        approve = bool(document.get("approve"))
    if approve:
        if state.approvals:
            report.already_approved = state.approvals[-1].revision
            if new:
                report.notes.append(
                    f"edition {edition} changed after its approval: approve revision {len(state.approvals) + 1} with a reason"
                )
        else:
            _, approval = approve_edition(store, edition, metadata)
            report.approved_revision = approval.revision
    return report


def read_edition_document(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise imports.ImportRefused(
            str(path), [imports.RowProblem(exc.lineno, None, f"expected JSON, found {exc.msg} at column {exc.colno}")]
        ) from None
    if not isinstance(document, dict):
        raise imports.ImportRefused(str(path), [imports.RowProblem(1, None, "expected one JSON object (the edition)")])
    return document


@dataclass
class ExampleReport:
    measures: imports.ImportReport
    figures: imports.ImportReport
    edition: EditionReport

    @property
    def events(self) -> int:
        return self.measures.events + self.figures.events + self.edition.events + (self.edition.approved_revision is not None)


def load_example(store: EventStore, directory: Path, metadata: Metadata, default_area: str) -> ExampleReport:
    """Measures, then figures, then the edition: each step skips what is already recorded."""
    directory = Path(directory)
    rows, problems, unit = imports.read_file(directory / "measures.csv", None, imports.MEASURE_COLUMNS, imports.MEASURE_OPTIONAL)
    measures = imports.import_measures(store, rows, metadata, name="measures.csv", problems=problems, unit=unit)
    rows, problems, unit = imports.read_file(directory / "figures.csv", None, imports.FIGURE_COLUMNS, imports.FIGURE_OPTIONAL)
    figures = imports.import_figures(
        store, rows, metadata, default_area=default_area, name="figures.csv", problems=problems, unit=unit
    )
    edition = import_edition(store, read_edition_document(directory / "edition.json"), metadata, name="edition.json")
    return ExampleReport(measures, figures, edition)
