"""Checking a published site, or one downloaded edition, with no database (`policing-metrics proof check`).

What is checked (docs/proofs.md, "Checking"):

- every checkpoint's signature, by the verifier keys given (or, failing those, the site's own
  `checkpoint.pub`, which only shows the site is self-consistent);
- that no two checkpoints of one size have different roots, wherever they were read (checkpoints/,
  `checkpoint`, the index, manifests, edition.json files, consistency proofs, checkpoints the reader
  kept): that would be a fork, proof the log was rewritten;
- a consistency proof from each checkpoint to the next: the log only grew between two editions;
- for each edition.json in proof format 2: its approval, re-hashed from the published envelope
  (docs/hash-chain.md), leads to the checkpoint's root and is this revision's; every figure and paragraph
  is what the approval names (a figure's measure, area, period, value, note and source; a paragraph's
  text, heading, section, footnotes and priority), and every one it names is published; each proof is
  for the checkpoint's tree size and leads from the source hash the approval names, at its position,
  to the root;
- in the first format (no `proof_format`): each figure's and paragraph's events, re-hashed, lead to the
  root, and say what edition.json publishes;
- each scorecard line's values are those proven figures'.

Each problem names its kind; `Report.exit_code` ranks them: a fork 4, a signature 3, anything else 1.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Iterable

from events.canonical import canonical_bytes
from events.chain import GENESIS_HASH
from events.domain.editions import edition_stream
from events.domain.figures import figure_stream
from events.domain.rules import figures as figure_rules
from events.merkle import ProofError, event_leaf_hash, verify_consistency, verify_inclusion
from events.notes import BadSignature, Checkpoint, NoteError, UnverifiedNote, VerifierKey, open_checkpoint

from .check import revision_directory
from .model import checkpoint_key, publishable
from .stores import ObjectNotFound, ObjectStore
from .transparency import CHECKPOINT, PROOFS_INDEX, VERIFIER_KEYS, consistency_key

TAMPERED = "tampered"
TREE_SIZE = "proof for another tree size"
SIGNATURE = "signature"
FORK = "fork"
INCONSISTENT = "inconsistent"
MISSING = "missing"
EXIT_CODES = {FORK: 4, INCONSISTENT: 4, SIGNATURE: 3}


@dataclass(frozen=True)
class Problem:
    kind: str
    message: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"


@dataclass
class Report:
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    checkpoints: int = 0
    consistency: int = 0
    editions: int = 0
    items: int = 0  # figures and paragraphs proved

    def fail(self, kind: str, message: str) -> None:
        self.problems.append(Problem(kind, message))

    @property
    def exit_code(self) -> int:
        return max((EXIT_CODES.get(p.kind, 1) for p in self.problems), default=0)


def _b64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (ValueError, TypeError) as exc:
        raise ProofError(f"{what} is not base64 ({exc})") from None


def event_hash_of(event: dict) -> str:
    """An event's hash recomputed from its published envelope, by the rule in docs/hash-chain.md (RFC 8785:
    the store's own canonical encoder, msgspec checked against the rfc8785 package)."""
    envelope = canonical_bytes(
        {
            "data": event["data"],
            "metadata": event["metadata"],
            "position": event["position"],
            "recorded_at": event["recorded_at"],
            "schema_version": event["schema_version"],
            "stream": event["stream"],
            "type": event["type"],
            "version": event["version"],
        }
    )
    return hashlib.sha256(bytes.fromhex(event["prev_hash"]) + envelope).hexdigest()


class _Roots:
    """Every (size, root) read anywhere, with where: two roots for one size are a fork."""

    def __init__(self, report: Report) -> None:
        self.report = report
        self.seen: dict[int, tuple[bytes, str]] = {}

    def add(self, size: int, root: bytes, where: str) -> None:
        known = self.seen.get(size)
        if known is None:
            self.seen[size] = (root, where)
        elif known[0] != root:
            self.report.fail(
                FORK,
                f"two checkpoints of size {size} with different roots: {known[1]} has {base64.b64encode(known[0]).decode()}, "
                f"{where} has {base64.b64encode(root).decode()}: the log was rewritten",
            )


