"""Which HTTP headers a published object gets: its Content-Type, by extension, and how long it may be cached."""

from __future__ import annotations

from pathlib import PurePosixPath

# Versioned keys (editions/{edition}/r{revision}/...) never change, so browsers and CDNs may keep them for a year.
CACHE_IMMUTABLE = "public, max-age=31536000, immutable"
# Feeds, indexes and latest/ change with every release; five minutes bounds how stale a reader's copy can be.
CACHE_SHORT = "public, max-age=300"

DEFAULT_CONTENT_TYPE = "application/octet-stream"

CONTENT_TYPES: dict[str, str] = {
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".json": "application/json",
    ".jsonld": "application/ld+json",
    ".csv": "text/csv; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".md": "text/markdown; charset=utf-8",
    ".atom": "application/atom+xml",
    ".rss": "application/rss+xml",
    ".xml": "application/xml",
    ".ics": "text/calendar; charset=utf-8",
    ".svg": "image/svg+xml",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".png": "image/png",
    ".ico": "image/vnd.microsoft.icon",
    ".webmanifest": "application/manifest+json",
}


def content_type_for(key: str) -> str:
    """The Content-Type for a key, by its extension (case-insensitive); unknown extensions get application/octet-stream.

    A fixed table rather than the `mimetypes` module, whose answers depend on the machine's /etc/mime.types.
    """
    return CONTENT_TYPES.get(PurePosixPath(key).suffix.lower(), DEFAULT_CONTENT_TYPE)
