"""What the commands that record share: who is acting, and turning refusals into clear exits."""

from __future__ import annotations

import gc
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

import typer

from events import Metadata, WrongExpectedVersion
from events.domain.errors import DomainError, NothingToChange

from ..bootstrap import App
from ..handlers.imports import ImportRefused, ImportReport
from .common import cli_metadata, fail

ACTOR_HELP = "Who is making the change, recorded with every event."
# What every import command takes: the file, its format, and whether to write at all.
IMPORT_FILE = typer.Argument(..., exists=True, dir_okay=False, readable=True, help="CSV or JSON file.")
IMPORT_FORMAT = typer.Option(None, "--format", help="csv or json.", show_default="from the file's extension")
DRY_RUN = typer.Option(False, "--dry-run", help="Check the file and say what would change; write nothing.")


def actor_option() -> Optional[str]:
    return typer.Option(None, "--actor", help=ACTOR_HELP, show_default="POLICING_METRICS_ACTOR or the OS user")


def metadata(app: App, actor: str | None) -> Metadata:
    return cli_metadata(app, actor)


@contextmanager
def refusals() -> Iterator[None]:
    """A refused command exits 1 with the rule's message; a file's bad rows are listed one a line."""
    try:
        yield
    except ImportRefused as exc:
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        raise typer.Exit(1)
    except NothingToChange as exc:
        raise fail(f"{exc}", 1)
    except DomainError as exc:
        raise fail(str(exc), 1)
    except WrongExpectedVersion as exc:
        raise fail(f"{exc.stream} changed while this command was deciding (someone else wrote to it): run it again", 1)


@contextmanager
def bulk() -> Iterator[None]:
    """An import of a file, with the cyclic garbage collector paused: its rows, checks and events hold
    no reference cycles, yet collecting while a hundred thousand of them pile up took about a third
    of a 100,000-figure import's CPU time (`python -m bench import`). Reference counting frees as
    usual; the collector resumes when the import ends (a command, not the long-running server)."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def echo_import(report: ImportReport, added: str, changed: str) -> None:
    """An import's report: a line for each row that changes something, then the counts."""
    for line in report.details:
        typer.echo(line)
    typer.echo(report.summary(added, changed))


def text_from(text: str | None, text_file: Path | None, what: str = "--text") -> str | None:
    """A paragraph's text from --text, or from --text-file ('-' for standard input)."""
    if text is not None and text_file is not None:
        raise fail(f"give {what} or {what}-file, not both", 2)
    if text_file is None:
        return text
    if str(text_file) == "-":
        return typer.get_text_stream("stdin").read().strip("\n")
    try:
        return text_file.read_text(encoding="utf-8").strip("\n")
    except OSError as exc:
        raise fail(f"{what}-file: cannot read {text_file}: {exc.strerror}", 2)
