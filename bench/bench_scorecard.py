"""The scorecard benchmark: rebuild the scorecard projection from a large log; the scorecard as of past moments.

    python -m bench scorecard [--measures 1000] [--per-measure 1000] [--runs 3] [--queries 1000]
    python -m bench.bench_scorecard ...        (the same)

Workload: `--measures` measures, each with `--per-measure` figure events (new 12-month figures,
new monthly figures, revisions, withdrawals) in one area: 1,000 x 1,000 = 1,000,000 figure events,
appended 1,000 per append (one event per measure) with the store's own `append`, once per run of
the benchmark, and written to an `eventsourcing` 9.5 application's SQLite database as the same
events. The contenders, side by side, each in a fresh process (so each has its own peak memory),
in rotated order, medians of `--runs`:

- ours: the scorecard projection rebuilt from zero (read, fold, and write its tables, durably);
- raw: `sqlite3` select of the stored rows + `json.loads` + a dict fold of every figure's value;
- eventsourcing: an application folding the same events from `select_notifications`, pages of 1,000.

(A small workload measures little but the fixed cost of each slice's catch-up: the targets are
for the default one.) Then the scorecard as of `--queries` random past moments (p50/p99), the rebuild of every
projection (scorecard and history), and the scorecard rebuild on PostgreSQL. A table is printed
and everything is recorded in bench/results/scorecard.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path
from time import perf_counter
from typing import Any, Iterator

from .report import ROOT, Row, conclude, git_commit, log, machine, ratio, table

APPEND_SIZE = 1000
ES_PAGE = 1000
TARGET_VS_RAW = 0.7
TARGET_VS_EVENTSOURCING = 1.4
TARGET_AS_OF_P99_MS = 100.0
COLUMNS = "position, stream, version, type, schema_version, data, metadata, recorded_at, prev_hash, hash"
FIGURE_TYPES = ("FigureRecorded", "FigureRevised", "FigureWithdrawn")
AREA = "force"
START = datetime(2019, 8, 1, 9, 0, tzinfo=timezone.utc)


# -- the workload ---------------------------------------------------------------------------------


def _month(k: int) -> tuple[int, int]:
    """The k-th month from July 2018."""
    n = 2018 * 12 + 6 + k
    return n // 12, n % 12 + 1


def _period(k: int, months: int) -> str:
    y1, m1 = _month(k)
    y2, m2 = _month(k + months - 1)
    return f"{y1:04d}-{m1:02d}/{y2:04d}-{m2:02d}"


def measure_id(index: int) -> str:
    return f"measure-{index:04d}"


def measure_events(measures: int) -> list[tuple[str, dict]]:
    return [
        (
            "MeasureDefined",
            {
                "measure": measure_id(i),
                "title": f"Measure {i}",
                "priority": "local",
                "unit": "rate-per-1000" if i % 4 == 0 else "count",
                "polarity": "lower-is-better" if i % 2 else "higher-is-better",
                "baseline_period": "2018-07/2019-06",
            },
        )
        for i in range(measures)
    ]


def figure_appends(measures: int, per_measure: int, seed: int = 1) -> Iterator[list[tuple[str, dict]]]:
    """`per_measure` appends of one event per measure: 40% new 12-month figures (the first is the
    baseline, year ending June 2019), 30% new monthly figures, 25% revisions, 5% withdrawals."""
    rngs = [random.Random(seed * 100_003 + i) for i in range(measures)]
    figures: list[dict[str, str]] = [{} for _ in range(measures)]
    windows = [0] * measures
    months = [0] * measures
    for step in range(per_measure):
        phase = step % 10
        batch = []
        for i in range(measures):
            rng, known, measure = rngs[i], figures[i], measure_id(i)
            decimal = i % 4 == 0
            if phase in (0, 2, 4, 6) or len(known) < 3:
                period = _period(windows[i], 12)
                windows[i] += 1
                value = (
                    f"{rng.randrange(200, 900)}.{rng.randrange(10)}" if decimal else str(rng.randrange(20_000, 30_000))
                )
                known[period] = value
                batch.append(("FigureRecorded", {"measure": measure, "area": AREA, "period": period, "value": value}))
            elif phase in (1, 3, 5):
                period = _period(months[i], 1)
                months[i] += 1
                value = f"{rng.randrange(10, 90)}.{rng.randrange(10)}" if decimal else str(rng.randrange(1_000, 3_000))
                known[period] = value
                batch.append(("FigureRecorded", {"measure": measure, "area": AREA, "period": period, "value": value}))
            elif phase == 9 and step % 20 == 9:
                period = rng.choice(list(known))
                del known[period]
                batch.append(
                    (
                        "FigureWithdrawn",
                        {"measure": measure, "area": AREA, "period": period, "reason": "duplicate return"},
                    )
                )
            else:
                period = rng.choice(list(known))
                previous = known[period]
                value = previous + "1" if decimal else str(int(previous) + rng.randrange(1, 50))
                known[period] = value
                kind = "correction" if rng.random() < 0.2 else "revision"
                batch.append(
                    (
                        "FigureRevised",
                        {
                            "measure": measure,
                            "area": AREA,
                            "period": period,
                            "value": value,
                            "previous_value": previous,
                            "kind": kind,
                            "reason": "late returns" if kind == "revision" else "keying error",
                        },
                    )
                )
        yield batch


def build_log(path: Path, measures: int, per_measure: int) -> dict:
    """Append the workload with the store's own append, 1,000 events per append; an hour apart."""
    from events import EventStore, Metadata, NewEvent
    from events.database import make_engine, upgrade
    from events.domain import registry

    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    clock = [START]
    store = EventStore(engine, registry, clock=lambda: clock[0])
    started = perf_counter()
    definitions = measure_events(measures)
    for first in range(0, len(definitions), APPEND_SIZE):
        chunk = definitions[first : first + APPEND_SIZE]
        store.append(
            f"measures-{first // APPEND_SIZE}",
            [NewEvent(t, d) for t, d in chunk],
            expected_version=0,
            metadata=Metadata(actor="performance-team", source="bench"),
        )
        clock[0] += timedelta(hours=1)
    for step, batch in enumerate(figure_appends(measures, per_measure)):
        for first in range(0, len(batch), APPEND_SIZE):
            store.append(
                f"figures-{step:05d}-{first // APPEND_SIZE}",
                [NewEvent(t, d) for t, d in batch[first : first + APPEND_SIZE]],
                expected_version=0,
                metadata=Metadata(actor=f"analyst-{step % 7}", source="bench"),
            )
            clock[0] += timedelta(hours=1)
        if step % 100 == 99:
            log(f"  appended {store.head().position:,} events")
    head = store.head()
    engine.dispose()
    return {
        "events": head.position,
        "seconds": perf_counter() - started,
        "first_time": START.isoformat(),
        "last_time": clock[0].isoformat(),
    }


