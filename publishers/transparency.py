"""The site's transparency files (docs/proofs.md, "What the site publishes"): every released revision's
signed checkpoint, the latest one, a consistency proof from each to the next, the verifier keys, an
index of them all, and a page on how to check.

| key | what |
|---|---|
| `checkpoints/{size}` | the signed checkpoint (C2SP tlog-checkpoint in a signed note) of the tree of `size` events, one per released revision's tree size (its approval's position; its frozen position before approvals named their content) |
| `checkpoint` | the latest of them (the largest size) |
| `proofs/consistency/{old}-{new}.json` | the RFC 9162 consistency proof from each checkpoint to the next |
| `checkpoint.pub` | the verifier keys that sign the checkpoints, one per line (Go's note verifier key format) |
| `proofs/index.json` | all of the above: sizes, roots, which revisions each checkpoint is of, every file's key |
| `proofs/index.html` | how to check an edition, for a person |

Only released revisions' sizes are published: nothing here names an unreleased edition, and a tree's
root and proof hashes reveal nothing of the events under them.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass

from .model import checkpoint_key

CHECKPOINT = "checkpoint"
VERIFIER_KEYS = "checkpoint.pub"
PROOFS_INDEX = "proofs/index.json"
PROOFS_PAGE = "proofs/index.html"
TEXT = "text/plain; charset=utf-8"
FORMAT = "policing-metrics-proofs"


def consistency_key(old_size: int, new_size: int) -> str:
    return f"proofs/consistency/{old_size}-{new_size}.json"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@dataclass(frozen=True)
class TreeHead:
    """A released revision's tree: its size (up to its approval, or its frozen position in the first proof format), root, the revisions proved in it, and its
    checkpoint as published (a signed note; the bare checkpoint text when no key is configured)."""

    size: int
    root: bytes
    revisions: tuple[tuple[str, int], ...]
    note: str


@dataclass(frozen=True)
class Consistency:
    old_size: int
    new_size: int
    old_root: bytes
    new_root: bytes
    proof: tuple[bytes, ...]


def consistency_json(c: Consistency) -> bytes:
    return _dumps(
        {
            "old_size": c.old_size,
            "new_size": c.new_size,
            "old_root_hash": b64(c.old_root),
            "new_root_hash": b64(c.new_root),
            "proof": [b64(h) for h in c.proof],
        }
    )


def index_json(heads: list[TreeHead], proofs: list[Consistency], keys: list[str], origin: str) -> bytes:
    files = [checkpoint_key(h.size) for h in heads] + [consistency_key(p.old_size, p.new_size) for p in proofs]
    if heads:
        files.append(CHECKPOINT)
    if keys:
        files.append(VERIFIER_KEYS)
    return _dumps(
        {
            "format": FORMAT,
            "version": 1,
            "origin": origin,
            "latest": CHECKPOINT if heads else None,
            "verifier_keys": VERIFIER_KEYS if keys else None,
            "checkpoints": [
                {
                    "size": h.size,
                    "root_hash": b64(h.root),
                    "key": checkpoint_key(h.size),
                    "revisions": [{"edition": e, "revision": r} for e, r in h.revisions],
                }
                for h in heads
            ],
            "consistency": [
                {"old_size": p.old_size, "new_size": p.new_size, "key": consistency_key(p.old_size, p.new_size)}
                for p in proofs
            ],
            "files": files,
        }
    )


def _dumps(value) -> bytes:
    return (json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def transparency_files(heads: list[TreeHead], proofs: list[Consistency], keys: list[str], origin: str, page: bytes) -> list:
    """The transparency files in write order: what the others name first, the index and the page last."""
    from .site import SiteFile

    files = [SiteFile(checkpoint_key(h.size), h.note.encode(), TEXT) for h in heads]
    files += [SiteFile(consistency_key(p.old_size, p.new_size), consistency_json(p), "application/json") for p in proofs]
    if keys:
        files.append(SiteFile(VERIFIER_KEYS, "".join(f"{key}\n" for key in keys).encode(), TEXT))
    if heads:
        files.append(SiteFile(CHECKPOINT, heads[-1].note.encode(), TEXT))
    files.append(SiteFile(PROOFS_INDEX, index_json(heads, proofs, keys, origin), "application/json"))
    files.append(SiteFile(PROOFS_PAGE, page, "text/html; charset=utf-8"))
    return files
