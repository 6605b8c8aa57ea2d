"""The benchmark's outputs: the comparison table, the JSON record, the README section."""

from __future__ import annotations

import json
import os
import platform
import sqlite3
import subprocess
import textwrap
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEADING = "## Benchmarks"


@dataclass
class Row:
    """One line of the table. `ours` and `reference` are rates (events/s) or peaks (MiB)."""

    case: str
    ours: float | None
    reference: float | None
    unit: str
    target: str
    # The comparison the target is about: ours / reference, except where it says otherwise.
    ratio: float | None = None
    passed: bool | None = None
    note: str = ""


def ratio(ours: float | None, reference: float | None) -> float | None:
    if ours is None or not reference:
        return None
    return ours / reference


def _number(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "MiB":
        return f"{value:,.1f} MiB"
    return f"{value:,.0f} ev/s"


def table(rows: list[Row]) -> str:
    """A Markdown table, readable as plain text too."""
    lines = ["| case | ours | reference | ratio | target | pass |", "|---|---:|---:|---:|---|:---:|"]
    for row in rows:
        shown_ratio = "—" if row.ratio is None else f"{row.ratio:.2f}×"
        passed = {True: "yes", False: "**NO**", None: "—"}[row.passed]
        lines.append(
            f"| {row.case} | {_number(row.ours, row.unit)} | {_number(row.reference, row.unit)} | "
            f"{shown_ratio} | {row.target} | {passed} |"
        )
    return "\n".join(lines)


def git_commit() -> dict:
    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return ""

    changed = git("status", "--porcelain", "--", "events", "bench")
    return {"commit": git("rev-parse", "HEAD"), "uncommitted_changes_in_events_or_bench": bool(changed)}


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_total() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def _filesystem(path: Path) -> str:
    """The mount (device, type) holding `path`: the SQLite cases must run on a real disk."""
    best = ("", "unknown", "unknown")
    try:
        for line in Path("/proc/mounts").read_text().splitlines():
            device, mount, kind = line.split()[:3]
            if str(path.resolve()).startswith(mount.rstrip("/") + "/") and len(mount) > len(best[0]):
                best = (mount, device, kind)
    except OSError:
        pass
    return f"{best[2]} on {best[1]}, mounted at {best[0] or '?'}"


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine(tmpdir: Path) -> dict:
    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu": _cpu_model(),
        "cpus": os.cpu_count(),
        "memory": _memory_total(),
        "sqlite": sqlite3.sqlite_version,
        "packages": {name: _version(name) for name in ("eventsourcing", "sqlalchemy", "psycopg", "pydantic")},
        "tmpdir": str(tmpdir),
        "tmpdir_filesystem": _filesystem(tmpdir),
        "load_average_at_start": list(os.getloadavg()),
    }


def write_json(path: Path, record: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(path.suffix + ".tmp")
    partial.write_text(json.dumps(record, indent=2, default=_jsonable) + "\n")
    partial.replace(path)


def _jsonable(value):
    if isinstance(value, Row):
        return asdict(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _paragraph(text: str) -> list[str]:
    return textwrap.wrap(text, width=96, break_on_hyphens=False, break_long_words=False)


def section(record: dict, rows: list[Row]) -> str:
    """The README section: how to run, the workload, the latest table, notes."""
    workload = record["workload"]
    machine_info = record["machine"]
    load = machine_info["load_average_at_start"][0]
    cpus = machine_info["cpus"] or 1
    settings = record["cases"].get("postgres_settings")
    postgres = f", PostgreSQL {settings['server_version'].split()[0]}" if settings else ""
    lines = [HEADING, ""]
    lines += _paragraph(
        "`make bench` (or `.venv/bin/python -m bench`; `--help` lists the options) runs every case below in "
        "one go and records every run in `bench/results/store.json`. The table shows medians of "
        f"{workload['runs']} runs. SQLite runs on disk ({machine_info['tmpdir_filesystem']}) in WAL mode with "
        "`synchronous=FULL` for every writer (ours, `eventsourcing`, raw); PostgreSQL with "
        "`synchronous_commit` on. Appends are interleaved: each run cuts every contender's work into slices "
        "taken in turn, so a busy neighbour slows all of them alike."
    )
    lines.append("")
    lines += _paragraph(
        f"Workload: {workload['events']:,} events of {workload['data_bytes']:.0f} bytes of JSON data each. "
        f"Batched: {workload['batch_size']:,} events per durable commit (ours and raw: one stream per append, "
        f"since an append is to one stream; `eventsourcing` 9.5: {workload['es_aggregates_per_save']} "
        f"aggregates of {workload['es_events_per_aggregate']} pending events per save, "
        f"{workload['es_aggregates']:,} aggregates in all). Single: {workload['single_events']:,} appends of "
        f"one event each over {workload['streams']:,} streams. Reads: a log of {workload['events']:,} events "
        f"over {workload['streams']:,} streams folded into a dict of totals per stream. Raw SQL is the limit: "
        "the same rows into a table of the same shape (same columns and keys), with no validation, no "
        "canonical JSON and no hashing (the hash columns hold a fixed 64-digit text), written with `executemany` "
        "and, as a second reference, with the multi-row INSERT statements ours uses on SQLite."
    )
    lines.append("")
    lines += _paragraph(
        f"Last run: {record['date']}, commit `{record['git']['commit'][:10]}`, {cpus} × {machine_info['cpu']}, "
        f"Python {machine_info['python']}, SQLite {machine_info['sqlite']}{postgres}, {record['seconds']:.0f} s; "
        f"1-minute load average {load:.2f} at the start."
    )
    lines += ["", table(rows), ""]
    notes = [
        "ratio is ours / reference (for peak RSS: the larger log / the smaller one).",
        "ours decodes event data with the `json` module's C scanner called directly (`json.loads` minus its "
        "Python wrappers); the reference does plain `json.loads`, and the row below it shows raw SQL with the "
        "same scanner, so the gain is not hidden.",
        "peak RSS is the VmHWM of a fresh process that only reads (or verifies) the log.",
    ]
    if load >= cpus / 2:
        notes.append(
            f"this run shared the machine (load average {load:.2f} on {cpus} CPUs): absolute rates are lower "
            "than on an idle machine, and the appends' fsync times vary; ratios are the steadier figures."
        )
    notes += [row.note for row in rows if row.note]
    for note in notes:
        wrapped = _paragraph(note)
        lines += ["- " + wrapped[0], *("  " + line for line in wrapped[1:])]
    return "\n".join(lines) + "\n"


def update_readme(readme: Path, text: str) -> bool:
    """Replace (or add at the end) the Benchmarks section of `readme`; False if there is no README."""
    if not readme.exists():
        return False
    lines = readme.read_text().splitlines()
    try:
        start = lines.index(HEADING)
    except ValueError:
        body = "\n".join(lines).rstrip("\n")
        readme.write_text(f"{body}\n\n{text}")
        return True
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    before = "\n".join(lines[:start]).rstrip("\n")
    after = "\n".join(lines[end:])
    readme.write_text(f"{before}\n\n{text}" + (f"\n{after}\n" if after else ""))
    return True
