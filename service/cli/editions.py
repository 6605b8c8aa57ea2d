"""`policing-metrics edition ...`: open an edition, assess applicability, write its paragraphs,
check its numbers, approve it, show it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from events.domain.editions import DEFAULT_SECTIONS
from events.domain.fields import NATIONAL_PRIORITIES, trim
from events.domain.rules.editions import Edition

from ..handlers import editions as handlers
from ..handlers.editions_published import approval_changes
from ..handlers.examples import import_edition, read_edition_document
from .common import cli, fail, ready
from .recording import actor_option, metadata, refusals, text_from

edition_cli = typer.Typer(help="Statement editions: paragraphs, applicability, checks, approval.", no_args_is_help=True)
paragraph_cli = typer.Typer(help="Write, revise or remove a numbered paragraph.", no_args_is_help=True)
cli.add_typer(edition_cli, name="edition")
edition_cli.add_typer(paragraph_cli, name="paragraph")


def _people(values: list[str]) -> list[dict[str, str]]:
    people = []
    for value in values:
        name, _, job_title = value.partition(":")
        people.append({"name": trim(name), "job_title": trim(job_title)})
    return people


def _sections(values: list[str]) -> list[tuple[str, str]]:
    sections = []
    for value in values:
        slug, sep, title = value.partition("=")
        if not sep:
            raise fail(f"--section: expected SLUG=TITLE such as pcc-statement=PCC statement, found {value!r}", 2)
        sections.append((slug.strip(), trim(title)))
    return sections


@edition_cli.command("open")
def open_(
    ctx: typer.Context,
    edition: str = typer.Argument(..., help="The edition's id, e.g. 2022-02."),
    title: str = typer.Option(..., "--title"),
    author: list[str] = typer.Option(..., "--author", help="NAME:JOB TITLE, repeated for each author."),
    lead_contact: str = typer.Option(..., "--lead-contact", help="The lead contact's name."),
    lead_email: str = typer.Option("", "--lead-email"),
    lead_phone: str = typer.Option("", "--lead-phone"),
    area: Optional[str] = typer.Option(None, "--area", help="The area.", show_default="POLICING_METRICS_DEFAULT_AREA"),
    section: list[str] = typer.Option(
        [], "--section", help="SLUG=TITLE, repeated.", show_default=", ".join(s for s, _ in DEFAULT_SECTIONS)
    ),
    actor: Optional[str] = actor_option(),
) -> None:
    """Open a new edition of the statement."""
    app = ready(ctx)
    contact = {"name": lead_contact, "email": lead_email, "phone": lead_phone}
    with refusals():
        result = handlers.open_edition(
            app.store,
            edition,
            area=area or app.settings.default_area,
            title=title,
            authors=_people(author),
            lead_contact=contact,
            sections=_sections(section) or None,
            metadata=metadata(app, actor),
        )
    typer.echo(f"edition {edition} opened (position {result.last_position})")


@edition_cli.command("amend")
def amend(
    ctx: typer.Context,
    edition: str = typer.Argument(...),
    reason: Optional[str] = typer.Option(None, "--reason", help="Why the details change (required)."),
    title: Optional[str] = typer.Option(None, "--title"),
    author: Optional[list[str]] = typer.Option(None, "--author", help="NAME:JOB TITLE; the whole list is replaced."),
    lead_contact: Optional[str] = typer.Option(None, "--lead-contact"),
    lead_email: str = typer.Option("", "--lead-email"),
    lead_phone: str = typer.Option("", "--lead-phone"),
    data_cutoff: Optional[str] = typer.Option(
        None, "--data-cutoff", help="The edition's data cut-off, the last day of a month (2021-12-31): it covers periods ending by it."
    ),
    actor: Optional[str] = actor_option(),
) -> None:
    """Amend an edition's title, authors, lead contact or data cut-off."""
    app = ready(ctx)
    contact = {"name": lead_contact, "email": lead_email, "phone": lead_phone} if lead_contact else None
    with refusals():
        result = handlers.amend_edition(
            app.store,
            edition,
            reason=reason,
            metadata=metadata(app, actor),
            title=title,
            authors=_people(author) if author else None,
            lead_contact=contact,
            data_cutoff=data_cutoff,
        )
    typer.echo(f"edition {edition} amended (position {result.last_position})")


