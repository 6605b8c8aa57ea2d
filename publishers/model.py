"""What a published edition and the site around it are made of: plain values, gathered from the log by
the service and rendered here without looking anything up, so the same values give the same bytes.

Decimals are exact text as recorded ("28675", "12.5"); times are text from events: release times in
Europe/London with their offset ("2022-02-01T09:30:00+00:00"), recorded times in UTC ("...Z").
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TypeVar

from events.chain import ChainRow
from events.domain.fields import carried, uncarried

T = TypeVar("T")

from events.domain.comparisons import SEED_STYLE, NumberStyle, change_unit

# How the public reads each priority (Home Office, National Crime and Policing Measures, 2021).
PRIORITY_TITLES: dict[str, str] = {
    "homicide": "Reduce murder and other homicide",
    "serious-violence": "Reduce serious violence",
    "drugs-county-lines": "Disrupt drugs supply and county lines",
    "neighbourhood-crime": "Reduce neighbourhood crime",
    "victim-satisfaction": "Improve satisfaction among victims, with a particular focus on victims of domestic abuse",
    "cyber-crime": "Tackle cyber crime",
    "local": "Local priority",
}


def publishable(value: T) -> T:
    """`value` (a model, or anything made of strings, tuples, lists, dicts and dataclasses) with every
    character XML, HTML or iCalendar cannot carry replaced by U+FFFD. The boundary refuses such text
    now; a log recorded before it did may still hold some, and one character must not stop a publish.
    An event as hashed (a ChainRow, inside a proof) is left as it is: its bytes are what its hash covers,
    and the JSON it is published in escapes such characters (publishers.render.dumps)."""
    if isinstance(value, ChainRow):
        return value
    if isinstance(value, str):
        return value if uncarried(value) is None else carried(value)  # type: ignore[return-value]
    if isinstance(value, (tuple, list)):
        cleaned = [publishable(item) for item in value]
        if all(new is old for new, old in zip(cleaned, value)):
            return value
        return type(value)(cleaned)  # type: ignore[return-value]
    if isinstance(value, dict):
        cleaned_items = [(publishable(k), publishable(v)) for k, v in value.items()]
        if all(k is old_k and v is old_v for (k, v), (old_k, old_v) in zip(cleaned_items, value.items())):
            return value
        return dict(cleaned_items)  # type: ignore[return-value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {}
        for f in dataclasses.fields(value):
            if f.init:
                old = getattr(value, f.name)
                new = publishable(old)
                if new is not old:
                    changes[f.name] = new
        return dataclasses.replace(value, **changes) if changes else value
    return value


def priority_title(priority: str | None) -> str:
    if priority is None:
        return ""
    return PRIORITY_TITLES.get(priority, priority)


@dataclass(frozen=True)
class Person:
    name: str
    job_title: str = ""


@dataclass(frozen=True)
class Contact:
    name: str
    email: str = ""
    phone: str = ""


@dataclass(frozen=True)
class Applicability:
    """Order paragraph 7A(b): whether a national priority applies to the area, and why."""

    priority: str
    applicable: bool
    reason: str

    @property
    def title(self) -> str:
        return priority_title(self.priority)


@dataclass(frozen=True)
class ProvenEvent:
    """One event of the log as it is hashed (docs/hash-chain.md), with its inclusion proof: what lets a reader
    recompute its hash, hence its leaf, and check the leaf is in the tree of an edition's checkpoint.
    `row` holds the columns as stored (`data` and `metadata` canonical JSON text); `proof` the RFC 9162
    path, base64 hashes."""

    row: ChainRow
    proof: tuple[str, ...]

    @property
    def position(self) -> int:
        return self.row.position


@dataclass(frozen=True)
class Evidence:
    """The events a published figure or paragraph is folded from (from the one that recorded it, in order),
    each proved included in the tree of `tree_size` events: the edition's checkpoint."""

    tree_size: int
    events: tuple[ProvenEvent, ...]

    @property
    def position(self) -> int:
        """The position of the event that gave it the value published."""
        return self.events[-1].position


@dataclass(frozen=True)
class SourceProof:
    """A published figure or paragraph of a revision whose approval names its content: the position of the
    event the approval names as its source, and the RFC 9162 inclusion proof of that event's leaf (its hash,
    which the approval states) in the tree of `tree_size` events. The event itself is not published."""

    tree_size: int
    position: int
    proof: tuple[str, ...]


@dataclass(frozen=True)
class CheckpointRef:
    """The tree an edition was frozen at: its size (the frozen position) and root, and where the site keeps
    its signed checkpoint."""

    size: int
    root: str  # base64, as the checkpoint writes it

    @property
    def key(self) -> str:
        return checkpoint_key(self.size)


