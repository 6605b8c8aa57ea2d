"""Reports from the projections: the scorecard, figure histories and revision triangles, diffs; rebuilds.

Every command first brings the projections up to date with the log, then answers, now or as of
a past time or log position.
"""

from __future__ import annotations

import csv
import json
import sys
import time
from contextlib import contextmanager
from enum import Enum
from typing import Any, Iterator, Optional

import structlog
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from events.projections import FigureChange, ProjectionError, Projections, ScorecardLine
from events.domain.rules import values
from events.projections.model import JSON_KEYS

from ..bootstrap import App
from .common import cli, fail, ready
from .recording import refusals

projections_cli = typer.Typer(help="The read models folded from the log (scorecard, history).", no_args_is_help=True)
cli.add_typer(projections_cli, name="projections")

# Progress is worth showing past this many events to fold.
LONG_RUN = 20_000
# Logged progress (not on a terminal): a line per this many events.
LOG_EVERY = 100_000
REBUILD_BATCH = 25_000


class Format(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"


class DiffFormat(str, Enum):
    table = "table"
    json = "json"


class Columns(str, Enum):
    editions = "editions"
    times = "times"


AS_OF_HELP = "A past moment: ISO 8601 time (UTC unless it says otherwise; a date alone is the end of that day)."
POSITION_HELP = "A past log position."
FORMAT_HELP = "table (for people), json or csv (for programs; decimals as strings)."


# -- keeping the projections current ---------------------------------------------------------------


@contextmanager
def _progress(label: str) -> Iterator[Any]:
    """A callback (projection, position, head) that shows progress: a bar on a terminal, JSON log lines otherwise."""
    if sys.stderr.isatty():
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed:,}/{task.total:,}"),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
            tasks: dict[str, Any] = {}

            def show(name: str, position: int, head: int) -> None:
                if name not in tasks:
                    tasks[name] = bar.add_task(f"{label} {name}", total=head)
                bar.update(tasks[name], completed=position, total=head)

            yield show
        return
    log = structlog.get_logger()
    logged: dict[str, int] = {}

    def record(name: str, position: int, head: int) -> None:
        if position - logged.get(name, 0) >= LOG_EVERY or position == head:
            logged[name] = position
            log.info("projections.progress", action=label, projection=name, position=position, head=head)

    yield record


def current(app: App, batch_size: int = 1000) -> Projections:
    """The projections, caught up with the log (with progress when that is a long job)."""
    projections = app.projections
    behind = app.store.head().position - projections.checkpoint()
    if behind >= LONG_RUN:
        with _progress("catching up") as progress:
            projections.catch_up(progress=progress, batch_size=batch_size)
    else:
        projections.catch_up(batch_size=batch_size)
    return projections


def _moment(as_of: Optional[str], position: Optional[int]) -> Optional[str | int]:
    if as_of is not None and position is not None:
        raise fail("give --as-of or --position, not both", 2)
    return position if position is not None else as_of


@contextmanager
def _answers() -> Iterator[None]:
    try:
        yield
    except ProjectionError as exc:
        raise fail(str(exc), 2) from None


# -- output -----------------------------------------------------------------------------------------


def _console() -> Console:
    # Off a terminal, a wide fixed width: a table piped to a file should not wrap at 80 columns.
    return Console() if sys.stdout.isatty() else Console(width=240, color_system=None)


def _shown(value: Any) -> str:
    # Escaped: a value, reason or paragraph is data, never rich markup.
    return "—" if value is None else escape(str(value))


def _plain(value: Any) -> str:
    """For plain lines (no rich markup)."""
    return "—" if value is None else str(value)


def _json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, ensure_ascii=False))


def _csv(columns: list[str] | tuple[str, ...], rows: list[dict]) -> None:
    writer = csv.DictWriter(sys.stdout, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: "" if row[key] is None else row[key] for key in columns})


def _where(projections: Projections, position: int) -> str:
    with projections.store.engine.connect() as connection:
        moment = connection.exec_driver_sql(
            "SELECT recorded_at FROM events WHERE position = ?"
            if connection.dialect.paramstyle == "qmark"
            else "SELECT recorded_at FROM events WHERE position = %s",
            (position,),
        ).scalar()
    return f"as of log position {position}" + (f" (recorded {moment})" if moment else "")


# -- commands ---------------------------------------------------------------------------------------


