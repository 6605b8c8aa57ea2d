"""From a destination as a person writes it (`--to`) to the store that writes there."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote

from .base import ObjectStore
from .errors import InvalidDestination
from .local import LocalDirectory

if TYPE_CHECKING:  # boto3 loads when an s3:// store is opened, not at every start-up
    from .s3 import RetryPolicy

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


def open_store(
    destination: str,
    *,
    endpoint_url: str | None = None,
    region: str | None = None,
    path_style: bool = False,
    retry: RetryPolicy | None = None,
) -> ObjectStore:
    """`file://DIR` or a plain path gives a LocalDirectory; `s3://BUCKET/PREFIX` gives an S3 store.

    `file://var/public` is the relative directory var/public and `file:///srv/site` the absolute /srv/site.
    The S3 options (and `retry`, s3.DEFAULT_RETRY when None) apply to s3:// only; given with a directory they
    are refused rather than ignored.
    """
    if not destination.strip():
        raise InvalidDestination(destination, "it is empty")
    match = _SCHEME.match(destination)
    scheme = match.group(1).lower() if match else None
    if scheme == "s3":
        bucket, _, prefix = destination[match.end() :].partition("/")
        if not bucket:
            raise InvalidDestination(destination, "it names no bucket")
        from .s3 import DEFAULT_RETRY, S3

        return S3(
            bucket, prefix, endpoint_url=endpoint_url, region=region, path_style=path_style, retry=retry or DEFAULT_RETRY
        )
    if scheme not in (None, "file"):
        raise InvalidDestination(destination, f"{scheme}:// is not supported")
    if endpoint_url or region or path_style:
        raise InvalidDestination(destination, "an endpoint URL, region or path-style option only applies to s3://")
    if scheme == "file":
        path = unquote(destination[match.end() :])
        if path.startswith("localhost/"):  # RFC 8089: file://localhost/srv/site is /srv/site
            path = path[len("localhost") :]
        if not path:
            raise InvalidDestination(destination, "it names no directory")
        return LocalDirectory(Path(path))
    return LocalDirectory(Path(destination))


def open_site(source: str, **options) -> ObjectStore:
    """A published site to read: `http://` or `https://` reads it as the public does (read-only, see
    http.py); anything else is a destination as `open_store` takes it."""
    from .http import HttpSite

    match = _SCHEME.match(source)
    if match and match.group(1).lower() in ("http", "https"):
        if any(options.values()):
            raise InvalidDestination(source, "an endpoint URL, region or path-style option only applies to s3://")
        return HttpSite(source)
    return open_store(source, **options)
