"""The deployment's signing key and its checkpoints: a key made once into a file of its own (never the
database), and C2SP checkpoints of the log's Merkle tree signed with it (docs/proofs.md)."""

from __future__ import annotations

import os
from pathlib import Path

from events import EventStore
from events.notes import Checkpoint, NoteError, SigningKey, VerifierKey, sign_checkpoint


class KeyFileError(ValueError):
    """The signing key's file is missing, unreadable, or does not hold a private key."""


def create_key(name: str, out: Path) -> VerifierKey:
    """Make a new Ed25519 key named `name` (the log's origin), write it to `out` readable by its owner
    only (refusing to overwrite a file), and return its verifier key (public: publish it)."""
    key = SigningKey.generate(name)  # refuses a name signed notes cannot carry
    try:
        descriptor = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise KeyFileError(f"{out} already exists: a key file is never overwritten (move it away first)") from None
    except OSError as exc:
        raise KeyFileError(f"cannot create {out}: {exc.strerror}") from None
    with os.fdopen(descriptor, "w", encoding="ascii") as file:
        os.fchmod(file.fileno(), 0o600)  # whatever the umask
        file.write(key.private_text() + "\n")
    return key.verifier()


def load_key(path: Path | str | None) -> SigningKey:
    """The signing key in `path` (POLICING_METRICS_SIGNING_KEY_FILE or --key-file)."""
    if path is None or str(path) == "":
        raise KeyFileError(
            "no signing key: set POLICING_METRICS_SIGNING_KEY_FILE (or --key-file) to the file "
            "`policing-metrics keys create` wrote"
        )
    try:
        text = Path(path).read_text(encoding="ascii")
    except FileNotFoundError:
        raise KeyFileError(f"the signing key file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyFileError(f"cannot read the signing key file {path}: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        return SigningKey.parse(text)
    except NoteError as exc:
        raise KeyFileError(f"{path}: {exc}") from None


def signed_checkpoint(store: EventStore, key: SigningKey, size: int | None = None) -> str:
    """A checkpoint of the log's tree, now or at an earlier `size`, signed by `key` (origin = the key's name)."""
    if size is None:
        size, root = store.tree_head()
    else:
        root = store.tree_root(size)
    return sign_checkpoint(Checkpoint(key.name, size, root), key)
