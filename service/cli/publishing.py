"""`policing-metrics publish EDITION`, and `site serve` / `site check` for a published folder or bucket."""

from __future__ import annotations

import functools
import http.server
from pathlib import Path
from typing import Optional

import structlog
import typer

from events.domain.errors import DomainError
from events.transfer import hash_at
from publishers.check import check_against_log, check_lag, check_site, published_head, released_manifest
from publishers.publish import PublishError
from publishers.stores import StorageError, content_type_for, open_store

from ..handlers.checkpoints import KeyFileError
from ..handlers.publishing import site_url_of
from .common import actor_of, cli, fail, ready
from .recording import actor_option

site_cli = typer.Typer(help="The published site: serve a local folder, check a destination.", no_args_is_help=True)
cli.add_typer(site_cli, name="site")

TO_HELP = "file://DIR (relative), file:///DIR, a directory, or s3://BUCKET/PREFIX."
# Where the site is, the same three options on every command that opens it.
TO = typer.Option(None, "--to", help=TO_HELP, show_default="POLICING_METRICS_PUBLISH_TO")
ENDPOINT_URL = typer.Option(None, "--endpoint-url", help="An S3-compatible server (s3:// only).")
PATH_STYLE = typer.Option(False, "--path-style", help="Path-style S3 addressing (most self-hosted servers).")


def _store(to: str, endpoint_url: Optional[str], path_style: bool, region: Optional[str]):
    try:
        return open_store(to, endpoint_url=endpoint_url, region=region, path_style=path_style)
    except StorageError as exc:
        raise fail(str(exc), 2)


@cli.command()
def publish(
    ctx: typer.Context,
    edition: str = typer.Argument(..., help="The edition's id, e.g. 2022-02."),
    revision: Optional[int] = typer.Option(None, "--revision", min=1, help="An approved revision.", show_default="the latest"),
    to: Optional[str] = TO,
    endpoint_url: Optional[str] = ENDPOINT_URL,
    path_style: bool = PATH_STYLE,
    region: Optional[str] = typer.Option(None, "--region", help="The S3 region (s3:// only)."),
    site_url: Optional[str] = typer.Option(None, "--site-url", help="Where the site is read.", show_default="POLICING_METRICS_SITE_URL"),
    now: bool = typer.Option(False, "--now", help="Publish before the announced time (needs --override-reason)."),
    override_reason: Optional[str] = typer.Option(
        None, "--override-reason", help="Why it goes out now or unannounced: recorded on the public calendar."
    ),
    actor: Optional[str] = actor_option(),
) -> None:
    """Publish an approved edition: its files, then its manifest, then the release event, then feeds and indexes.

    Publishing the same revision again is a no-op that completes anything an interrupted publish left out.
    """
    app = ready(ctx)
    destination = to or app.settings.publish_to
    store = _store(destination, endpoint_url, path_style, region)
    try:
        publishing = app.publishing_to(site_url)
    except KeyFileError as exc:
        raise fail(f"POLICING_METRICS_SIGNING_KEY_FILE: {exc} (the checkpoints a publish writes are signed with it)", 2)
    try:
        report = publishing.publish(
            edition, revision, to=store, now=now, override_reason=override_reason,
            actor=actor_of(app, actor), source="cli",
        )
    except (PublishError, DomainError) as exc:
        structlog.get_logger().error("publish.stopped", edition=edition, revision=revision, error=str(exc), key=getattr(exc, "key", None))
        raise fail(str(exc), 1)
    typer.echo(report.summary())


@site_cli.command("check")
def check(
    ctx: typer.Context,
    to: Optional[str] = TO,
    endpoint_url: Optional[str] = ENDPOINT_URL,
    path_style: bool = PATH_STYLE,
    site_url: Optional[str] = typer.Option(None, "--site-url"),
    against_log: bool = typer.Option(
        True, "--against-log/--site-only", help="Also check the site against the log: every release it records listed, each released manifest the one it names, frozen at a position whose hash is the log's (needs the database)."
    ),
) -> None:
    """Check a published site: every manifest whole, every link a reader can follow resolved, and every
    release the log records listed by the index, feeds, calendar and latest/. Exits 1 if not."""
    app = ready(ctx) if against_log else ctx.obj
    store = _store(to or app.settings.publish_to, endpoint_url, path_style, None)
    url = site_url_of(site_url or app.settings.site_url)
    try:
        problems = check_site(store, url)
        if against_log:
            publishing = app.publishing_to(url)
            problems += check_lag(store, publishing.site(store), url)
            released = [
                (e.data["edition"], e.data["revision"], e.data["manifest_hash"], released_manifest(e.data))
                for e in app.store.read_all(1)
                if e.type == "EditionReleased"
            ]
            problems += check_against_log(store, released, functools.partial(hash_at, app.store), _root_at(app.store))
    except StorageError as exc:
        raise fail(str(exc), 1)
    for problem in problems:
        typer.echo(problem)
    if problems:
        raise fail(f"{len(problems)} problem(s) in {store.location()}", 1)
    listed = ", every release the log records listed, every released manifest the one it records" if against_log else ""
    typer.echo(f"{store.location()}: consistent (every manifest whole, every link resolved{listed})")


def _root_at(store):
    """The log's tree root of `size` events, or None past its head."""
    from events.merkle import ProofError

    def root_at(size: int) -> bytes | None:
        try:
            return store.tree_root(size)
        except ProofError:
            return None

    return root_at


@site_cli.command("head")
def head(
    ctx: typer.Context,
    to: Optional[str] = TO,
    endpoint_url: Optional[str] = ENDPOINT_URL,
    path_style: bool = PATH_STYLE,
) -> None:
    """Print the newest log head a published revision was frozen at, as POSITION:HASH, read from the site alone
    (for `verify --expect-head`). Exits 1 if nothing is published."""
    app = ctx.obj
    store = _store(to or app.settings.publish_to, endpoint_url, path_style, None)
    try:
        found = published_head(store)
    except StorageError as exc:
        raise fail(str(exc), 1)
    if found is None:
        raise fail(f"nothing is published in {store.location()}: no manifest.json under editions/", 1)
    typer.echo(f"{found[0]}:{found[1]}")


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Static files with the Content-Types the S3 store would send (feeds, calendars, CSV)."""

    def guess_type(self, path) -> str:
        return content_type_for(str(path))

    def log_message(self, format: str, *args) -> None:
        structlog.get_logger("site").info("site.request", request=format % args)


@site_cli.command("serve")
def serve(
    directory: Path = typer.Option(Path("var/public"), "--dir", help="The published folder."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (this machine only by default)."),
    port: int = typer.Option(8080, "--port", min=0, max=65535),
) -> None:
    """Serve a published folder over HTTP in the foreground, for a person to look at (Ctrl-C stops it)."""
    if not (directory / "index.html").is_file():
        raise fail(f"{directory} has no index.html: publish an edition first (policing-metrics publish EDITION --to file://{directory})", 2)
    handler = functools.partial(_Handler, directory=str(directory))
    with http.server.ThreadingHTTPServer((host, port), handler) as server:
        url = f"http://{host}:{server.server_address[1]}/"
        typer.echo(f"Serving {directory} at {url}  (press Ctrl-C to stop)", err=False)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            typer.echo("\nstopped")
