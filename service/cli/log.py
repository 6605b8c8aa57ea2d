"""Commands on the log itself: schema, head, verification, reading, and the demo."""

from __future__ import annotations

import json
import sys
from typing import Optional

import structlog
import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from events import Head, Metadata, NewEvent
from events.database import schema_revisions, upgrade

from ..bootstrap import App
from .common import cli, fail, ready

db_cli = typer.Typer(help="The database schema (Alembic migrations).", no_args_is_help=True)
cli.add_typer(db_cli, name="db")


@db_cli.command("upgrade")
def db_upgrade(ctx: typer.Context, revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Apply the schema migrations."""
    app: App = ctx.obj
    upgrade(app.engine, revision)
    current, _ = schema_revisions(app.engine)
    typer.echo(f"database schema at {current}")


@db_cli.command("current")
def db_current(ctx: typer.Context) -> None:
    """Show the database's schema revision and the newest one this software knows."""
    app: App = ctx.obj
    current, head = schema_revisions(app.engine)
    typer.echo(f"database: {current or 'none'}  software: {head}")
    if current != head:
        raise typer.Exit(1)


@cli.command()
def head(ctx: typer.Context) -> None:
    """Print the log head as POSITION:HASH (note it to check later with `verify --expect-head`)."""
    typer.echo(str(ready(ctx).store.head()))


@cli.command()
def verify(
    ctx: typer.Context,
    expect_head: Optional[str] = typer.Option(
        None, "--expect-head", metavar="POSITION:HASH", help="A head noted earlier: detects a truncated tail."
    ),
) -> None:
    """Walk the hash chain; exit non-zero naming the first bad position."""
    app = ready(ctx)
    expected = None
    if expect_head is not None:
        try:
            expected = Head.parse(expect_head)
        except ValueError as exc:
            raise fail(f"--expect-head: {exc}", 2)
    log = structlog.get_logger()
    if sys.stderr.isatty():
        with Progress(TextColumn("verifying"), BarColumn(), TextColumn("{task.completed:,}/{task.total:,}"), TimeRemainingColumn(), transient=True) as bar:
            task = bar.add_task("verify", total=None)
            report = app.store.verify(expected, progress=lambda done, total: bar.update(task, completed=done, total=total))
    else:
        report = app.store.verify(
            expected,
            progress=lambda done, total: log.info("verify.progress", checked=done, total=total)
            if done % 100_000 < 5000
            else None,
        )
    if report.breach is not None:
        log.error("verify.failed", position=report.breach.position, problem=report.breach.problem)
        raise fail(f"chain broken at position {report.breach.position}: {report.breach.problem}", 1)
    log.info("verify.ok", checked=report.checked, head=str(report.head))
    typer.echo(f"ok: {report.checked} events verified; head {report.head}")


@cli.command("log")
def show_log(
    ctx: typer.Context,
    from_position: int = typer.Option(1, "--from", min=1, help="First position."),
    limit: int = typer.Option(100, "--limit", min=1),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="Only events recorded at or before this UTC time."),
) -> None:
    """Print events as JSON lines, in position order."""
    app = ready(ctx)
    shown = 0
    for event in app.store.read_all(from_position, as_of_time=as_of, batch_size=min(limit, 1000)):
        typer.echo(json.dumps(event.as_dict(), ensure_ascii=False))
        shown += 1
        if shown >= limit:
            break


@cli.command()
def demo(ctx: typer.Context) -> None:
    """Append a few example events, verify the chain and print the head."""
    app = ready(ctx)
    store = app.store
    from events.domain.figures import FigureRecorded
    from events.domain.measures import MeasureDefined

    stream = "measure-homicide"
    if store.stream_version(stream) == 0:
        actor = Metadata(actor="demo", source="cli")
        store.append(
            stream,
            [
                NewEvent.of(
                    MeasureDefined(
                        measure="homicide",
                        title="Homicide",
                        priority="homicide",
                        unit="count",
                        polarity="lower-is-better",
                        baseline_period="2018-07/2019-06",
                        source="Police recorded crime",
                    ),
                    store.registry,
                )
            ],
            expected_version=0,
            metadata=actor,
        )
        store.append(
            "figure-homicide",
            [
                NewEvent.of(FigureRecorded(measure="homicide", area="west-midlands", period=period, value=value), store.registry)
                for period, value in (("2018-07/2019-06", "52"), ("2021-01/2021-12", "46"))
            ],
            expected_version=0,
            metadata=actor,
            idempotency_key="demo-homicide-figures",
        )
    report = store.verify()
    if report.breach is not None:
        raise fail(f"chain broken at position {report.breach.position}: {report.breach.problem}")
    typer.echo(f"{report.checked} events, chain verified; head {report.head}")