def check(
    store: ObjectStore,
    keys: Iterable[VerifierKey] = (),
    *,
    kept: Iterable[tuple[str, str]] = (),
    checkpoints: ObjectStore | None = None,
) -> Report:
    """Check the site (or the edition) in `store`. `keys`: the verifier keys to trust (none: the site's own,
    with a note saying so). `kept`: (name, text) of checkpoints the reader kept. `checkpoints`: where the
    checkpoints live when `store` holds one downloaded edition (its site; None: `store` itself)."""
    report = Report()
    kept = list(kept)
    roots = _Roots(report)
    site = checkpoints or store
    verifiers = list(keys)
    if not verifiers:
        verifiers = _site_keys(site, report)

    def open_note(name: str, body: bytes | str) -> Checkpoint | None:
        if verifiers:
            try:
                checkpoint, _ = open_checkpoint(body, verifiers)
                return checkpoint
            except UnverifiedNote as exc:
                report.fail(SIGNATURE, f"{name} is not signed by the key(s) given, but by another key: {exc}")
            except BadSignature as exc:
                report.fail(SIGNATURE, f"{name}: {exc}")
            except NoteError as exc:
                if "blank line" in str(exc):
                    report.fail(SIGNATURE, f"{name} is not signed (no signature lines), but a key was given to check it with")
                else:
                    report.fail(MISSING, f"{name} is not a signed checkpoint: {exc}")
        # No key to check with, or the signature failed: still read the tree head, for forks and proofs.
        text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
        split = text.rfind("\n\n")
        try:
            return Checkpoint.parse(text[: split + 1] if split >= 0 else text)
        except NoteError as exc:
            report.fail(MISSING, f"{name} is not a checkpoint: {exc}")
            return None

    # the checkpoints, the latest and any the reader kept
    index = _json(site, PROOFS_INDEX)
    sizes = sorted({entry["size"] for entry in (index or {}).get("checkpoints", []) if isinstance(entry.get("size"), int)})
    heads: dict[int, bytes] = {}
    for size in sizes:
        checkpoint = _read_checkpoint(site, checkpoint_key(size), open_note, report)
        if checkpoint is None:
            continue
        report.checkpoints += 1
        if checkpoint.size != size:
            report.fail(TREE_SIZE, f"{checkpoint_key(size)} is a checkpoint of size {checkpoint.size}, not {size}")
        roots.add(checkpoint.size, checkpoint.root, site.location(checkpoint_key(size)))
        heads[checkpoint.size] = checkpoint.root
    for entry in (index or {}).get("checkpoints", []):
        try:
            roots.add(entry["size"], _b64(entry["root_hash"], "a root hash"), site.location(PROOFS_INDEX))
        except (KeyError, TypeError, ProofError):
            report.fail(MISSING, f"{PROOFS_INDEX} lists a checkpoint without a size and a base64 root hash")
    latest = _read_checkpoint(site, CHECKPOINT, open_note, report, required=bool(sizes))
    if latest is not None:
        roots.add(latest.size, latest.root, site.location(CHECKPOINT))
        if sizes and latest.size != sizes[-1]:
            report.fail(INCONSISTENT, f"{CHECKPOINT} is of size {latest.size}, but the latest checkpoint listed is of size {sizes[-1]}")
    for name, text in kept:
        checkpoint = open_note(name, text)
        if checkpoint is not None:
            roots.add(checkpoint.size, checkpoint.root, name)
            if checkpoint.size not in heads and sizes:
                report.notes.append(f"{name} (size {checkpoint.size}) matches no published checkpoint's size: only a fork at the same size can be seen")

    kept_heads = {size: root for size, (root, where) in roots.seen.items() if size not in heads and any(where == n for n, _ in kept)}
    # consistency from each checkpoint to the next
    ordered = sorted(heads)
    for old, new in zip(ordered, ordered[1:]):
        key = consistency_key(old, new)
        proof = _json(site, key)
        if proof is None:
            report.fail(MISSING, f"{key} is missing: nothing shows the log of {new} events extends the log of {old}")
            continue
        try:
            old_root, new_root = _b64(proof["old_root_hash"], "old_root_hash"), _b64(proof["new_root_hash"], "new_root_hash")
            roots.add(old, old_root, site.location(key))
            roots.add(new, new_root, site.location(key))
            verify_consistency(old, new, heads[old], heads[new], [_b64(h, "a proof hash") for h in proof["proof"]])
            report.consistency += 1
        except (ProofError, KeyError, TypeError) as exc:
            report.fail(INCONSISTENT, f"{key}: the checkpoint of {new} events does not extend the one of {old}: {exc}")

    heads.update(kept_heads)  # a downloaded edition is checked against the checkpoint its reader kept
    # each edition
    for directory in _editions(store):
        _check_edition(store, directory, heads, roots, report, site, open_note)
    if not report.editions:
        report.fail(MISSING, f"no edition found at {store.location()} (no edition.json with its manifest.json)")
    return report


