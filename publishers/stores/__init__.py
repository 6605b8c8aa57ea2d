"""Where a published site goes: one object-store contract, a local directory and S3 behind it."""

from .base import ObjectInfo, ObjectStore, PutResult
from .destination import open_site, open_store
from .errors import (
    ChecksumMismatch,
    ImmutableObjectConflict,
    InvalidDestination,
    InvalidKey,
    ObjectNotFound,
    StorageError,
    StorageRequestRefused,
    StorageUnavailable,
)
from .headers import CACHE_IMMUTABLE, CACHE_SHORT, content_type_for
from .http import HttpSite
from .local import LocalDirectory
from .s3 import S3, RetryPolicy

__all__ = [
    "CACHE_IMMUTABLE",
    "CACHE_SHORT",
    "ChecksumMismatch",
    "HttpSite",
    "ImmutableObjectConflict",
    "InvalidDestination",
    "InvalidKey",
    "LocalDirectory",
    "ObjectInfo",
    "ObjectNotFound",
    "ObjectStore",
    "PutResult",
    "RetryPolicy",
    "S3",
    "StorageError",
    "StorageRequestRefused",
    "StorageUnavailable",
    "content_type_for",
    "open_site",
    "open_store",
]
