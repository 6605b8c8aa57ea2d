"""`policing-metrics keys`, `checkpoint` and `tree`: the signing key, signed checkpoints of the log's
Merkle tree, and the stored tree itself (docs/proofs.md)."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Optional

import typer

from events.merkle import ProofError
from events.notes import NoteError

from ..handlers.checkpoints import KeyFileError, create_key, load_key, signed_checkpoint
from .common import cli, fail, ready

keys_cli = typer.Typer(help="The key that signs checkpoints (kept in a file, never in the database).", no_args_is_help=True)
tree_cli = typer.Typer(help="The log's Merkle tree, stored beside the events.", no_args_is_help=True)
cli.add_typer(keys_cli, name="keys")
cli.add_typer(tree_cli, name="tree")

KEY_FILE_HELP = "The private key file (default: POLICING_METRICS_SIGNING_KEY_FILE)."


@keys_cli.command("create")
def keys_create(
    name: str = typer.Option(..., "--name", metavar="ORIGIN", help="The log's origin, e.g. police.example/west-midlands."),
    out: Path = typer.Option(..., "--out", metavar="FILE", help="Where to write the private key (mode 0600; never overwritten)."),
    public_out: Optional[Path] = typer.Option(None, "--public-out", metavar="FILE", help="Also write the verifier key here."),
) -> None:
    """Make the signing key: the private key goes to --out, the verifier key (public) to standard output."""
    try:
        verifier = create_key(name, out)
    except (KeyFileError, NoteError) as exc:
        raise fail(f"--out: {exc}" if isinstance(exc, KeyFileError) else f"--name: {exc}", 2)
    if public_out is not None:
        public_out.write_text(f"{verifier}\n", encoding="ascii")
    typer.echo(str(verifier))
    typer.echo(f"private key written to {out}: keep it secret and backed up; publish the verifier key above", err=True)


@keys_cli.command("public")
def keys_public(
    ctx: typer.Context, key_file: Optional[Path] = typer.Option(None, "--key-file", metavar="FILE", help=KEY_FILE_HELP)
) -> None:
    """Print the verifier key (public) of the signing key."""
    try:
        key = load_key(key_file or ctx.obj.settings.signing_key_file)
    except KeyFileError as exc:
        raise fail(str(exc), 2)
    typer.echo(str(key.verifier()))


@cli.command()
def checkpoint(
    ctx: typer.Context,
    key_file: Optional[Path] = typer.Option(None, "--key-file", metavar="FILE", help=KEY_FILE_HELP),
    size: Optional[int] = typer.Option(None, "--size", min=0, help="Sign the tree of the first SIZE events (default: the whole log)."),
) -> None:
    """Print a signed checkpoint (C2SP tlog-checkpoint in a signed note) of the log's Merkle tree."""
    app = ready(ctx)
    try:
        key = load_key(key_file or app.settings.signing_key_file)
    except KeyFileError as exc:
        raise fail(str(exc), 2)
    try:
        note = signed_checkpoint(app.store, key, size)
    except ProofError as exc:
        raise fail(f"--size: {exc}", 2)
    typer.echo(note, nl=False)


@tree_cli.command("rebuild")
def tree_rebuild(ctx: typer.Context) -> None:
    """Recompute the stored tree from the log (after `verify` reports it damaged); appends wait meanwhile."""
    app = ready(ctx)
    size = app.store.rebuild_tree()
    typer.echo(f"tree rebuilt: {size} events, root {base64.b64encode(app.store.tree_root(size)).decode()}")


@tree_cli.command("head")
def tree_head(ctx: typer.Context) -> None:
    """Print the tree's size and root hash (base64, as a checkpoint writes it)."""
    size, root = ready(ctx).store.tree_head()
    typer.echo(f"{size} {base64.b64encode(root).decode()}")
