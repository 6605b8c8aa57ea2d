"""`policing-metrics tokens`: create, list and revoke API tokens."""

from __future__ import annotations

import getpass
import json
from typing import Optional

import typer

from events import Metadata
from events.domain.errors import DomainError

from ..handlers.tokens import issue_token, list_tokens, revoke_token
from .common import cli, fail, ready

tokens_cli = typer.Typer(help="API tokens for the HTTP service (shown once, stored only as hashes).", no_args_is_help=True)
cli.add_typer(tokens_cli, name="tokens")


def _actor(actor: Optional[str]) -> Metadata:
    return Metadata(actor=actor or getpass.getuser(), source="cli")


@tokens_cli.command("create")
def create(
    ctx: typer.Context,
    role: str = typer.Option(..., "--role", help="data-owner, editor, auditor or admin."),
    name: str = typer.Option(..., "--name", help="Who or what holds the token."),
    measures: Optional[str] = typer.Option(None, "--measures", help="data-owner only: comma-separated measure ids."),
    actor: Optional[str] = typer.Option(None, "--actor", envvar="POLICING_METRICS_ACTOR"),
) -> None:
    """Create a token and print it once."""
    app = ready(ctx)
    limited = [m.strip() for m in measures.split(",") if m.strip()] if measures else None
    try:
        token, secret = issue_token(app.store, name=name, role=role, measures=limited, metadata=_actor(actor))
    except DomainError as exc:
        raise fail(str(exc), 2)
    typer.echo(secret)
    typer.echo(f"token {token.token_id} for {token.name!r} ({token.role}); keep it safe: it is not shown again", err=True)


@tokens_cli.command("list")
def list_(ctx: typer.Context, as_json: bool = typer.Option(False, "--json")) -> None:
    """List tokens (never their secrets)."""
    tokens = list_tokens(ready(ctx).store)
    if as_json:
        typer.echo(json.dumps([{k: v for k, v in t.__dict__.items() if k != "secret_sha256"} for t in tokens], indent=2))
        return
    for t in tokens:
        scope = ",".join(t.measures) if t.measures is not None else "all"
        state = f"revoked {t.revoked_at}" if t.revoked_at else "active"
        typer.echo(f"{t.token_id}  {t.role:<10}  {t.name}  measures={scope}  issued {t.issued_at} by {t.issued_by}  {state}")


@tokens_cli.command("revoke")
def revoke(
    ctx: typer.Context,
    token_id: str = typer.Argument(..., help="The token id (from `tokens list`)."),
    reason: str = typer.Option(..., "--reason"),
    actor: Optional[str] = typer.Option(None, "--actor", envvar="POLICING_METRICS_ACTOR"),
) -> None:
    """Revoke a token; requests with it get 401 from then on."""
    try:
        token = revoke_token(ready(ctx).store, token_id, reason, _actor(actor))
    except DomainError as exc:
        raise fail(str(exc), 2)
    typer.echo(f"revoked {token.token_id} ({token.name}) at {token.revoked_at}")
