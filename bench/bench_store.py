"""`python -m bench` (or `python -m bench store`): the event store, every case side by side, medians of several runs.

Appends are interleaved: each run cuts every contender's work into slices and takes them in
turn (ours, reference, raw, then the next slice in rotated order), so that a noisy neighbour
or a slow patch of the disk lands on all of them alike rather than on whichever ran then.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import os
import shutil
import statistics
import sys
import tempfile
import time
import timeit
from pathlib import Path
from time import perf_counter
from typing import Any, Callable

from . import es_reference, memory, on_postgres, on_sqlite
from .report import HEADING, Row, compared, conclude, log, ratio, section, table, wait_for_quiet
from .runs import common_options, new_record, write_when_default
from .workload import batches, data_bytes, payload

GROUPS = ("batched", "single", "read", "memory", "postgres")
BATCH_SIZE = 1000
STREAMS = 1000
ES_EVENTS_PER_AGGREGATE = 100
ES_AGGREGATES_PER_SAVE = BATCH_SIZE // ES_EVENTS_PER_AGGREGATE
BATCHED_SLICES = 10
SINGLE_SLICES = 20

TARGET_BATCHED_RATE = 100_000
TARGET_VS_EVENTSOURCING = 3.0
TARGET_VS_RAW = 0.7
TARGET_RSS_GROWTH = 1.5


class Case:
    """The runs of one implementation on one case."""

    def __init__(self, name: str, events: int) -> None:
        self.name = name
        self.events = events
        self.seconds: list[float] = []

    def add(self, seconds: float) -> None:
        self.seconds.append(seconds)
        log(f"  {self.name}: {self.events / seconds:,.0f} events/s ({seconds:.2f} s)")

    def run(self, measure: Callable[[], float]) -> None:
        gc.collect()
        self.add(measure())

    @property
    def rate(self) -> float:
        return self.events / statistics.median(self.seconds)

    def record(self) -> dict:
        return {
            "unit": "events/s",
            "events": self.events,
            "seconds": self.seconds,
            "rates": [self.events / s for s in self.seconds],
            "median_rate": self.rate,
        }


class Contender:
    """One implementation in an interleaved run: how to open a writer, and the units of work
    (one durable commit each) to feed it."""

    def __init__(self, case: Case, open_writer: Callable[[], Any], units: list) -> None:
        self.case = case
        self.open_writer = open_writer
        self.units = units


def interleaved_run(contenders: list[Contender], slices: int) -> None:
    """One run of every contender, slice by slice in rotated order; adds one time to each case."""
    gc.collect()
    writers = []
    try:
        for contender in contenders:
            writers.append(contender.open_writer())
        elapsed = [0.0] * len(contenders)
        for number in range(slices):
            for offset in range(len(contenders)):
                which = (number + offset) % len(contenders)
                units = contenders[which].units
                chunk = units[len(units) * number // slices : len(units) * (number + 1) // slices]
                writer = writers[which]
                start = perf_counter()
                for unit in chunk:
                    writer(unit)
                elapsed[which] += perf_counter() - start
    finally:
        for writer in writers:
            writer.close()
    for contender, seconds in zip(contenders, elapsed):
        contender.case.add(seconds)


def _fresh(directory: Path, name: str) -> Path:
    path = directory / name
    for leftover in directory.glob(name + "*"):
        leftover.unlink()
    return path


def _forget(path: Path) -> None:
    for leftover in path.parent.glob(path.name + "*"):
        leftover.unlink()


def run_batched(args, tmp: Path, cases: dict, rows: list[Row]) -> None:
    log(f"SQLite batched appends: {args.events:,} events, {BATCH_SIZE:,} per append")
    ours_batches = list(batches(args.events, args.events // BATCH_SIZE, BATCH_SIZE))
    es_streams = [
        [payload(s) for s in range(first, first + ES_EVENTS_PER_AGGREGATE)]
        for first in range(0, args.events, ES_EVENTS_PER_AGGREGATE)
    ]
    es_saves = [es_streams[i : i + ES_AGGREGATES_PER_SAVE] for i in range(0, len(es_streams), ES_AGGREGATES_PER_SAVE)]
    ours = Case("ours", args.events)
    es = Case("eventsourcing", args.events)
    raw = Case("raw executemany", args.events)
    multi = Case("raw multi-row INSERT", args.events)
    for run in range(args.runs):
        paths = [_fresh(tmp, f"batched-{name}-{run}.db") for name in ("ours", "es", "raw", "multi")]
        interleaved_run(
            [
                Contender(ours, lambda: on_sqlite.OursWriter(paths[0]), ours_batches),
                Contender(es, lambda: es_reference.BatchedWriter(paths[1]), es_saves),
                Contender(raw, lambda: on_sqlite.RawWriter(paths[2]), ours_batches),
                Contender(multi, lambda: on_sqlite.RawMultiRowWriter(paths[3]), ours_batches),
            ],
            BATCHED_SLICES,
        )
        if run == 0:
            app = es_reference.open_application(paths[1])
            cases["eventsourcing_sqlite_settings"] = es_reference.settings(app)
            app.close()
            connection = on_sqlite.raw_connect(paths[2])
            cases["raw_sqlite_settings"] = on_sqlite.raw_settings(connection)
            connection.close()
        for path in paths:
            _forget(path)
    cases["sqlite_batched_ours"] = ours.record()
    cases["sqlite_batched_eventsourcing"] = es.record()
    cases["sqlite_batched_raw_executemany"] = raw.record()
    cases["sqlite_batched_raw_multirow_insert"] = multi.record()
    rows.append(
        compared(
            f"SQLite batched appends ({BATCH_SIZE:,}/append): ours vs `eventsourcing` 9.5",
            ours.rate, es.rate, TARGET_VS_EVENTSOURCING,
            note=batched_note(ours.rate, raw.rate, multi.rate, es.rate),
        )
    )
    rows.append(
        Row(
            f"SQLite batched appends ({BATCH_SIZE:,}/append): ours vs raw `executemany` (the limit)",
            ours.rate, raw.rate, "events/s", f"ours ≥ {TARGET_BATCHED_RATE:,} ev/s",
            ratio(ours.rate, raw.rate), ours.rate >= TARGET_BATCHED_RATE,
        )
    )
    rows.append(
        compared(
            f"SQLite batched appends ({BATCH_SIZE:,}/append): ours vs raw multi-row INSERT, as ours inserts",
            ours.rate, multi.rate,
        )
    )


def batched_note(ours: float, raw: float, multi: float, es: float) -> str:
    """What separates ours from the two raw writers, from this run's own figures."""
    return (
        f"batched appends: raw `executemany` is the limit the issue names; ours inserts {on_sqlite.RawMultiRowWriter.ROWS_PER_INSERT} "
        f"rows per multi-row INSERT statement (one statement step for all of them) and writes canonical JSON with msgspec "
        f"where raw calls `json.dumps`. Raw with the same multi-row INSERT ({multi:,.0f} ev/s) validates nothing, "
        f"checks no canonical form and hashes nothing: ours spends {1e6 / ours - 1e6 / multi:.1f} µs per event more. "
        f"For scale, SHA-256 of one event's envelope takes {sha256_cost():.1f} µs on this machine ({sha_extensions()}), "
        f"and {TARGET_VS_EVENTSOURCING:g}× `eventsourcing` ({TARGET_VS_EVENTSOURCING * es:,.0f} ev/s) leaves "
        f"{1e6 / (TARGET_VS_EVENTSOURCING * es) - 1e6 / multi:.1f} µs per event beyond raw multi-row INSERT for all of it."
    )


