"""`policing-metrics figures ...`: record, revise, withdraw and import figures."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..handlers import imports
from ..handlers.figures import record_figure, revise_figure, withdraw_figure
from .common import cli, ready
from .recording import DRY_RUN, IMPORT_FILE, IMPORT_FORMAT, actor_option, bulk, echo_import, metadata, refusals

figures_cli = typer.Typer(help="Figures: a value for one measure, area and reference period.", no_args_is_help=True)
cli.add_typer(figures_cli, name="figures")

AREA_HELP = "The area."
AREA_DEFAULT = "POLICING_METRICS_DEFAULT_AREA, the force's area"
PERIOD_HELP = "Reference period: 2021-01/2021-12 (months) or 2021-01-01/2021-12-31 (days)."
VALUE_HELP = "An exact decimal, e.g. 46 or 12.5 (no thousands separators)."


@figures_cli.command("record")
def record(
    ctx: typer.Context,
    measure: str = typer.Argument(...),
    period: str = typer.Argument(..., help=PERIOD_HELP),
    value: str = typer.Argument(..., help=VALUE_HELP),
    area: Optional[str] = typer.Option(None, "--area", help=AREA_HELP, show_default=AREA_DEFAULT),
    source: str = typer.Option("", "--source"),
    note: str = typer.Option("", "--note", help="E.g. why this period was chosen."),
    actor: Optional[str] = actor_option(),
) -> None:
    """Record a new figure."""
    app = ready(ctx)
    area = area or app.settings.default_area
    with refusals():
        result = record_figure(
            app.store, measure, area, period, value, metadata(app, actor), source=source, note=note,
            period_margin_days=app.settings.period_margin_days,
        )
    typer.echo(f"figure {measure}/{area}/{period} recorded as {value} (position {result.last_position})")


@figures_cli.command("revise")
def revise(
    ctx: typer.Context,
    measure: str = typer.Argument(...),
    period: str = typer.Argument(..., help=PERIOD_HELP),
    value: str = typer.Argument(..., help=VALUE_HELP),
    reason: Optional[str] = typer.Option(None, "--reason", help="Why the value changes (required)."),
    kind: str = typer.Option("revision", "--kind", help="revision (planned, late data) or correction (an error)."),
    area: Optional[str] = typer.Option(None, "--area", help=AREA_HELP, show_default=AREA_DEFAULT),
    source: str = typer.Option("", "--source"),
    note: str = typer.Option("", "--note"),
    actor: Optional[str] = actor_option(),
) -> None:
    """Give a recorded figure a new value, with a reason and a kind."""
    app = ready(ctx)
    area = area or app.settings.default_area
    with refusals():
        result = revise_figure(
            app.store, measure, area, period, value, kind, reason, metadata(app, actor), source=source, note=note
        )
    typer.echo(f"figure {measure}/{area}/{period} revised to {value} ({kind}; position {result.last_position})")


@figures_cli.command("withdraw")
def withdraw(
    ctx: typer.Context,
    measure: str = typer.Argument(...),
    period: str = typer.Argument(..., help=PERIOD_HELP),
    reason: Optional[str] = typer.Option(None, "--reason", help="Why the figure is withdrawn (required)."),
    area: Optional[str] = typer.Option(None, "--area", help=AREA_HELP, show_default=AREA_DEFAULT),
    actor: Optional[str] = actor_option(),
) -> None:
    """Withdraw a figure; its history stays."""
    app = ready(ctx)
    area = area or app.settings.default_area
    with refusals():
        result = withdraw_figure(app.store, measure, area, period, reason, metadata(app, actor))
    typer.echo(f"figure {measure}/{area}/{period} withdrawn (position {result.last_position})")


@figures_cli.command("import")
def import_(
    ctx: typer.Context,
    file: Path = IMPORT_FILE,
    format: Optional[str] = IMPORT_FORMAT,
    area: Optional[str] = typer.Option(None, "--area", help="The area for rows without one.", show_default=AREA_DEFAULT),
    dry_run: bool = DRY_RUN,
    actor: Optional[str] = actor_option(),
) -> None:
    """Import figures: columns measure,period,value,source,note (+ optional area,reason,kind).

    A row for a recorded figure with another value is a revision and needs a reason (kind:
    revision by default, or correction); a row with the recorded value changes nothing. The
    whole file is checked first; with any bad row nothing is written and every bad row is listed.
    """
    app = ready(ctx)
    with refusals(), bulk():
        rows, problems, unit = imports.read_file(file, format, imports.FIGURE_COLUMNS, imports.FIGURE_OPTIONAL)
        report = imports.import_figures(
            app.store,
            rows,
            metadata(app, actor),
            default_area=area or app.settings.default_area,
            period_margin_days=app.settings.period_margin_days,
            name=str(file),
            problems=problems,
            unit=unit,
            dry_run=dry_run,
        )
    echo_import(report, "recorded", "revised")
