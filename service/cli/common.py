"""What every command shares: the Typer app, global options, and turning errors into exits."""

from __future__ import annotations

import sys
import uuid
from enum import Enum
from pathlib import Path
from typing import Optional

import structlog
import typer
from typer.core import TyperArgument, TyperGroup, TyperOption

from events import EventStoreError, Metadata
from events.domain.errors import DomainError

from .. import __version__
from ..bootstrap import App, bootstrap
from ..config import Settings
from ..logging import configure_logging

# What an option's value is, by the option's name, where the name says more than the type would;
# the rest say their type as Click does (TEXT, INTEGER, FLOAT, PATH, [a|b]).
VALUE_WORDS = {
    "--actor": "NAME", "--person": "NAME", "--lead-contact": "NAME", "--author": "NAME:JOB", "--section": "SLUG=TITLE",
    "--area": "AREA", "--period": "PERIOD", "--baseline-period": "PERIOD", "--at": "TIME", "--as-of": "TIME",
    "--expires": "TIME", "--edition": "EDITION", "--measure": "MEASURE", "--priority": "PRIORITY", "--unit": "UNIT",
    "--polarity": "POLARITY", "--host": "HOST", "--metrics-host": "HOST", "--port": "PORT", "--metrics-port": "PORT",
    "--lead-email": "EMAIL", "--lead-phone": "PHONE", "--footnote": "TEXT", "--dir": "DIRECTORY", "--output": "FILE",
    "--text-file": "FILE", "--role": "ROLE", "--revision": "REVISION", "--position": "POSITION",
}  # fmt: skip
TYPE_WORDS = {str: "TEXT", int: "INTEGER", float: "FLOAT", Path: "PATH"}


def value_word(param: TyperOption | TyperArgument) -> str:
    """The word help shows for what `param` takes: 'NAME:JOB', 'SECONDS', 'TEXT', '[json|csv]'."""
    long = next((opt for opt in param.opts if opt.startswith("--")), "")
    annotation = param.type_descriptor.annotation
    element = getattr(annotation, "__args__", (annotation,))[0]  # list[str] is repeated TEXT
    if long in VALUE_WORDS:
        return VALUE_WORDS[long]
    if long.endswith("-seconds") or long.endswith("-timeout") or long == "--timeout":
        return "SECONDS"
    if long.endswith("-hours"):
        return "HOURS"
    if long.endswith("-url") or long in ("--to", "--from") and element is str:
        return "URL"
    if isinstance(element, type) and issubclass(element, Enum):
        return "[" + "|".join(str(member.value) for member in element) + "]"
    return TYPE_WORDS.get(element, "TEXT")


def _name(params) -> None:
    for param in params:
        if isinstance(param, TyperOption) and (param.is_flag or param.count or param.type_descriptor.annotation is bool):
            param.metavar = ""
        elif isinstance(param, TyperOption) and param.metavar is None:
            param.metavar = value_word(param)
        elif isinstance(param, TyperArgument):
            word = value_word(param)
            param.metavar = param.metavar or param.name.upper()
            param.display_type_rich = lambda ctx, word=word: word  # the type column, as Click shows it


def name_values(command) -> None:
    """Help as Click and Typer users expect it: a flag shows no metavar, an option a word naming its value,
    an argument its name in capitals; never a Python type such as <bool> or <list[str]>."""
    _name(command.params)
    made = command.get_help_option

    def help_option(ctx, made=made):  # --help is made when help is asked for, not kept in params
        option = made(ctx)
        if option is not None:
            option.metavar = ""
        return option

    command.get_help_option = help_option
    for sub in getattr(command, "commands", {}).values():
        name_values(sub)


class NamedValuesGroup(TyperGroup):
    """The command tree, built whole before its root: the root names every value once, below it too."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        name_values(self)

    def get_params(self, ctx):
        params = super().get_params(ctx)
        _name(params)  # typer adds the completion options after building the root
        return params


cli = typer.Typer(
    cls=NamedValuesGroup,
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


def actor_of(app: App, actor: str | None) -> str:
    """Who a command records as acting: --actor, else the configured actor (POLICING_METRICS_ACTOR,
    the OS user by default; see service/config.py)."""
    return actor or app.settings.actor


def cli_metadata(app: App, actor: str | None) -> Metadata:
    return Metadata(actor=actor_of(app, actor), source="cli")


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
