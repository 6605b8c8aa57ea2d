"""The import benchmark: a data owner's CSV of new figures through the CLI, against `eventsourcing`'s bare batched append.

    python -m bench import [--runs 3] [--figures 100000] [--wait-for-quiet SECONDS] [--write/--no-write]

Ours: `policing-metrics figures import FILE.csv` as a process of its own, timed end to end (start-up,
reading and checking the file, deciding each figure, one append of every figure with its measures'
versions as conditions, the commit), on a fresh copy of a SQLite database holding the example's 21
measures. The reference: the `eventsourcing` library (9.5) saving as many new aggregates of one event
each (one per figure, each carrying a figure's data), 1,000 per save, on a fresh SQLite file: the bare
append the issue names, with no parsing, checking or deciding. Both on disk, WAL mode, synchronous=FULL;
the two take turns within each run (the order alternating), medians of `--runs`.

Then one more import of the same size in this process under cProfile (with the collector paused, as the
command pauses it), split into where the time goes: reading the CSV, checking each row's values,
loading what is recorded, deciding each figure (its event built and validated by its schema), making
the events to append, and the append (canonical JSON, the chain, the insert, the commit). Results go to bench/results/import.json (the table
and notes to bench/results/import.md and README.md's "Benchmarks: import" section).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from time import perf_counter

from . import es_reference
from .bench_http import bulk_csv, example_measures, run_cli
from .report import PASSED, ROOT, bullets, conclude, last_run, log, markdown_table, quiet, shared_machine, wrapped
from .runs import common_options, new_record

README_HEADING = "## Benchmarks: import"
TARGET_VS_EVENTSOURCING = 1.0
ES_PER_SAVE = 1000
MEASURES_CSV = ROOT / "examples" / "wmp-2022-02" / "measures.csv"
# Where cProfile's cumulative times are read from: the import's phases, by the function that does each.
PHASES = (
    ("read the CSV", "imports.py", "read_file"),
    ("check each row's values (every problem listed)", "rules/figures.py", "row_problems"),
    ("load what is recorded", "loading.py", "load_figures"),
    ("decide each figure (its event built, its schema validating it)", "rules/figures.py", "decide_import"),
    ("make the events to append (NewEvent.of)", "records.py", "of"),
    ("append (canonical JSON, chain, insert, commit; no second validation)", "store.py", "append_many"),
)
# The ratio before issue #14's changes, measured the same way (commit 46ef7ee, 3 runs, 2026-12-07).
BEFORE = "0.70×"


def cli_env(database: Path, directory: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLICING_METRICS_")}
    env.update(POLICING_METRICS_DATABASE_URL=f"sqlite:///{database}", POLICING_METRICS_ACTOR="bench", HOME=str(directory))
    return env


def template(directory: Path) -> Path:
    """A SQLite database with the schema and the example's measures, copied for each run."""
    path = directory / "template.db"
    env = cli_env(path, directory)
    run_cli(env, directory, "db", "upgrade")
    run_cli(env, directory, "measures", "import", str(MEASURES_CSV))
    return path


def copy_database(source: Path, target: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)


def ours_once(database: Path, csv_path: Path, figures: int, directory: Path) -> float:
    started = perf_counter()
    said = run_cli(cli_env(database, directory), directory, "figures", "import", str(csv_path))
    seconds = perf_counter() - started
    if f"{figures} recorded" not in said:
        raise RuntimeError(f"the import did not record {figures} figures: {said[-500:]}")
    return seconds


def figure_payloads(csv_path: Path) -> list[dict]:
    """The figures' data as the reference carries it: what our FigureRecorded event holds."""
    lines = csv_path.read_text().splitlines()[1:]
    payloads = []
    for line in lines:
        measure, area, period, value, source, note = line.split(",")
        payloads.append({"measure": measure, "area": area, "period": period, "value": value, "source": source, "note": note})
    return payloads


