"""What every command shares: the Typer app, global options, and turning errors into exits."""

from __future__ import annotations

import sys
import uuid
from typing import Optional

import structlog
import typer

from events import EventStoreError
from events.domain.errors import DomainError

from .. import __version__
from ..bootstrap import App, bootstrap
from ..config import Settings
from ..logging import configure_logging

cli = typer.Typer(
    name="policing-metrics",
    help="Keep and publish statutory policing performance statements from an append-only, verifiable log.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(__version__)
        raise typer.Exit()


@cli.callback()
def main(
    ctx: typer.Context,
    database_url: Optional[str] = typer.Option(
        None, "--database-url", envvar="POLICING_METRICS_DATABASE_URL", help="SQLAlchemy URL of the store.", show_envvar=True
    ),
    log_level: Optional[str] = typer.Option(None, "--log-level", envvar="POLICING_METRICS_LOG_LEVEL", show_envvar=True),
    log_format: Optional[str] = typer.Option(
        None, "--log-format", envvar="POLICING_METRICS_LOG_FORMAT", help="json, console or auto.", show_envvar=True
    ),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    overrides = {
        key: value
        for key, value in {"database_url": database_url, "log_level": log_level, "log_format": log_format}.items()
        if value is not None
    }
    settings = Settings(**overrides)
    configure_logging(settings.log_level, settings.log_format)
    structlog.contextvars.bind_contextvars(job_id=uuid.uuid4().hex[:12], command=ctx.invoked_subcommand)
    app = bootstrap(settings)
    ctx.obj = app
    ctx.call_on_close(app.close)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print `message` as an error and return the exit to raise."""
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    return typer.Exit(code)


def ready(ctx: typer.Context) -> App:
    """The app, once the schema is known to be current (every command but `db` checks)."""
    app: App = ctx.obj
    try:
        app.check_schema()
    except EventStoreError as exc:
        raise fail(str(exc), 2)
    return app


def run() -> None:
    try:
        cli()
    except (EventStoreError, DomainError) as exc:  # a command without its own wording of a refusal
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        sys.exit(1)