# -- eventsourcing: the same events in an application's own tables ----------------------------------


def build_es(path: Path, events_db: Path) -> dict:
    """Copy the log's events, in order, into an eventsourcing application: one aggregate per append."""
    import sqlite3
    from uuid import NAMESPACE_URL, uuid5

    from eventsourcing.domain import DomainEvent

    from .scorecard_es import CLASSES, open_application

    app = open_application(path)
    started = perf_counter()
    source = sqlite3.connect(events_db)
    pending, stream, count = [], None, 0
    for stream_name, version, type_, data in source.execute(
        "SELECT stream, version, type, data FROM events ORDER BY position"
    ):
        if stream_name != stream and pending:
            app.recorder.insert_events(pending)
            pending = []
        stream = stream_name
        event = CLASSES[type_](
            originator_id=uuid5(NAMESPACE_URL, stream_name),
            originator_version=version,
            timestamp=DomainEvent.create_timestamp(),
            **json.loads(data),
        )
        pending.append(app.mapper.to_stored_event(event))
        count += 1
    if pending:
        app.recorder.insert_events(pending)
    source.close()
    app.close()
    return {"events": count, "seconds": perf_counter() - started}


# -- the contenders: each in a process of its own, doing its work slice by slice on command --------------
#
# The parent cuts the log into slices of positions and has the contenders take each slice in turn
# (rotating who goes first), so a noisy neighbour or a slow patch of disk lands on all of them alike.
# A child reads "slice POSITION" lines, does its work up to POSITION, answers with the seconds it
# took; "finish" answers with its report (peak memory, and a digest of the scorecard it ends with).


