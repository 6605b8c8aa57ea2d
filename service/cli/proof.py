"""`policing-metrics proof check`: a published site or one downloaded edition checked with no database."""

from __future__ import annotations

import posixpath
from pathlib import Path
from typing import Optional
from urllib.parse import urlsplit, urlunsplit

import typer

from events.notes import NoteError, VerifierKey
from publishers.proofcheck import check
from publishers.stores import LocalDirectory, ObjectStore, StorageError, open_site

from .common import cli, fail

proof_cli = typer.Typer(help="Proofs a reader checks without the database (docs/proofs.md).", no_args_is_help=True)
cli.add_typer(proof_cli, name="proof")


def _keys(values: list[str]) -> list[VerifierKey]:
    keys = []
    for value in values:
        path = Path(value)
        lines = path.read_text(encoding="utf-8").splitlines() if path.is_file() else [value]
        for line in (line.strip() for line in lines):
            if line:
                try:
                    keys.append(VerifierKey.parse(line))
                except NoteError as exc:
                    raise fail(f"--key {value}: {exc}", 2)
    return keys


def _site_of_edition(source: str, store: ObjectStore) -> ObjectStore | None:
    """The site around a downloaded revision directory, if it is there: editions/E/rN/ is three levels down,
    four in an organisation's section of a hub (ORG/editions/E/rN/)."""
    for up in (3, 4):
        if isinstance(store, LocalDirectory):
            parent = store.root.parents[up - 1]
            if (parent / "proofs" / "index.json").is_file():
                return LocalDirectory(parent)
            continue
        parts = urlsplit(source)
        path = posixpath.normpath(parts.path.rstrip("/") + "/.." * up) + "/"
        try:
            site = open_site(urlunsplit((parts.scheme, parts.netloc, path, "", "")))
            site.get("proofs/index.json")
        except StorageError:
            continue
        return site
    return None


@proof_cli.command("check")
def proof_check(
    source: str = typer.Argument(..., metavar="SITE_OR_URL", help="A published site or one revision's directory: a folder, file://, s3:// or http(s)://."),
    key: list[str] = typer.Option([], "--key", metavar="PUBKEY", help="A verifier key (NAME+ID+BASE64) or a file of them, obtained apart from the site. Without: the site's own checkpoint.pub."),
    kept: list[Path] = typer.Option([], "--checkpoint", metavar="FILE", help="A checkpoint kept earlier (repeatable): a fork at its size is detected; a downloaded edition is checked against it."),
) -> None:
    """Check every checkpoint's signature, every figure's and paragraph's inclusion proof, and the consistency
    of each checkpoint with the next, with no database. Exits 0 when all hold; 1 a tampered figure or
    paragraph, a proof for another tree size, or a missing file; 3 a checkpoint signed by another key (or
    not signed); 4 a fork (two checkpoints of one size with different roots) or an inconsistency."""
    keys = _keys(key)
    try:
        kept_notes = [(str(path), path.read_text(encoding="utf-8")) for path in kept]
    except OSError as exc:
        raise fail(f"--checkpoint: {exc}", 2)
    try:
        store = open_site(source)
        around = None
        keys_in_store = store.list()
        if "edition.json" in keys_in_store and "proofs/index.json" not in keys_in_store:
            around = _site_of_edition(source, store)
        report = check(store, keys, kept=kept_notes, checkpoints=around)
    except StorageError as exc:
        raise fail(str(exc), 1)
    for note in report.notes:
        typer.echo(f"note: {note}")
    for problem in report.problems:
        typer.echo(str(problem))
    if report.problems:
        raise fail(f"{len(report.problems)} problem(s) in {store.location()}", report.exit_code)
    typer.echo(
        f"{store.location()}: ok: {report.checkpoints} checkpoint(s), {report.consistency} consistency proof(s), "
        f"{report.editions} edition(s), {report.items} figure(s) and paragraph(s) proved"
    )