def sha256_cost() -> float:
    """µs per SHA-256 of a 360-byte envelope chained to a 32-byte digest, as the store hashes."""
    envelope, digest = b"x" * 360, bytes(32)
    runs = timeit.repeat(lambda: hashlib.sha256(digest + envelope).digest(), number=20_000, repeat=5)
    return min(runs) / 20_000 * 1e6


def sha_extensions() -> str:
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return "CPU flags unknown"
    return "the CPU has the SHA extensions, sha_ni" if " sha_ni" in flags else "the CPU lacks the SHA extensions, sha_ni"


def run_single(args, tmp: Path, cases: dict, rows: list[Row]) -> None:
    streams = min(STREAMS, args.single)
    log(f"SQLite one durable event per append: {args.single:,} appends over {streams:,} streams")
    single_batches = list(batches(args.single, streams, 1))
    es_units = [(index % streams, batch.payloads[0]) for index, batch in enumerate(single_batches)]
    ours = Case("ours", args.single)
    es = Case("eventsourcing", args.single)
    raw = Case("raw one row per commit", args.single)
    for run in range(args.runs):
        paths = [_fresh(tmp, f"single-{name}-{run}.db") for name in ("ours", "es", "raw")]
        interleaved_run(
            [
                Contender(ours, lambda: on_sqlite.OursWriter(paths[0]), single_batches),
                Contender(es, lambda: es_reference.SingleWriter(paths[1]), es_units),
                Contender(raw, lambda: on_sqlite.RawWriter(paths[2]), single_batches),
            ],
            SINGLE_SLICES,
        )
        for path in paths:
            _forget(path)
    cases["sqlite_single_ours"] = ours.record()
    cases["sqlite_single_eventsourcing"] = es.record()
    cases["sqlite_single_raw"] = raw.record()
    rows.append(
        compared(
            "SQLite one durable event per append: ours vs raw one row per commit",
            ours.rate, raw.rate, TARGET_VS_RAW,
            note=(
                f"one durable event per append: ours spends {_more_or_less(1e6 / ours.rate - 1e6 / raw.rate)} "
                f"than raw's BEGIN, INSERT, COMMIT ({1e6 / raw.rate:.0f} µs, nearly all of it the fsync): it also reads the "
                f"stream's version and the log's head under the lock, validates, canonicalises and hashes. "
                f"{TARGET_VS_RAW:g}× raw leaves {1e6 / (TARGET_VS_RAW * raw.rate) - 1e6 / raw.rate:.0f} µs for that."
            ),
        )
    )
    rows.append(
        compared(
            "SQLite one durable event per append: ours vs `eventsourcing` one event per save",
            ours.rate, es.rate,
        )
    )


