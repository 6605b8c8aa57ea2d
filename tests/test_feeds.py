"""feed.atom and feed.rss: parsed by feedparser without complaint, every field as written, newest first,
stable tag: ids, times from the events, a correction updating its entry, the same bytes on every rebuild;
and every published feed (calendar.atom too) with every element RFC 4287 and RSS 2.0 require."""

from __future__ import annotations

import calendar
from datetime import datetime

import feedparser
import pytest

from publishers.feeds import PRIORITY_SCHEME, entry_id, feed_atom, feed_rss
from publishers.model import Notice, Site, SiteEdition, SiteRevision
from publishers.times import utc
from publishers.stores import LocalDirectory

from .feed_check import atom_problems, rss_problems
from .publish_support import (  # noqa: F401  (fixtures)
    EDITION,
    SITE_URL,
    clock,
    correct_burglary,
    example_database,
    example_store,
    published_example,
    publishing,
)

AUTHORITY = "statements.example.org"


def edition(name: str, released: str, *, title: str | None = None, corrections: tuple[SiteRevision, ...] = ()) -> SiteEdition:
    return SiteEdition(
        edition=name,
        title=title or f"Statement {name}",
        area="west-midlands",
        priorities=("homicide", "serious-violence"),
        revisions=(SiteRevision(1, released, "", "a" * 64), *corrections),
        authors=("Harry Barton", "Stuart Gardner"),
    )


CORRECTION = SiteRevision(
    2,
    "2022-03-03T14:05:00+00:00",
    "Burglary for the year ending September 2021 was under-counted",
    "b" * 64,
    (Notice("correction", "Burglary, year ending September 2021", "late crime reports", "19,018 became 19,108", "+90", "", "2022-03-03T14:02:11.000000Z"),),
)


@pytest.fixture
def site() -> Site:
    return Site(
        editions=(
            edition("2021-11", "2021-11-04T09:30:00+00:00"),
            edition("2022-02", "2022-02-01T09:30:00+00:00", corrections=(CORRECTION,)),
            edition("2021-07", "2021-07-01T09:30:00+01:00", title="Statement for July 2021 & summer"),
        ),
        site_url=SITE_URL,
        authority=AUTHORITY,
    )


def parsed(body: bytes):
    feed = feedparser.parse(body)
    assert not feed.bozo, feed.get("bozo_exception")
    return feed


def seconds(struct) -> int:
    return calendar.timegm(struct)


def epoch(text: str) -> int:
    return int(utc(text).timestamp())


def test_both_feeds_parse_without_complaint_and_identify_themselves(site):
    atom, rss = parsed(feed_atom(site)), parsed(feed_rss(site))

    assert atom.version == "atom10" and rss.version == "rss20"
    assert atom.feed.id == f"tag:{AUTHORITY},2021:statements"
    assert atom.feed.title == rss.feed.title == "Policing performance statements"
    assert atom.feed.language == rss.feed.language == "en-GB"
    self_atom = [link.href for link in atom.feed.links if link.rel == "self"]
    self_rss = [link.href for link in rss.feed.links if link.rel == "self"]
    assert self_atom == [f"{SITE_URL}feed.atom"] and self_rss == [f"{SITE_URL}feed.rss"]
    assert seconds(atom.feed.updated_parsed) == epoch(CORRECTION.release_at)


def test_one_entry_per_edition_newest_first_a_correction_bringing_its_edition_to_the_top(site):
    atom, rss = parsed(feed_atom(site)), parsed(feed_rss(site))

    assert [e.id for e in atom.entries] == [e.id for e in rss.entries] == [
        f"tag:{AUTHORITY},2022-02-01:editions/2022-02",
        f"tag:{AUTHORITY},2021-11-04:editions/2021-11",
        f"tag:{AUTHORITY},2021-07-01:editions/2021-07",
    ]


def test_every_atom_field_round_trips(site):
    entry = parsed(feed_atom(site)).entries[0]
    corrected = site.editions[1]

    assert entry.title == corrected.title
    assert entry.link == f"{SITE_URL}editions/2022-02/r2/"
    assert seconds(entry.published_parsed) == epoch("2022-02-01T09:30:00+00:00")
    assert seconds(entry.updated_parsed) == epoch(CORRECTION.release_at)
    assert [a.name for a in entry.authors] == ["Harry Barton", "Stuart Gardner"]
    assert entry.summary == f"Revision 2, Thursday 3 March 2022 14:05 GMT: {CORRECTION.reason}"
    content = entry.content[0].value
    assert "Released Tuesday 1 February 2022 09:30 GMT." in content
    assert "Revision 2, Thursday 3 March 2022 14:05 GMT, supersedes the earlier release" in content
    assert "- Burglary, year ending September 2021: 19,018 became 19,108 (correction). late crime reports" in content
    assert [(t.term, t.label, t.scheme) for t in entry.tags] == [
        ("homicide", "Reduce murder and other homicide", PRIORITY_SCHEME),
        ("serious-violence", "Reduce serious violence", PRIORITY_SCHEME),
    ]


