"""`policing-metrics tokens`: create, list, rotate and revoke API tokens."""

from __future__ import annotations

import json
from typing import Optional

import typer

from events import Metadata
from events.domain.errors import DomainError

from events.domain.rules.tokens import expiry

from ..handlers.tokens import issue_token, list_tokens, revoke_token, rotate_token
from .common import cli, cli_metadata, fail, ready
from .recording import actor_option

EXPIRES_HELP = "When the token stops working: a lifetime (90d, 12h) or a time with its offset (2027-03-31T17:00:00Z)."
tokens_cli = typer.Typer(help="API tokens for the HTTP service (shown once, stored only as hashes).", no_args_is_help=True)
cli.add_typer(tokens_cli, name="tokens")


def _actor(ctx: typer.Context, actor: Optional[str]) -> Metadata:
    return cli_metadata(ctx.obj, actor)


@tokens_cli.command("create")
def create(
    ctx: typer.Context,
    role: str = typer.Option(..., "--role", help="data-owner, editor, auditor or admin."),
    name: str = typer.Option(..., "--name", help="Who or what holds the token."),
    measures: Optional[str] = typer.Option(None, "--measures", help="data-owner only: comma-separated measure ids."),
    expires: Optional[str] = typer.Option(None, "--expires", help=EXPIRES_HELP),
    organisation: Optional[str] = typer.Option(
        None, "--organisation", help="data-owner or editor: the organisation whose areas alone it reaches."
    ),
    actor: Optional[str] = actor_option(),
) -> None:
    """Create a token and print it once."""
    app = ready(ctx)
    limited = [m.strip() for m in measures.split(",") if m.strip()] if measures else None
    try:
        expires_at = expiry(expires, app.clock()) if expires else None
        token, secret = issue_token(
            app.store, name=name, role=role, measures=limited, metadata=_actor(ctx, actor), expires_at=expires_at,
            organisation=organisation,
        )
    except DomainError as exc:
        raise fail(str(exc), 2)
    _hand_over(token, secret)


def _hand_over(token, secret: str) -> None:
    typer.echo(secret)
    until = f", expires {token.expires_at}" if token.expires_at else ""
    typer.echo(f"token {token.token_id} for {token.name!r} ({token.role}{until}); keep it safe: it is not shown again", err=True)


@tokens_cli.command("rotate")
def rotate(
    ctx: typer.Context,
    token_id: str = typer.Argument(..., help="The token id (from `tokens list`)."),
    expires: Optional[str] = typer.Option(
        None, "--expires", help=EXPIRES_HELP + " Without it, the new token lives as long as the old one was issued for."
    ),
    actor: Optional[str] = actor_option(),
) -> None:
    """Issue the token's holder a new secret (same name, role and measures) and revoke the old one at once."""
    app = ready(ctx)
    try:
        now = app.clock()
        expires_at = expiry(expires, now) if expires else None
        token, secret = rotate_token(app.store, token_id, _actor(ctx, actor), now=now, expires_at=expires_at)
    except DomainError as exc:
        raise fail(str(exc), 2)
    typer.echo(f"revoked {token_id}; its replacement follows", err=True)
    _hand_over(token, secret)


@tokens_cli.command("list")
def list_(ctx: typer.Context, as_json: bool = typer.Option(False, "--json")) -> None:
    """List tokens (never their secrets)."""
    app = ready(ctx)
    tokens, now = list_tokens(app.store), app.clock()
    if as_json:
        typer.echo(json.dumps([{k: v for k, v in t.__dict__.items() if k != "secret_sha256"} for t in tokens], indent=2))
        return
    for t in tokens:
        scope = ",".join(t.measures) if t.measures is not None else "all"
        if t.revoked_at:
            state = f"revoked {t.revoked_at}"
        elif t.expired(now):
            state = f"expired {t.expires_at}"
        else:
            state = "active" + (f" until {t.expires_at}" if t.expires_at else "")
        reach = f"  organisation={t.organisation}" if t.organisation else ""
        typer.echo(f"{t.token_id}  {t.role:<10}  {t.name}  measures={scope}{reach}  issued {t.issued_at} by {t.issued_by}  {state}")


@tokens_cli.command("revoke")
def revoke(
    ctx: typer.Context,
    token_id: str = typer.Argument(..., help="The token id (from `tokens list`)."),
    reason: str = typer.Option(..., "--reason"),
    actor: Optional[str] = actor_option(),
) -> None:
    """Revoke a token; requests with it get 401 from then on."""
    try:
        token = revoke_token(ready(ctx).store, token_id, reason, _actor(ctx, actor))
    except DomainError as exc:
        raise fail(str(exc), 2)
    typer.echo(f"revoked {token.token_id} ({token.name}) at {token.revoked_at}")
