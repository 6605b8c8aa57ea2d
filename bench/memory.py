"""Peak resident memory while reading a whole log, measured in a fresh process per log.

    python -m bench.memory read PATH     # read_all, folding into {stream: total}
    python -m bench.memory verify PATH   # verify

prints one JSON line: events read, peak RSS before reading (imports, engine) and peak RSS at
the end (the high-water mark of the whole process), in KiB.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from pathlib import Path


def _peak_kib() -> int:
    """This process's peak resident set, in KiB.

    VmHWM where Linux has it: unlike ru_maxrss it starts afresh at exec, whereas ru_maxrss
    carries over the RSS of the (large) benchmark process that forked this one.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def measure(action: str, path: Path) -> dict:
    """Run `action` on the log at `path` in a new interpreter and return its report."""
    completed = subprocess.run(
        [sys.executable, "-m", "bench.memory", action, str(path)],
        check=True,
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main(argv: list[str]) -> None:
    action, path = argv
    from events import EventStore
    from events.database import make_engine

    from .workload import registry

    store = EventStore(make_engine(f"sqlite:///{path}"), registry)
    store.head()  # connect before the baseline, so it counts the driver too
    before = _peak_kib()
    if action == "read":
        totals: dict[str, int] = {}
        events = 0
        for event in store.read_all():
            totals[event.stream] = totals.get(event.stream, 0) + event.data["value"]
            events += 1
    elif action == "verify":
        report = store.verify()
        if not report.ok:
            raise SystemExit(f"the log does not verify: {report.breach}")
        events = report.checked
    else:
        raise SystemExit(f"unknown action {action!r}: read or verify")
    print(json.dumps({"action": action, "events": events, "baseline_kib": before, "peak_kib": _peak_kib()}))


if __name__ == "__main__":
    main(sys.argv[1:])