def _site_keys(site: ObjectStore, report: Report) -> list[VerifierKey]:
    try:
        body = site.get(VERIFIER_KEYS).decode()
    except (ObjectNotFound, UnicodeDecodeError):
        report.notes.append("no verifier key given and the site publishes none: signatures are not checked")
        return []
    keys = []
    for line in body.splitlines():
        if line.strip():
            try:
                keys.append(VerifierKey.parse(line))
            except NoteError as exc:
                report.fail(SIGNATURE, f"{site.location(VERIFIER_KEYS)}: {exc}")
    report.notes.append(
        f"signatures checked with the keys the site itself publishes ({VERIFIER_KEYS}): pass --key with a copy "
        "obtained another way to know the checkpoints are the deployment's"
    )
    return keys


def _read_checkpoint(site, key, open_note, report, *, required: bool = True) -> Checkpoint | None:
    try:
        body = site.get(key)
    except ObjectNotFound:
        if required:
            report.fail(MISSING, f"{site.location(key)} is missing")
        return None
    return open_note(site.location(key), body)


def _json(store: ObjectStore, key: str):
    try:
        return json.loads(store.get(key))
    except (ObjectNotFound, ValueError):
        return None


def _editions(store: ObjectStore) -> list[str]:
    """Revision directories ('editions/2022-02/r1/', 'kent-police/editions/2022-02/r1/' in a hub's section, or
    '' for a downloaded edition) holding edition.json."""
    keys = store.list()
    if "edition.json" in keys and "manifest.json" in keys:
        return [""]
    return sorted(k[: -len("manifest.json")] for k in keys if revision_directory(k) and k.endswith("/manifest.json"))


def _check_edition(store, directory, heads, roots: _Roots, report: Report, site, open_note) -> None:
    manifest = _json(store, directory + "manifest.json")
    try:
        body = store.get(directory + "edition.json")
    except ObjectNotFound:
        report.fail(MISSING, f"{store.location(directory + 'edition.json')} is missing")
        return
    report.editions += 1
    where = store.location(directory + "edition.json")
    listed = next((f for f in (manifest or {}).get("files", []) if f.get("path") == "edition.json"), None)
    if listed is None or listed.get("sha256") != hashlib.sha256(body).hexdigest():
        report.fail(TAMPERED, f"{where} is not the edition.json its manifest.json lists (SHA-256 differs)")
    document = json.loads(body)
    name = f"edition {document.get('edition')} revision {document.get('revision')}"
    reference = document.get("checkpoint")
    if not reference:
        report.notes.append(f"{name} was published before editions carried proofs: nothing in it to check")
        return
    size = reference["size"]
    root = _b64(reference["root_hash"], "the edition's root hash")
    roots.add(size, root, where)
    if manifest and manifest.get("checkpoint"):
        roots.add(manifest["checkpoint"]["size"], _b64(manifest["checkpoint"]["root_hash"], "root"), store.location(directory + "manifest.json"))
    if size not in heads:
        checkpoint = _read_checkpoint(site, checkpoint_key(size), open_note, report)
        if checkpoint is None:
            return
        roots.add(checkpoint.size, checkpoint.root, site.location(checkpoint_key(size)))
        heads[size] = checkpoint.root
    if heads[size] != root:
        return  # a fork, reported
    if document.get("proof_format") == 2:
        _check_approved(document, size, root, name, report)
    else:
        _check_events(document, size, root, name, report)
    proven = {(f.get("measure"), f.get("area"), f.get("period")): f.get("value") for f in document.get("figures", [])}
    for line in document.get("scorecard", []):  # the scorecard shows proven figures again: the same values, no others
        for period, value in _stated(line):
            key = (line.get("measure"), line.get("area"), period)
            if value is None:
                continue
            if key not in proven:
                report.fail(TAMPERED, f"{name}: tampered scorecard line {key[0]} {key[1]} {period}: it says {value!r}, but no proven figure is of that period")
            elif proven[key] != value:
                report.fail(
                    TAMPERED,
                    f"{name}: tampered scorecard line {key[0]} {key[1]} {period}: it says {value!r}, but the proven figure says {proven[key]!r}",
                )


def _stated(line: dict) -> list[tuple[Any, Any]]:
    """Every (period, value) a scorecard line states: its latest, its baseline, each comparison's and each
    point of its trend."""
    pairs = [(line.get("period"), line.get("value")), (line.get("baseline_period"), line.get("baseline_value"))]
    pairs += [(c.get("period"), c.get("value")) for c in line.get("comparisons") or [] if isinstance(c, dict)]
    pairs += [(p.get("period"), p.get("value")) for p in line.get("series") or [] if isinstance(p, dict)]
    return pairs


