"""The release calendar commands: schedule, confirm, reschedule, cancel, calendar, pre-release, scheduler."""

from __future__ import annotations

import json
from contextlib import contextmanager
from datetime import timedelta
from enum import Enum
from pathlib import Path
from typing import Iterator, Optional

import structlog
import typer

from events.domain.calendar import Release
from publishers.calendar import calendar_feed, calendar_ics, calendar_json
from publishers.times import display_time

from ..handlers.access import access_list
from ..handlers.releases import ReleaseRefused, Releases
from ..handlers.tokens import list_tokens
from ..logging import configure_logging
from .common import actor_of, cli, fail, ready
from .recording import actor_option

pre_release_cli = typer.Typer(help="Pre-release access to embargoed editions: grants and each access, for auditors.", no_args_is_help=True)
cli.add_typer(pre_release_cli, name="pre-release")

AT_HELP = "London time: 2026-02-05 (09:30 that day) or 2026-02-05T09:30; GMT or BST is worked out."


@contextmanager
def _refused() -> Iterator[None]:
    """A release the calendar's rules refuse exits 2 with the rule's message."""
    try:
        yield
    except ReleaseRefused as exc:
        raise fail(str(exc), 2)


def _handlers(ctx: typer.Context) -> Releases:
    return ready(ctx).releases


def _actor(ctx: typer.Context, actor: Optional[str]) -> str:
    return actor_of(ctx.obj, actor)


def _say(release: Release) -> str:
    return f"{release.edition}: {release.status}, {display_time(release.release_at)} ({release.release_at})"


@cli.command()
def schedule(
    ctx: typer.Context,
    edition: str = typer.Argument(..., help="The edition's id, e.g. 2026-q1."),
    at: str = typer.Option(..., "--at", help=AT_HELP),
    provisional: bool = typer.Option(False, "--provisional", help="Announce a provisional time (no four weeks' notice needed)."),
    title: Optional[str] = typer.Option(None, "--title", help="Shown on the public calendar (default: the edition's title)."),
    override_reason: Optional[str] = typer.Option(
        None, "--override-reason", help="Why a confirmed release has under four weeks' notice, or falls at a weekend."
    ),
    actor: Optional[str] = actor_option(),
) -> None:
    """Announce an edition's release on the calendar."""
    with _refused():
        release = _handlers(ctx).announce(
            edition, at, title=title, provisional=provisional, override_reason=override_reason, actor=_actor(ctx, actor)
        )
    typer.echo(f"announced {_say(release)}")


@cli.command()
def confirm(
    ctx: typer.Context,
    edition: str = typer.Argument(...),
    override_reason: Optional[str] = typer.Option(None, "--override-reason", help="Why with under four weeks' notice."),
    actor: Optional[str] = actor_option(),
) -> None:
    """Make a provisional release time firm."""
    with _refused():
        release = _handlers(ctx).confirm(edition, override_reason=override_reason, actor=_actor(ctx, actor))
    typer.echo(f"confirmed {_say(release)}")


@cli.command()
def reschedule(
    ctx: typer.Context,
    edition: str = typer.Argument(...),
    at: str = typer.Option(..., "--at", help=AT_HELP),
    reason: str = typer.Option(..., "--reason", help="Shown on the public calendar beside the change."),
    override_reason: Optional[str] = typer.Option(None, "--override-reason", help="Why a weekend."),
    actor: Optional[str] = actor_option(),
) -> None:
    """Move a release to another time; the previous time and the reason stay on the calendar."""
    with _refused():
        release = _handlers(ctx).reschedule(edition, at, reason=reason, override_reason=override_reason, actor=_actor(ctx, actor))
    typer.echo(f"rescheduled {_say(release)}, previously {display_time(release.previous_release_at)}")


@cli.command()
def cancel(
    ctx: typer.Context,
    edition: str = typer.Argument(...),
    reason: str = typer.Option(..., "--reason", help="Shown on the public calendar."),
    actor: Optional[str] = actor_option(),
) -> None:
    """Cancel a release; it stays on the calendar as cancelled, with the reason."""
    with _refused():
        release = _handlers(ctx).cancel(edition, reason=reason, actor=_actor(ctx, actor))
    typer.echo(f"cancelled {release.edition} (was {display_time(release.release_at)}): {release.cancellation_reason}")


class CalendarFormat(str, Enum):
    table = "table"
    json = "json"
    ics = "ics"
    atom = "atom"


