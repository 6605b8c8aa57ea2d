"""`policing-metrics examples load [DIR]`: a statement kept as files, loaded idempotently."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..handlers.examples import DEFAULT_EXAMPLE, example_directory, load_example
from .common import cli, fail, ready
from .recording import actor_option, metadata, refusals

examples_cli = typer.Typer(help="Example data: real statements as data (the seed: West Midlands, February 2022).", no_args_is_help=True)
cli.add_typer(examples_cli, name="examples")


@examples_cli.command("load")
def load(
    ctx: typer.Context,
    directory: Optional[Path] = typer.Argument(None, help="An example's name (wmp-2022-02, lancashire-2015-06, west-mercia-2021-10) or a directory with measures.csv, figures.csv, edition.json.", show_default=f"{DEFAULT_EXAMPLE.name}"),
    actor: Optional[str] = actor_option(),
) -> None:
    """Load an example statement: its measures, figures and edition, approved. Safe to run twice."""
    app = ready(ctx)
    directory = example_directory(directory)
    if not directory.is_dir():
        raise fail(f"{directory} is not a directory (expected measures.csv, figures.csv and edition.json in it)", 2)
    with refusals():
        report = load_example(app.store, directory, metadata(app, actor), app.settings.default_area)
    typer.echo(f"measures.csv: {report.measures.summary('defined', 'amended')}")
    typer.echo(f"figures.csv: {report.figures.summary('recorded', 'revised')}")
    typer.echo(report.edition.summary())
    for note in report.edition.notes:
        typer.echo(f"note: {note}")
    typer.echo(f"{report.events} event(s) written" if report.events else "nothing to do: the example is already loaded")
