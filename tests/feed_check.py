"""A checker of the required elements of Atom (RFC 4287) and RSS 2.0 (the RSS Advisory Board's
specification), for the tests: what a feed validator would refuse, written from the specifications'
MUST and "required" clauses. No maintained validator library for either format is on PyPI.

Each function returns the problems it found, as sentences naming the element and the clause;
an empty list means the feed has every required element in its required number and form.
"""

from __future__ import annotations

import re
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from lxml import etree

ATOM = "http://www.w3.org/2005/Atom"
A = f"{{{ATOM}}}"
# RFC 3339 section 5.6 date-time, with the uppercase "T" and "Z" RFC 4287 section 3.3 requires.
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
# RFC 4287 section 4.1.3.1: a MIME media type (type/subtype), when not one of the text types.
MEDIA_TYPE = re.compile(r"^[\w.+-]+/[\w.+-]+$")
TEXT_TYPES = ("text", "html", "xhtml")


def _parse(body: bytes, root: str) -> tuple[etree._Element | None, list[str]]:
    try:
        document = etree.fromstring(body, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as error:
        return None, [f"not well-formed XML: {error}"]
    if document.tag != root:
        return None, [f"the root element is {document.tag}, not {root}"]
    return document, []


def _count(parent, tag: str, where: str, *, exactly: int | None = None, at_most: int | None = None) -> list[str]:
    n = len(parent.findall(tag))
    name = tag.replace(A, "atom:")
    if exactly is not None and n != exactly:
        return [f"{where} has {n} {name}, must have exactly {exactly}"]
    if at_most is not None and n > at_most:
        return [f"{where} has {n} {name}, must have at most {at_most}"]
    return []


def _absolute_iri(text: str | None) -> bool:
    parts = urlsplit((text or "").strip())
    return bool(parts.scheme) and bool(parts.netloc or parts.path)


def _person(person, where: str) -> list[str]:
    """RFC 4287 3.2: exactly one atom:name; at most one atom:uri and atom:email."""
    problems = _count(person, f"{A}name", where, exactly=1)
    problems += _count(person, f"{A}uri", where, at_most=1) + _count(person, f"{A}email", where, at_most=1)
    name = person.find(f"{A}name")
    if name is not None and not (name.text or "").strip():
        problems.append(f"{where} has an empty atom:name")
    return problems


def _date(element, where: str) -> list[str]:
    """RFC 4287 3.3: an RFC 3339 date-time."""
    if element is None:
        return []
    if not RFC3339.match((element.text or "").strip()):
        return [f"{where} {element.tag.replace(A, 'atom:')} {element.text!r} is not an RFC 3339 date-time"]
    return []


def _text(element, where: str) -> list[str]:
    """RFC 4287 3.1: a Text construct's type is text, html or xhtml."""
    if element is None:
        return []
    kind = element.get("type", "text")
    return [] if kind in TEXT_TYPES else [f"{where} {element.tag.replace(A, 'atom:')} has type {kind!r}, not text, html or xhtml"]


def _common(element, where: str) -> list[str]:
    """What atom:feed (4.1.1) and atom:entry (4.1.2) both require of their metadata."""
    problems = []
    for tag in ("id", "title", "updated"):
        problems += _count(element, f"{A}{tag}", where, exactly=1)
    for tag in ("rights", "summary", "published", "subtitle", "content", "generator", "icon", "logo", "source"):
        problems += _count(element, f"{A}{tag}", where, at_most=1)
    identifier = element.find(f"{A}id")
    if identifier is not None and not _absolute_iri(identifier.text):
        problems.append(f"{where} atom:id {identifier.text!r} is not an absolute IRI (4.2.6)")
    problems += _date(element.find(f"{A}updated"), where) + _date(element.find(f"{A}published"), where)
    for tag in ("title", "subtitle", "summary", "rights"):
        problems += _text(element.find(f"{A}{tag}"), where)
    for person in (*element.findall(f"{A}author"), *element.findall(f"{A}contributor")):
        problems += _person(person, f"{where} {person.tag.replace(A, 'atom:')}")
    alternates = {}
    for link in element.findall(f"{A}link"):
        if not link.get("href"):
            problems.append(f"{where} has an atom:link without href (4.2.7.1)")
        if link.get("rel", "alternate") == "alternate":
            key = (link.get("type"), link.get("hreflang"))
            if key in alternates:
                problems.append(f"{where} has more than one alternate atom:link with type and hreflang {key} (4.1.1)")
            alternates[key] = link
    for category in element.findall(f"{A}category"):
        if not category.get("term"):
            problems.append(f"{where} has an atom:category without term (4.2.2.1)")
    return problems


def atom_problems(body: bytes) -> list[str]:
    """What RFC 4287 requires of an Atom Feed Document that `body` lacks."""
    feed, problems = _parse(body, f"{A}feed")
    if feed is None:
        return problems
    problems += _common(feed, "atom:feed")
    entries = feed.findall(f"{A}entry")
    feed_has_author = feed.find(f"{A}author") is not None
    for index, entry in enumerate(entries, 1):
        where = f"atom:entry {index}"
        problems += _common(entry, where)
        source = entry.find(f"{A}source")
        # 4.1.1 and 4.1.2: an entry without an author needs the feed's (or its source's).
        if entry.find(f"{A}author") is None and not feed_has_author and (source is None or source.find(f"{A}author") is None):
            problems.append(f"{where} has no atom:author and neither has the feed (4.1.1: one or more unless every entry has one)")
        content = entry.find(f"{A}content")
        if content is None:
            if not any(link.get("rel", "alternate") == "alternate" for link in entry.findall(f"{A}link")):
                problems.append(f"{where} has no atom:content, so it must have an alternate atom:link (4.1.2)")
        else:
            kind = content.get("type", "text")
            if kind not in TEXT_TYPES and not MEDIA_TYPE.match(kind):
                problems.append(f"{where} atom:content type {kind!r} is neither text, html, xhtml nor a media type (4.1.3.1)")
            binary = kind not in TEXT_TYPES and not (kind.startswith("text/") or kind.endswith(("/xml", "+xml")))
            if (content.get("src") or binary) and entry.find(f"{A}summary") is None:
                problems.append(f"{where} has out-of-line or binary atom:content and no atom:summary (4.1.2)")
    return problems


def _rfc822(element, where: str) -> list[str]:
    if element is None:
        return []
    try:
        parsedate_to_datetime((element.text or "").strip())
    except (TypeError, ValueError):
        return [f"{where} {element.tag} {element.text!r} is not an RFC 822 date-time"]
    return []


def _url(text: str | None) -> bool:
    parts = urlsplit((text or "").strip())
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def rss_problems(body: bytes) -> list[str]:
    """What the RSS 2.0 specification requires of a feed that `body` lacks."""
    rss, problems = _parse(body, "rss")
    if rss is None:
        return problems
    if rss.get("version") != "2.0":
        problems.append(f"rss has version {rss.get('version')!r}, must be '2.0'")
    problems += _count(rss, "channel", "rss", exactly=1)
    channel = rss.find("channel")
    if channel is None:
        return problems
    for tag in ("title", "link", "description"):  # the required channel elements
        problems += _count(channel, tag, "channel", exactly=1)
        element = channel.find(tag)
        if element is not None and not (element.text or "").strip():
            problems.append(f"channel {tag} is empty")
    if channel.find("link") is not None and not _url(channel.find("link").text):
        problems.append(f"channel link {channel.find('link').text!r} is not a URL")
    for tag in ("language", "pubDate", "lastBuildDate", "generator", "docs", "ttl", "image"):
        problems += _count(channel, tag, "channel", at_most=1)
    problems += _rfc822(channel.find("pubDate"), "channel") + _rfc822(channel.find("lastBuildDate"), "channel")
    for index, item in enumerate(channel.findall("item"), 1):
        where = f"item {index}"
        if item.find("title") is None and item.find("description") is None:
            problems.append(f"{where} has neither title nor description (one of them is required)")
        for tag in ("title", "link", "description", "author", "comments", "guid", "pubDate", "source", "enclosure"):
            problems += _count(item, tag, where, at_most=1)
        problems += _rfc822(item.find("pubDate"), where)
        if item.find("link") is not None and not _url(item.find("link").text):
            problems.append(f"{where} link {item.find('link').text!r} is not a URL")
        guid = item.find("guid")
        if guid is not None:
            permalink = guid.get("isPermaLink", "true")
            if permalink not in ("true", "false"):
                problems.append(f"{where} guid isPermaLink is {permalink!r}, not true or false")
            elif permalink == "true" and not _url(guid.text):
                problems.append(f"{where} guid {guid.text!r} is a permalink but not a URL")
        enclosure = item.find("enclosure")
        if enclosure is not None and not all(enclosure.get(a) for a in ("url", "length", "type")):
            problems.append(f"{where} enclosure needs url, length and type")
        source = item.find("source")
        if source is not None and not source.get("url"):
            problems.append(f"{where} source needs a url attribute")
    return problems
