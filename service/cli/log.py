"""Commands on the log itself: schema, head, verification, reading, and the demo."""

from __future__ import annotations

import json
import sys
from typing import Optional

import structlog
import typer
from sqlalchemy.exc import OperationalError
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from events import Head, Metadata
from events.database import schema_revisions, upgrade, wait_for_current_schema, wait_for_database
from events.errors import SchemaNotCurrent
from events.tree import TreeBreach

from ..bootstrap import App
from .common import cli, fail, ready

db_cli = typer.Typer(help="The database schema (Alembic migrations).", no_args_is_help=True)
cli.add_typer(db_cli, name="db")


@db_cli.command("upgrade")
def db_upgrade(
    ctx: typer.Context,
    revision: str = typer.Argument("head", help="Target revision."),
    wait: float = typer.Option(
        0.0, "--wait", min=0, metavar="SECONDS", help="Wait this long for the database to accept a connection first."
    ),
) -> None:
    """Apply the schema migrations (to "head": nothing on a newer schema declared compatible with this software).

    With --wait, a database still starting (a container beside this one) is waited for; exits 1 naming it if it
    has not answered by then."""
    app: App = ctx.obj
    if wait:
        try:
            wait_for_database(app.engine, wait)
        except OperationalError as exc:
            raise fail(_no_answer(app, wait, exc), 1)
    upgrade(app.engine, revision)
    if revision == "head":
        typer.echo(_schema_line(app, app.check_schema()))
    else:
        typer.echo(f"database schema at {schema_revisions(app.engine)[0]}")


@db_cli.command("wait")
def db_wait(
    ctx: typer.Context,
    timeout: float = typer.Option(60.0, "--timeout", min=0, help="Seconds to wait before giving up."),
) -> None:
    """Wait until the database answers with the current schema (exit 0), for init containers and Compose.

    A newer schema declared compatible with this software counts (a rolling upgrade). Exits 1 after --timeout
    naming what is still missing, and at once if the schema is newer than this software works with."""
    app: App = ctx.obj
    try:
        state = wait_for_current_schema(app.engine, timeout)
    except SchemaNotCurrent as exc:
        raise fail(str(exc), 1)
    except OperationalError as exc:
        raise fail(_no_answer(app, timeout, exc), 1)
    typer.echo(_schema_line(app, state))


def _no_answer(app: App, timeout: float, exc: OperationalError) -> str:
    where = app.engine.url.render_as_string(hide_password=True)
    return f"the database {where} did not answer within {timeout:g} s: {str(exc.orig).strip()}"


def _schema_line(app: App, state: str) -> str:
    current, head = schema_revisions(app.engine)
    if state == "compatible":
        return f"database schema at {current}, newer than this software's {head} and declared compatible with it"
    return f"database schema at {current}"


@db_cli.command("current")
def db_current(ctx: typer.Context) -> None:
    """Show the database's schema revision and the newest one this software knows.

    Exits 0 when this software works with the schema, as /readyz decides: the same revision, or a newer one
    declared compatible with it (a rolling upgrade); 1 naming what to do when there is none yet, it is older,
    or it is newer than this software works with."""
    app: App = ctx.obj
    current, head = schema_revisions(app.engine)
    typer.echo(f"database: {current or 'none'}  software: {head}")
    try:
        state = app.check_schema()
    except SchemaNotCurrent as exc:  # SchemaNewer too
        raise fail(str(exc), 1)
    if state == "compatible":
        typer.echo(_schema_line(app, state))


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
    site: Optional[str] = typer.Option(
        None,
        "--site",
        metavar="DIR_OR_URL",
        help="A published site (a directory, file://, s3://, or http(s):// as the public reads it): every manifest's "
        "frozen position and head hash must be the log's, which detects a log rewritten and re-hashed after publication.",
    ),
) -> None:
    """Walk the hash chain; exit non-zero naming the first bad position (or, with --site, the first published
    edition the log no longer agrees with)."""
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
        what = "Merkle tree damaged" if isinstance(report.breach, TreeBreach) else "chain broken"
        raise fail(f"{what} at position {report.breach.position}: {report.breach.problem}", 1)
    from service.handlers.editions_published import approval_disagreements

    approvals, wrong = approval_disagreements(app.store, app.projections)
    if wrong:
        log.error("verify.approval_disagrees", problem=wrong[0])
        raise fail(f"approval disagrees with the log: {wrong[0]}" + (f" (and {len(wrong) - 1} more)" if len(wrong) > 1 else ""), 1)
    against = f"; {approvals} approval(s) name what the log held at their frozen positions"
    if site is not None:
        against += _against_site(app, site)
    log.info("verify.ok", checked=report.checked, head=str(report.head), site=site)
    typer.echo(f"ok: {report.checked} events verified; head {report.head}; Merkle tree matches{against}")


