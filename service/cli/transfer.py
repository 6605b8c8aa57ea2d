"""Moving the log: `db copy` between databases, `export` to JSON lines and `import` from them."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Iterator, Optional

import structlog
import typer

from events import EventStore
from events.database import make_engine, require_current_schema, upgrade
from events.domain import registry
from events.errors import EventStoreError
from events.projections import Projections
from events.projections.calendar import CalendarProjection
from events.transfer import BATCH, TransferReport, copy_log, export_lines, import_lines

from ..bootstrap import App
from .common import cli, fail, ready
from .log import db_cli


def _progress(what: str):
    log = structlog.get_logger()
    return lambda done, total: log.info(f"{what}.progress", position=done, head=total)


def _open(url: str, *, create: bool) -> EventStore:
    """The store at `url`; a target is brought to the current schema first (a no-op when it is)."""
    engine = make_engine(url)
    if create:
        upgrade(engine)
    else:
        require_current_schema(engine)
    return EventStore(engine, registry)


def _rebuild(store: EventStore) -> None:
    Projections(store).rebuild()
    CalendarProjection(store).catch_up()


def _say(report: TransferReport, what: str) -> None:
    resumed = f", resumed after position {report.resumed_from}" if report.resumed_from else ""
    typer.echo(f"{what} {report.copied} events{resumed}; target verified; head {report.head}")


@db_cli.command("copy")
def db_copy(
    source: str = typer.Option(..., "--from", metavar="URL", help="The database to copy from (left unchanged)."),
    target: str = typer.Option(..., "--to", metavar="URL", help="An empty database to copy into."),
    resume: bool = typer.Option(False, "--resume", help="Continue a copy that was interrupted (the target holds its prefix)."),
    batch: int = typer.Option(BATCH, "--batch", min=1, help="Events per transaction: what a crash can lose and a resume redo."),
) -> None:
    """Copy the whole log, byte for byte, into an empty database (SQLite to PostgreSQL or back), verify it, rebuild projections."""
    stores: list[EventStore] = []
    try:
        stores.append(_open(source, create=False))
        stores.append(_open(target, create=True))
        report = copy_log(*stores, resume=resume, batch_size=batch, progress=_progress("copy"))
        _rebuild(stores[1])
    except EventStoreError as exc:
        raise fail(str(exc))
    finally:
        for store in stores:
            store.close()
            store.engine.dispose()
    _say(report, "copied")


@cli.command("export")
def export(
    ctx: typer.Context,
    to: Optional[Path] = typer.Option(None, "--to", help="File to write (default: standard output)."),
) -> None:
    """Write the whole log as JSON lines, each event's stored bytes unchanged: an engine-neutral backup."""
    app = ready(ctx)
    if to is None:
        head = export_lines(app.store, sys.stdout, _progress("export"))
    else:
        partial = to.with_name(to.name + ".partial")
        with partial.open("w", encoding="utf-8") as out:
            head = export_lines(app.store, out, _progress("export"))
        partial.replace(to)  # a file under the name given is always whole
        typer.echo(f"exported {head.position} events to {to}; head {head}", err=True)


@cli.command("import")
def import_(
    ctx: typer.Context,
    source: Path = typer.Argument(..., exists=True, dir_okay=False, help="A file written by `export`."),
    resume: bool = typer.Option(False, "--resume", help="Continue an import that was interrupted."),
) -> None:
    """Load an export into an empty database: checked whole first, written byte for byte, verified, projections rebuilt."""
    app: App = ctx.obj

    def lines() -> Iterator[str]:
        with source.open(encoding="utf-8") as file:
            yield from file

    try:
        upgrade(app.engine)
        report = import_lines(lines, app.store, resume=resume, progress=_progress("import"))
        _rebuild(app.store)
    except EventStoreError as exc:
        raise fail(str(exc))
    _say(report, "imported")
