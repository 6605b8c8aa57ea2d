"""feed.atom and feed.rss: one entry per released edition, standing for its current revision, newest first.

An entry's id is a tag: URI fixed at the edition's first release, so a revision or correction
updates the entry (as GOV.UK's feeds do with a change note) instead of adding a look-alike; its
text says what changed. Every time comes from the release events, so rebuilding gives the same bytes.
"""

from __future__ import annotations

from datetime import datetime, timezone

from feedgen.feed import FeedGenerator

from .model import Site, SiteEdition, priority_title, publishable
from .times import display_time, utc

ATOM_CONTENT_TYPE = "application/atom+xml"
RSS_CONTENT_TYPE = "application/rss+xml"
# The Home Office's list of the national priorities: the scheme every priority category belongs to.
PRIORITY_SCHEME = "https://www.gov.uk/government/publications/national-crime-and-policing-measures"
# An empty site is stable too: it was last changed at the log's first moment.
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def feed_id(authority: str, organisation: str = "") -> str:
    """The whole site's feed, or one organisation's section's."""
    return f"tag:{authority},2021:statements" + (f"/{organisation}" if organisation else "")


def entry_id(authority: str, edition: SiteEdition) -> str:
    """Stable for the life of the edition: the date is its first release's, which never changes."""
    return f"tag:{authority},{utc(edition.first_release_at):%Y-%m-%d}:editions/{edition.edition}"


def entry_url(site: Site, edition: SiteEdition) -> str:
    return f"{site.site_url}{edition.directory}/"


def entry_summary(edition: SiteEdition) -> str:
    current = edition.current
    if len(edition.revisions) == 1:
        return f"Released {display_time(edition.first_release_at)}."
    return f"Revision {current.revision}, {display_time(current.release_at)}: {current.reason}"


def entry_text(edition: SiteEdition) -> str:
    """What the edition is and every change since its first release, newest first."""
    lines = [f"{edition.title}.", f"Released {display_time(edition.first_release_at)}."]
    if edition.summary:
        lines.append(edition.summary)
    for revision in reversed(edition.revisions[1:]):
        lines.append(f"Revision {revision.revision}, {display_time(revision.release_at)}, supersedes the earlier release: {revision.reason}")
        for notice in revision.notices:
            lines.append(f"- {notice.subject}: {notice.what} ({notice.kind}). {notice.reason}")
    return "\n".join(lines)


def _ordered(site: Site) -> list[SiteEdition]:
    """Newest first by the time of the latest revision: a correction brings its edition back to the top."""
    return sorted(site.editions, key=lambda e: (utc(e.updated_at), utc(e.first_release_at), e.edition), reverse=True)


def _generator(site: Site, self_url: str, self_type: str) -> tuple[FeedGenerator, list[SiteEdition]]:
    editions = _ordered(publishable(site))
    feed = FeedGenerator()
    feed.id(feed_id(site.authority, site.section_of))
    feed.title(site.title)
    feed.subtitle("Statutory policing performance statements, newest first; a revision or correction updates its statement's entry.")
    _links(feed, site, self_url, self_type)
    feed.language("en-GB")
    feed.author({"name": site.title})
    feed.generator("policing-metrics")
    feed.updated(max((utc(e.updated_at) for e in editions), default=EPOCH))
    feed.lastBuildDate(max((utc(e.updated_at) for e in editions), default=EPOCH))
    for edition in editions:
        entry = feed.add_entry(order="append")
        identifier = entry_id(site.authority, edition)
        entry.id(identifier)  # also the RSS guid, isPermaLink="false"
        entry.title(edition.title)
        entry.link(href=entry_url(site, edition), rel="alternate", type="text/html")
        entry.published(utc(edition.first_release_at))
        entry.updated(utc(edition.updated_at))
        for author in edition.authors:
            entry.author({"name": author})
        entry.summary(entry_summary(edition))
        entry.content(entry_text(edition), type="text")
        for priority in edition.priorities:
            entry.category(term=priority, label=priority_title(priority), scheme=PRIORITY_SCHEME)
    return feed, editions


def _links(feed: FeedGenerator, site: Site, self_url: str, self_type: str) -> None:
    feed.link(href=self_url, rel="self", type=self_type, replace=True)
    feed.link(href=site.url, rel="alternate", type="text/html")


def feeds(site: Site) -> tuple[bytes, bytes]:
    """feed.atom and feed.rss, from one generator: the entries are built once for both."""
    feed, editions = _generator(site, f"{site.url}feed.atom", ATOM_CONTENT_TYPE)
    atom = feed.atom_str(pretty=True)
    # RSS 2.0 has no `updated`: an item's pubDate is its latest revision's time, so readers see a correction.
    _links(feed, site, f"{site.url}feed.rss", RSS_CONTENT_TYPE)
    feed.description("Statutory policing performance statements, newest first.")
    for entry, edition in zip(feed.entry(), editions):
        entry.pubDate(utc(edition.updated_at))
    return atom, feed.rss_str(pretty=True)


def feed_atom(site: Site) -> bytes:
    return feeds(site)[0]


def feed_rss(site: Site) -> bytes:
    return feeds(site)[1]