@cli.command("calendar")
def calendar_(
    ctx: typer.Context,
    format: CalendarFormat = typer.Option(CalendarFormat.table, "--format", help="table, json, ics (RFC 5545) or atom (feed of changes)."),
    base_url: Optional[str] = typer.Option(None, "--base-url", help="Where the site is published, for links."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write to this file instead of standard output."),
) -> None:
    """The release calendar: every release, its time, state and change history (never an edition's content)."""
    app = ready(ctx)
    projection = app.calendar
    projection.catch_up()
    releases = projection.releases()
    if format is CalendarFormat.table:
        lines = []
        for r in releases:
            extra = f"  previously {r.previous_release_at}" if r.previous_release_at else ""
            if r.status == "cancelled":
                extra += f"  cancelled: {r.cancellation_reason}"
            if r.status == "released" and r.late_by_seconds:
                extra += f"  late by {r.late_by_seconds}s"
            lines.append(f"{r.release_at}  {r.status:<11}  {r.edition:<20}  {r.title}{extra}")
        body = ("\n".join(lines) + "\n" if lines else "no releases announced\n").encode()
    elif format is CalendarFormat.json:
        body = calendar_json(releases, base_url=base_url)
    elif format is CalendarFormat.ics:
        body = calendar_ics(releases, base_url=base_url)
    else:
        site = base_url or "http://127.0.0.1/"
        body = calendar_feed(releases, feed_url=site.rstrip("/") + "/calendar.atom", site_url=site)
    if output is not None:
        output.write_bytes(body)
        typer.echo(f"wrote {output}", err=True)
    else:
        typer.echo(body.decode(), nl=False)


@pre_release_cli.command("grant")
def grant(
    ctx: typer.Context,
    edition: str = typer.Argument(...),
    person: Optional[str] = typer.Option(None, "--person", help="The named person (default: the token's name)."),
    token: Optional[str] = typer.Option(
        None, "--token", help="The API token id the person reads with: it may GET /editions/EDITION from 24 hours before release."
    ),
    reason: str = typer.Option(..., "--reason"),
    role: str = typer.Option("", "--role"),
    actor: Optional[str] = actor_option(),
) -> None:
    """Put a named person on the edition's pre-release access list, with the reason."""
    handlers = _handlers(ctx)
    if token is not None:
        holder = next((t for t in list_tokens(handlers.store) if t.token_id == token and t.active), None)
        if holder is None:
            raise fail(f"no active token with id {token!r}: `policing-metrics tokens list` shows them", 2)
        person = person or holder.name
    if not person:
        raise fail("name the person (--person) or the token they read with (--token)", 2)
    with _refused():
        handlers.grant_access(edition, person, reason=reason, role=role, token_id=token, actor=_actor(ctx, actor))
    typer.echo(f"granted pre-release access to {edition} for {person}" + (f" (token {token})" if token else ""))


@pre_release_cli.command("record")
def record(
    ctx: typer.Context,
    edition: str = typer.Argument(...),
    person: str = typer.Option(..., "--person"),
    what: str = typer.Option(..., "--what", help="What was seen, e.g. 'draft r1 scorecard'."),
    actor: Optional[str] = actor_option(),
) -> None:
    """Record one access to the embargoed edition (an access without a grant is recorded and flagged)."""
    with _refused():
        granted = _handlers(ctx).record_access(edition, person, what=what, actor=_actor(ctx, actor))
    if not granted:
        typer.secho(f"warning: {person} has no pre-release access to {edition}; recorded as a breach", err=True, fg=typer.colors.YELLOW)
    typer.echo(f"recorded access to {edition} by {person}")


@pre_release_cli.command("list")
def list_access(
    ctx: typer.Context,
    edition: Optional[str] = typer.Argument(None, help="One edition's (with the reads of it); all when omitted."),
) -> None:
    """The pre-release access list as JSON lines, for auditors: grants, and every read of unreleased
    material (who, what, when, on what basis), the API's reads included."""
    for entry in access_list(ready(ctx).store, edition):
        typer.echo(json.dumps(entry, sort_keys=True))


@cli.command()
def scheduler(
    ctx: typer.Context,
    sweep_seconds: float = typer.Option(30.0, "--sweep-seconds", help="How often to look for anything due."),
    lease_seconds: float = typer.Option(60.0, "--lease-seconds", help="How long a dead process's claim blocks others."),
    grace_seconds: float = typer.Option(30.0, "--grace-seconds", help="On SIGTERM, how long a release being published may finish."),
    verify_hours: float = typer.Option(
        24.0, "--verify-hours", min=0, help="How often to verify the whole hash chain (its metrics; 0: never)."
    ),
    metrics_host: str = typer.Option("127.0.0.1", "--metrics-host", help="Address of the health and metrics server."),
    metrics_port: Optional[int] = typer.Option(
        None, "--metrics-port", min=0, max=65535, help="Serve /healthz, /readyz and /metrics on this port."
    ),
) -> None:
    """Publish each release at its time, in the foreground, until SIGTERM (JSON logs; run one or more)."""
    from ..metrics import serve_health_and_metrics
    from ..scheduler import run_until_signalled  # APScheduler loads only for this command

    app = ready(ctx)
    if app.settings.log_format == "auto":
        configure_logging(app.settings.log_level, "json")
    runner = app.scheduler(
        lease=timedelta(seconds=lease_seconds),
        sweep_interval=timedelta(seconds=sweep_seconds),
        verify_interval=timedelta(hours=verify_hours) if verify_hours else None,
    )
    stop_server = None
    if metrics_port is not None:
        stop_server = serve_health_and_metrics(app, metrics_host, metrics_port)
        structlog.get_logger().info("scheduler.metrics", url=f"http://{metrics_host}:{metrics_port}/metrics")
    try:
        run_until_signalled(runner, grace=grace_seconds)
    finally:
        if stop_server is not None:
            stop_server()