def reference_once(path: Path, payloads: list[dict]) -> float:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    app = es_reference.open_application(path)
    try:
        started = perf_counter()
        for start in range(0, len(payloads), ES_PER_SAVE):
            app.save(*(es_reference.FigureStream(payload=data) for data in payloads[start : start + ES_PER_SAVE]))
        return perf_counter() - started
    finally:
        app.close()


def profile_import(database: Path, csv_path: Path) -> dict:
    """One import in this process under cProfile: seconds in each phase (cumulative), and in all."""
    from service.bootstrap import App
    from service.cli.recording import bulk
    from service.config import Settings
    from service.handlers import imports
    from events import Metadata

    app = App(Settings(database_url=f"sqlite:///{database}", actor="bench"))
    profiler = cProfile.Profile()
    started = perf_counter()
    with bulk():  # as `figures import` runs it
        profiler.enable()
        rows, problems, unit = imports.read_file(csv_path, None, imports.FIGURE_COLUMNS, imports.FIGURE_OPTIONAL)
        imports.import_figures(
            app.store, rows, Metadata(actor="bench", source="cli"), default_area=None, name=str(csv_path),
            problems=problems, unit=unit,
        )  # fmt: skip
        profiler.disable()
    total = perf_counter() - started
    app.close()
    stats = pstats.Stats(profiler)
    phases = {}
    for label, filename, function in PHASES:
        phases[label] = max(
            (cumulative for (path, _line, name), (_cc, _nc, _tt, cumulative, _callers) in stats.stats.items()
             if path.endswith(filename) and name == function),
            default=0.0,
        )  # fmt: skip
    top = sorted(stats.stats.items(), key=lambda item: item[1][2], reverse=True)[:12]
    return {
        "seconds": total,
        "phases": phases,
        "top_own_time": [
            {"function": f"{Path(path).name}:{line} {name}", "own_s": round(tt, 4), "calls": nc}
            for (path, line, name), (_cc, nc, tt, _ct, _callers) in top
        ],
    }


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench import", description=__doc__.split("\n\n")[0])
    common_options(parser, runs=3)
    parser.add_argument("--figures", type=int, default=100_000, help="figures in the file")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    started = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="bench-import-", dir=os.environ.get("BENCH_TMPDIR")))
    record = new_record(
        tmp, benchmark="import", workload={"figures": args.figures, "runs": args.runs, "es_aggregates_per_save": ES_PER_SAVE}, cases={}
    )
    try:
        base = template(tmp)
        measures = example_measures()[:10]
        ours, reference = [], []
        for run in range(args.runs):
            csv_path = tmp / f"run{run}.csv"
            csv_path.write_bytes(bulk_csv(args.figures, f"bench-run{run}", measures))
            payloads = figure_payloads(csv_path)
            quiet(args.wait_for_quiet, record, f"run {run}")
            database = tmp / f"run{run}.db"
            copy_database(base, database)
            order = ("ours", "reference") if run % 2 == 0 else ("reference", "ours")
            for who in order:
                if who == "ours":
                    ours.append(ours_once(database, csv_path, args.figures, tmp))
                    log(f"  ours: {args.figures / ours[-1]:,.0f} figures/s ({ours[-1]:.2f} s, end to end through the CLI)")
                else:
                    reference.append(reference_once(tmp / f"es{run}.db", payloads))
                    log(f"  eventsourcing: {args.figures / reference[-1]:,.0f} events/s ({reference[-1]:.2f} s)")
        csv_path = tmp / "profiled.csv"
        csv_path.write_bytes(bulk_csv(args.figures, "bench-profiled", measures))
        database = tmp / "profiled.db"
        copy_database(base, database)
        profile = profile_import(database, csv_path)
        log(f"  profiled import: {profile['seconds']:.2f} s; " + ", ".join(f"{k} {v:.2f} s" for k, v in profile["phases"].items()))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    ours_rate = args.figures / statistics.median(ours)
    reference_rate = args.figures / statistics.median(reference)
    ratio = ours_rate / reference_rate
    record["cases"] = {
        "ours": {"seconds": ours, "median_rate": ours_rate},
        "eventsourcing": {"seconds": reference, "median_rate": reference_rate},
        "ratio": ratio,
        "profile": profile,
    }
    record["seconds"] = time.monotonic() - started
    passed = ratio >= TARGET_VS_EVENTSOURCING
    rows = [
        (
            f"CSV import of {args.figures:,} new figures through the CLI, end to end: ours vs `eventsourcing` 9.5 "
            f"bare batched append ({ES_PER_SAVE:,} new aggregates per save)",
            f"{ours_rate:,.0f} ev/s", f"{reference_rate:,.0f} ev/s", f"{ratio:.2f}×", f"≥ {TARGET_VS_EVENTSOURCING:g}×",
            PASSED[passed],
        )
    ]  # fmt: skip
    table_text = markdown_table(("case", "ours", "reference", "ratio", "target", "pass"), ("---", "---:", "---:", "---:", "---", ":---:"), rows)
    text = section(record, table_text, args)
    missed = [] if passed else [f"import {ratio:.2f}× eventsourcing (target ≥ {TARGET_VS_EVENTSOURCING:g}×)"]
    return conclude("import", record, table_text, missed, text, README_HEADING, write=args.write)