@cli.command()
def scorecard(
    ctx: typer.Context,
    as_of: Optional[str] = typer.Option(None, "--as-of", metavar="TIME", help=AS_OF_HELP),
    position: Optional[int] = typer.Option(None, "--position", min=0, metavar="N", help=POSITION_HELP),
    area: Optional[str] = typer.Option(None, "--area", help="Only this area."),
    output: Format = typer.Option(Format.table, "--format", help=FORMAT_HELP),
) -> None:
    """The scorecard: each measure's latest figure against its baseline, per area.

    JSON is a list of objects with the keys measure, area, title, period, value, unit,
    baseline_period, baseline_value, change, change_unit, change_percent, direction, assessment:
    decimals as strings (exact), change_percent a signed whole percent (-12 for a 12% reduction),
    null where there is nothing to compare and for a percentage or a rate, whose change is in
    points (change_unit percentage-points or points-per-1000).
    """
    app = ready(ctx)
    moment = _moment(as_of, position)
    with refusals():
        area = None if area is None else values.area("--area", area)  # Kent Police, E23000032: kent
    with _answers():
        projections = current(app)
        at = projections.position_of(moment)
        lines = projections.scorecard_lines(at=at, area=area)
    if output is Format.json:
        _json([line.as_json() for line in lines])
    elif output is Format.csv:
        _csv(JSON_KEYS, [line.as_json() for line in lines])
    else:
        _scorecard_table(lines, _where(projections, at))


POINTS = {"percentage-points": "pp", "points-per-1000": "per 1,000"}


def _scorecard_table(lines: list[ScorecardLine], caption: str) -> None:
    table = Table(title="Scorecard", caption=caption)
    for heading in (
        "measure",
        "area",
        "period",
        "value",
        "baseline",
        "change",
        "%",
        "direction",
        "assessment",
        "last revised",
    ):
        table.add_column(heading, justify="right" if heading in ("value", "change", "%") else "left")
    for line in lines:
        baseline = (
            f"{line.baseline_value} ({line.baseline_period})"
            if line.baseline_value is not None
            else f"— ({line.baseline_period})"
        )
        percent = "—" if line.change_percent is None else f"{line.change_percent:+d}%"
        table.add_row(
            escape(f"{line.title} [{line.measure}]"),
            _shown(line.area),
            _shown(line.period),
            _shown(line.value),
            baseline,
            _shown(line.change) + (f" {POINTS[line.change_unit]}" if line.change is not None and line.change_unit in POINTS else ""),
            percent,
            _shown(line.direction),
            _shown(line.assessment),
            f"{_shown(line.revised_at)} by {_shown(line.revised_by)}",
        )
    _console().print(table if lines else f"No scorecard lines {caption}.")


@cli.command()
def history(
    ctx: typer.Context,
    measure: str = typer.Argument(..., help="The measure's id, e.g. homicide."),
    area: Optional[str] = typer.Option(
        None, "--area", help="Only this area (for a triangle: default the measure's only area)."
    ),
    period: Optional[str] = typer.Option(None, "--period", help="Only this reference period, e.g. 2021-01/2021-12."),
    output: Format = typer.Option(Format.table, "--format", help=FORMAT_HELP),
    triangle: bool = typer.Option(
        False, "--triangle", help="The revision triangle: periods by editions (or by recorded times)."
    ),
    columns: Optional[Columns] = typer.Option(
        None, "--columns", help="The triangle's columns.", show_default="editions approved for the area, else recorded times"
    ),
    as_of: Optional[str] = typer.Option(None, "--as-of", metavar="TIME", help=AS_OF_HELP),
    position: Optional[int] = typer.Option(None, "--position", min=0, metavar="N", help=POSITION_HELP),
) -> None:
    """A measure's figures: every value with when, who, why and kind of change; or its revision triangle."""
    app = ready(ctx)
    moment = _moment(as_of, position)
    with _answers():
        projections = current(app)
        at = projections.position_of(moment)
        if triangle:
            area = area or _only_area(projections, measure, app.settings.default_area, at)
            result = projections.triangle(measure, area, columns.value if columns else None, at=at)
        else:
            changes = projections.history_of(measure, area=area, period=period, at=at)
    if triangle:
        if output is Format.csv:
            sys.stdout.write(result.to_csv())
        elif output is Format.json:
            _json(result.as_json())
        else:
            _triangle_table(result)
        return
    changes.sort(key=lambda change: (change.area, change.period, change.position))
    if output is Format.json:
        _json([change.as_json() for change in changes])
    elif output is Format.csv:
        _csv(FigureChange.CSV_COLUMNS, [change.as_json() for change in changes])
    else:
        _history_table(measure, changes, _where(projections, at))