def checkpoint_key(size: int) -> str:
    return f"checkpoints/{size}"


@dataclass(frozen=True)
class BoundValue:
    """One placeholder in a paragraph and what it reads as at the frozen position."""

    placeholder: str  # as written, e.g. {{value:homicide:2021-01/2021-12}}
    kind: str  # value, baseline, change, difference, percent, direction
    measure: str
    area: str
    period: str | None  # the baseline period for a baseline placeholder
    text: str  # what the reader sees: "46", "12%", "reduction"


@dataclass(frozen=True)
class EditionParagraph:
    number: int
    section: str
    heading: str  # rendered: placeholders filled in
    text: str  # rendered
    template: str  # as written, with placeholders
    heading_template: str
    priority: str | None
    footnotes: tuple[str, ...]
    bound: tuple[BoundValue, ...]
    evidence: Evidence | SourceProof | None = None


@dataclass(frozen=True)
class Section:
    section: str
    title: str


@dataclass(frozen=True)
class Figure:
    """A figure the edition shows, with its comparison against the measure's baseline where one applies.

    The comparison fields are None when the baseline figure is missing or covers a period of another length.
    """

    measure: str
    title: str
    priority: str
    area: str
    period: str
    value: str
    unit: str
    polarity: str
    baseline_period: str
    baseline_value: str | None
    change: str | None
    change_percent: int | None
    direction: str | None
    assessment: str | None
    source: str = ""
    note: str = ""
    evidence: Evidence | SourceProof | None = None


@dataclass(frozen=True)
class ComparedWith:
    """A scorecard line's latest figure against a named comparison other than the baseline."""

    comparison: str  # previous, year-earlier
    label: str  # "the previous 12 months (January to December 2020)"
    period: str
    value: str
    change: str  # exact, in change_unit
    change_percent: int | None  # whole percent; None against zero and for a percentage or a rate
    direction: str
    assessment: str


@dataclass(frozen=True)
class EditionLine:
    """One measure's latest figure in the edition's area against its baseline, with the trend behind it."""

    measure: str
    title: str
    priority: str
    area: str
    unit: str
    polarity: str
    period: str | None
    value: str | None
    baseline_period: str
    baseline_value: str | None
    change: str | None
    change_percent: int | None
    direction: str | None
    assessment: str | None
    source: str = ""
    definition: str = ""
    series: tuple[tuple[str, str], ...] = ()  # (period, value), periods of the baseline's length, in order
    comparisons: tuple[ComparedWith, ...] = ()  # against the previous period, a year earlier

    @property
    def change_unit(self) -> str:
        return change_unit(self.unit)


@dataclass(frozen=True)
class Notice:
    """A change since the previous released revision, explained: what, why, how big, what it does.

    `kind` is the figure's `revision` (planned, late data) or `correction` (an error), `withdrawn`,
    `recorded` (a figure new to the edition), or `paragraph` (the statement's text was revised).
    """

    kind: str
    subject: str  # "Burglary, October 2020 to September 2021" or "Paragraph 20"
    reason: str
    what: str  # "19,018 became 19,108"
    scale: str  # "an increase of 90 (0.5%)"
    impact: str  # "the change against the baseline is now a 33% reduction (was 34%); still improving"
    recorded_at: str  # UTC, from the event


@dataclass(frozen=True)
class PreviousVersion:
    """An earlier released revision, kept published, and when and why it was superseded."""

    revision: int
    released_at: str  # its release time (London, with offset)
    superseded_at: str  # the release time of the revision that superseded it
    superseded_by: int
    reason: str  # why it was superseded: the superseding approval's reason


@dataclass(frozen=True)
class EditionDocument:
    """Everything an edition's revision publishes, as of its frozen log position."""

    edition: str
    revision: int
    area: str
    title: str
    authors: tuple[Person, ...]
    lead_contact: Contact
    sections: tuple[Section, ...]
    applicability: tuple[Applicability, ...]
    paragraphs: tuple[EditionParagraph, ...]
    scorecard: tuple[EditionLine, ...]
    figures: tuple[Figure, ...]
    frozen_position: int
    head_hash: str
    approved_at: str  # UTC, when this revision was approved
    reason: str  # the approval's reason ("" for a first revision)
    release_at: str  # this revision's release time (London, with offset)
    first_release_at: str  # the edition's first release (the same as release_at for the first)
    notices: tuple[Notice, ...] = ()
    previous_versions: tuple[PreviousVersion, ...] = ()
    software_version: str = ""
    number_style: NumberStyle = SEED_STYLE
    checkpoint: CheckpointRef | None = None
    approval: ProvenEvent | None = None  # the approval as hashed, when it names the content (proof format 2)
    # The organisation whose site section (`{organisation}/`) it is published in, "" for the site's root:
    # fixed at its first approval (events.domain.rules.organisations.section_of).
    organisation: str = ""

    @property
    def directory(self) -> str:
        return edition_directory(self.edition, self.revision, self.organisation)


