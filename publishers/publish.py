"""Putting a rendered revision and the site around it into an object store, in an order that keeps the
public site consistent whatever step fails.

1. The revision's files, immutable (`editions/{edition}/r{revision}/...`): nothing links to them yet.
2. Its manifest.json, immutable: its presence says every file it lists is in place.
3. (The caller records the release in the log here.)
4. The site's mutable files (publishers.site.render_site order): edition pages, latest/, the
   calendar, the feeds, and the root index last.

Identical bytes again are a no-op (immutable keys: the store's own check; mutable keys: compared
first, so a repeated publish writes nothing). Different bytes under an immutable key are refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

import structlog

from .render import MANIFEST, RenderedEdition
from .site import SiteFile
from .stores import CACHE_IMMUTABLE, CACHE_SHORT, ObjectNotFound, ObjectStore, StorageError, content_type_for
from .stores.base import sha256_hex

log = structlog.get_logger(__name__)


class PublishError(Exception):
    """Publishing stopped; the message names the edition, revision, key and what to do."""


class PublishFailed(PublishError):
    """A write failed (after the store's own retries). What was written stays; publishing again completes it."""

    def __init__(self, edition: str, revision: int, key: str, step: str, cause: StorageError) -> None:
        self.edition, self.revision, self.key, self.step, self.cause = edition, revision, key, step, cause
        consequence = {
            "edition files": "nothing links to the incomplete revision, so the public site is unchanged",
            "manifest": "nothing links to the revision yet, so the public site is unchanged",
            "site": "every page already published still links only to complete files",
        }[step]
        super().__init__(
            f"publishing edition {edition} revision {revision} stopped at {key} ({step}): {cause} "
            f"[{consequence}; run the same publish again to complete it: files already written are kept]"
        )


class RevisionConflict(PublishError):
    """An immutable file of this revision is already published with different bytes."""

    def __init__(self, edition: str, revision: int, key: str, cause: StorageError) -> None:
        self.edition, self.revision, self.key, self.cause = edition, revision, key, cause
        super().__init__(
            f"edition {edition} revision {revision} is already published at {key} with different content: {cause}. "
            "A published revision never changes: correct it by approving a new revision (policing-metrics edition "
            "approve --reason ...) and publishing that"
        )


@dataclass
class Written:
    """What one publish wrote: keys written, and keys whose identical bytes were already there."""

    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    def add(self, key: str, wrote: bool) -> None:
        (self.written if wrote else self.unchanged).append(key)


def put_edition(store: ObjectStore, rendered: RenderedEdition, written: Written | None = None) -> Written:
    """Steps 1 and 2: the revision's files, then its manifest, all immutable."""
    written = written or Written()
    for name, body in rendered.files.items():
        _put_immutable(store, rendered, rendered.key(name), body, "edition files", written)
    _put_immutable(store, rendered, rendered.key(MANIFEST), rendered.manifest, "manifest", written)
    return written


def _put_immutable(store: ObjectStore, rendered: RenderedEdition, key: str, body: bytes, step: str, written: Written) -> None:
    from .stores import ImmutableObjectConflict

    try:
        result = store.put_immutable(key, body, content_type=content_type_for(key), cache_control=CACHE_IMMUTABLE)
    except ImmutableObjectConflict as exc:
        log.error("publish.conflict", edition=rendered.edition, revision=rendered.revision, key=key, error=str(exc))
        raise RevisionConflict(rendered.edition, rendered.revision, key, exc) from exc
    except StorageError as exc:
        log.error("publish.failed", edition=rendered.edition, revision=rendered.revision, key=key, step=step, error=str(exc))
        raise PublishFailed(rendered.edition, rendered.revision, key, step, exc) from exc
    written.add(key, result.written)


def put_site(
    store: ObjectStore, files: Iterable[SiteFile], *, edition: str, revision: int, written: Written | None = None
) -> Written:
    """Step 4: the mutable files in order; a file whose bytes are already there is not written again."""
    written = written or Written()
    for file in files:
        try:
            if _holds(store, file.key, file.body):
                written.add(file.key, False)
                continue
            store.put_mutable(file.key, file.body, content_type=file.content_type, cache_control=CACHE_SHORT)
        except StorageError as exc:
            log.error("publish.failed", edition=edition, revision=revision, key=file.key, step="site", error=str(exc))
            raise PublishFailed(edition, revision, file.key, "site", exc) from exc
        written.add(file.key, True)
    return written


def _holds(store: ObjectStore, key: str, body: bytes) -> bool:
    try:
        info = store.head(key)
    except ObjectNotFound:
        return False
    return info.size == len(body) and info.sha256 == sha256_hex(body)
