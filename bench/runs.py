"""What the benchmarks' runs share besides their reporting (bench/report.py): the options every one
takes, the record a run starts, timing an action run after run, and waiting for a server they started."""

from __future__ import annotations

import argparse
import subprocess
import time
from datetime import datetime, timezone
from pathlib import Path
from time import perf_counter
from typing import Any, Callable

from .report import git_commit, machine


def common_options(parser: argparse.ArgumentParser, *, runs: int, write: bool | None = True) -> argparse.ArgumentParser:
    """--runs, --wait-for-quiet SECONDS and --write/--no-write (`write` None: the benchmark decides)."""
    parser.add_argument("--runs", type=int, default=runs, help="runs per case; the table shows medians")
    parser.add_argument("--wait-for-quiet", type=float, default=0, metavar="SECONDS",
                        help="before each case, wait up to SECONDS for the load average to fall below half a CPU per CPU")  # fmt: skip
    parser.add_argument("--write", action=argparse.BooleanOptionalAction, default=write,
                        help="record results in bench/results/ and README.md"
                        + (" (default: only for a full default run)" if write is None else ""))  # fmt: skip
    return parser


def write_when_default(parser: argparse.ArgumentParser, args: argparse.Namespace, names: tuple[str, ...]) -> None:
    """--write unset: record a run only when the options `names` are all at their defaults (a full run)."""
    if args.write is None:
        defaults = parser.parse_args([])
        args.write = all(getattr(args, name) == getattr(defaults, name) for name in names)


def new_record(tmp: Path, **fields: Any) -> dict:
    """A run's record: when, at which commit, on what machine (`tmp` is where its files go), then `fields`."""
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "git": git_commit(),
        "machine": machine(tmp),
        **fields,
    }


def timed(action: Callable[[], Any], runs: int) -> list[float]:
    """Seconds of each of `runs` calls of `action`, after one call to warm it."""
    action()
    seconds = []
    for _ in range(runs):
        started = perf_counter()
        action()
        seconds.append(perf_counter() - started)
    return seconds


def wait_until_answering(
    process: subprocess.Popen,
    url: str,
    timeout: float,
    interval: float,
    exited: Callable[[], str],
    late: Callable[[], str],
) -> None:
    """Until GET `url` answers 200; raises `exited()`'s message if `process` ends first, `late()`'s after `timeout` s."""
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(exited())
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(interval)
    raise RuntimeError(late())


def stop_process(process: subprocess.Popen, graceful: int, timeout: float) -> None:
    """Send `process` the `graceful` signal if it still runs; kill it after `timeout` s."""
    if process.poll() is None:
        process.send_signal(graceful)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