@edition_cli.command("style")
def style(
    ctx: typer.Context,
    edition: str = typer.Argument(...),
    percent_places: int = typer.Option(0, "--percent-places", help="Decimal places of percentages: 0 (12%) to 3."),
    separators: bool = typer.Option(True, "--separators/--no-separators", help="28,675 or 28675."),
    reason: Optional[str] = typer.Option(None, "--reason", help="Why (required once the edition is approved)."),
    actor: Optional[str] = actor_option(),
) -> None:
    """How the edition prints numbers; without it, the seed's style (whole percents, 28,675)."""
    app = ready(ctx)
    with refusals():
        result = handlers.choose_style(
            app.store, edition, percent_places=percent_places, separators=separators, reason=reason, metadata=metadata(app, actor)
        )
    typer.echo(f"edition {edition}: percentages to {percent_places} place(s), separators {'on' if separators else 'off'} (position {result.last_position})")


@edition_cli.command("applicability")
def applicability(
    ctx: typer.Context,
    edition: str = typer.Argument(...),
    priority: str = typer.Argument(..., help=" | ".join(NATIONAL_PRIORITIES)),
    applicable: bool = typer.Option(..., "--applicable/--not-applicable", help="Order paragraph 7A(b)."),
    reason: Optional[str] = typer.Option(None, "--reason", help="Why (required; it is published)."),
    actor: Optional[str] = actor_option(),
) -> None:
    """Assess whether a national priority applies to the area, and why."""
    app = ready(ctx)
    with refusals():
        result = handlers.assess_priority(app.store, edition, priority, applicable, reason, metadata(app, actor))
    typer.echo(f"{priority}: {'applicable' if applicable else 'not applicable'} (position {result.last_position})")


@paragraph_cli.command("write")
def paragraph_write(
    ctx: typer.Context,
    edition: str = typer.Argument(...),
    number: int = typer.Argument(..., help="Unique across the whole edition."),
    section: str = typer.Option(..., "--section"),
    text: Optional[str] = typer.Option(None, "--text", help="The text; bind figures as {{value:MEASURE:PERIOD}} etc."),
    text_file: Optional[Path] = typer.Option(None, "--text-file", help="Read the text from a file ('-': standard input)."),
    heading: str = typer.Option("", "--heading", help="A heading that starts before this paragraph."),
    priority: Optional[str] = typer.Option(None, "--priority"),
    footnote: list[str] = typer.Option([], "--footnote", help="Footnote n, marked [^n] in the text; repeated."),
    actor: Optional[str] = actor_option(),
) -> None:
    """Write a new numbered paragraph."""
    app = ready(ctx)
    body = text_from(text, text_file)
    if body is None:
        raise fail("give the paragraph's text with --text or --text-file", 2)
    with refusals():
        result = handlers.write_paragraph(
            app.store,
            edition,
            number,
            section=section,
            text=body,
            heading=heading,
            priority=priority,
            footnotes=footnote,
            metadata=metadata(app, actor),
        )
    typer.echo(f"paragraph {number} written (position {result.last_position})")


@paragraph_cli.command("revise")
def paragraph_revise(
    ctx: typer.Context,
    edition: str = typer.Argument(...),
    number: int = typer.Argument(...),
    reason: Optional[str] = typer.Option(None, "--reason", help="Why the text changes (required)."),
    text: Optional[str] = typer.Option(None, "--text"),
    text_file: Optional[Path] = typer.Option(None, "--text-file"),
    heading: Optional[str] = typer.Option(None, "--heading"),
    footnote: Optional[list[str]] = typer.Option(None, "--footnote", help="Replaces the footnotes when given."),
    actor: Optional[str] = actor_option(),
) -> None:
    """Revise a paragraph's text (its literal-number confirmations are cleared)."""
    app = ready(ctx)
    body = text_from(text, text_file)
    if body is None:
        raise fail("give the new text with --text or --text-file", 2)
    with refusals():
        result = handlers.revise_paragraph(
            app.store,
            edition,
            number,
            text=body,
            reason=reason,
            heading=heading,
            footnotes=footnote or None,
            metadata=metadata(app, actor),
        )
    typer.echo(f"paragraph {number} revised (position {result.last_position})")