def _check_events(document: dict, size: int, root: bytes, name: str, report: Report) -> None:
    """Proof format 1: each figure and paragraph carries the events it is folded from."""
    for figure in document.get("figures", []):
        label = f"figure {figure.get('measure')} {figure.get('area')} {figure.get('period')}"
        events = _proved(figure, size, root, f"{name}: {label}", report)
        if events is None:
            continue
        if any(e["stream"] != figure_stream(figure["measure"], figure["area"], figure["period"]) for e in events):
            report.fail(TAMPERED, f"{name}: {label}: its proof's events are not of that figure's stream")
            continue
        state = figure_rules.fold((e["type"], e["data"]) for e in events)
        said = {"measure": state.measure, "area": state.area, "period": state.period, "value": state.value} if state else {}
        if state is not None and state.note:
            said["note"] = state.note
        if state is not None and state.source:
            said["source"] = state.source
        for field_name, value in said.items():
            if figure.get(field_name) != publishable(value):
                report.fail(
                    TAMPERED,
                    f"{name}: tampered {label}: edition.json says {field_name} {figure.get(field_name)!r}, but its events "
                    f"(position {', '.join(str(e['position']) for e in events)}) say {value!r}",
                )
        report.items += 1
    for paragraph in document.get("paragraphs", []):
        label = f"paragraph {paragraph.get('number')}"
        events = _proved(paragraph, size, root, f"{name}: {label}", report)
        if events is None:
            continue
        if any(e["stream"] != edition_stream(document["edition"]) or e["data"].get("number") != paragraph.get("number") for e in events):
            report.fail(TAMPERED, f"{name}: {label}: its proof's events are not that paragraph's")
            continue
        said = _paragraph(events)
        published = {
            "text": paragraph.get("template"), "heading": paragraph.get("heading_template"),
            "section": paragraph.get("section"), "footnotes": paragraph.get("footnotes"), "priority": paragraph.get("priority"),
        }  # fmt: skip
        for field_name, value in said.items():
            if published[field_name] != publishable(value):
                report.fail(
                    TAMPERED,
                    f"{name}: tampered {label}: edition.json says {field_name} {published[field_name]!r}, but its events say {value!r}",
                )
        report.items += 1


FIGURE_FIELDS = ("measure", "area", "period", "value", "note", "source")
PARAGRAPH_FIELDS = {"text": "template", "heading": "heading_template", "section": "section", "footnotes": "footnotes", "priority": "priority"}


