"""Links between a published site's files, as a reader follows them: from an HTML page (href, src, a
meta refresh) or from a feed or calendar.json (href, <link>, "url"), to the key they point at."""

from __future__ import annotations

import posixpath
import re
from html.parser import HTMLParser
from urllib.parse import unquote, urldefrag, urlsplit

# calendar.ics is left out: its lines are folded at 75 octets, and calendar.json carries the same links.
ENTRY_POINTS = ("index.html", "latest/index.html", "feed.atom", "feed.rss", "calendar.atom", "calendar.json")
# The files whose links a crawl follows further.
CRAWLED = (".html", ".atom", ".rss")
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


def links(key: str, body: bytes) -> list[str]:
    """Every link in the file `key` holds, as written."""
    text = body.decode("utf-8", errors="replace")
    if key.endswith(".html"):
        parser = _Links()
        parser.feed(text)
        return parser.links
    return [next(group for group in match.groups() if group) for match in _XML_LINK.finditer(text)]


def target(page: str, link: str, site_url: str | None) -> str | None:
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
