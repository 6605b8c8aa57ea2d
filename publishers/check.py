"""Is a published site consistent? What a reader can reach resolves, and every revision is whole.

- Every manifest.json lists files that are all there, with the SHA-256 and size it states.
- Following links from the site's entry points (index.html, latest/, the feeds, the calendar),
  every link inside the site resolves to a stored file, and every link into a revision's
  directory is into a complete one (its manifest is there).

`check_lag` compares the site with the log: every edition the log records as released (and whose
revision is in the destination) must be listed by the index, the feeds, the calendar, its own page
and, for the newest, latest/. A site file that could not be written leaves the site behind the log.

`policing-metrics site check` runs both against a destination; the publishing tests run it after
every failed step.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import deque
from dataclasses import dataclass
from typing import Callable, Iterable

from .links import ENTRY_POINTS
from .links import links as _links
from .links import target as _target
from .model import Site, section_prefix
from .stores import ObjectNotFound, ObjectStore

# A revision's directory: `editions/{edition}/r{n}`, or `{organisation}/editions/...` in a hub's section.
_REVISION = re.compile(r"^((?:[a-z0-9]+(?:-[a-z0-9]+)*/)?editions/[^/]+/r\d+)/")


def revision_directory(key: str) -> str | None:
    """The revision directory a key is in (`editions/E/rN`, `kent-police/editions/E/rN`), or None."""
    found = _REVISION.match(key)
    return found.group(1) if found else None


def released_manifest(release: dict) -> str:
    """The key of the manifest an `EditionReleased` event names among the keys it records."""
    return next(
        (key for key in release.get("keys", []) if key.endswith("/manifest.json") and revision_directory(key)),
        f"editions/{release['edition']}/r{release['revision']}/manifest.json",
    )


@dataclass(frozen=True)
class FrozenHead:
    """What a published manifest says its revision was frozen at: the log's position and head hash then."""

    key: str
    edition: str
    revision: int
    position: int
    head_hash: str


def frozen_heads(store: ObjectStore) -> list[FrozenHead]:
    """Every published manifest's `frozen_at`, oldest position first (a manifest that is not valid JSON is
    left to `check_site`, which reports it)."""
    heads = []
    for key in store.list():
        if not key.endswith("/manifest.json") or not _REVISION.match(key):
            continue
        try:
            manifest = json.loads(store.get(key))
            frozen = manifest["frozen_at"]
            heads.append(FrozenHead(key, manifest["edition"], manifest["revision"], frozen["position"], frozen["head_hash"]))
        except (ValueError, KeyError, TypeError):
            continue
    return sorted(heads, key=lambda h: (h.position, h.edition, h.revision))


def published_head(store: ObjectStore) -> tuple[int, str] | None:
    """The newest log head a published revision was frozen at, (position, hash) from its manifest's `frozen_at`;
    None when nothing is published. What the public has seen: a log that no longer holds it has been rewritten."""
    heads = frozen_heads(store)
    return (heads[-1].position, heads[-1].head_hash) if heads else None


def frozen_head_disagreements(store: ObjectStore, hash_at: Callable[[int], str | None]) -> list[str]:
    """Every published manifest whose frozen position does not hold its head hash in the log, the first
    published (lowest position) first: the public's record outside the database against the database."""
    problems = []
    for head in frozen_heads(store):
        found = hash_at(head.position)
        if found == head.head_hash:
            continue
        there = f"{found} there" if found else "no event there"
        what = "rewritten" if found else "cut short"
        problems.append(
            f"edition {head.edition} revision {head.revision} disagrees with the log: {head.key} was frozen at "
            f"position {head.position} with head hash {head.head_hash}, but the log has {there}: the log was {what} "
            f"at or before position {head.position} after this revision was published"
        )
    return problems


