"""What every benchmark reports through: progress lines, the machine, tables, the JSON record,
its Markdown copy and its README section; and waiting for a quiet machine before a case.

The store benchmark's own table (`Row`, `table`, `section`) is here too; the others format their
rows themselves and hand the text to `markdown_table` and `record_results`.
"""

from __future__ import annotations

import json
import os
import platform
import sqlite3
import subprocess
import sys
import textwrap
import time
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Iterable, Sequence

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
HEADING = "## Benchmarks"
PASSED = {True: "yes", False: "**NO**", None: "—"}


def log(message: str) -> None:
    """A progress line on stderr, with the time."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def wait_for_quiet(seconds: float) -> float:
    """Wait until the 1-minute load average is below half the CPUs, or `seconds` pass; return it."""
    limit = (os.cpu_count() or 1) / 2
    deadline = time.monotonic() + seconds
    load = os.getloadavg()[0]
    if load >= limit:
        log(f"waiting up to {seconds:.0f} s for the load average ({load:.2f}) to fall below {limit:g}")
    while load >= limit and time.monotonic() < deadline:
        time.sleep(5)
        load = os.getloadavg()[0]
    return load


def quiet(wait_seconds: float, record: dict, case: str, key: str = "load_average_before_case") -> None:
    """Before `case`: wait for a quiet machine (when asked to), and note the load it starts under."""
    load = wait_for_quiet(wait_seconds) if wait_seconds else os.getloadavg()[0]
    record.setdefault(key, {})[case] = round(load, 2)


def markdown_table(header: Sequence[str], align: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table, readable as plain text too; `align` holds "---", "---:" or ":---:" per column."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def wrapped(paragraph: str, width: int = 100) -> list[str]:
    return textwrap.wrap(paragraph, width, break_on_hyphens=False, break_long_words=False)


def bullets(notes: Sequence[str], width: int = 98) -> list[str]:
    """Markdown list items, wrapped and indented under their dash."""
    lines = []
    for note in notes:
        text = wrapped(note, width)
        lines += ["- " + text[0], *("  " + line for line in text[1:])]
    return lines


def last_run(record: dict, *details: str) -> str:
    """The sentence a section names its last run in: when, the commit, the machine and Python, then `details`."""
    m = record["machine"]
    said = f"Last run: {record['date']}, commit `{record['git']['commit'][:10]}`, {m['cpus']} × {m['cpu']}, Python {m['python']}"
    return ", ".join([said, *details])


def shared_machine(loads: Iterable[float], cpus: int | None, consequence: str) -> list[str]:
    """The note for a run that shared the machine (a load average of half a CPU per CPU or more before a
    case), saying `consequence`; none for a quiet run."""
    shared = [load for load in loads if load >= (cpus or 1) / 2]
    if not shared:
        return []
    return [f"the machine was shared (load average up to {max(shared):.2f} on {cpus} CPUs): {consequence}"]


def section_text(heading: str, paragraphs: Sequence[str], table_text: str, notes: Sequence[str] = ()) -> str:
    """A README section: the heading, each paragraph wrapped, the table, then the notes as a list."""
    lines = [heading, ""]
    for paragraph in paragraphs:
        lines += [*wrapped(paragraph), ""]
    lines.append(table_text)
    if notes:
        lines += ["", *bullets(notes)]
    return "\n".join(lines) + "\n"


def missed(rows: Sequence[dict]) -> list[str]:
    """The cases of a table whose target was missed."""
    return [row["case"] for row in rows if row.get("passed") is False]


def row_notes(rows: Sequence[dict]) -> list[str]:
    """"case: note" for each row of a table that has a note."""
    return [f"{row['case']}: {row['note']}" for row in rows if row.get("note")]


def conclude(
    name: str, record: dict, table_text: str, missed: Sequence[str], text: str | None = None,
    heading: str | None = None, *, write: bool,
) -> int:  # fmt: skip
    """The end of a run: the table on stdout, the time taken, the results recorded (with `write`),
    the targets missed named; the exit status (0: a missed target is a finding, not a failure)."""
    print(f"\n{table_text}\n")
    if "seconds" in record:
        log(f"done in {record['seconds']:.0f} s")
    if write:
        record_results(name, record, text, heading)
    if missed:
        log("targets missed: " + "; ".join(missed))
    return 0


def record_results(name: str, record: dict, text: str | None = None, heading: str | None = None) -> None:
    """bench/results/NAME.json; with `text`, also NAME.md and the README section under `heading`."""
    write_json(RESULTS / f"{name}.json", record)
    where = [f"bench/results/{name}.json"]
    if text is not None:
        (RESULTS / f"{name}.md").write_text(text)
        where.append(f"bench/results/{name}.md")
        if heading is not None and update_readme(ROOT / "README.md", text, heading):
            where.append("README.md")
    log("recorded in " + " and ".join(where))


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


def compared(case: str, ours: float | None, reference: float | None, at_least: float | None = None, note: str = "") -> Row:
    """A row of rates (events/s): ours vs the reference, passing when ours is at least `at_least` times it
    (without `at_least`: reported, no target)."""
    times = ratio(ours, reference)
    if at_least is None:
        return Row(case, ours, reference, "events/s", "(report)", times, None, note)
    return Row(case, ours, reference, "events/s", f"≥ {at_least:g}×", times, times is not None and times >= at_least, note)


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
    """The comparison table: ours, the reference, their ratio, the target."""
    return markdown_table(
        ("case", "ours", "reference", "ratio", "target", "pass"),
        ("---", "---:", "---:", "---:", "---", ":---:"),
        [
            (
                row.case,
                _number(row.ours, row.unit),
                _number(row.reference, row.unit),
                "—" if row.ratio is None else f"{row.ratio:.2f}×",
                row.target,
                PASSED[row.passed],
            )
            for row in rows
        ],
    )


def git_commit() -> dict:
    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return ""

    changed = git("status", "--porcelain", "--", "events", "bench")
    return {"commit": git("rev-parse", "HEAD"), "uncommitted_changes_in_events_or_bench": bool(changed)}


def _proc_field(path: str, name: str) -> str | None:
    """The value of the first `name: value` line of /proc/`path`, or None."""
    try:
        for line in Path("/proc", path).read_text().splitlines():
            if line.startswith(name):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def _cpu_model() -> str:
    return _proc_field("cpuinfo", "model name") or platform.processor() or "unknown"


def _memory_total() -> str:
    return _proc_field("meminfo", "MemTotal") or "unknown"


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
    return wrapped(text, 96)


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
        last_run(record, f"SQLite {machine_info['sqlite']}{postgres}", f"{record['seconds']:.0f} s; ")
        + f"1-minute load average {load:.2f} at the start."
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
    lines += bullets(notes, 96)
    return "\n".join(lines) + "\n"


def update_readme(readme: Path, text: str, heading: str = HEADING) -> bool:
    """Replace the section under `heading` in `readme`, or add it after the last Benchmarks section
    (at the end if there is none); False if there is no README."""
    if not readme.exists():
        return False
    lines = readme.read_text().splitlines()
    if heading in lines:
        start = lines.index(heading)
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    else:
        sections = [i for i, line in enumerate(lines) if line == HEADING or line.startswith(HEADING + ":")]
        after = sections[-1] if sections else len(lines) - 1
        start = end = next((i for i in range(after + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    before = "\n".join(lines[:start]).rstrip("\n")
    rest = "\n".join(lines[end:]).strip("\n")
    readme.write_text(f"{before}\n\n{text}" + (f"\n{rest}\n" if rest else ""))
    return True