def _against_site(app: App, site: str) -> str:
    """Compare every manifest published at `site` with the log; fail naming the first that disagrees."""
    from events.transfer import hash_at
    from publishers.check import checkpoint_disagreements, frozen_head_disagreements, frozen_heads

    from .publishing import _root_at
    from publishers.stores import StorageError, open_site

    try:
        store = open_site(site)
        heads = frozen_heads(store)
        problems = frozen_head_disagreements(store, lambda position: hash_at(app.store, position))
        problems += checkpoint_disagreements(store, _root_at(app.store))
    except StorageError as exc:
        raise fail(f"--site {site}: {exc}", 1)
    if not heads:
        raise fail(f"--site {site}: nothing is published there (no editions/*/r*/manifest.json reachable)", 1)
    if problems:
        structlog.get_logger().error("verify.site_disagrees", site=site, problems=len(problems), first=problems[0])
        more = f" (and {len(problems) - 1} more disagreement(s): `site check` lists them all)" if len(problems) > 1 else ""
        raise fail(f"{problems[0]}{more}", 1)
    return f"; every published revision at {store.location()} ({len(heads)}) frozen at a head the log holds"


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
def demo(
    ctx: typer.Context,
    publish_now: bool = typer.Option(
        False, "--publish-now", help="Publish the example edition at once instead of scheduling it a minute ahead."
    ),
) -> None:
    """The main job on the example: load the seed statement, release it, verify the log. Safe to run again."""
    from datetime import timedelta

    from events.domain.calendar import release_stream

    from ..handlers.examples import DEFAULT_EXAMPLE, load_example

    app = ready(ctx)
    store = app.store
    edition = "2022-02"
    report = load_example(store, DEFAULT_EXAMPLE, Metadata(actor="demo", source="cli"), app.settings.default_area)
    typer.echo(f"example statement loaded ({report.events} new events)" if report.events else "example statement already loaded")
    released = any(e.type == "EditionReleased" for e in store.read_stream(release_stream(edition)))
    release = app.releases.release(edition)
    if released:
        typer.echo(f"edition {edition} is already released: see {app.settings.publish_to}")
    elif publish_now:
        result = app.publishing.publish(
            edition, to=app.published, now=True, override_reason="the demo publishes the example at once", actor="demo"
        )
        typer.echo(result.summary())
    elif release is None or release.status == "cancelled":
        due = (app.clock() + timedelta(minutes=2)).replace(second=0, microsecond=0)
        release = app.releases.announce(
            edition,
            due,
            override_reason="the demo releases the example two minutes after it is loaded",
            actor="demo",
        )
        typer.echo(f"edition {edition} scheduled for {release.release_at}: the scheduler in `serve` publishes it then")
    else:
        typer.echo(f"edition {edition} is scheduled for {release.release_at}")
    verified = store.verify()
    if verified.breach is not None:
        raise fail(f"chain broken at position {verified.breach.position}: {verified.breach.problem}")
    typer.echo(f"{verified.checked} events, chain verified; head {verified.head}")
    projections = app.projections
    projections.catch_up()
    for line in projections.scorecard_lines():
        if line.change_percent is not None:
            typer.echo(
                f"  {line.title}: {line.baseline_value} ({line.baseline_period}) -> {line.value} ({line.period}), "
                f"{abs(line.change_percent)}% {line.direction}, {line.assessment}"
            )