def _check_approved(document: dict, size: int, root: bytes, name: str, report: Report) -> None:
    """Proof format 2: the approval names what the revision publishes; it re-hashes and is in the tree, every
    figure and paragraph is what it names, and each source hash it names is in the tree at its position."""
    approval = document.get("approval")
    if not isinstance(approval, dict):
        report.fail(MISSING, f"{name}: edition.json is in proof format 2 but carries no approval")
        return
    try:
        digest = event_hash_of(approval)
        if digest != approval.get("hash"):
            raise ProofError(f"it hashes to {digest}, not the {approval.get('hash')} it states")
        if len(approval["prev_hash"]) != len(GENESIS_HASH):
            raise ProofError("a prev_hash is 64 hex digits")
        verify_inclusion(
            approval["position"] - 1, size, event_leaf_hash(digest), [_b64(h, "a proof hash") for h in approval["inclusion_proof"]], root
        )
        data, frozen = approval["data"], document.get("frozen_at") or {}
        if (approval["type"], approval["stream"]) != ("EditionApproved", edition_stream(document.get("edition"))):
            raise ProofError(f"it is a {approval['type']} of {approval['stream']}, not this edition's approval")
        if (data["revision"], data["position"], data["head_hash"]) != (document.get("revision"), frozen.get("position"), frozen.get("head_hash")):
            raise ProofError(
                f"it approves revision {data['revision']} frozen at {data['position']}, not this revision frozen at {frozen.get('position')}"
            )
        content = data["content"]
        approved_figures = {(f["measure"], f["area"], f["period"]): f for f in content["figures"]}
        approved_paragraphs = {p["number"]: p for p in content["paragraphs"]}
    except (ProofError, KeyError, TypeError, ValueError) as exc:
        report.fail(
            TAMPERED,
            f"tampered {name}: approval: its event at position {approval.get('position')} is not this revision's approval "
            f"in the tree of {size} events the checkpoint signs ({exc})",
        )
        return
    where = f"its approval (position {approval['position']})"
    items = [
        (f"figure {f.get('measure')} {f.get('area')} {f.get('period')}", f, approved_figures.pop((f.get("measure"), f.get("area"), f.get("period")), None),
         {field_name: field_name for field_name in FIGURE_FIELDS})
        for f in document.get("figures", [])
    ] + [
        (f"paragraph {p.get('number')}", p, approved_paragraphs.pop(p.get("number"), None), PARAGRAPH_FIELDS)
        for p in document.get("paragraphs", [])
    ]  # fmt: skip
    for label, item, approved, fields in items:
        if approved is None:
            report.fail(TAMPERED, f"{name}: tampered {label}: edition.json publishes it, but {where} does not name it")
            continue
        said = [  # as published: with what no published text may carry replaced (publishers.model.publishable)
            (f, item.get(published), approved.get(f)) for f, published in fields.items() if item.get(published) != publishable(approved.get(f))
        ]
        for field_name, published, value in said:
            report.fail(TAMPERED, f"{name}: tampered {label}: edition.json says {field_name} {published!r}, but {where} says {value!r}")
        if item.get("position") != approved["position"]:
            report.fail(TAMPERED, f"{name}: tampered {label}: its position {item.get('position')} is not the {approved['position']} {where} names")
            continue
        proof = item.get("proof")
        if not proof or "inclusion_proof" not in proof:
            report.fail(MISSING, f"{name}: {label} carries no proof")
            continue
        if proof.get("tree_size") != size:
            report.fail(TREE_SIZE, f"{name}: {label}: its proof is for a tree of {proof.get('tree_size')} events, but the edition's checkpoint is of {size}")
            continue
        try:
            verify_inclusion(
                approved["position"] - 1, size, event_leaf_hash(approved["hash"]), [_b64(h, "a proof hash") for h in proof["inclusion_proof"]], root
            )
        except (ProofError, TypeError, ValueError) as exc:
            report.fail(TAMPERED, f"{name}: tampered {label}: the event {where} names at position {approved['position']} is not in the tree of {size} events the checkpoint signs ({exc})")
            continue
        if not said:
            report.items += 1
    for key in approved_figures:
        report.fail(TAMPERED, f"{name}: tampered edition.json: {where} names figure {' '.join(key)}, which it leaves out")
    for number in approved_paragraphs:
        report.fail(TAMPERED, f"{name}: tampered edition.json: {where} names paragraph {number}, which it leaves out")


def _paragraph(events: list[dict]) -> dict:
    said: dict = {}
    for event in events:
        data = event["data"]
        if event["type"] == "ParagraphWritten":
            said = {
                "text": data.get("text"), "heading": data.get("heading", ""), "section": data.get("section"),
                "footnotes": list(data.get("footnotes", [])), "priority": data.get("priority"),
            }  # fmt: skip
        else:
            for name in ("text", "heading", "footnotes", "priority", "section"):
                if data.get(name) is not None:
                    said[name] = list(data[name]) if name == "footnotes" else data[name]
    return said


def _proved(item: dict, size: int, root: bytes, label: str, report: Report) -> list[dict] | None:
    """The item's events, once each is shown to be in the tree of `size` events with `root`."""
    proof = item.get("proof")
    if not proof or not proof.get("events"):
        report.fail(MISSING, f"{label} carries no proof")
        return None
    if proof.get("tree_size") != size:
        report.fail(TREE_SIZE, f"{label}: its proof is for a tree of {proof.get('tree_size')} events, but the edition's checkpoint is of {size}")
        return None
    events = proof["events"]
    if item.get("position") != events[-1].get("position"):
        report.fail(TAMPERED, f"{label}: its position {item.get('position')} is not its last event's, {events[-1].get('position')}")
    for number, event in enumerate(events):
        try:
            if number and (event["stream"], event["version"]) != (events[0]["stream"], events[0]["version"] + number):
                raise ProofError("its events are not consecutive versions of one stream")
            digest = event_hash_of(event)
            if digest != event.get("hash"):
                raise ProofError(
                    f"the event at position {event['position']} hashes to {digest}, not the {event.get('hash')} it states"
                )
            if len(event["prev_hash"]) != len(GENESIS_HASH):
                raise ProofError("a prev_hash is 64 hex digits")
            verify_inclusion(
                event["position"] - 1, size, event_leaf_hash(digest), [_b64(h, "a proof hash") for h in event["inclusion_proof"]], root
            )
        except (ProofError, KeyError, TypeError, ValueError) as exc:
            report.fail(TAMPERED, f"tampered {label}: its event at position {event.get('position')} is not in the tree of {size} events the checkpoint signs ({exc})")
            return None
    return events
