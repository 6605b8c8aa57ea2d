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


def __getattr__(name: str):
    """S3 and RetryPolicy, loaded (with boto3) on first use: most commands never open an s3:// store."""
    if name in ("S3", "RetryPolicy"):
        from . import s3

        return getattr(s3, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
