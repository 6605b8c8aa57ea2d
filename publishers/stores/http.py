"""A published site read over HTTP(S), as the public reads it: read-only, with no listing but its links.

`verify --site URL` and `proof check URL` read a site through this. A web server cannot list its
files, so `list` is what a reader can reach: the entry points (index.html, latest/, the feeds, the
calendar), every page they link to, each revision directory's manifest.json and every file a
manifest lists, and the site's transparency files (checkpoint, checkpoints/, proofs/) that its
`proofs/index.json` names.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import urllib.error
import urllib.request
from collections import deque
from urllib.parse import quote

from .base import ObjectInfo, ObjectStore, PutResult, check_key
from .errors import InvalidKey, ObjectNotFound, StorageRequestRefused, StorageUnavailable
from .headers import CACHE_IMMUTABLE, CACHE_SHORT

TIMEOUT_SECONDS = 30
USER_AGENT = "policing-metrics (site reader)"
# Written by publish for every site that carries checkpoints: the keys of the transparency files.
PROOFS_INDEX = "proofs/index.json"


class HttpSite(ObjectStore):
    """The site at `base_url` (http:// or https://), read-only."""

    def __init__(self, base_url: str, *, timeout: float = TIMEOUT_SECONDS) -> None:
        self.base_url = base_url.rstrip("/") + "/"
        self.timeout = timeout
        self._cache: dict[str, bytes] = {}

    def __repr__(self) -> str:
        return f"HttpSite({self.base_url!r})"

    def location(self, key: str = "") -> str:
        return self.base_url + quote(key) if key else self.base_url

    def get(self, key: str) -> bytes:
        check_key(key)
        if key in self._cache:
            return self._cache[key]
        request = urllib.request.Request(self.location(key), headers={"User-Agent": USER_AGENT})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - http(s) only
                body = response.read()
        except urllib.error.HTTPError as exc:
            if exc.code in (403, 404, 410):  # S3 answers 403 for a missing key when listing is not allowed
                raise ObjectNotFound(self.location(key)) from exc
            if exc.code >= 500 or exc.code == 429:
                raise StorageUnavailable("get", self.location(key), 1, f"HTTP {exc.code}") from exc
            raise StorageRequestRefused("get", self.location(key), f"HTTP {exc.code}", "check the site's address") from exc
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise StorageUnavailable("get", self.location(key), 1, str(getattr(exc, "reason", exc))) from exc
        self._cache[key] = body
        return body

    def head(self, key: str) -> ObjectInfo:
        body = self.get(key)
        return ObjectInfo(key, len(body), None, None, hashlib.sha256(body).hexdigest())

    def list(self, prefix: str = "") -> list[str]:
        return sorted(key for key in self._reachable() if key.startswith(prefix))

    def put_immutable(self, key: str, body: bytes, *, content_type: str | None = None, cache_control: str = CACHE_IMMUTABLE) -> PutResult:
        raise StorageRequestRefused("put", self.location(key), "read-only", "a site read over HTTP cannot be written; publish to its store")

    def put_mutable(self, key: str, body: bytes, *, content_type: str | None = None, cache_control: str = CACHE_SHORT) -> PutResult:
        raise StorageRequestRefused("put", self.location(key), "read-only", "a site read over HTTP cannot be written; publish to its store")

    # what a reader can reach

    def _reachable(self) -> set[str]:
        from ..links import CRAWLED, ENTRY_POINTS, links, target

        found: set[str] = set()
        queue = deque()
        for key in (*ENTRY_POINTS, PROOFS_INDEX):
            if self._present(key):
                found.add(key)
                queue.append(key)
        while queue:
            page = queue.popleft()
            body = self.get(page)
            if page == PROOFS_INDEX:
                named = _proof_keys(body)
            elif page.endswith("/manifest.json"):
                directory = posixpath.dirname(page)
                named = [f"{directory}/{entry['path']}" for entry in json.loads(body).get("files", [])]
            else:
                named = [t for link in links(page, body) if (t := target(page, link, self.base_url)) is not None]
                named += [f"{t.rsplit('/', 1)[0]}/manifest.json" for t in named if _in_revision(t)]
            for key in named:
                if key in found or not self._present(key):
                    continue
                found.add(key)
                if key.endswith(CRAWLED) or key.endswith("/manifest.json"):
                    queue.append(key)
        return found

    def _present(self, key: str) -> bool:
        try:
            self.get(key)
        except (ObjectNotFound, InvalidKey):  # a link above this address (../) is outside what is read here
            return False
        return True


def _in_revision(key: str) -> bool:
    parts = key.split("/")
    if len(parts) >= 5 and parts[1] == "editions":  # in an organisation's section of a hub
        parts = parts[1:]
    return len(parts) >= 4 and parts[0] == "editions" and parts[2].startswith("r") and parts[2][1:].isdigit()


def _proof_keys(body: bytes) -> list[str]:
    try:
        index = json.loads(body)
    except ValueError:
        return []
    keys = index.get("files", []) if isinstance(index, dict) else []
    return [key for key in keys if isinstance(key, str)]
