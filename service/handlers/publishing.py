"""Publishing an edition's revision: decide whether it may go out, render it, put it in the store in a
safe order, record the release, and refresh the site around it.

The decision rests on the edition's approvals and its release stream (see docs/publishing.md):

- a revision already released is published again (completing an interrupted publish, or a no-op);
- the first release of an edition goes out at its announced time, never before: before that,
  publishing is refused unless `now` and an override reason are given, which reschedules the
  release to this minute with that reason; an edition never announced is announced for this
  minute as it is published, with the reason (or a default one) recorded;
- a later revision after a release is a correction: it goes out at once, its time being its
  approval's minute.

The release rules are the calendar's (`events.domain.rules.releases`); the release handler
(`Releases`) records what they decide: a time the files show (an announcement or a move) before
any file is written, and the release itself after the manifest, when the files are out.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable
from urllib.parse import urlsplit

import structlog

from events import EventStore
from events.domain.editions import edition_stream
from events.domain.organisations import ORGANISATIONS_STREAM
from events.domain.rules import organisations as organisation_rules
from events.domain.errors import EmbargoInForce, ReleaseWasCancelled, UnknownEdition  # noqa: F401 - refusals of a publish
from events.domain.rules import editions as edition_rules
from events.domain.rules import releases as release_rules
from events.domain.rules.releases import ON_DEMAND_REASON, correction_time  # noqa: F401
from events.records import parse_time
from events.store import Clock, utc_now
from events.notes import SIGNATURE_PREFIX, Checkpoint, NoteError, Signature, SigningKey, sign_note
from publishers import comparison, model, transparency
from publishers.model import publishable
from publishers.calendar import calendar_files
from publishers.publish import PublishError, PublishFailed, Written, put_edition, put_site
from publishers.render import EDITION_JSON, RenderedEdition, render_edition
from publishers.site import latest_keys, proofs_page, render_site
from publishers.times import display_time
from publishers.stores import ObjectNotFound, ObjectStore, StorageError

from .editions_published import RevisionTimes, edition_document, held_since_approval
from .organisations import edition_organisation
from .releases import PublishOutcome, Releases, released_editions

if TYPE_CHECKING:
    from events.projections import Projections

log = structlog.get_logger(__name__)

# One site refresh at a time in a process: the scheduler publishes from several threads.
_site_lock = threading.Lock()
_IP_OR_LOCAL = re.compile(r"^(\d+\.\d+\.\d+\.\d+|\[.*\]|localhost)$")


# -- refusals -------------------------------------------------------------------------------------


class PublishRefused(PublishError):
    """Nothing was published; the message says why and what to do instead."""


class NotApproved(PublishRefused):
    pass


class RevisionSuperseded(PublishRefused):
    pass


class HeldForAnotherRelease(PublishRefused):
    """The revision quotes a figure a release announced after its approval publishes first."""


class SiteIncomplete(PublishError):
    """Some of the site's files could not be rendered; every other one was written."""

    def __init__(self, edition: str, revision: int, failed: dict[str, str]) -> None:
        self.edition, self.revision, self.failed = edition, revision, failed
        listed = "; ".join(f"{key} ({why})" for key, why in sorted(failed.items()))
        super().__init__(
            f"edition {edition} revision {revision}: the site's other files were written, but these could not be "
            f"rendered and still show the site as it was: {listed}. `policing-metrics site check` lists what lags the log"
        )


class CheckpointFork(PublishError):
    """A checkpoint the site already publishes has another root than the log's tree of that size."""


def _split_note(note: str) -> tuple[str, list[Signature]]:
    """A published note's text and its signature lines, unverified (kept as they are when re-signing)."""
    split = note.rfind("\n\n")
    if split < 0:
        return note, []
    signatures = []
    for line in note[split + 2 :].splitlines():
        name, _, encoded = line.removeprefix(SIGNATURE_PREFIX).partition(" ")
        if line.startswith(SIGNATURE_PREFIX) and encoded:
            try:
                key_id = int.from_bytes(base64.b64decode(encoded)[:4], "big")
            except ValueError:
                continue
            signatures.append(Signature(name, key_id, encoded))
    return note[: split + 1], signatures


@dataclass(frozen=True)
class _Current:
    """An edition's current released revision, as publishers.comparison takes it."""

    edition: str
    revision: int
    released_at: str
    area: str
    directory: str


class ManifestChanged(PublishRefused):
    """Rendering a released revision again does not give the manifest its release recorded."""


# -- what a publish did ---------------------------------------------------------------------------


