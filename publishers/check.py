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
import posixpath
import re
from collections import deque
from typing import Callable, Iterable
from html.parser import HTMLParser
from urllib.parse import unquote, urldefrag, urlsplit

from .model import Site, edition_directory
from .stores import ObjectNotFound, ObjectStore

# calendar.ics is left out: its lines are folded at 75 octets, and calendar.json carries the same links.
ENTRY_POINTS = ("index.html", "latest/index.html", "feed.atom", "feed.rss", "calendar.atom", "calendar.json")
_REVISION = re.compile(r"^(editions/[^/]+/r\d+)/")
_XML_LINK = re.compile(r'href=["\']([^"\']+)["\']|<link>([^<]+)</link>|"url":\s*"([^"]+)"')


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        for name, value in attrs:
            if name in ("href", "src") and value:
                self.links.append(value)
            elif tag == "meta" and name == "content" and value and "url=" in value.lower():
                self.links.append(value.split("=", 1)[1].strip())


def _links(key: str, body: bytes) -> list[str]:
    text = body.decode("utf-8", errors="replace")
    if key.endswith(".html"):
        parser = _Links()
        parser.feed(text)
        return parser.links
    return [next(group for group in match.groups() if group) for match in _XML_LINK.finditer(text)]


def _target(page: str, link: str, site_url: str | None) -> str | None:
    """The key a link points at, or None for a link outside the site (mailto:, another host)."""
    link, _ = urldefrag(link)
    if not link:
        return None  # a fragment of the same page
    if site_url and link.startswith(site_url):
        path = link[len(site_url) :]
    else:
        parts = urlsplit(link)
        if parts.scheme or parts.netloc:
            return None
        if link.startswith("/"):
            path = link.lstrip("/")
        else:
            path = posixpath.normpath(posixpath.join(posixpath.dirname(page), unquote(link)))
            if link.endswith("/"):
                path += "/"
    if path in ("", "."):
        path = "index.html"
    if path.endswith("/"):
        path += "index.html"
    return path


def published_head(store: ObjectStore) -> tuple[int, str] | None:
    """The newest log head a published revision was frozen at, (position, hash) from its manifest's `frozen_at`;
    None when nothing is published. What the public has seen: a log that no longer holds it has been rewritten."""
    heads = []
    for key in store.list("editions/"):
        if key.endswith("/manifest.json"):
            frozen = json.loads(store.get(key))["frozen_at"]
            heads.append((frozen["position"], frozen["head_hash"]))
    return max(heads, default=None)


def check_site(store: ObjectStore, site_url: str | None = None) -> list[str]:
    """Every inconsistency found, as a sentence naming the key; empty when the site is consistent."""
    keys = set(store.list())
    problems: list[str] = []
    complete: set[str] = set()
    for key in sorted(k for k in keys if k.startswith("editions/") and k.endswith("/manifest.json")):
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
    for edition in site.editions:
        revision = edition.current.revision
        wanted = f"{edition_directory(edition.edition, revision)}/index.html"
        pages = ["index.html", "feed.atom", "feed.rss", "calendar.json", f"editions/{edition.edition}/index.html"]
        if edition is newest:
            pages.append("latest/index.html")
        for page in pages:
            found = linked(page)
            if found is None or wanted not in found:
                problems.append(
                    f"{page} {'is missing' if found is None else 'does not list'} edition {edition.edition} revision "
                    f"{revision}, which the log records as released: the site lags the log "
                    f"(publish {edition.edition} again to rewrite the site's files)"
                )
    return problems


def check_against_log(
    store: ObjectStore, released: Iterable[tuple[str, int, str]], hash_at: Callable[[int], str | None]
) -> list[str]:
    """Problems between the site and the log: each released revision's manifest is on the site with the
    SHA-256 its EditionReleased event names, and the log position it was frozen at has the hash it records."""
    problems = []
    for edition, revision, manifest_hash in released:
        key = f"editions/{edition}/r{revision}/manifest.json"
        try:
            body = store.get(key)
        except ObjectNotFound:
            problems.append(f"{key} is missing, but the log records {edition} revision {revision} as released")
            continue
        if hashlib.sha256(body).hexdigest() != manifest_hash:
            problems.append(f"{key} is not the manifest the log records as released (SHA-256 {manifest_hash})")
            continue
        frozen = json.loads(body).get("frozen_at", {})
        found = hash_at(frozen.get("position", 0))
        if found != frozen.get("head_hash"):
            problems.append(
                f"{key} was frozen at position {frozen.get('position')} with hash {frozen.get('head_hash')}, "
                f"but the log has {found or 'no event'} there"
            )
    return problems