def test_every_rss_field_round_trips(site):
    entry = parsed(feed_rss(site)).entries[0]

    assert entry.title == site.editions[1].title
    assert entry.link == f"{SITE_URL}editions/2022-02/r2/"
    assert entry.id == entry_id(AUTHORITY, site.editions[1]) and entry.guidislink is False
    # RSS has no `updated`: the item's date is its latest revision's, so readers notice the correction.
    assert seconds(entry.published_parsed) == epoch(CORRECTION.release_at)
    assert entry.summary == f"Revision 2, Thursday 3 March 2022 14:05 GMT: {CORRECTION.reason}"
    assert [(t.term, t.scheme) for t in entry.tags] == [
        ("Reduce murder and other homicide", PRIORITY_SCHEME),
        ("Reduce serious violence", PRIORITY_SCHEME),
    ]


def test_text_is_escaped_not_interpreted(site):
    atom, rss = parsed(feed_atom(site)), parsed(feed_rss(site))

    assert atom.entries[2].title == rss.entries[2].title == "Statement for July 2021 & summer"


def test_a_summer_release_time_is_the_same_instant_in_bst(site):
    entry = parsed(feed_atom(site)).entries[2]
    assert datetime.utcfromtimestamp(seconds(entry.published_parsed)).isoformat() == "2021-07-01T08:30:00"


def test_an_empty_site_still_has_valid_stable_feeds():
    empty = Site(editions=(), site_url=SITE_URL, authority=AUTHORITY)
    assert not parsed(feed_atom(empty)).entries and not parsed(feed_rss(empty)).entries
    assert feed_atom(empty) == feed_atom(empty)


def test_feeds_built_from_the_log_are_byte_identical_on_every_rebuild_and_follow_a_correction(publishing, example_store, clock, tmp_path):
    store = LocalDirectory(tmp_path / "site")
    publishing.publish(EDITION, to=store)
    first = (store.get("feed.atom"), store.get("feed.rss"))

    clock.advance(days=3)
    rebuilt = publishing.site(store)
    assert (feed_atom(rebuilt), feed_rss(rebuilt)) == first, "times come from the events, never the clock"

    revision = correct_burglary(example_store, clock)
    publishing.publish(EDITION, revision, to=store)
    atom = parsed(store.get("feed.atom"))
    (entry,) = atom.entries
    assert entry.id == parsed(first[0]).entries[0].id, "a correction updates its edition's entry"
    assert entry.link == f"{SITE_URL}editions/{EDITION}/r2/"
    assert seconds(entry.updated_parsed) > seconds(entry.published_parsed) == seconds(parsed(first[0]).entries[0].published_parsed)
    assert "under-counted by 90 offences" in entry.summary
    assert "Burglary, year ending September 2021: 19,018 became 19,108 (correction)" in entry.content[0].value
    assert feed_atom(publishing.site(store)) == store.get("feed.atom")


# -- against the specifications: every required element, not only a parse --------------------------


def test_every_published_feed_has_what_rfc_4287_and_rss_2_require(publishing, example_store, clock, tmp_path):
    store = LocalDirectory(tmp_path / "site")
    published_example(example_store, clock, publishing, store)

    for key in ("feed.atom", "calendar.atom"):
        assert atom_problems(store.get(key)) == [], key
    assert rss_problems(store.get("feed.rss")) == []
    calendar_atom = parsed(store.get("calendar.atom"))
    assert calendar_atom.feed.author == "Policing performance statements", "the publisher is the calendar feed's author"


def test_an_empty_sites_feeds_have_what_the_specifications_require():
    empty = Site(editions=(), site_url=SITE_URL, authority=AUTHORITY)
    assert atom_problems(feed_atom(empty)) == [] and rss_problems(feed_rss(empty)) == []


ENTRY = "<entry><id>tag:x,2026:1</id><title>t</title><updated>2026-01-05T09:00:00Z</updated><link href='https://x/'/></entry>"
HEAD = "<id>tag:x,2026:feed</id><title>f</title><updated>2026-01-05T09:00:00Z</updated>"


def atom(inner: str) -> bytes:
    return f"<feed xmlns='http://www.w3.org/2005/Atom'>{inner}</feed>".encode()


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (atom(HEAD + ENTRY), "atom:entry 1 has no atom:author and neither has the feed"),
        (atom("<title>f</title><updated>2026-01-05T09:00:00Z</updated><author><name>p</name></author>"), "atom:feed has 0 atom:id"),
        (atom(HEAD.replace("09:00:00Z", "09:00:00") + "<author><name>p</name></author>"), "is not an RFC 3339 date-time"),
        (atom(HEAD + "<author><uri>https://x/</uri></author>"), "atom:feed atom:author has 0 atom:name"),
        (atom(HEAD + "<author><name>p</name></author>" + ENTRY.replace("<link href='https://x/'/>", "")), "must have an alternate atom:link"),
        (atom(HEAD.replace("tag:x,2026:feed", "feed") + "<author><name>p</name></author>"), "is not an absolute IRI"),
        (b"<rss version='2.0'><channel><title>t</title><link>https://x/</link></channel></rss>", "channel has 0 description"),
        (
            b"<rss version='2.0'><channel><title>t</title><link>https://x/</link><description>d</description>"
            b"<item><link>https://x/1</link></item></channel></rss>",
            "item 1 has neither title nor description",
        ),
        (
            b"<rss version='2.0'><channel><title>t</title><link>https://x/</link><description>d</description>"
            b"<item><title>t</title><pubDate>2026-01-05</pubDate></item></channel></rss>",
            "is not an RFC 822 date-time",
        ),
    ],
)
def test_the_checker_names_what_a_feed_lacks(body, problem):
    problems = (rss_problems if body.startswith(b"<rss") else atom_problems)(body)
    assert any(problem in p for p in problems), problems