@dataclass
class PublishReport:
    edition: str
    revision: int
    destination: str
    mode: str  # "first release", "correction" or "again"
    release_at: str
    manifest_hash: str
    edition_keys: tuple[str, ...]
    edition_files: Written
    site_files: Written = field(default_factory=Written)
    recorded: bool = False  # this publish appended the release event

    @property
    def outcome(self) -> PublishOutcome:
        return PublishOutcome(self.manifest_hash, self.edition_keys)

    def summary(self) -> str:
        changed = len(self.edition_files.written) + len(self.site_files.written)
        lines = [
            f"edition {self.edition} revision {self.revision} ({self.mode}, released {display_time(self.release_at)}) "
            f"published to {self.destination}",
            f"  revision files: {len(self.edition_files.written)} written, {len(self.edition_files.unchanged)} already there "
            f"(manifest SHA-256 {self.manifest_hash})",
            f"  site files: {len(self.site_files.written)} written, {len(self.site_files.unchanged)} unchanged",
            "  release " + ("recorded in the log" if self.recorded else "already recorded in the log"),
        ]
        if not changed and not self.recorded:
            lines.append("  nothing to do: everything was already published")
        return "\n".join(lines)


def tag_authority(site_url: str) -> str:
    """The feeds' tag: authority: the site's host name, or a reserved name for an address or localhost."""
    host = (urlsplit(site_url).hostname or "").lower()
    if not host or _IP_OR_LOCAL.match(host) or "." not in host:
        return "policing-metrics.invalid"
    return host


def site_url_of(url: str) -> str:
    return url.rstrip("/") + "/"


# -- the handler ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PublishRequest:
    """Who asked for a publish and from where; with `now`, released at once for `override_reason`."""

    now: bool = False
    override_reason: str | None = None
    actor: str = "publisher"
    source: str = "cli"


SCHEDULED = PublishRequest(actor="scheduler", source="scheduler")  # the scheduler's, at the calendar's time


@dataclass(frozen=True)
class _Plan:
    mode: str
    times: RevisionTimes


