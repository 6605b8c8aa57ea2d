"""The one contract every place a site can be published to fulfils: immutable and mutable writes, reads, listings."""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Callable

from .errors import InvalidKey, ObjectNotFound
from .headers import CACHE_IMMUTABLE, CACHE_SHORT

# Called with the operation's name before each retry of a storage request (the service counts them
# for its metrics). Here, not in s3.py, so that listening does not load boto3.
retry_listeners: list[Callable[[str], None]] = []


@dataclass(frozen=True)
class PutResult:
    key: str
    sha256: str  # hex, as manifest.json records it
    size: int
    written: bool  # False when the same bytes were already there and nothing was written


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    content_type: str | None
    cache_control: str | None  # None where the store keeps no headers (a local directory)
    sha256: str | None  # hex; None when the store did not report one


class ObjectStore(ABC):
    """Keys are relative POSIX paths such as 'editions/2026-q1/r1/index.html'.

    Immutable keys are written once. Writing the same bytes again is a no-op that succeeds; different bytes raise
    ImmutableObjectConflict and leave the published object untouched. Every write is verified against the SHA-256
    of the bytes sent (ChecksumMismatch otherwise) and is all-or-nothing: a reader sees the old object or the new.
    """

    @abstractmethod
    def put_immutable(
        self, key: str, body: bytes, *, content_type: str | None = None, cache_control: str = CACHE_IMMUTABLE
    ) -> PutResult:
        """Create `key` if it does not exist; content_type defaults to the one for the key's extension."""

    @abstractmethod
    def put_mutable(
        self, key: str, body: bytes, *, content_type: str | None = None, cache_control: str = CACHE_SHORT
    ) -> PutResult:
        """Create or replace `key` (feeds, indexes, latest/)."""

    @abstractmethod
    def get(self, key: str) -> bytes:
        """The object's bytes; ObjectNotFound if there is none."""

    @abstractmethod
    def head(self, key: str) -> ObjectInfo:
        """The object's size and headers as stored; ObjectNotFound if there is none."""

    @abstractmethod
    def list(self, prefix: str = "") -> list[str]:
        """Every key starting with `prefix` (a plain string prefix, as in S3), sorted."""

    @abstractmethod
    def location(self, key: str = "") -> str:
        """Where a key lives, for messages: 's3://bucket/prefix/key' or '/abs/dir/key'."""

    def exists(self, key: str) -> bool:
        try:
            self.head(key)
        except ObjectNotFound:
            return False
        return True


def sha256_hex(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def check_key(key: str) -> str:
    """Refuse keys that could escape a directory or mean different objects on different stores."""
    if not key:
        raise InvalidKey(key, "it is empty")
    if key.startswith("/") or key.endswith("/"):
        raise InvalidKey(key, "it must not start or end with '/'")
    if "\\" in key or "\x00" in key:
        raise InvalidKey(key, "it must not contain a backslash or NUL")
    if any(part in ("", ".", "..") for part in key.split("/")):
        raise InvalidKey(key, "it must not contain empty, '.' or '..' segments")
    return key