@paragraph_cli.command("remove")
def paragraph_remove(
    ctx: typer.Context,
    edition: str = typer.Argument(...),
    number: int = typer.Argument(...),
    reason: Optional[str] = typer.Option(None, "--reason", help="Why it goes (required)."),
    actor: Optional[str] = actor_option(),
) -> None:
    """Remove a paragraph."""
    app = ready(ctx)
    with refusals():
        result = handlers.remove_paragraph(app.store, edition, number, reason, metadata(app, actor))
    typer.echo(f"paragraph {number} removed (position {result.last_position})")


@edition_cli.command("confirm-literal")
def confirm_literal(
    ctx: typer.Context,
    edition: str = typer.Argument(...),
    number: int = typer.Argument(..., help="The paragraph."),
    literal: str = typer.Argument(..., help="The number as `edition check` shows it, e.g. '22' or '10, 579'."),
    reason: Optional[str] = typer.Option(None, "--reason", help="Why it is not a recorded figure (required)."),
    actor: Optional[str] = actor_option(),
) -> None:
    """Confirm a number typed into a paragraph is meant as typed, not a figure to bind."""
    app = ready(ctx)
    with refusals():
        result = handlers.confirm_literal(app.store, edition, number, literal, reason, metadata(app, actor))
    typer.echo(f"{literal!r} in paragraph {number} confirmed (position {result.last_position})")


@edition_cli.command("check")
def check(
    ctx: typer.Context,
    edition: str = typer.Argument(...),
    format: str = typer.Option("text", "--format", help="text or json."),
) -> None:
    """List everything that stands in the way of approval: typed numbers not yet confirmed,
    placeholders without a figure, priorities not assessed. Exits 1 if there is anything."""
    app = ready(ctx)
    with refusals():
        state, problems = handlers.check_edition(app.store, edition)
    if format == "json":
        typer.echo(json.dumps([{"where": p.where, "kind": p.kind, "message": p.message, "paragraph": p.number, "literal": p.literal} for p in problems], indent=2, ensure_ascii=False))
    elif problems:
        for problem in problems:
            typer.echo(str(problem))
        typer.echo(f"{len(problems)} problem(s): edition {edition} cannot be approved yet")
    else:
        typer.echo(f"edition {edition}: {len(state.paragraphs)} paragraph(s), every number bound or confirmed, every priority assessed: ready to approve")
    if problems:
        raise typer.Exit(1)


@edition_cli.command("approve")
def approve(
    ctx: typer.Context,
    edition: str = typer.Argument(...),
    reason: Optional[str] = typer.Option(None, "--reason", help="Required from the second approval on: why it supersedes the last."),
    actor: Optional[str] = actor_option(),
) -> None:
    """Approve the edition: freeze it at the current log head."""
    app = ready(ctx)
    with refusals():
        result, approval = handlers.approve_edition(app.store, edition, metadata(app, actor), reason, projections=app.projections)
    typer.echo(
        f"edition {edition} revision {approval.revision} approved: frozen at position {approval.position} "
        f"(hash {approval.head_hash[:12]}…; the approval itself is position {result.last_position})"
    )
    changes = approval_changes(app.store, edition, approval.revision, app.releases.released(edition), projections=app.projections)
    for line in changes.lines():
        typer.echo(line)


