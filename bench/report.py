"""The benchmark's outputs: the comparison table, the JSON record, the README section."""

from __future__ import annotations

import json
import os
import platform
import sqlite3
import subprocess
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
    return f"{best[1]} ({best[2]}) at {best[0] or '?'}"


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


def section(record: dict, rows: list[Row]) -> str:
    """The README section: how to run, the workload, the latest table, notes."""
    workload = record["workload"]
    machine_info = record["machine"]
    notes = [f"- {row.case}: {row.note}" for row in rows if row.note]
    load = ", ".join(f"{value:.2f}" for value in machine_info["load_average_at_start"])
    lines = [
        HEADING,
        "",
        "`make bench` (or `.venv/bin/python -m bench`; `--help` lists the options) runs every case below in one",
        "go and records all runs in `bench/results/store.json`. Medians of "
        f"{workload['runs']} runs; SQLite on disk ({machine_info['tmpdir_filesystem']}), WAL with",
        "`synchronous=FULL` for every SQLite writer (ours, `eventsourcing`, raw).",
        "",
        f"Workload: {workload['events']:,} events of {workload['data_bytes']:.0f} bytes of JSON data each. Batched: "
        f"{workload['batch_size']:,} events per append (ours and raw: one stream per append; `eventsourcing`: "
        f"{workload['es_aggregates_per_save']} aggregates of {workload['es_events_per_aggregate']} pending events per save, "
        f"{workload['es_aggregates']:,} aggregates). Single: {workload['single_events']:,} appends of one event over "
        f"{workload['streams']:,} streams. Reads: a log of {workload['events']:,} events over {workload['streams']:,} "
        "streams folded into {stream: total}. Raw SQL is the limit: the same rows into a table of the same shape, "
        "with no validation, canonical JSON or hashing.",
        "",
        f"Last run: {record['date']}, commit `{record['git']['commit'][:10]}`, {machine_info['cpus']} × "
        f"{machine_info['cpu']}, Python {machine_info['python']}, SQLite {machine_info['sqlite']}, load average at "
        f"start {load}.",
        "",
        table(rows),
    ]
    if notes:
        lines += ["", *notes]
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
