"""The publishing benchmark: render and publish a large edition; regenerate the feeds of a large site.

    python -m bench publish [--runs 5] [--write/--no-write]
    python -m bench.bench_publish ...        (the same)

Workload: an edition with 50 measures (each a baseline and three later figures, so a trend per
measure) and 100 paragraphs binding their figures, approved in an SQLite log. Each run copies that
log and publishes the edition from scratch (announce, render, every file, the manifest, the release
event, the site), to a new local directory and to a new prefix on a local SeaweedFS (`weed mini`,
started with the tests' launcher). Then the feeds (Atom and RSS) of a site of 1,000 editions, every
tenth with a correction, are regenerated. Medians of --runs; a table is printed and everything is
recorded in bench/results/publish.json (and the table in bench/results/publish.md and README.md).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from time import perf_counter

from .report import PASSED, ROOT, conclude, last_run, log, markdown_table, missed, quiet, row_notes, section_text
from .runs import common_options, new_record

MEASURES = 50
PARAGRAPHS = 100
SITE_EDITIONS = 1000
TARGET_LOCAL_S = 1.0
TARGET_S3_S = 2.0
TARGET_FEEDS_MS = 200.0
EDITION = "2026-q1"
AREA = "force"
START = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
# A section of its own right after "## Benchmarks": the store benchmark rewrites that section up to the next "## ".
README_HEADING = "## Benchmarks: publishing"


def quiet_logs() -> None:
    import logging

    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))


# -- the workload ---------------------------------------------------------------------------------


def build_log(path: Path) -> None:
    """50 measures with 4 figures each, an edition of 100 paragraphs binding them, approved."""
    from events import EventStore, Metadata
    from events.database import make_engine, upgrade
    from events.domain import registry
    from events.domain.fields import NATIONAL_PRIORITIES
    from service.handlers import editions, figures, measures

    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    store = EventStore(engine, registry, clock=lambda: START)
    who = Metadata(actor="bench", source="bench")
    periods = ["2018-07/2019-06", "2019-01/2019-12", "2020-01/2020-12", "2021-01/2021-12"]
    for m in range(MEASURES):
        measure = f"measure-{m:02d}"
        measures.define_measure(
            store, measure,
            {"title": f"Measure {m}", "priority": NATIONAL_PRIORITIES[m % 6], "unit": "count", "polarity": "lower-is-better",
             "baseline_period": periods[0], "source": "bench", "definition": ""},
            who,
        )  # fmt: skip
        for index, period in enumerate(periods):
            figures.record_figure(store, measure, AREA, period, str(1000 + 37 * m - 11 * index * (m % 7)), who, source="bench")
    editions.open_edition(
        store, EDITION, area=AREA, title="A statement of 50 measures and 100 paragraphs",
        authors=[{"name": "A. Author", "job_title": "Analyst"}], lead_contact={"name": "A. Author"}, metadata=who,
    )  # fmt: skip
    for priority in NATIONAL_PRIORITIES:
        editions.assess_priority(store, EDITION, priority, True, "applies", who)
    for number in range(1, PARAGRAPHS + 1):
        measure = f"measure-{number % MEASURES:02d}"
        latest = periods[-1]
        editions.write_paragraph(
            store, EDITION, number, metadata=who,
            section="force-statement" if number <= PARAGRAPHS // 2 else "pcc-statement",
            heading=f"Part {chr(65 + number // 10)}" if number % 10 == 1 else "",
            text=f"In the latest year {measure} stood at {{{{value:{measure}:{latest}}}}} against {{{{baseline:{measure}}}}} "
            f"at the baseline, a {{{{percent:{measure}:{latest}}}}} {{{{direction:{measure}:{latest}}}}}.",
        )  # fmt: skip
    editions.approve_edition(store, EDITION, who)
    engine.dispose()


def publish_once(template: Path, directory: Path, to) -> float:
    """Seconds to publish the edition from a fresh copy of the log to `to`."""
    from events import EventStore
    from events.database import make_engine
    from events.domain import registry
    from service.handlers.publishing import Publishing

    path = directory / f"log-{uuid.uuid4().hex[:8]}.db"
    shutil.copy(template, path)
    engine = make_engine(f"sqlite:///{path}")
    clock = lambda: START + timedelta(hours=1)  # noqa: E731
    store = EventStore(engine, registry, clock=clock)
    publishing = Publishing(store, site_url="https://statements.example.org/", software_version="bench", clock=clock)
    started = perf_counter()
    report = publishing.publish(EDITION, to=to)
    seconds = perf_counter() - started
    engine.dispose()
    if len(report.edition_files.written) != 5:
        raise RuntimeError(f"expected 5 revision files written, got {report.edition_files.written}")
    return seconds


def large_site():
    from publishers.model import Notice, Site, SiteEdition, SiteRevision

    editions = []
    for n in range(SITE_EDITIONS):
        released = START - timedelta(days=7 * (SITE_EDITIONS - n))
        revisions = [SiteRevision(1, released.isoformat(timespec="seconds"), "", "a" * 64)]
        if n % 10 == 0:
            notice = Notice("correction", "Burglary, year ending September 2021", "late reports", "19,018 became 19,108", "+90", "", "2021-01-01T00:00:00.000000Z")
            revisions.append(SiteRevision(2, (released + timedelta(days=3)).isoformat(timespec="seconds"), "a correction", "b" * 64, (notice,)))
        editions.append(
            SiteEdition(f"e{n:04d}", f"Statement {n}", AREA, ("homicide", "serious-violence", "cyber-crime"), tuple(revisions),
                        authors=("A. Author",))  # fmt: skip
        )
    return Site(editions=tuple(editions), site_url="https://statements.example.org/", authority="statements.example.org")


def feeds_once(site) -> float:
    from publishers.feeds import feeds

    started = perf_counter()
    atom, rss = feeds(site)
    seconds = perf_counter() - started
    if atom.count(b"<entry>") != SITE_EDITIONS or rss.count(b"<item>") != SITE_EDITIONS:
        raise RuntimeError("the feeds do not hold one entry per edition")
    return seconds


# -- running and reporting ------------------------------------------------------------------------


def row(case: str, seconds: list[float] | None, unit: str, target: float, note: str = "") -> dict:
    if not seconds:
        return {"case": case, "runs": [], "median": None, "unit": unit, "target": target, "passed": None, "note": note}
    scale = 1000 if unit == "ms" else 1
    runs = [s * scale for s in seconds]
    median = statistics.median(runs)
    return {"case": case, "runs": runs, "median": median, "unit": unit, "target": target, "passed": median <= target, "note": note}


def table(rows: list[dict]) -> str:
    def shown(r: dict) -> str:
        return "—" if r["median"] is None else (f"{r['median']:.0f} ms" if r["unit"] == "ms" else f"{r['median']:.3f} s")

    return markdown_table(
        ("case", "median", "runs", "target", "pass"),
        ("---", "---:", "---:", "---", ":---:"),
        [(r["case"], shown(r), str(len(r["runs"])), f"≤ {r['target']:g} {r['unit']}", PASSED[r["passed"]]) for r in rows],
    )


def _loads(record: dict) -> str:
    waited = record.get("load_average_before_case")
    if waited:
        return "before each case " + ", ".join(f"{case} {load:.2f}" for case, load in waited.items())
    return f"{record['machine']['load_average_at_start'][0]:.2f} at the start"


def section(record: dict, rows: list[dict]) -> str:
    prose = [
        "`.venv/bin/python -m bench publish` records every run in `bench/results/publish.json`. An edition of "
        f"{MEASURES} measures (each with a baseline and three later figures) and {PARAGRAPHS} paragraphs binding "
        "them, published from a fresh copy of its SQLite log each run: the release announced, the edition rendered "
        "(HTML, JSON, CSV, CSVW, manifest), every file written and verified, the release recorded, the site's "
        f"indexes and feeds written. The feeds case regenerates `feed.atom` and `feed.rss` for {SITE_EDITIONS:,} "
        f"editions. Medians of {record['runs']} runs.",
        last_run(record) + f"; 1-minute load average {_loads(record)}.",
    ]
    return section_text(README_HEADING, prose, table(rows), row_notes(rows))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench publish", description=__doc__.splitlines()[0])
    common_options(parser, runs=5)
    parser.add_argument("--no-s3", action="store_true", help="skip the SeaweedFS case")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    quiet_logs()
    from publishers.stores import S3, LocalDirectory

    tmp = Path(tempfile.mkdtemp(prefix="policing-metrics-bench-publish-"))
    record = new_record(tmp, runs=args.runs, workload={"measures": MEASURES, "paragraphs": PARAGRAPHS, "site_editions": SITE_EDITIONS})
    rows = []
    try:
        template = tmp / "template.db"
        started = perf_counter()
        build_log(template)
        log(f"built the log of an edition with {MEASURES} measures and {PARAGRAPHS} paragraphs in {perf_counter() - started:.1f} s")
        publish_once(template, tmp, LocalDirectory(tmp / "warm-up"))  # templates compiled, modules imported
        quiet(args.wait_for_quiet, record, "local")
        local = [publish_once(template, tmp, LocalDirectory(tmp / f"site-{run}")) for run in range(args.runs)]
        log("local directory: " + ", ".join(f"{s:.3f} s" for s in local))
        rows.append(row(f"Render and publish an edition of {MEASURES} measures and {PARAGRAPHS} paragraphs to a local directory", local, "s", TARGET_LOCAL_S))
        if args.no_s3:
            rows.append(row("… to local SeaweedFS", None, "s", TARGET_S3_S, "skipped (--no-s3)"))
        else:
            quiet(args.wait_for_quiet, record, "s3")
            rows.append(run_s3(template, tmp, args.runs, S3))
        site = large_site()
        feeds_once(site)
        quiet(args.wait_for_quiet, record, "feeds")
        feeds = [feeds_once(site) for _ in range(args.runs)]
        log("feeds: " + ", ".join(f"{s * 1000:.0f} ms" for s in feeds))
        rows.append(row(f"Regenerate feed.atom and feed.rss for {SITE_EDITIONS:,} editions", feeds, "ms", TARGET_FEEDS_MS))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    record["rows"] = rows
    return conclude("publish", record, table(rows), missed(rows), section(record, rows), README_HEADING, write=args.write)


def run_s3(template: Path, tmp: Path, runs: int, S3) -> dict:
    from tests.s3 import REGION, weed_mini

    class Unavailable(Exception):
        pass

    def unavailable(message: str) -> None:
        raise Unavailable(message)

    case = "Render and publish the same edition to local SeaweedFS (`weed mini`)"
    try:
        with weed_mini(unavailable) as server:
            bucket = f"bench-{uuid.uuid4().hex[:8]}"
            server.client().create_bucket(Bucket=bucket)

            def store(prefix: str):
                return S3(bucket, prefix, endpoint_url=server.endpoint_url, region=REGION, path_style=True, session=server.session)

            publish_once(template, tmp, store("warm-up"))
            seconds = [publish_once(template, tmp, store(f"run-{run}")) for run in range(runs)]
            log("SeaweedFS: " + ", ".join(f"{s:.3f} s" for s in seconds))
            return row(case, seconds, "s", TARGET_S3_S)
    except Unavailable as exc:
        log(f"SeaweedFS skipped: {exc}")
        return row(case, None, "s", TARGET_S3_S, f"skipped: {exc}")


if __name__ == "__main__":
    sys.exit(main())