def section_prefix(organisation: str) -> str:
    """An organisation's site section's keys begin with this: "kent-police/"; the site's root is ""."""
    return f"{organisation}/" if organisation else ""


def edition_folder(edition: str, organisation: str = "") -> str:
    """An edition's folder: `editions/{edition}`, in its organisation's section in a hub."""
    return f"{section_prefix(organisation)}editions/{edition}"


def edition_directory(edition: str, revision: int, organisation: str = "") -> str:
    """Where a revision's files live: immutable keys under it."""
    return f"{edition_folder(edition, organisation)}/r{revision}"


# -- the site around editions ------------------------------------------------------------------


@dataclass(frozen=True)
class SiteRevision:
    """A released revision as the site lists it."""

    revision: int
    release_at: str  # London, with offset: the edition's release time, or a correction's
    reason: str  # the approval's reason ("" for the first)
    manifest_hash: str
    notices: tuple[Notice, ...] = ()
    tree_size: int = 0  # the size of the tree its checkpoint signs (its approval's, or its frozen position before approvals named their content)
    released_at: str = ""  # UTC: when publishing it finished (the release event's time)


@dataclass(frozen=True)
class SiteEdition:
    """A released edition: its revisions, oldest first (the last is current)."""

    edition: str
    title: str
    area: str
    priorities: tuple[str, ...]  # the national priorities assessed applicable: a feed category each
    revisions: tuple[SiteRevision, ...]
    summary: str = ""
    authors: tuple[str, ...] = ()
    organisation: str = ""  # whose site section it is published in ("": the root)

    @property
    def folder(self) -> str:
        return edition_folder(self.edition, self.organisation)

    @property
    def directory(self) -> str:
        """Its current revision's directory, from the site's root."""
        return edition_directory(self.edition, self.current.revision, self.organisation)

    @property
    def current(self) -> SiteRevision:
        return self.revisions[-1]

    @property
    def first_release_at(self) -> str:
        return self.revisions[0].release_at

    @property
    def updated_at(self) -> str:
        return self.revisions[-1].release_at


@dataclass(frozen=True)
class Site:
    """Every released edition, and where the site lives (absolute links: feeds, tag ids)."""

    editions: tuple[SiteEdition, ...]
    site_url: str  # with a trailing slash
    authority: str  # the tagging authority of the feeds' tag: ids, a domain name
    title: str = "Policing performance statements"
    # The release calendar's files (publishers.calendar.calendar_files): key -> (bytes, content type).
    calendar_files: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    # The same measure across areas (publishers.comparison.comparison_rows): measure -> its rows, each from
    # an area's latest released revision as its edition.json published the line.
    comparisons: dict[str, tuple[dict, ...]] = field(default_factory=dict)
    # A hub's organisations (id -> name), each with a site section, and each section's release calendar
    # files (as calendar_files, keyed within the section).
    organisations: dict[str, str] = field(default_factory=dict)
    section_calendars: dict[str, dict[str, tuple[bytes, str]]] = field(default_factory=dict)
    section_of: str = ""  # in `section`'s view: the organisation whose section this is

    @property
    def url(self) -> str:
        """Where this view lives: the site's address, or its organisation's section's."""
        return f"{self.site_url}{section_prefix(self.section_of)}"

    def newest_first(self) -> list[SiteEdition]:
        """By first release: the order editions came out in, whatever was corrected since."""
        from .times import utc

        return sorted(self.editions, key=lambda e: (utc(e.first_release_at), e.edition), reverse=True)

    def edition(self, edition: str) -> SiteEdition | None:
        return next((e for e in self.editions if e.edition == edition), None)

    def section(self, organisation: str) -> Site:
        """One organisation's site section: its editions only, its own calendar, its address under the site's."""
        return dataclasses.replace(
            self,
            editions=tuple(e for e in self.editions if e.organisation == organisation),
            section_of=organisation,
            title=f"{self.organisations[organisation]}: {self.title}",
            calendar_files=self.section_calendars.get(organisation, {}),
            comparisons={},
            organisations={},
            section_calendars={},
        )