def _peak_kib() -> int:
    """This process's peak resident set (VmHWM: unlike ru_maxrss it starts afresh at exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


class Raw:
    """`sqlite3` select of the stored rows, `json.loads`, a dict fold: every figure's value, every measure."""

    def __init__(self, path: str) -> None:
        import sqlite3

        self.connection = sqlite3.connect(path, isolation_level=None)
        self.figures: dict = {}
        self.measures: dict = {}
        self.done = 0

    def work(self, until: int) -> int:
        loads, figures, measures = json.loads, self.figures, self.measures
        events = 0
        for (
            position,
            stream,
            version,
            type_,
            schema_version,
            data,
            metadata,
            recorded_at,
            prev_hash,
            digest,
        ) in self.connection.execute(
            f"SELECT {COLUMNS} FROM events WHERE position > ? AND position <= ? ORDER BY position", (self.done, until)
        ):
            payload = loads(data)
            if type_ == "FigureRecorded" or type_ == "FigureRevised":
                figures[(payload["measure"], payload["area"], payload["period"])] = payload["value"]
            elif type_ == "FigureWithdrawn":
                figures.pop((payload["measure"], payload["area"], payload["period"]), None)
            elif type_ == "MeasureDefined":
                measures[payload["measure"]] = payload
            events += 1
        self.done = until
        return events

    def check(self) -> str:
        return scorecard_digest(reference_scorecard(self.figures, self.measures))


class EventsourcingFold:
    """An `eventsourcing` 9.5 application: `select_notifications` in pages, `mapper.to_domain_event`, the same fold."""

    def __init__(self, path: str) -> None:
        from .scorecard_es import open_application

        self.app = open_application(Path(path))
        self.figures: dict = {}
        self.measures: dict = {}
        self.done = 0

    def work(self, until: int) -> int:
        select, to_domain_event = self.app.recorder.select_notifications, self.app.mapper.to_domain_event
        figures, measures = self.figures, self.measures
        events = 0
        while self.done < until:
            page = select(self.done + 1, ES_PAGE, stop=until)
            if not page:
                break
            for notification in page:
                event = to_domain_event(notification)
                name = type(event).__name__
                if name == "FigureRecorded" or name == "FigureRevised":
                    figures[(event.measure, event.area, event.period)] = event.value
                elif name == "FigureWithdrawn":
                    figures.pop((event.measure, event.area, event.period), None)
                elif name == "MeasureDefined":
                    measures[event.measure] = {"polarity": event.polarity, "baseline_period": event.baseline_period}
            events += len(page)
            self.done = page[-1].id
        return events

    def check(self) -> str:
        return scorecard_digest(reference_scorecard(self.figures, self.measures))


class Ours:
    """The scorecard projection rebuilt from zero: cleared, then caught up slice by slice (same batches)."""

    def __init__(self, url: str, batch_size: int) -> None:
        from events.projections import Projections

        self.store = _open_store(url)
        self.projections = Projections(self.store, batch_size=batch_size)
        self.subscription = self.projections.subscriptions[1]
        self.done = 0

    def work(self, until: int) -> int:
        from events.subscription import save_checkpoint

        if self.done == 0:  # from zero: clearing the tables is part of the work
            with self.store.engine.begin() as connection:
                self.subscription.projection.reset(connection)
                save_checkpoint(connection, self.subscription.name, 0, self.subscription.version)
        reached = self.subscription.catch_up(until)
        events, self.done = reached - self.done, reached
        return events

    def check(self) -> str:
        with self.store.engine.connect() as connection:
            return scorecard_digest(
                [line.as_json() for line in self.projections.scorecard.lines_at(connection, self.done)]
            )


def _open_store(url: str):
    from events import EventStore
    from events.database import make_engine
    from events.domain import registry

    store = EventStore(make_engine(url), registry)
    store.head()  # connect before the baseline
    return store


def serve_slices(contender) -> None:
    """The child's side of the protocol (stdin: commands; stdout: one JSON answer per command)."""
    baseline = _peak_kib()
    seconds = events = 0.0
    for command in sys.stdin:
        verb, *rest = command.split()
        if verb == "slice":
            start = perf_counter()
            done = contender.work(int(rest[0]))
            elapsed = perf_counter() - start
            seconds += elapsed
            events += done
            print(json.dumps({"seconds": elapsed, "events": done}), flush=True)
        elif verb == "finish":
            peak = _peak_kib()
            print(
                json.dumps(
                    {
                        "seconds": seconds,
                        "events": events,
                        "baseline_kib": baseline,
                        "peak_kib": peak,
                        "check": contender.check(),
                    }
                ),
                flush=True,
            )
            return