def section(record: dict, table_text: str, args) -> str:
    info = record["machine"]
    profile = record["cases"]["profile"]
    loads = record.get("load_average_before_case", {})
    lines = [README_HEADING, ""]
    lines += wrapped(
        "`.venv/bin/python -m bench import` records every run in `bench/results/import.json`: a CSV of "
        f"{args.figures:,} new figures (10 of the example's measures, one period, areas no run used before) "
        "imported with `policing-metrics figures import` as a process of its own on a fresh copy of a SQLite "
        "database holding the example's measures, timed end to end; against the `eventsourcing` library saving "
        f"as many new aggregates of one event each, {ES_PER_SAVE:,} per save, on a fresh SQLite file (WAL, "
        f"synchronous=FULL for both), taking turns. Medians of {args.runs} runs.",
        100,
    )
    lines.append("")
    lines += wrapped(
        last_run(record, f"SQLite {info['sqlite']}", f"{record['seconds']:.0f} s; 1-minute load average before each run ")
        + ", ".join(f"{v:.2f}" for v in loads.values()) + ".",
        100,
    )
    lines += ["", table_text, ""]
    phases = "; ".join(f"{label} {seconds:.2f} s" for label, seconds in profile["phases"].items())
    notes = [
        f"where an import's time goes (one more import in-process under cProfile, {profile['seconds']:.2f} s with "
        f"the profiler's own overhead): {phases}; the rest is the import's own loop. The CLI's end-to-end time "
        "adds Python's start-up and imports.",
        "each value is checked twice: once by the rules (`row_problems`, so that every bad row is listed with its "
        "column), once by the event's schema as the decision builds it; the decision takes the checked values as "
        "they are, and the store does not validate again an event `NewEvent.of` dumped from a frozen model (it "
        "validates every other). The import commands pause the cyclic garbage collector (a third of the CPU time "
        "went to it), and start-up no longer loads holidays, boto3, psycopg or the e-mail and phone checks.",
        f"before issue #14's changes: {BEFORE} (commit 46ef7ee, measured the same way the same day).",
        "ours / reference per run (each pair taken in turn): "
        + ", ".join(f"{r / o:.2f}×" for o, r in zip(record["cases"]["ours"]["seconds"], record["cases"]["eventsourcing"]["seconds"]))
        + ".",
    ]
    notes += shared_machine(
        loads.values(), info["cpus"], "absolute rates are lower than on an idle machine; the ratio, both taking turns, is the steadier figure."
    )
    lines += bullets(notes, 98)
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