class Publishing:
    """Publishes editions from one store's log to object stores, as of one clock."""

    def __init__(
        self,
        store: EventStore,
        *,
        site_url: str,
        software_version: str,
        clock: Clock = utc_now,
        releases: Releases | None = None,
        projections: Projections | None = None,
        signing_key: SigningKey | None = None,
    ) -> None:
        """`releases` and `projections` come from the composition root (built here when not given);
        `signing_key` signs the site's checkpoints (unsigned without one: docs/proofs.md)."""
        self.store = store
        self.clock = clock
        self.releases = releases or Releases(store, clock)
        self.projections = projections
        self.site_url = site_url_of(site_url)
        self.authority = tag_authority(self.site_url)
        self.software_version = software_version
        self.signing_key = signing_key

    # deciding

    def _plan(self, edition: str, revision: int | None, request: PublishRequest) -> tuple[int, _Plan]:
        events = self.store.read_stream(edition_stream(edition))
        state = edition_rules.fold(((e.type, e.data) for e in events), (e.recorded_at for e in events))
        if state is None:
            raise UnknownEdition(edition)
        latest = len(state.approvals)
        if latest == 0:
            raise NotApproved(
                f"edition {edition} has never been approved, so there is nothing to publish: check it with "
                f"`policing-metrics edition check {edition}` and approve it with `policing-metrics edition approve {edition}`"
            )
        revision = latest if revision is None else revision
        if not 1 <= revision <= latest:
            raise NotApproved(f"edition {edition} has {latest} approved revision(s); there is no revision {revision} to publish")
        released = self.releases.released(edition)
        by_revision = {r.revision: r for r in released}
        if revision in by_revision:
            done = by_revision[revision]
            earlier = tuple(r for r in released if r.revision < revision)
            return revision, _Plan("again", RevisionTimes(done.release_at, released[0].release_at, earlier))
        if released and revision < released[-1].revision:
            raise RevisionSuperseded(
                f"revision {revision} of edition {edition} was never released and revision {released[-1].revision} "
                f"already is: an older revision cannot come out after a newer one"
            )
        if revision < latest:
            raise RevisionSuperseded(
                f"revision {revision} of edition {edition} was superseded by revision {latest} before it was released: "
                f"publish revision {latest}"
            )
        if released:
            release_at = correction_time(parse_time(state.approvals[revision - 1].recorded_at), released)
            return revision, _Plan("correction", RevisionTimes(release_at, released[0].release_at, tuple(released)))
        # A first release: its time is fixed on the calendar (moved to now, or announced for now) before any file shows it.
        release_at, event = self.releases.fix_publish_time(
            edition, title=state.title, early=request.now, override_reason=request.override_reason,
            actor=request.actor, source=request.source,
        )  # fmt: skip
        if event is not None:
            log.info("publish.release_time_fixed", edition=edition, revision=revision, release_at=release_at,
                     calendar_event=type(event).__name__)
        return revision, _Plan("first release", RevisionTimes(release_at, release_at, ()))

    # doing

    def publish(
        self,
        edition: str,
        revision: int | None = None,
        *,
        to: ObjectStore,
        now: bool = False,
        override_reason: str | None = None,
        actor: str = "publisher",
        source: str = "cli",
    ) -> PublishReport:
        """Put the revision's files, record the release, then refresh the site around it."""
        if now and not (override_reason and override_reason.strip()):
            raise PublishRefused("--now needs --override-reason: the calendar tells the public why a release came early")
        report = self.put(edition, revision, to=to, request=PublishRequest(now, override_reason, actor, source))
        if report.mode != "again":
            _, report.recorded = self.releases.record_release(
                edition, report.revision, report.release_at, report.outcome, released_at=self.clock(), actor=actor, source=source
            )
        log.info("publish.site_files", edition=edition, revision=report.revision, recorded=report.recorded)
        report.site_files = self.refresh_site(to, refresh=[edition], revision=report.revision)
        log.info(
            "publish.done",
            edition=edition,
            revision=report.revision,
            destination=report.destination,
            manifest_hash=report.manifest_hash,
            written=len(report.edition_files.written) + len(report.site_files.written),
            unchanged=len(report.edition_files.unchanged) + len(report.site_files.unchanged),
        )
        return report

    def put(
        self,
        edition: str,
        revision: int | None = None,
        *,
        to: ObjectStore,
        request: PublishRequest = PublishRequest(),
    ) -> PublishReport:
        """Decide, fix the release time on the calendar if it must move, render, and put the revision's
        own files (the manifest last). Nothing says they are released until the release is recorded."""
        revision, plan = self._plan(edition, revision, request)
        if plan.mode != "again" and (held := held_since_approval(self.store, edition, revision)):
            raise HeldForAnotherRelease(
                f"edition {edition} revision {revision} publishes {'; '.join(held)}, which was put on the calendar after "
                "this revision was approved: approve a new revision (which leaves it out) or move that release first"
            )
        bound = log.bind(edition=edition, revision=revision, destination=to.location())
        rendered = self.render(edition, revision, plan.times)
        if plan.mode == "again":
            recorded_hash = next(r.manifest_hash for r in self.releases.released(edition) if r.revision == revision)
            if rendered.manifest_hash != recorded_hash:
                # The release is recorded and its files are here: the site around them must still list it.
                if to.exists(f"{rendered.directory}/manifest.json"):
                    self.refresh_site(to, refresh=[edition], revision=revision)
                raise ManifestChanged(
                    f"edition {edition} revision {revision} was released with manifest {recorded_hash}, but rendering it "
                    f"again gives {rendered.manifest_hash} (this software is {self.software_version}): published files "
                    "never change, so it is not published again; approve and publish a new revision to change it"
                )
        bound.info("publish.edition_files", mode=plan.mode, release_at=plan.times.release_at)
        written = put_edition(to, rendered)
        return PublishReport(
            edition, revision, to.location(), plan.mode, plan.times.release_at, rendered.manifest_hash, rendered.keys(), written
        )

    def render(self, edition: str, revision: int, times: RevisionTimes) -> RenderedEdition:
        document = edition_document(
            self.store, edition, revision, times, software_version=self.software_version, projections=self.projections
        )
        return render_edition(document)

    # the site

    def site(self, to: ObjectStore) -> model.Site:
        """Every released edition whose current revision is complete in `to`, and the release calendar."""
        present = {key.rsplit("/", 1)[0] for key in to.list() if key.endswith("/manifest.json")}
        streams = self.store.read_prefix("release-")
        calendar = [release for _, events in sorted(streams.items()) if (release := release_rules.fold(events)) is not None]
        by_edition: dict[str, list] = {}
        for released in released_editions(self.store, streams):
            by_edition.setdefault(released.edition, []).append(released)
        editions = []
        for edition, revisions in by_edition.items():
            organisation = revisions[0].organisation
            shown = [r for r in revisions if model.edition_directory(edition, r.revision, organisation) in present]
            missing = [r.revision for r in revisions if r not in shown]
            if missing:
                log.warning("site.revisions_missing", edition=edition, revisions=missing, destination=to.location(),
                            problem="released but not in this destination: publish them here to list them")
            if not shown:
                continue
            state = shown[-1].state
            site_revisions = []
            for index, r in enumerate(shown):
                notices = self._notices(to, model.edition_directory(edition, r.revision, organisation)) if index else ()
                site_revisions.append(
                    model.SiteRevision(
                        r.revision, r.release_at, r.reason, r.manifest_hash, notices, tree_size=r.tree_size or r.position,
                        released_at=r.released_at,
                    )
                )
            editions.append(
                model.SiteEdition(
                    edition=edition,
                    title=state.title,
                    area=state.area,
                    priorities=tuple(p for p in model.PRIORITY_TITLES if state.applicability.get(p, (False, ""))[0]),
                    revisions=tuple(site_revisions),
                    authors=tuple(a["name"] for a in state.authors),
                    organisation=organisation,
                )
            )
        organisations, owners = self._organisations(calendar, by_edition)
        return model.Site(
            editions=tuple(editions),
            site_url=self.site_url,
            authority=self.authority,
            calendar_files=calendar_files(calendar, base_url=self.site_url, domain=self.authority, organisations=owners),
            comparisons=self._comparisons(to, editions),
            organisations=organisations,
            section_calendars={
                organisation: calendar_files(
                    [release for release in calendar if owners.get(release.edition) == organisation],
                    base_url=f"{self.site_url}{organisation}/", domain=self.authority, name=f"{name}: release calendar",
                    section=organisation,
                )
                for organisation, name in organisations.items()
            },
        )

    def _organisations(self, calendar: list, released: dict[str, list]) -> tuple[dict[str, str], dict[str, str]]:
        """The hub's organisations (id -> name), and the organisation of each edition on the calendar whose
        section is not the root (edition -> organisation): a released one's as it was published."""
        defined = self.store.read_stream(ORGANISATIONS_STREAM)
        organisations = organisation_rules.fold((e.type, e.data) for e in defined)
        owners = {edition: revisions[0].organisation for edition, revisions in released.items()}
        unreleased = [release.edition for release in calendar if release.edition not in owners]
        streams = self.store.read_streams([edition_stream(edition) for edition in unreleased]) if organisations else {}
        for edition in unreleased:
            if organisations:
                owners[edition] = edition_organisation(self.store, edition, streams.get(edition_stream(edition), []), defined)
        names = {o.organisation: o.name for o in sorted(organisations.values(), key=lambda o: o.organisation)}
        return names, {edition: owner for edition, owner in owners.items() if owner}

    def _comparisons(self, to: ObjectStore, editions: list[model.SiteEdition]) -> dict[str, tuple[dict, ...]]:
        """Every measure across areas, from each area's latest released revision's edition.json as published
        (only those editions' files are read): what `/public/comparison/{measure}` answers."""
        current = sorted(
            (_Current(e.edition, e.current.revision, e.current.released_at, e.area, e.directory) for e in editions),
            key=lambda c: (c.released_at, c.edition, c.revision), reverse=True,
        )  # fmt: skip
        published: dict[tuple[str, int], list[dict]] = {}

        def lines(revision: _Current) -> list[dict]:
            key = (revision.edition, revision.revision)
            if key not in published:
                try:
                    body = to.get(f"{revision.directory}/{EDITION_JSON}")
                    published[key] = list(json.loads(body).get("scorecard", []))
                except (ObjectNotFound, ValueError):
                    published[key] = []
            return published[key]

        return {
            measure: tuple(comparison.comparison_rows(current, measure, lines))
            for measure in comparison.measures(current, lines)
        }

    def _notices(self, to: ObjectStore, directory: str) -> tuple[model.Notice, ...]:
        """A correction's notices as its own edition.json published them."""
        try:
            document = json.loads(to.get(f"{directory}/{EDITION_JSON}"))
        except (ObjectNotFound, ValueError):
            return ()
        return tuple(model.Notice(**notice) for notice in document.get("notices", []))

    def refresh_site(self, to: ObjectStore, *, refresh: tuple[str, ...] | list[str] = (), revision: int = 0) -> Written:
        """Rebuild the site's mutable files from the log and write those that changed, root index last.

        Two publishes of different editions at once (scheduler threads or replicas) could each write
        a site built before the other's release: if the releases changed while writing, build again.
        """
        edition = refresh[0] if refresh else "-"
        written = Written()
        with _site_lock:
            for _ in range(3):
                seen = self._released_signature()
                try:
                    site = self.site(to)
                    latest = {key: to.get(source) for key, source in latest_keys(site).items()}
                except StorageError as exc:
                    raise PublishFailed(edition, revision, exc.location or "", "site", exc) from exc
                transparency = self.transparency(to, site)
                files = render_site(site, refresh=refresh, latest_files=latest, transparency=transparency)
                put_site(to, files, edition=edition, revision=revision, written=written)
                if self._released_signature() == seen:
                    break
                log.info("publish.site_rebuilt", edition=edition, reason="another release was recorded while writing the site")
        if files.failed:
            raise SiteIncomplete(edition, revision, files.failed)
        return written

    def transparency(self, to: ObjectStore, site: model.Site) -> list:
        """The site's checkpoints (one per released revision's tree size), consistency proofs between them,
        verifier keys, index and page. A checkpoint already published keeps its signatures (an earlier key's,
        a cosigner's) and gains this key's; one of the same size with another root is a fork: refused."""
        sizes: dict[int, list[tuple[str, int]]] = {}
        for edition in site.editions:
            for revision in edition.revisions:
                if revision.tree_size:
                    sizes.setdefault(revision.tree_size, []).append((edition.edition, revision.revision))
        origin = self.signing_key.name if self.signing_key else self.authority
        heads = []
        for size in sorted(sizes):
            root = self.store.tree_root(size)
            heads.append(transparency.TreeHead(size, root, tuple(sorted(sizes[size])), self._checkpoint_note(to, size, root, origin)))
        proofs = [
            transparency.Consistency(a.size, b.size, a.root, b.root, tuple(self.store.consistency_proof(a.size, b.size)))
            for a, b in zip(heads, heads[1:])
        ]
        keys = self._verifier_keys(to)
        page = proofs_page(publishable(site), heads, keys)
        return transparency.transparency_files(heads, proofs, keys, origin, page)

    def _checkpoint_note(self, to: ObjectStore, size: int, root: bytes, origin: str) -> str:
        text = Checkpoint(origin, size, root).text()
        try:
            existing = to.get(model.checkpoint_key(size)).decode("utf-8", errors="replace")
        except ObjectNotFound:
            existing = ""
        kept: list[Signature] = []
        if existing:
            published_text, signatures = _split_note(existing)
            try:
                published = Checkpoint.parse(published_text)
            except NoteError:
                published = None
            if published is not None and published.size == size and published.root != root:
                raise CheckpointFork(
                    f"{to.location(model.checkpoint_key(size))} was published with root {base64.b64encode(published.root).decode()} "
                    f"for the tree of {size} events, but the log's tree of {size} events now has root "
                    f"{base64.b64encode(root).decode()}: the log was rewritten after publication (a fork). Nothing more is "
                    "published; compare the log with the site (`policing-metrics verify --site`)"
                )
            if published_text == text:
                kept = signatures
        if self.signing_key is None:
            return sign_note(text, signatures=kept) if kept else text
        return sign_note(text, self.signing_key, signatures=kept)

    def _verifier_keys(self, to: ObjectStore) -> list[str]:
        """The published verifier keys, and this key's added if it is new (an earlier key stays: its checkpoints stand)."""
        try:
            lines = [line.strip() for line in to.get(transparency.VERIFIER_KEYS).decode().splitlines() if line.strip()]
        except (ObjectNotFound, UnicodeDecodeError):
            lines = []
        if self.signing_key is not None and str(self.signing_key.verifier()) not in lines:
            lines.append(str(self.signing_key.verifier()))
        return lines

    def _released_signature(self) -> tuple:
        streams = self.store.read_prefix("release-")
        return tuple(sorted((stream, events[-1].position) for stream, events in streams.items() if events))


class ScheduledPublisher:
    """What the release scheduler calls when a release is due: put the revision's files in the
    destination, and once the scheduler has recorded the release, refresh the site around it (so
    the feeds and indexes it writes already list the edition)."""

    def __init__(self, publishing: Publishing, open_destination: Callable[[], ObjectStore]) -> None:
        self.publishing = publishing
        self.open_destination = open_destination

    def __call__(self, edition: str, revision: int) -> PublishOutcome:
        report = self.publishing.put(edition, revision, to=self.open_destination(), request=SCHEDULED)
        return report.outcome

    def after_release(self, edition: str, revision: int) -> None:
        self.publishing.refresh_site(self.open_destination(), refresh=[edition], revision=revision)


def for_scheduler(publishing: Publishing, open_destination: Callable[[], ObjectStore]) -> ScheduledPublisher:
    return ScheduledPublisher(publishing, open_destination)