class Child:
    def __init__(self, name: str, *arguments: str) -> None:
        self.name = name
        self.errors = tempfile.TemporaryFile(mode="w+")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.bench_scorecard", "--case", name, *arguments],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.errors,
            text=True,
            bufsize=1,
        )

    def ask(self, command: str) -> dict:
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        answer = self.process.stdout.readline()
        if not answer:
            self.errors.seek(0)
            raise RuntimeError(f"{self.name} failed on {command!r}:\n{self.errors.read()}")
        return json.loads(answer)

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=60)


def interleaved_run(children: list[Child], head: int, slices: int, run: int) -> dict[str, dict]:
    """One run of every contender over the whole log, slice by slice, in rotated order."""
    bounds = [head * (k + 1) // slices for k in range(slices)]
    try:
        for number, bound in enumerate(bounds):
            for offset in range(len(children)):
                children[(number + run + offset) % len(children)].ask(f"slice {bound}")
        return {child.name: child.ask("finish") for child in children}
    finally:
        for child in children:
            child.close()


def case_as_of(url: str, queries: int, seed: int) -> dict:
    """The scorecard as of `queries` random past moments (times), after a catch-up."""
    from events.projections import Projections

    store = _open_store(url)
    projections = Projections(store)
    projections.catch_up()
    with store.engine.connect() as connection:
        first, last = connection.exec_driver_sql("SELECT min(recorded_at), max(recorded_at) FROM events").one()
    low = datetime.strptime(first, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    high = datetime.strptime(last, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    rng = random.Random(seed)
    times, sizes = [], []
    projections.scorecard_lines(at=high.isoformat())  # the first query warms the connection pool
    for _ in range(queries):
        moment = low + (high - low) * rng.random()
        start = perf_counter()
        lines = projections.scorecard_lines(at=moment.isoformat())
        times.append((perf_counter() - start) * 1000)
        sizes.append(len(lines))
    store.engine.dispose()
    times.sort()
    return {
        "queries": queries,
        "ms": {
            "p50": statistics.median(times),
            "p95": times[int(0.95 * (len(times) - 1))],
            "p99": times[int(0.99 * (len(times) - 1))],
            "max": times[-1],
        },
        "lines_mean": statistics.mean(sizes),
        "peak_kib": _peak_kib(),
    }


def case_rebuild(url: str, which: str, batch_size: int) -> dict:
    """A rebuild in one go (not interleaved): every projection, or the scorecard alone (PostgreSQL)."""
    from events.projections import Projections

    store = _open_store(url)
    projections = Projections(store, batch_size=batch_size)
    before = _peak_kib()
    start = perf_counter()
    events = projections.rebuild() if which == "all" else projections.subscriptions[1].rebuild()
    seconds = perf_counter() - start
    peak = _peak_kib()
    store.engine.dispose()
    return {"seconds": seconds, "events": events, "baseline_kib": before, "peak_kib": peak}


# -- an independent scorecard from the reference fold: the contenders must agree ----------------------


def reference_scorecard(figures: dict, measures: dict) -> list[dict]:
    """The latest figure of the baseline's length against the baseline, from plain dicts (no projection code)."""
    from decimal import ROUND_HALF_UP, Decimal, localcontext

    from events.domain.periods import Period

    by_line: dict[tuple[str, str], dict[str, str]] = {}
    for (measure, area, period), value in figures.items():
        by_line.setdefault((measure, area), {})[period] = value
    lines = []
    for (measure, area), values in sorted(by_line.items()):
        definition = measures.get(measure)
        if definition is None:
            continue
        baseline_period = definition["baseline_period"]
        baseline = Period.parse(baseline_period)
        same = [Period.parse(p) for p in values if p != baseline_period and Period.parse(p).same_length(baseline)]
        latest = str(max(same, key=lambda p: (p.end, p.start))) if same else None
        base = values.get(baseline_period)
        if latest is None and base is None:
            continue
        line = {
            "measure": measure,
            "area": area,
            "period": latest,
            "value": values.get(latest),
            "baseline_value": base,
            "change_percent": None,
        }
        if latest is not None and base is not None and Decimal(base) != 0:
            with localcontext() as context:
                context.prec = 60
                percent = (Decimal(values[latest]) - Decimal(base)) * 100 / Decimal(base)
                line["change_percent"] = int(percent.quantize(Decimal(1), rounding=ROUND_HALF_UP))
        lines.append(line)
    return lines


def scorecard_digest(lines: list[dict]) -> str:
    keys = ("measure", "area", "period", "value", "baseline_value", "change_percent")
    text = json.dumps(
        [[line[k] for k in keys] for line in sorted(lines, key=lambda line: (line["measure"], line["area"]))]
    )
    return hashlib.sha256(text.encode()).hexdigest()


# -- PostgreSQL: the same stored rows copied into a fresh schema -------------------------------------


def postgres_copy(sqlite_path: Path, url: str) -> tuple[str, str]:
    """A new schema holding the same events (copied row for row, hashes and all); its URL and name."""
    import sqlite3
    import uuid

    import psycopg

    from events.database import make_engine, upgrade

    libpq = url.replace("postgresql+psycopg://", "postgresql://", 1)
    schema = f"bench_scorecard_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(libpq, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
    schema_url = f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
    engine = make_engine(schema_url)
    upgrade(engine)
    engine.dispose()
    source = sqlite3.connect(sqlite_path)
    with psycopg.connect(libpq, options=f"-csearch_path={schema}") as target:
        with target.cursor().copy(f"COPY events ({COLUMNS}) FROM STDIN") as copy:
            for row in source.execute(f"SELECT {COLUMNS} FROM events ORDER BY position"):
                copy.write_row(row)
        target.execute("ANALYZE events")
    source.close()
    return schema_url, schema


def postgres_drop(url: str, schema: str) -> None:
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://", 1), autocommit=True) as admin:
        admin.execute(f"DROP SCHEMA {schema} CASCADE")


def postgres_reachable(url: str) -> str | None:
    try:
        import psycopg

        psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://", 1), connect_timeout=3).close()
    except Exception as exc:  # noqa: BLE001 - any failure means: skip and say why
        return str(exc).strip()
    return None


# -- running it all ---------------------------------------------------------------------------------


def run_case(*arguments: str) -> dict:
    """One contender in a fresh interpreter; its JSON report."""
    completed = subprocess.run(
        [sys.executable, "-m", "bench.bench_scorecard", "--case", *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"case {arguments} failed:\n{completed.stderr}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def _median(reports: list[dict], key: str) -> float:
    return statistics.median(report[key] for report in reports)


def _rate(reports: list[dict]) -> float:
    return statistics.median(report["events"] / report["seconds"] for report in reports)


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench scorecard", description=__doc__.splitlines()[0])
    parser.add_argument("--measures", type=int, default=1000)
    parser.add_argument("--per-measure", type=int, default=1000, help="figure events per measure")
    parser.add_argument("--runs", type=int, default=3, help="runs per contender; the table shows medians")
    parser.add_argument("--queries", type=int, default=1000, help="scorecards as of random past moments")
    parser.add_argument("--batch-size", type=int, default=25_000, help="events per projection transaction in a rebuild")
    parser.add_argument("--slices", type=int, default=20, help="slices of the log the contenders take in turn")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "POLICING_METRICS_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        ),
    )
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--tmpdir", type=Path, default=None, help="where the SQLite files go (a real disk, not tmpfs)")
    parser.add_argument(
        "--keep",
        type=Path,
        default=None,
        metavar="DIR",
        help="build the logs in DIR and keep them; a later run with the same workload reuses them",
    )
    parser.add_argument(
        "--write",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="record results in bench/results/scorecard.json (default: only for the default workload)",
    )
    parser.add_argument("--case", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.write is None:
        args.write = (args.measures, args.per_measure, args.runs) == (1000, 1000, 3)
    return args


def prepare(args, directory: Path) -> dict:
    """The log (ours) and the same events in eventsourcing's tables, built or reused."""
    manifest_path = directory / "manifest.json"
    wanted = {"measures": args.measures, "per_measure": args.per_measure, "workload": 1}
    if manifest_path.exists():
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("workload_key") == wanted:
            log(f"reusing the logs in {directory}")
            return manifest
    for leftover in directory.glob("*.db*"):
        leftover.unlink()
    events = args.measures * (args.per_measure + 1)
    log(f"building the log: {args.measures:,} measures x {args.per_measure:,} figure events = {events:,} events")
    built = build_log(directory / "log.db", args.measures, args.per_measure)
    log(f"  built in {built['seconds']:.0f} s")
    log("writing the same events into an eventsourcing application")
    es = build_es(directory / "eventsourcing.db", directory / "log.db")
    log(f"  written in {es['seconds']:.0f} s")
    manifest = {"workload_key": wanted, "log": built, "eventsourcing": es}
    manifest_path.write_text(json.dumps(manifest))
    return manifest


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if args.case:
        return _child(args.case)
    started = perf_counter()
    directory = args.keep or Path(tempfile.mkdtemp(prefix="policing-metrics-scorecard-", dir=args.tmpdir))
    directory.mkdir(parents=True, exist_ok=True)
    log_db, es_db = directory / "log.db", directory / "eventsourcing.db"
    url = f"sqlite:///{log_db}"
    record: dict[str, Any] = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "git": git_commit(),
        "machine": machine(directory),
        "cases": {},
    }
    rows: list[Row] = []
    try:
        manifest = prepare(args, directory)
        events = manifest["log"]["events"]
        record["workload"] = {
            "measures": args.measures,
            "figure_events_per_measure": args.per_measure,
            "events": events,
            "events_per_append": APPEND_SIZE,
            "eventsourcing_page": ES_PAGE,
            "runs": args.runs,
            "projection_batch_size": args.batch_size,
            "build_seconds": manifest["log"]["seconds"],
        }
        for _ in range(2):  # warm the page cache (and the files' first reads) for whichever runs first
            warm = Child("raw", str(log_db))
            warm.ask(f"slice {events}")
            warm.ask("finish")
            warm.close()
        reports: dict[str, list[dict]] = {"ours": [], "raw": [], "eventsourcing": []}
        for run in range(args.runs):
            log(f"run {run + 1} of {args.runs}: {args.slices} slices, the contenders taking turns")
            children = [
                Child("ours", url, str(args.batch_size)),
                Child("raw", str(log_db)),
                Child("eventsourcing", str(es_db)),
            ]
            for name, report in interleaved_run(children, events, args.slices, run).items():
                reports[name].append(report)
                log(
                    f"  {name}: {report['events'] / report['seconds']:,.0f} events/s ({report['seconds']:.2f} s), "
                    f"peak {report['peak_kib'] / 1024:.0f} MiB"
                )
        checks = {name: {r["check"] for r in runs} for name, runs in reports.items()}
        if len(set().union(*checks.values())) != 1:
            raise RuntimeError(f"the contenders disagree on the scorecard: {checks}")
        for name, runs in reports.items():
            record["cases"][f"sqlite_rebuild_{name}"] = {
                "unit": "events/s",
                "events": runs[0]["events"],
                "seconds": [r["seconds"] for r in runs],
                "rates": [r["events"] / r["seconds"] for r in runs],
                "median_rate": _rate(runs),
                "peak_kib": [r["peak_kib"] for r in runs],
                "baseline_kib": [r["baseline_kib"] for r in runs],
            }
        # The runs are paired (interleaved): each run's own ratios say how steady the comparison is.
        record["cases"]["sqlite_rebuild_ratios_per_run"] = {
            f"ours_vs_{name}": [
                o["seconds"] and r["seconds"] / o["seconds"]
                for o, r in zip(reports["ours"], reports[name], strict=True)
            ]
            for name in ("raw", "eventsourcing")
        }
        ours, raw, es = _rate(reports["ours"]), _rate(reports["raw"]), _rate(reports["eventsourcing"])
        rows.append(
            Row(
                "SQLite scorecard rebuild from zero: ours vs raw select + `json.loads` + dict fold",
                ours,
                raw,
                "events/s",
                f"≥ {TARGET_VS_RAW:g}×",
                ratio(ours, raw),
                ratio(ours, raw) >= TARGET_VS_RAW,
            )
        )
        rows.append(
            Row(
                f"SQLite scorecard rebuild from zero: ours vs `eventsourcing` 9.5 `select_notifications` ({ES_PAGE:,}/page) fold",
                ours,
                es,
                "events/s",
                f"≥ {TARGET_VS_EVENTSOURCING:g}×",
                ratio(ours, es),
                ratio(ours, es) >= TARGET_VS_EVENTSOURCING,
            )
        )
        for name in ("ours", "raw", "eventsourcing"):
            peak = _median(reports[name], "peak_kib") / 1024
            grown = (_median(reports[name], "peak_kib") - _median(reports[name], "baseline_kib")) / 1024
            rows.append(
                Row(
                    f"Peak RSS of the {name} process (of which {grown:,.0f} MiB for the fold)",
                    peak,
                    None,
                    "MiB",
                    "(report)",
                )
            )

        log(f"the scorecard as of {args.queries:,} random past moments")
        as_of = run_case("as-of", url, str(args.queries), "7")
        record["cases"]["sqlite_scorecard_as_of"] = as_of
        p99 = as_of["ms"]["p99"]
        rows.append(
            Row(
                f"SQLite scorecard as of a random past moment ({as_of['lines_mean']:.0f} lines): p99 "
                f"(p50 {as_of['ms']['p50']:.1f} ms, max {as_of['ms']['max']:.1f} ms)",
                p99,
                None,
                "ms",
                f"≤ {TARGET_AS_OF_P99_MS:g} ms",
                None,
                p99 <= TARGET_AS_OF_P99_MS,
            )
        )

        log("every projection (history and scorecard) rebuilt from zero")
        everything = run_case("rebuild", url, "all", str(args.batch_size))
        record["cases"]["sqlite_rebuild_all_projections"] = everything
        rows.append(
            Row(
                "SQLite rebuild of every projection (history + scorecard)",
                everything["events"] / everything["seconds"],
                None,
                "events/s",
                "(report)",
            )
        )

        if args.no_postgres:
            record["cases"]["postgres_skipped"] = "--no-postgres"
        elif (problem := postgres_reachable(args.postgres_url)) is not None:
            log(f"PostgreSQL skipped: {problem}")
            record["cases"]["postgres_skipped"] = problem
            rows.append(
                Row("PostgreSQL scorecard rebuild", None, None, "events/s", "(report)", note=f"skipped: {problem}")
            )
        else:
            log("copying the log to PostgreSQL")
            schema_url, schema = postgres_copy(log_db, args.postgres_url)
            try:
                runs = []
                for run in range(args.runs):
                    report = run_case("rebuild", schema_url, "scorecard", str(args.batch_size))
                    log(f"  PostgreSQL scorecard rebuild: {report['events'] / report['seconds']:,.0f} events/s")
                    runs.append(report)
                record["cases"]["postgres_rebuild_ours"] = {
                    "seconds": [r["seconds"] for r in runs],
                    "median_rate": _rate(runs),
                    "events": runs[0]["events"],
                }
                rows.append(Row("PostgreSQL scorecard rebuild from zero", _rate(runs), None, "events/s", "(report)"))
                pg_as_of = run_case("as-of", schema_url, str(min(args.queries, 300)), "7")
                record["cases"]["postgres_scorecard_as_of"] = pg_as_of
                rows.append(
                    Row(
                        "PostgreSQL scorecard as of a random past moment: p99",
                        pg_as_of["ms"]["p99"],
                        None,
                        "ms",
                        "(report)",
                    )
                )
            finally:
                postgres_drop(args.postgres_url, schema)
    finally:
        if args.keep is None:
            shutil.rmtree(directory, ignore_errors=True)
    record["seconds"] = round(perf_counter() - started, 1)
    record["machine"]["load_average_at_end"] = list(os.getloadavg())
    record["rows"] = rows
    missed = [row.case for row in rows if row.passed is False]
    return conclude("scorecard", record, _table(rows), missed, write=args.write)


def _table(rows: list[Row]) -> str:
    """report.table, with milliseconds shown as such."""
    text = table(rows)
    for row in rows:
        if row.unit == "ms" and row.ours is not None:
            text = text.replace(f"| {row.ours:,.0f} ev/s |", f"| {row.ours:.1f} ms |", 1)
    return text


def _child(case: list[str]) -> int:
    name, *rest = case
    if name in ("raw", "eventsourcing", "ours"):
        contender = (
            {"raw": Raw, "eventsourcing": EventsourcingFold}[name](rest[0])
            if name != "ours"
            else Ours(rest[0], int(rest[1]))
        )
        serve_slices(contender)
        return 0
    if name == "rebuild":
        report = case_rebuild(rest[0], rest[1], int(rest[2]))
    elif name == "as-of":
        report = case_as_of(rest[0], int(rest[1]), int(rest[2]))
    else:
        raise SystemExit(f"unknown case {name!r}")
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
