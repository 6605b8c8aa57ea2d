"""The site around editions: every mutable file, in the order it is written.

Per edition, `editions/{edition}/status.css` and `editions/{edition}/index.html`: the page of all
its revisions, and the stylesheet that shows the "not the latest release" banner already inside
every superseded revision's immutable page. Then `latest/`, the JSON Schema, the release calendar,
the feeds, the comparison of each measure across areas (`comparison/`), and the root `index.html`
last: nothing links to a file before the file is there.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Callable, Iterable

import structlog

from .comparison import comparison_csv
from .feeds import ATOM_CONTENT_TYPE, RSS_CONTENT_TYPE, feeds
from .model import Site, SiteEdition, edition_directory, publishable, section_prefix
from .render import CSVW_METADATA, EDITION_JSON, NOTICE_KINDS, SCORECARD_CSV, SITE_TITLE, environment
from .stores import content_type_for
from .times import period_label, signed, signed_percent, value_text

# Copies of the latest edition's machine-readable files under latest/: stable addresses for programs.
LATEST_COPIES = (EDITION_JSON, SCORECARD_CSV, CSVW_METADATA)
SCHEMA_KEY = "edition.schema.json"
log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class SiteFile:
    key: str
    body: bytes
    content_type: str


def edition_schema() -> bytes:
    return resources.files("publishers").joinpath("schemas", "edition.schema.json").read_bytes()


def status_css(edition: SiteEdition) -> bytes:
    superseded = [r.revision for r in edition.revisions[:-1]]
    lines = [
        f"/* Edition {edition.edition}: the latest release is revision {edition.current.revision}. A superseded",
        "   revision's page is immutable; this short-cached rule shows the banner it already carries. */",
    ]
    if superseded:
        selectors = ",\n".join(f'body[data-revision="{n}"] .superseded-banner' for n in superseded)
        lines.append(f"{selectors} {{ display: block; }}")
    return ("\n".join(lines) + "\n").encode()


def edition_index(site: Site, edition: SiteEdition) -> bytes:
    revisions = []
    for index, revision in enumerate(edition.revisions):
        after = edition.revisions[index + 1] if index + 1 < len(edition.revisions) else None
        revisions.append(
            {
                "revision": revision.revision,
                "release_at": revision.release_at,
                "reason": revision.reason,
                "notices": revision.notices,
                "superseded_by": after.revision if after else None,
                "superseded_at": after.release_at if after else None,
                "superseded_reason": after.reason if after else None,
            }
        )
    return _page(
        "edition_index.html", root="../../", edition=edition, revisions=list(reversed(revisions)), notice_kinds=NOTICE_KINDS
    )


def here(site: Site, edition: SiteEdition) -> str:
    """An edition's folder from the root of `site` (the whole site, or an organisation's section)."""
    return edition.folder.removeprefix(section_prefix(site.section_of))


def latest_index(site: Site, edition: SiteEdition | None) -> bytes:
    if edition is None:
        return _page("empty_latest.html", root="../")
    return _page("latest.html", root="../", edition=edition, folder=here(site, edition), site_url=site.site_url)


def site_index(site: Site) -> bytes:
    """The root index (a hub's lists its organisations' sections too), or an organisation's section's."""
    return _page(
        "site_index.html", root="", editions=site.newest_first(), folder=lambda edition: here(site, edition),
        organisations=site.organisations, section=site.section_of, site_title=site.title,
    )  # fmt: skip


COMPARISON_DIRECTORY = "comparison"


def comparison_page(site: Site, measure: str) -> bytes:
    """comparison/{measure}/index.html: the measure in every area, from each area's latest released revision."""
    rows = [
        {
            **row,
            "value_text": value_text(row["value"], row["unit"]),
            "period_label": period_label(row["period"]) or "—",
            "baseline_text": value_text(row["baseline_value"], row["unit"]),
            "baseline_label": period_label(row["baseline_period"]),
            "change_text": signed(row["change"], row["unit"]),
            "percent_text": signed_percent(row["change_percent"]),
            "directory": edition.directory,
        }
        for row in site.comparisons[measure]
        for edition in [site.edition(row["edition"])]
        if edition is not None
    ]
    return _page("comparison.html", root="../../", measure=measure, title=rows[0]["title"], rows=rows)


def comparison_index(site: Site) -> bytes:
    measures = {measure: rows[0]["title"] for measure, rows in sorted(site.comparisons.items()) if rows}
    return _page("comparison_index.html", root="../", measures=measures)


def _page(template: str, **context) -> bytes:
    context.setdefault("site_title", SITE_TITLE)
    context.setdefault("software_version", "")
    return environment().get_template(template).render(**context).encode()


class SiteFiles(list):
    """The site's files in write order, and those that could not be rendered: key -> why."""

    def __init__(self) -> None:
        super().__init__()
        self.failed: dict[str, str] = {}

    def add(self, key: str, render: Callable[[], bytes], content_type: str) -> None:
        """One file whose rendering fails is left out and noted, so the others are still written:
        one bad value must not keep a release out of the index, the calendar and latest/."""
        try:
            self.append(SiteFile(key, render(), content_type))
        except Exception as exc:  # noqa: BLE001 - any failure of one file's rendering, reported by the caller
            log.error("site.file_not_rendered", key=key, error=f"{type(exc).__name__}: {exc}")
            self.failed[key] = f"{type(exc).__name__}: {exc}"


