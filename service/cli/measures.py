"""`policing-metrics measures ...`: define, amend, retire, import and list measures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from events.domain.rules import values
from events.domain.rules.values import POLARITIES, PRIORITIES, UNITS

from ..handlers import imports
from ..handlers.loading import all_measures
from ..handlers.measures import amend_measure, define_measure, define_measure_in_area, retire_measure, set_measure_for_area
from .common import cli, fail, ready
from .recording import DRY_RUN, IMPORT_FILE, IMPORT_FORMAT, actor_option, bulk, echo_import, metadata, refusals

measures_cli = typer.Typer(help="Measures: what is counted, for which priority, and which way is better.", no_args_is_help=True)
cli.add_typer(measures_cli, name="measures")


@measures_cli.command("define")
def define(
    ctx: typer.Context,
    measure: str = typer.Argument(..., help="The measure's id, e.g. knife-crime."),
    title: str = typer.Option(..., "--title"),
    priority: str = typer.Option(..., "--priority", help=" | ".join(PRIORITIES)),
    unit: str = typer.Option(..., "--unit", help=" | ".join(UNITS)),
    polarity: str = typer.Option(..., "--polarity", help=" | ".join(POLARITIES)),
    baseline_period: str = typer.Option("2018-07/2019-06", "--baseline-period", help="The national baseline by default."),
    source: str = typer.Option("", "--source"),
    definition: str = typer.Option("", "--definition"),
    area: Optional[str] = typer.Option(
        None, "--area", help="Set the baseline period, priority, source and definition as this area's own at once."
    ),
    actor: Optional[str] = actor_option(),
) -> None:
    """Define a new measure."""
    app = ready(ctx)
    details = dict(title=title, priority=priority, unit=unit, polarity=polarity, baseline_period=baseline_period, source=source, definition=definition)
    with refusals():
        if area is not None:
            result = define_measure_in_area(app.store, measure, area, details, metadata(app, actor))
        else:
            result = define_measure(app.store, measure, details, metadata(app, actor))
    typer.echo(f"measure {measure} defined (position {result.last_position})")


@measures_cli.command("amend")
def amend(
    ctx: typer.Context,
    measure: str = typer.Argument(...),
    reason: Optional[str] = typer.Option(None, "--reason", help="Why the measure changes (required)."),
    title: Optional[str] = typer.Option(None, "--title"),
    priority: Optional[str] = typer.Option(None, "--priority"),
    unit: Optional[str] = typer.Option(None, "--unit"),
    polarity: Optional[str] = typer.Option(None, "--polarity"),
    baseline_period: Optional[str] = typer.Option(None, "--baseline-period"),
    source: Optional[str] = typer.Option(None, "--source"),
    definition: Optional[str] = typer.Option(None, "--definition"),
    area: Optional[str] = typer.Option(
        None, "--area", help="Change only this area's baseline period, priority, source or definition (no reason the first time)."
    ),
    actor: Optional[str] = actor_option(),
) -> None:
    """Change a measure's details; only the options given change."""
    app = ready(ctx)
    changes = dict(title=title, priority=priority, unit=unit, polarity=polarity, baseline_period=baseline_period, source=source, definition=definition)
    given = {k: v for k, v in changes.items() if v is not None}
    with refusals():
        if area is not None:
            area = values.area("--area", area)  # Kent Police is kent
            result = set_measure_for_area(app.store, measure, area, reason, given, metadata(app, actor))
        else:
            result = amend_measure(app.store, measure, reason, given, metadata(app, actor))
    typer.echo(f"measure {measure} {'set for area ' + area if area is not None else 'amended'} (position {result.last_position})")


@measures_cli.command("retire")
def retire(
    ctx: typer.Context,
    measure: str = typer.Argument(...),
    reason: Optional[str] = typer.Option(None, "--reason", help="Why it is retired (required)."),
    actor: Optional[str] = actor_option(),
) -> None:
    """Retire a measure: no new figures for it; its history stays."""
    app = ready(ctx)
    with refusals():
        result = retire_measure(app.store, measure, reason, metadata(app, actor))
    typer.echo(f"measure {measure} retired (position {result.last_position})")


@measures_cli.command("import")
def import_(
    ctx: typer.Context,
    file: Path = IMPORT_FILE,
    format: Optional[str] = IMPORT_FORMAT,
    dry_run: bool = DRY_RUN,
    actor: Optional[str] = actor_option(),
) -> None:
    """Import measures: columns id,title,priority,unit,polarity,baseline_period,source,definition (+ reason to amend, + area to set them for one area).

    The whole file is checked first; with any bad row nothing is written and every bad row is listed.
    """
    app = ready(ctx)
    with refusals(), bulk():
        rows, problems, unit = imports.read_file(file, format, imports.MEASURE_COLUMNS, imports.MEASURE_OPTIONAL)
        report = imports.import_measures(
            app.store, rows, metadata(app, actor), name=str(file), problems=problems, unit=unit, dry_run=dry_run
        )
    echo_import(report, "defined", "amended")


@measures_cli.command("list")
def list_(
    ctx: typer.Context,
    include_retired: bool = typer.Option(False, "--all", help="Include retired measures."),
    format: str = typer.Option("table", "--format", help="table or json."),
) -> None:
    """List the measures."""
    app = ready(ctx)
    if format not in ("table", "json"):
        raise fail(f"--format: expected table or json, found {format!r}", 2)
    measures = [m for m in all_measures(app.store) if include_retired or not m.retired]
    if format == "json":
        typer.echo(json.dumps([{"id": m.measure, **m.details(), "retired": m.retired, "areas": dict(m.areas)} for m in measures], indent=2, ensure_ascii=False))
        return
    if not measures:
        typer.echo("no measures defined")
        return
    width = max(len(m.measure) for m in measures)
    for m in measures:
        flag = "  (retired)" if m.retired else ""
        typer.echo(f"{m.measure:<{width}}  {m.priority:<19}  {m.unit:<13}  {m.polarity:<16}  {m.baseline_period}  {m.title}{flag}")
        for area, own in sorted(m.areas.items()):
            settings = ", ".join(f"{name} {value}" for name, value in own.items() if name in ("baseline_period", "priority"))
            typer.echo(f"{'':<{width}}  in {area}: {settings}")