def _only_area(projections: Projections, measure: str, default: str, at: int) -> str:
    """The area a triangle is for when none is named: the measure's only one, else the default area."""
    areas = sorted({change.area for change in projections.history_of(measure, at=at)})
    if len(areas) == 1 or default in areas or not areas:
        return areas[0] if len(areas) == 1 else default
    raise fail(f"{measure} has figures in {len(areas)} areas ({', '.join(areas)}): choose one with --area", 2)


def _history_table(measure: str, changes: list[FigureChange], caption: str) -> None:
    table = Table(title=f"History of {measure}", caption=caption)
    for heading in ("area", "period", "position", "recorded at", "by", "kind", "value", "was", "reason"):
        table.add_column(heading, justify="right" if heading in ("position", "value", "was") else "left")
    for c in changes:
        table.add_row(
            _shown(c.area),
            _shown(c.period),
            str(c.position),
            c.recorded_at,
            _shown(c.actor),
            c.kind,
            _shown(c.value),
            _shown(c.previous_value),
            _shown(c.reason or ""),
        )
    _console().print(table if changes else f"No figures of {measure} {caption}.")


def _triangle_table(triangle) -> None:
    table = Table(
        title=f"Revision triangle: {triangle.measure}, {triangle.area}", caption=f"columns: {triangle.columns}"
    )
    table.add_column("period")
    for vintage in triangle.vintages:
        table.add_column(vintage.label, justify="right")
    table.add_column("revision", justify="right")
    for row in triangle.rows:
        table.add_row(row.period, *(_shown(cell) for cell in row.cells), _shown(row.revision))
    table.add_section()
    blanks = [""] * len(triangle.vintages)
    table.add_row("mean revision", *blanks, _shown(triangle.mean_revision))
    table.add_row("mean absolute revision", *blanks, _shown(triangle.mean_absolute_revision))
    _console().print(table)


@cli.command()
def diff(
    ctx: typer.Context,
    start: str = typer.Option(..., "--from", metavar="T1", help="A log position, or an ISO 8601 time."),
    end: str = typer.Option(..., "--to", metavar="T2", help="A log position, or an ISO 8601 time."),
    output: DiffFormat = typer.Option(DiffFormat.table, "--format", help="table or json."),
) -> None:
    """Every figure and paragraph that differs between two moments: old and new, and who changed it, when and why."""
    app = ready(ctx)
    with _answers():
        result = current(app).diff(start, end)
    if output is DiffFormat.json:
        _json(result.as_json())
        return
    # Plain lines, not a table: paragraphs are long, and a diff is read top to bottom (or by grep).
    echo = typer.echo
    echo(f"Changes after log position {result.from_position} up to {result.to_position}")
    if not result.figures and not result.paragraphs:
        echo("Nothing differs.")
    for figure in result.figures:
        echo(
            f"\n{figure.measure} / {figure.area} / {figure.period}: {_plain(figure.old_value)} → {_plain(figure.new_value)}"
        )
        for change in figure.changes:
            why = f": {change.reason}" if change.reason else ""
            echo(
                f"  {change.recorded_at}  {change.kind} to {_plain(change.value)} by {change.actor}{why} (position {change.position})"
            )
    for paragraph in result.paragraphs:
        echo(f"\nedition {paragraph.edition}, paragraph {paragraph.number}:")
        echo(f"  was: {_plain(paragraph.old_text)}")
        echo(f"  now: {_plain(paragraph.new_text)}")
        for change in paragraph.changes:
            why = f": {change.reason}" if change.reason else ""
            echo(f"  {change.recorded_at}  {change.kind} by {change.actor}{why} (position {change.position})")


@projections_cli.command("rebuild")
def rebuild(ctx: typer.Context) -> None:
    """Clear every projection and fold the whole log again (progress as it goes)."""
    app = ready(ctx)
    started = time.perf_counter()
    with _progress("rebuilding") as progress:
        position = app.projections.rebuild(progress=progress, batch_size=REBUILD_BATCH)
    seconds = time.perf_counter() - started
    structlog.get_logger().info("projections.rebuilt", position=position, seconds=round(seconds, 2))
    typer.echo(f"projections rebuilt to log position {position} in {seconds:.1f} s")