def proofs_page(site: Site, heads, keys: list[str]) -> bytes:
    """proofs/index.html: how to check a statement, and every checkpoint."""
    from .transparency import b64, consistency_key

    directories = {
        (e.edition, r.revision): edition_directory(e.edition, r.revision, e.organisation) for e in site.editions for r in e.revisions
    }
    rows = [
        {
            "size": h.size,
            "root_b64": b64(h.root),
            "revisions": [(e, n, directories.get((e, n), edition_directory(e, n))) for e, n in h.revisions],
            "next_proof": consistency_key(h.size, heads[i + 1].size) if i + 1 < len(heads) else None,
        }
        for i, h in enumerate(heads)
    ]
    return _page("proofs.html", root="../", heads=rows, keys=keys, site_url=site.site_url)


def render_site(
    site: Site,
    *,
    refresh: Iterable[str] = (),
    latest_files: dict[str, bytes] | None = None,
    transparency: Iterable[SiteFile] = (),
) -> SiteFiles:
    """The site's mutable files in write order. `refresh` names the editions whose own pages to include;
    `latest_files` holds the newest edition's current files to copy under each latest/, by key there (read
    from the store: `latest_keys`);
    `transparency` the checkpoints and proofs (publishers.transparency), written first.
    A file that fails to render is in `failed` instead, and the rest are still there."""
    files = SiteFiles()
    files.failed.update(getattr(site.calendar_files, "failed", {}))
    for organisation, calendar in site.section_calendars.items():
        files.failed.update({section_prefix(organisation) + key: why for key, why in getattr(calendar, "failed", {}).items()})
    site = publishable(site)
    # Checkpoints and proofs first: the edition pages link to them; the page on checking them links to the
    # revisions, so it comes after the edition pages, with the other pages.
    transparency = list(transparency)
    files.extend(f for f in transparency if not f.key.endswith(".html"))
    for name in refresh:
        edition = site.edition(name)
        if edition is None:
            continue  # not released (or not in this destination): nothing public may name it
        base = edition.folder
        # The page of all revisions first: if the stylesheet then fails, a superseded page merely lacks its
        # banner for a while; the other way round its banner would point at a page without the newer revision.
        files.add(f"{base}/index.html", lambda edition=edition: edition_index(site, edition), content_type_for("index.html"))
        files.add(f"{base}/status.css", lambda edition=edition: status_css(edition), content_type_for("status.css"))
    # A hub's organisations' sections, each whole before the root index links to it.
    for organisation in sorted(site.organisations):
        section = site.section(organisation)
        _around(files, section, latest_files or {})
        files.add(f"{section_prefix(organisation)}index.html", lambda section=section: site_index(section), content_type_for("index.html"))
    _around(files, site, latest_files or {})
    files.extend(f for f in transparency if f.key.endswith(".html"))
    for measure, rows in sorted(site.comparisons.items()):
        if rows:
            base = f"{COMPARISON_DIRECTORY}/{measure}"
            files.add(f"{base}.csv", lambda rows=rows: comparison_csv(rows), content_type_for(f"{base}.csv"))
            files.add(f"{base}/index.html", lambda measure=measure: comparison_page(site, measure), content_type_for("index.html"))
    files.add(f"{COMPARISON_DIRECTORY}/index.html", lambda: comparison_index(site), content_type_for("index.html"))
    files.add("index.html", lambda: site_index(site), content_type_for("index.html"))
    return files


def _around(files: SiteFiles, site: Site, latest_files: dict[str, bytes]) -> None:
    """latest/, the schema (the root's only), the release calendar and the feeds of `site`: the whole site,
    or an organisation's section (its editions only, its keys under `{organisation}/`)."""
    prefix = section_prefix(site.section_of)
    newest = site.newest_first()[0] if site.editions else None
    if newest is not None:
        for name in LATEST_COPIES:
            if f"{prefix}latest/{name}" in latest_files:
                key = f"{prefix}latest/{name}"
                files.append(SiteFile(key, latest_files[key], content_type_for(name)))
    files.add(f"{prefix}latest/index.html", lambda: latest_index(site, newest), content_type_for("index.html"))
    if not prefix:
        files.add(SCHEMA_KEY, edition_schema, content_type_for(SCHEMA_KEY))
    for key, (body, content_type) in sorted(site.calendar_files.items()):
        files.append(SiteFile(prefix + key, body, content_type))
    both: list[tuple[bytes, bytes]] = []  # the feeds are built once for both

    def feed(index: int) -> bytes:
        if not both:
            both.append(feeds(site))
        return both[0][index]

    files.add(f"{prefix}feed.atom", lambda: feed(0), ATOM_CONTENT_TYPE)
    files.add(f"{prefix}feed.rss", lambda: feed(1), RSS_CONTENT_TYPE)


def latest_keys(site: Site) -> dict[str, str]:
    """key under a latest/ -> the key it copies: the newest edition's current revision's files, for the whole
    site's latest/ and for each organisation's section's."""
    keys = {}
    for view in [site, *(site.section(organisation) for organisation in sorted(site.organisations))]:
        if view.editions:
            newest = view.newest_first()[0]
            for name in LATEST_COPIES:
                keys[f"{section_prefix(view.section_of)}latest/{name}"] = f"{newest.directory}/{name}"
    return keys