def _as_json(view: handlers.EditionView, render: bool) -> dict:
    state: Edition = view.state
    text = view.rendered if render else (lambda t: t)
    return {
        "edition": state.edition,
        "area": state.area,
        "title": state.title,
        "authors": state.authors,
        "lead_contact": state.lead_contact,
        "position": view.position,
        "sections": [{"section": s, "title": t} for s, t in state.sections.items()],
        "applicability": [
            {"priority": p, "applicable": a, "reason": r} for p, (a, r) in sorted(state.applicability.items())
        ],
        "paragraphs": [
            {
                "number": p.number,
                "section": p.section,
                "heading": p.heading,
                "priority": p.priority,
                "text": text(p.text),
                "footnotes": list(p.footnotes),
                "confirmed": [{"literal": lit, "reason": why} for lit, why in p.confirmed.items()],
            }
            for p in state.in_order()
        ],
        "approvals": [a.__dict__ for a in state.approvals],
    }


@edition_cli.command("show")
def show(
    ctx: typer.Context,
    edition: str = typer.Argument(...),
    render: bool = typer.Option(True, "--render/--placeholders", help="Fill placeholders from the figures, or show them."),
    position: Optional[int] = typer.Option(None, "--position", help="As the log stood at this position.", show_default="the head"),
    approved: Optional[int] = typer.Option(None, "--approved", help="As approved in this revision (its frozen position)."),
    format: str = typer.Option("text", "--format", help="text or json."),
) -> None:
    """Show an edition: details, applicability and paragraphs."""
    app = ready(ctx)
    with refusals():
        if approved is not None:
            state, _ = handlers.load_edition(app.store, edition)
            if state is None or not 1 <= approved <= len(state.approvals):
                raise fail(f"--approved: edition {edition} has {len(state.approvals) if state else 0} approved revision(s), not {approved}", 1)
            position = state.approvals[approved - 1].position
        view = handlers.view_edition(app.store, edition, position)
    if format == "json":
        typer.echo(json.dumps(_as_json(view, render), indent=2, ensure_ascii=False))
        return
    state = view.state
    text = view.rendered if render else (lambda t: t)
    typer.echo(f"{state.title}\nedition {state.edition} · area {state.area} · as of position {view.position}")
    typer.echo("authors: " + "; ".join(f"{a['name']} ({a.get('job_title', '')})" for a in state.authors))
    typer.echo(f"lead contact: {state.lead_contact['name']}")
    for approval in state.approvals:
        typer.echo(f"approved: revision {approval.revision} at position {approval.position} ({approval.recorded_at}) {approval.reason}".rstrip())
    typer.echo("\nApplicability of the national priorities (Order paragraph 7A(b)):")
    for priority in NATIONAL_PRIORITIES:
        if priority in state.applicability:
            applicable, reason = state.applicability[priority]
            typer.echo(f"  {priority}: {'applicable' if applicable else 'not applicable'}: {reason}")
        else:
            typer.echo(f"  {priority}: not assessed")
    current_section = None
    for paragraph in state.in_order():
        if paragraph.section != current_section:
            current_section = paragraph.section
            typer.echo(f"\n== {state.sections.get(current_section, current_section)} ==")
        if paragraph.heading:
            typer.echo(f"\n{paragraph.heading}")
        typer.echo(f"\n{paragraph.number}. {text(paragraph.text)}")
        for n, note in enumerate(paragraph.footnotes, start=1):
            typer.echo(f"   [^{n}] {note}")


@edition_cli.command("import")
def import_(
    ctx: typer.Context,
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True, help="An edition as JSON, shaped like examples/wmp-2022-02/edition.json."),
    approve: bool = typer.Option(False, "--approve", help="Approve it afterwards if it has never been approved."),
    actor: Optional[str] = actor_option(),
) -> None:
    """Open or update an edition from a JSON document: details, applicability, paragraphs and
    confirmations in one append. Changed paragraphs are revised with the document's
    `amendment_reason`; paragraphs the document lacks are left alone."""
    app = ready(ctx)
    with refusals():
        report = import_edition(app.store, read_edition_document(file), metadata(app, actor), name=str(file), approve=approve)
    typer.echo(report.summary())
    for note in report.notes:
        typer.echo(f"note: {note}")