def run_read(args, tmp: Path, cases: dict, rows: list[Row]) -> None:
    log(f"SQLite read and fold: building a log of {args.events:,} events over {STREAMS:,} streams")
    path = _fresh(tmp, "read.db")
    on_sqlite.build_log(path, batches(args.events, STREAMS, args.events // STREAMS))
    on_sqlite.raw_read_fold(path)  # warm the page cache for whichever runs first
    ours = Case("ours read_all + fold", args.events)
    raw = Case("raw select + json.loads + fold", args.events)
    verify = Case("ours verify", args.events)
    scanner = Case("raw select + C scanner + fold", args.events)
    folds = []

    def timed(read) -> float:
        seconds, fold = read(path)
        folds.append(fold)
        return seconds

    for _ in range(args.runs):
        ours.run(lambda: timed(on_sqlite.ours_read_fold))
        raw.run(lambda: timed(on_sqlite.raw_read_fold))
        verify.run(lambda: on_sqlite.ours_verify(path)[0])
        scanner.run(lambda: timed(on_sqlite.raw_read_fold_scanner))
    if any(fold != folds[0] for fold in folds):
        raise RuntimeError("ours and raw folded the same log into different totals")
    _forget(path)
    cases["sqlite_read_fold_ours"] = ours.record()
    cases["sqlite_read_fold_raw"] = raw.record()
    cases["sqlite_verify_ours"] = verify.record()
    cases["sqlite_read_fold_raw_c_scanner"] = scanner.record()
    rows.append(
        compared(
            "SQLite read whole log + fold: `read_all` vs raw select + `json.loads`",
            ours.rate, raw.rate, TARGET_VS_RAW,
        )
    )
    rows.append(
        compared(
            "SQLite read whole log + fold: `read_all` vs raw select + the same C JSON scanner ours uses",
            ours.rate, scanner.rate,
        )
    )
    rows.append(
        compared(
            "SQLite `verify` whole log vs raw read + fold",
            verify.rate, raw.rate, TARGET_VS_RAW,
        )
    )


def run_memory(args, tmp: Path, cases: dict, rows: list[Row]) -> None:
    sizes = (args.events, args.memory_events)
    paths = {}
    for size in sizes:
        log(f"Peak RSS: building a log of {size:,} events ({BATCH_SIZE:,} per append)")
        started = time.perf_counter()
        paths[size] = _fresh(tmp, f"memory-{size}.db")
        on_sqlite.build_log(paths[size], batches(size, max(1, size // BATCH_SIZE), BATCH_SIZE))
        log(f"  built in {time.perf_counter() - started:.1f} s")
    reports: dict[str, dict[int, list[dict]]] = {"read": {s: [] for s in sizes}, "verify": {s: [] for s in sizes}}
    for _ in range(args.runs):
        for action in ("read", "verify"):
            for size in sizes:
                report = memory.measure(action, paths[size])
                if report["events"] != size:
                    raise RuntimeError(f"{action} saw {report['events']} events, expected {size}")
                reports[action][size].append(report)
                log(f"  {action} {size:,}: peak {report['peak_kib'] / 1024:.1f} MiB "
                    f"(before reading {report['baseline_kib'] / 1024:.1f} MiB)")
    for path in paths.values():
        _forget(path)
    small, large = sizes
    for action, api in (("read", "`read_all` + fold"), ("verify", "`verify`")):
        medians = {}
        for size in sizes:
            peaks = [r["peak_kib"] for r in reports[action][size]]
            medians[size] = statistics.median(peaks) / 1024
            cases[f"rss_{action}_{size}"] = {
                "unit": "KiB",
                "events": size,
                "peak_kib": peaks,
                "baseline_kib": [r["baseline_kib"] for r in reports[action][size]],
                "median_peak_kib": statistics.median(peaks),
            }
        growth = medians[large] / medians[small]
        rows.append(
            Row(
                f"Peak RSS, {api}: {large:,} events (ours) vs {small:,} (reference)",
                medians[large], medians[small], "MiB", f"≤ {TARGET_RSS_GROWTH:g}×", growth,
                growth <= TARGET_RSS_GROWTH,
            )
        )


def run_postgres(args, tmp: Path, cases: dict, rows: list[Row]) -> None:
    problem = on_postgres.reachable(args.postgres_url)
    if problem is not None:
        log(f"PostgreSQL skipped: {problem}")
        cases["postgres_skipped"] = problem
        rows.append(Row("PostgreSQL appends", None, None, "events/s", "(report)", note=f"skipped: {problem}"))
        return
    cases["postgres_settings"] = on_postgres.server_settings(args.postgres_url)
    log(f"PostgreSQL batched appends: {args.events:,} events, {BATCH_SIZE:,} per append")
    batched = list(batches(args.events, args.events // BATCH_SIZE, BATCH_SIZE))
    single = list(batches(args.single, min(STREAMS, args.single), 1))
    results = {}
    for label, workload, slices in (("batched", batched, BATCHED_SLICES), ("single", single, SINGLE_SLICES)):
        if label == "single":
            log(f"PostgreSQL one durable event per append: {args.single:,} appends")
        events = sum(len(b.payloads) for b in workload)
        ours = Case("ours", events)
        raw = Case("raw executemany" if label == "batched" else "raw one row per commit", events)
        for _ in range(args.runs):
            interleaved_run(
                [
                    Contender(ours, lambda: on_postgres.OursWriter(args.postgres_url), workload),
                    Contender(raw, lambda: on_postgres.RawWriter(args.postgres_url), workload),
                ],
                slices,
            )
        cases[f"postgres_{label}_ours"] = ours.record()
        cases[f"postgres_{label}_raw"] = raw.record()
        results[label] = (ours, raw)
    ours, raw = results["batched"]
    rows.append(
        compared(
            f"PostgreSQL batched appends ({BATCH_SIZE:,}/append): ours vs raw `executemany`",
            ours.rate, raw.rate,
        )
    )
    ours, raw = results["single"]
    rows.append(
        compared(
            "PostgreSQL one durable event per append: ours vs raw one row per commit",
            ours.rate, raw.rate,
        )
    )


RUNNERS = {"batched": run_batched, "single": run_single, "read": run_read, "memory": run_memory, "postgres": run_postgres}


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench [store]", description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000, help="events in the batched, read and small-RSS logs")
    parser.add_argument("--single", type=int, default=2_000, help="appends of one event each (each is an fsync)")
    parser.add_argument("--memory-events", type=int, default=1_000_000, help="events in the large-RSS log")
    common_options(parser, runs=3, write=None)
    parser.add_argument("--only", default=",".join(GROUPS), help=f"comma-separated groups out of {', '.join(GROUPS)}")
    parser.add_argument("--postgres-url", default=os.environ.get("POLICING_METRICS_BENCH_POSTGRES_URL", on_postgres.DEFAULT_URL))
    parser.add_argument("--tmpdir", type=Path, default=None, help="where the SQLite files go (a real disk, not tmpfs)")
    args = parser.parse_args(argv)
    args.groups = [g.strip() for g in args.only.split(",") if g.strip()]
    unknown = [g for g in args.groups if g not in GROUPS]
    if unknown:
        parser.error(f"unknown group(s) {', '.join(unknown)}: choose from {', '.join(GROUPS)}")
    if args.events % BATCH_SIZE or args.events % STREAMS or args.memory_events % BATCH_SIZE:
        parser.error(f"--events and --memory-events must be multiples of {BATCH_SIZE:,}")
    if args.single % min(STREAMS, args.single):
        parser.error(f"--single must be at most {STREAMS:,} or a multiple of it")
    write_when_default(parser, args, ("events", "single", "memory_events", "runs", "only"))
    return args


def _more_or_less(extra_us: float) -> str:
    """`extra_us` (ours minus raw, per append) in words; less only by the fsync's variance between runs."""
    if extra_us >= 0:
        return f"{extra_us:.0f} µs per append more"
    return f"{-extra_us:.0f} µs per append less (the runs' fsync times vary by more than ours adds)"


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    started = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="policing-metrics-bench-", dir=args.tmpdir))
    record = new_record(
        tmp,
        workload={
            "events": args.events,
            "data_bytes": data_bytes(),
            "streams": STREAMS,
            "batch_size": BATCH_SIZE,
            "es_events_per_aggregate": ES_EVENTS_PER_AGGREGATE,
            "es_aggregates_per_save": ES_AGGREGATES_PER_SAVE,
            "es_aggregates": args.events // ES_EVENTS_PER_AGGREGATE,
            "single_events": args.single,
            "memory_events": [args.events, args.memory_events],
            "runs": args.runs,
            "groups": args.groups,
        },
        cases={},
    )
    rows: list[Row] = []
    try:
        for group in args.groups:
            if args.wait_for_quiet:
                record.setdefault("load_average_before_group", {})[group] = wait_for_quiet(args.wait_for_quiet)
            RUNNERS[group](args, tmp, record["cases"], rows)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    record["machine"]["load_average_at_end"] = list(os.getloadavg())
    record["seconds"] = round(time.perf_counter() - started, 1)
    record["rows"] = rows
    missed = [row.case for row in rows if row.passed is False]
    return conclude("store", record, table(rows), missed, section(record, rows), HEADING, write=args.write)


if __name__ == "__main__":
    sys.exit(main())