def check_site(store: ObjectStore, site_url: str | None = None) -> list[str]:
    """Every inconsistency found, as a sentence naming the key; empty when the site is consistent."""
    keys = set(store.list())
    problems: list[str] = []
    complete: set[str] = set()
    for key in sorted(k for k in keys if _REVISION.match(k) and k.endswith("/manifest.json")):
        directory = key[: -len("manifest.json")]
        try:
            manifest = json.loads(store.get(key))
        except ValueError as exc:
            problems.append(f"{key} is not valid JSON ({exc})")
            continue
        whole = True
        for entry in manifest.get("files", []):
            file_key = directory + entry["path"]
            if file_key not in keys:
                problems.append(f"{key} lists {file_key}, which is missing")
                whole = False
                continue
            body = store.get(file_key)
            if hashlib.sha256(body).hexdigest() != entry["sha256"] or len(body) != entry["size"]:
                problems.append(f"{file_key} does not match its manifest's SHA-256 and size")
                whole = False
        if whole:
            complete.add(directory.rstrip("/"))
    seen: set[str] = set()
    queue = deque(key for key in ENTRY_POINTS if key in keys)
    seen.update(queue)
    while queue:
        page = queue.popleft()
        for link in _links(page, store.get(page)):
            target = _target(page, link, site_url)
            if target is None:
                continue
            if target not in keys:
                problems.append(f"{page} links to {link} ({target}), which is missing")
                continue
            revision = _REVISION.match(target)
            if revision and revision.group(1) not in complete:
                problems.append(f"{page} links to {target} in {revision.group(1)}/, which has no complete manifest")
            if target not in seen and target.endswith((".html", ".atom", ".rss")):
                seen.add(target)
                queue.append(target)
    return sorted(set(problems))


def check_lag(store: ObjectStore, site: Site, site_url: str | None = None) -> list[str]:
    """Every released edition the site's own files do not list yet, as a sentence naming the file."""
    problems: list[str] = []
    targets: dict[str, set[str | None] | None] = {}

    def linked(page: str) -> set[str | None] | None:
        if page not in targets:
            try:
                body = store.get(page)
            except ObjectNotFound:
                targets[page] = None
            else:
                targets[page] = {_target(page, link, site_url) for link in _links(page, body)}
        return targets[page]

    newest = site.newest_first()[0] if site.editions else None
    sections = {o: site.section(o) for o in site.organisations}
    for edition in site.editions:
        revision = edition.current.revision
        wanted = f"{edition.directory}/index.html"
        pages = ["index.html", "feed.atom", "feed.rss", "calendar.json", f"{edition.folder}/index.html"]
        if edition is newest:
            pages.append("latest/index.html")
        if edition.organisation in sections:  # and its organisation's section's own pages
            prefix = section_prefix(edition.organisation)
            pages += [f"{prefix}{page}" for page in ("index.html", "feed.atom", "feed.rss", "calendar.json")]
            if edition == sections[edition.organisation].newest_first()[0]:
                pages.append(f"{prefix}latest/index.html")
        for page in pages:
            found = linked(page)
            if found is None or wanted not in found:
                problems.append(
                    f"{page} {'is missing' if found is None else 'does not list'} edition {edition.edition} revision "
                    f"{revision}, which the log records as released: the site lags the log "
                    f"(publish {edition.edition} again to rewrite the site's files)"
                )
    return problems


def checkpoint_disagreements(store: ObjectStore, root_at: Callable[[int], bytes | None]) -> list[str]:
    """Every checkpoint a published manifest names whose root is not the log's tree root at that size
    (`root_at` gives None for a size the log has not reached): a log rewritten even where the hashes
    of the frozen positions were forged to match."""
    import base64

    problems = []
    for head in frozen_heads(store):
        try:
            checkpoint = json.loads(store.get(head.key)).get("checkpoint")
        except (ValueError, ObjectNotFound):
            continue
        if not checkpoint:
            continue
        found = root_at(checkpoint["size"])
        there = base64.b64encode(found).decode() if found is not None else None
        if there != checkpoint["root_hash"]:
            problems.append(
                f"edition {head.edition} revision {head.revision} disagrees with the log's tree: {head.key} names the "
                f"checkpoint of {checkpoint['size']} events with root {checkpoint['root_hash']}, but the log's tree of "
                f"{checkpoint['size']} events has {f'root {there}' if there else 'no such size'}"
            )
    return problems


def check_against_log(
    store: ObjectStore,
    released: Iterable[tuple[str, int, str, str]],
    hash_at: Callable[[int], str | None],
    root_at: Callable[[int], bytes | None] | None = None,
) -> list[str]:
    """Problems between the site and the log: each released revision's manifest is on the site with the
    SHA-256 its EditionReleased event names, and every manifest on the site (released according to the log
    or not: a log rewritten without its releases must not escape) was frozen at a position whose hash the
    log still holds."""
    problems = frozen_head_disagreements(store, hash_at)
    if root_at is not None:
        problems += checkpoint_disagreements(store, root_at)
    for edition, revision, manifest_hash, key in released:
        try:
            body = store.get(key)
        except ObjectNotFound:
            problems.append(f"{key} is missing, but the log records {edition} revision {revision} as released")
            continue
        if hashlib.sha256(body).hexdigest() != manifest_hash:
            problems.append(f"{key} is not the manifest the log records as released (SHA-256 {manifest_hash})")
    return problems
