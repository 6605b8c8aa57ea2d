"""The HTTP benchmark: `policing-metrics serve` as a real process, driven from other processes on 127.0.0.1.

    python -m bench http [--runs 3] [--seconds 10] [--connections 16] [--write/--no-write]
    python -m bench.bench_http ...        (the same)

The server is `policing-metrics serve --no-scheduler` on a free port of 127.0.0.1, its database
prepared with the CLI only (`db upgrade`, `demo --publish-now` or `examples load`, `tokens create`),
its log lines (one JSON line per request, as in production) kept in the temporary directory and
read back to check every status it answered. Three cases:

1. GET /public/scorecard, the example edition released: `wrk` (the Debian package, installed with
   apt-get when missing and allowed) and `bench.http_load` (asyncio, raw keep-alive connections,
   in a process of its own), each `--connections` connections for `--seconds`, after a warm-up;
   requests/s, p50, p99 and every non-200 answer; and `bench.http_load` in an open loop at `--rate`
   requests/s (latency from when each request was due, so a stall is not hidden by a generator that
   waited for it); medians of `--runs`, the generators taking turns. Then `wrk` with
   `--wide-connections` connections, for the record.
2. POST /figures/import of `--figures` new figures as CSV with a data-owner token, end to end from
   the client; each run names areas no run used before, so every figure is new. SQLite on disk;
   the same on PostgreSQL for the record.
3. On PostgreSQL (a schema of its own, dropped afterwards): `--writers` threads record the same
   figures and revise them with If-Match from what they last read, retrying some accepted writes
   with their Idempotency-Key; then the log, read back through the auditors' endpoints, must hold
   every accepted write exactly once, nothing from a refused one or a retry, gapless stream
   versions, each figure's last accepted value, and a chain that verifies.

A table is printed; everything goes to bench/results/http.json (the table and notes to
bench/results/http.md and README.md's "Benchmarks: HTTP" section).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path
from time import perf_counter

from .report import PASSED, ROOT, conclude, last_run, log, markdown_table, quiet, row_notes, section_text
from .runs import common_options, new_record, stop_process, wait_until_answering, write_when_default

README_HEADING = "## Benchmarks: HTTP"
TARGET_RPS = 1000.0
TARGET_P99_MS = 50.0
TARGET_BULK_S = 2.0
SCORECARD = "/public/scorecard"
EXAMPLE_MEASURES = ROOT / "examples" / "wmp-2022-02" / "measures.csv"
PERIOD = "2021-01/2021-12"
# One wrk thread: one core for the load, one for the server. With two, a wrk thread waiting for a
# core (the server holds one) counts its own wait as latency: p99 at 64 connections 170-250 ms
# against 25-35 ms with one thread or with bench.http_load.
WRK_THREADS = 1


def load_average() -> float:
    return round(os.getloadavg()[0], 2)


# -- the server -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _cli_command() -> list[str]:
    script = Path(sys.executable).parent / "policing-metrics"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from service.cli import run; sys.exit(run())"]


def run_cli(env: dict[str, str], directory: Path, *args: str) -> str:
    """`policing-metrics ARGS` as a process of its own with `env`, in `directory`; its standard output (it must succeed)."""
    done = subprocess.run([*_cli_command(), *args], env=env, cwd=directory, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"`policing-metrics {' '.join(args)}` failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    return done.stdout


class Server:
    """`policing-metrics serve --no-scheduler` on 127.0.0.1, prepared and stopped by this process."""

    def __init__(self, directory: Path, database_url: str, name: str) -> None:
        self.directory = directory
        self.name = name
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = directory / f"{name}-serve.log"
        self.process: subprocess.Popen | None = None
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("POLICING_METRICS_")}
        self.env.update(
            POLICING_METRICS_DATABASE_URL=database_url,
            POLICING_METRICS_PUBLISH_TO=f"file://{directory / (name + '-site')}",
            POLICING_METRICS_SITE_URL=f"{self.base}/",
            POLICING_METRICS_LOG_FORMAT="json",
            POLICING_METRICS_LOG_LEVEL="info",
            POLICING_METRICS_ACTOR="bench",
        )

    def cli(self, *args: str) -> str:
        """Run a CLI command against this server's database; its standard output."""
        return run_cli(self.env, self.directory, *args)

    def token(self, role: str, name: str) -> str:
        return self.cli("tokens", "create", "--role", role, "--name", name).strip().splitlines()[-1]

    def start(self) -> None:
        command = [*_cli_command(), "serve", "--no-scheduler", "--host", "127.0.0.1", "--port", str(self.port)]
        self._log_file = open(self.log_path, "ab")
        self.process = subprocess.Popen(command, env=self.env, cwd=self.directory, stdout=self._log_file, stderr=self._log_file)
        wait_until_answering(
            self.process, f"{self.base}/readyz", 60, 0.2,
            lambda: f"`serve` exited with {self.process.returncode}: {self.log_tail()}",
            lambda: f"`serve` was not ready within 60 s: {self.log_tail()}",
        )  # fmt: skip

    def stop(self) -> None:
        if self.process is None:
            return
        stop_process(self.process, signal.SIGINT, 15)  # uvicorn's graceful shutdown
        self._log_file.close()
        self.process = None

    def __enter__(self) -> "Server":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def log_offset(self) -> int:
        self._log_file.flush()
        return self.log_path.stat().st_size

    def answered_since(self, offset: int, path: str | None = None, times: list[float] | None = None) -> Counter:
        """The statuses of the requests the server logged after `offset` (for `path`, or all); the
        milliseconds each spent in the application (the log line's `ms`) go to `times`."""
        statuses: Counter = Counter()
        with open(self.log_path, "rb") as lines:
            lines.seek(offset)
            for line in lines:
                if b'"http.request"' not in line:
                    continue
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                if path is None or entry.get("path") == path:
                    statuses[entry.get("status")] += 1
                    if times is not None and isinstance(entry.get("ms"), (int, float)):
                        times.append(entry["ms"])
        return statuses

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server process so far."""
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError, AttributeError):
            return float("nan")


# -- load generators ------------------------------------------------------------------------------


def ensure_wrk(install: bool) -> str | None:
    """The path of `wrk`; installs the Debian package when it is missing and allowed to."""
    found = shutil.which("wrk")
    if found or not install:
        if not found:
            log("wrk is not installed (--no-install-wrk): only the Python load generator runs")
        return found
    apt = shutil.which("apt-get")
    if apt is None:
        log("wrk is not installed and there is no apt-get here: only the Python load generator runs")
        return None
    command = [apt, "install", "-y", "-q", "wrk"]
    if os.geteuid() != 0:
        if shutil.which("sudo") is None:
            log("wrk is not installed and installing it needs root: `sudo apt-get install -y wrk`; only the Python load generator runs")
            return None
        command = ["sudo", "-n", *command]
    log(f"wrk is not installed: installing the Debian package (`{' '.join(command)}`)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        log("  apt-get install failed; updating the package lists and trying once more")
        update = ["sudo", "-n", apt, "update", "-q"] if command[0] == "sudo" else [apt, "update", "-q"]
        subprocess.run(update, capture_output=True, text=True, env=env)
        done = subprocess.run(command, capture_output=True, text=True, env=env)
    found = shutil.which("wrk")
    if found is None:
        log(f"  could not install wrk ({done.stderr.strip().splitlines()[-1:] or done.returncode}): only the Python load generator runs")
    return found


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def parse_wrk(text: str) -> dict:
    percentiles = {int(p): float(v) * _UNITS_MS[u] for p, v, u in re.findall(r"^\s+(\d+)%\s+([\d.]+)(us|ms|s|m)\s*$", text, re.M)}
    requests = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", text)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", text)
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if not (requests and rate and 50 in percentiles and 99 in percentiles):
        raise RuntimeError(f"could not read wrk's output:\n{text}")
    socket_errors = dict(zip(("connect", "read", "write", "timeout"), map(int, sockets.groups()))) if sockets else {}
    return {
        "generator": "wrk",
        "requests": int(requests.group(1)),
        "seconds": float(requests.group(2)) * _UNITS_MS[requests.group(3)] / 1000,
        "requests_per_s": float(rate.group(1)),
        "p50_ms": percentiles[50],
        "p90_ms": percentiles.get(90),
        "p99_ms": percentiles[99],
        "non_2xx_3xx": int(non_2xx.group(1)) if non_2xx else 0,
        "socket_errors": socket_errors,
    }


def run_wrk(wrk: str, url: str, connections: int, seconds: float) -> dict:
    threads = min(WRK_THREADS, connections)
    command = [wrk, f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--latency", url]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.strip()}")
    result = parse_wrk(done.stdout)
    result["connections"] = connections
    result["threads"] = threads
    return result


def run_python_load(url: str, connections: int, seconds: float, max_requests: int, rate: float | None = None) -> dict:
    command = [sys.executable, "-m", "bench.http_load", url, "--connections", str(connections),
               "--seconds", f"{seconds:g}", "--max-requests", str(max_requests)]  # fmt: skip
    if rate is not None:
        command += ["--rate", f"{rate:g}"]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=seconds + 60)
    if done.returncode != 0:
        raise RuntimeError(f"bench.http_load failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout)


# -- case 1: GET /public/scorecard ----------------------------------------------------------------


def measured_run(server: Server, generator, *arguments) -> dict:
    """One run of a load generator, with what the server logged and the CPU it used meanwhile."""
    offset = server.log_offset()
    cpu, wall, load = server.cpu_seconds(), perf_counter(), load_average()
    result = generator(*arguments)
    result["server_cpu_percent"] = round(100 * (server.cpu_seconds() - cpu) / (perf_counter() - wall), 1)
    result["load_average_before"] = load
    time.sleep(0.3)  # the last log lines
    app_ms: list[float] = []
    statuses = server.answered_since(offset, SCORECARD, app_ms)
    app_ms.sort()
    result["app_p50_ms"] = app_ms[len(app_ms) // 2] if app_ms else None
    result["app_p99_ms"] = app_ms[int(0.99 * len(app_ms))] if app_ms else None
    result["server_logged"] = {str(k): v for k, v in sorted(statuses.items(), key=lambda kv: str(kv[0]))}
    result["server_logged_non_200"] = sum(v for k, v in statuses.items() if k != 200)
    # wrk: non-2xx/3xx answers and socket errors; bench.http_load: non-200 answers and broken connections.
    # Both: any non-200 the server logged (a 3xx that wrk lets pass shows up there).
    seen = result.get("non_2xx_3xx", 0) + sum(result.get("socket_errors", {}).values())
    seen += result.get("non_200", 0) + sum(result.get("errors", {}).values())
    result["failed_requests"] = max(seen, result["server_logged_non_200"]) if seen else result["server_logged_non_200"]
    shown = result["generator"] + (f" open loop at {result['rate']:g}/s" if result.get("rate") else "")
    log(f"  {shown} c={result['connections']}: {result['requests_per_s']:,.0f} req/s, "
        f"p50 {result['p50_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms (in the app {result['app_p99_ms'] or 0:.2f} ms), "
        f"failed {result['failed_requests']}, "
        f"server CPU {result['server_cpu_percent']:.0f}%, load {load:.2f}")  # fmt: skip
    return result


def summarise_load(runs: list[dict]) -> dict:
    return {
        "requests_per_s": statistics.median(r["requests_per_s"] for r in runs),
        "p50_ms": statistics.median(r["p50_ms"] for r in runs),
        "p99_ms": statistics.median(r["p99_ms"] for r in runs),
        "failed_requests": sum(r["failed_requests"] for r in runs),
        "requests": sum(r["requests"] for r in runs),
        "app_p99_ms": statistics.median(r["app_p99_ms"] or 0.0 for r in runs),
    }


def load_row(case: str, runs: list[dict], targeted: bool) -> dict:
    target = f"≥ {TARGET_RPS:,.0f} req/s, p99 ≤ {TARGET_P99_MS:g} ms, 0 failed"
    if not runs:
        return {"case": case, "result": "—", "target": target, "passed": None, "runs": [], "note": "skipped"}
    s = summarise_load(runs)
    result = (
        f"{s['requests_per_s']:,.0f} req/s; p50 {s['p50_ms']:.1f} ms, p99 {s['p99_ms']:.1f} ms "
        f"(in the app {s['app_p99_ms']:.2f} ms); {s['failed_requests']} failed of {s['requests']:,}"
    )
    passed = None
    if targeted:
        passed = s["requests_per_s"] >= TARGET_RPS and s["p99_ms"] <= TARGET_P99_MS and s["failed_requests"] == 0
    else:
        target = f"(report; {target})"
    return {"case": case, "result": result, "target": target, "passed": passed, "median": s, "runs": runs}


def open_loop_row(case: str, runs: list[dict], rate: float, seconds: float) -> dict:
    """Open loop: the server kept up if every request due was answered, 200, with p99 within the target."""
    s = summarise_load(runs)
    due = int(rate * seconds) * len(runs)
    result = (
        f"{rate:,.0f} req/s offered, {s['requests']:,} of {due:,} answered; p50 {s['p50_ms']:.1f} ms, "
        f"p99 {s['p99_ms']:.1f} ms (in the app {s['app_p99_ms']:.2f} ms); {s['failed_requests']} failed"
    )
    passed = s["requests"] == due and s["p99_ms"] <= TARGET_P99_MS and s["failed_requests"] == 0
    target = f"all {rate:,.0f} req/s answered, p99 ≤ {TARGET_P99_MS:g} ms, 0 failed"
    return {"case": case, "result": result, "target": target, "passed": passed, "median": s, "runs": runs}


def scorecard_case(server: Server, args, wrk: str | None, record: dict, rows: list[dict]) -> None:
    url = server.base + SCORECARD
    log(f"GET {SCORECARD}: warming up ({args.warmup:g} s)")
    run_python_load(url, args.connections, args.warmup, 10**9)
    generators = []
    if wrk:
        generators.append(("wrk", lambda: measured_run(server, run_wrk, wrk, url, args.connections, args.seconds)))
    generators.append(("python", lambda: measured_run(server, run_python_load, url, args.connections, args.seconds, args.max_requests)))
    if args.rate:
        generators.append(
            ("open", lambda: measured_run(server, run_python_load, url, args.open_connections, args.seconds, args.max_requests, args.rate))
        )
    runs: dict[str, list[dict]] = {name: [] for name, _ in generators}
    for number in range(args.runs):
        for offset in range(len(generators)):  # taken in turn, the first one rotating
            name, go = generators[(number + offset) % len(generators)]
            runs[name].append(go())
    seconds = f"{args.seconds:g} s"
    if wrk:
        rows.append(load_row(f"GET {SCORECARD}: `wrk -t{WRK_THREADS} -c{args.connections}`, {seconds}", runs["wrk"], True))
    else:
        rows.append(load_row(f"GET {SCORECARD}: wrk", [], True) | {"note": "wrk not available"})
    rows.append(load_row(f"GET {SCORECARD}: `bench.http_load`, {args.connections} connections, {seconds}", runs["python"], True))
    if args.rate:
        case = (
            f"GET {SCORECARD}: `bench.http_load` open loop at {args.rate:,.0f} req/s (latency from each request's due time), "
            f"{args.open_connections} connections, {seconds}"
        )
        rows.append(open_loop_row(case, runs["open"], args.rate, args.seconds))
    record["cases"]["scorecard"] = runs
    if args.wide_connections:
        c = args.wide_connections
        log(f"GET {SCORECARD}: {c} connections, for the record")
        wide: dict[str, list[dict]] = {"wrk": [], "python": []}
        for _ in range(args.runs):
            if wrk:
                wide["wrk"].append(measured_run(server, run_wrk, wrk, url, c, args.seconds))
            wide["python"].append(measured_run(server, run_python_load, url, c, args.seconds, args.max_requests))
        record["cases"]["scorecard_wide"] = wide
        if wrk:
            rows.append(load_row(f"GET {SCORECARD}: `wrk -t{WRK_THREADS} -c{c}`, {seconds}", wide["wrk"], False))
        rows.append(load_row(f"GET {SCORECARD}: `bench.http_load`, {c} connections, {seconds}", wide["python"], False))


# -- case 2: bulk import --------------------------------------------------------------------------


def example_measures() -> list[str]:
    with open(EXAMPLE_MEASURES, newline="") as lines:
        return [row["id"] for row in csv.DictReader(lines)]


def bulk_csv(figures: int, tag: str, measures: list[str]) -> bytes:
    """`figures` rows: each measure in areas no other run uses, one period."""
    lines = ["measure,area,period,value,source,note"]
    area = 0
    while len(lines) <= figures:
        for measure in measures:
            if len(lines) > figures:
                break
            lines.append(f"{measure},{tag}-a{area:05d},{PERIOD},{(area * 37 + len(measure)) % 9973},bench,")
        area += 1
    return ("\n".join(lines) + "\n").encode()


def import_once(client, token: str, body: bytes, figures: int) -> float:
    started = perf_counter()
    response = client.post("/figures/import", content=body, headers={"Authorization": f"Bearer {token}", "Content-Type": "text/csv"})
    seconds = perf_counter() - started
    if response.status_code != 201:
        raise RuntimeError(f"the import answered {response.status_code}: {response.text[:1000]}")
    out = response.json()
    if out["recorded"] != figures or out["events"] != figures or out["last_position"] - out["first_position"] + 1 != figures:
        raise RuntimeError(f"the import recorded {out['recorded']} of {figures} new figures ({out['events']} events)")
    return seconds


def bulk_case(server: Server, args, database: str, record: dict, rows: list[dict], targeted: bool) -> None:
    import httpx

    token = server.token("data-owner", f"bench bulk ({database})")
    measures = example_measures()[:10]
    log(f"POST /figures/import on {database}: {args.figures:,} new figures as CSV, {args.runs} runs")
    seconds = []
    loads = []
    with httpx.Client(base_url=server.base, timeout=120) as client:
        import_once(client, token, bulk_csv(100, "bench-warm-up", measures), 100)  # first-request costs out of the way
        for run in range(args.runs):
            body = bulk_csv(args.figures, f"bench-run{run}", measures)
            loads.append(load_average())
            seconds.append(import_once(client, token, body, args.figures))
            log(f"  {seconds[-1]:.3f} s ({len(body) / 1024:,.0f} KiB of CSV), load {loads[-1]:.2f}")
    median = statistics.median(seconds)
    record["cases"][f"bulk_{database}"] = {"seconds": seconds, "median_s": median, "figures": args.figures, "load_average_before": loads}
    target = f"≤ {TARGET_BULK_S:g} s"
    rows.append(
        {
            "case": f"POST /figures/import, {args.figures:,} new figures (CSV, one data-owner request), {database}",
            "result": f"{median:.2f} s (median; runs {', '.join(f'{s:.2f}' for s in seconds)})",
            "target": target if targeted else f"(report; {target})",
            "passed": median <= TARGET_BULK_S if targeted else None,
            "median": median,
            "runs": seconds,
        }
    )


# -- case 3: concurrent writers on PostgreSQL -----------------------------------------------------


class Writer(threading.Thread):
    """Records every shared figure (one wins), then revises figures at random with If-Match from a fresh read."""

    def __init__(self, number: int, base: str, token: str, figures: list[tuple[str, str]], revisions: int, tag: str, start) -> None:
        super().__init__(name=f"writer-{number}")
        self.number = number
        self.base = base
        self.token = token
        self.figures = figures
        self.revisions = revisions
        self.tag = tag
        self.start_together = start
        self.answers: list[dict] = []
        self.failure: BaseException | None = None

    def run(self) -> None:
        try:
            self._run()
        except BaseException as exc:  # reported by the main thread
            self.failure = exc

    def _post(self, client, kind: str, figure, path: str, body: dict, key: str, if_match: str | None = None, retry_of=None) -> dict:
        request_id = f"{self.tag}-w{self.number}-{len(self.answers)}"
        headers = {"Authorization": f"Bearer {self.token}", "Idempotency-Key": key, "X-Request-ID": request_id}
        if if_match is not None:
            headers["If-Match"] = if_match
        response = client.post(path, json=body, headers=headers)
        answer = {
            "kind": kind,
            "figure": figure,
            "request_id": request_id,
            "status": response.status_code,
            "replayed": response.headers.get("idempotent-replayed") == "true",
            "body": response.json() if response.headers.get("content-type", "").endswith("json") else response.text,
            "value": body.get("value"),
            "retry_of": retry_of,
        }
        self.answers.append(answer)
        return answer

    def _run(self) -> None:
        import httpx

        rng = random.Random(self.number)
        auth = {"Authorization": f"Bearer {self.token}"}
        with httpx.Client(base_url=self.base, timeout=60) as client:
            self.start_together.wait()
            order = list(self.figures)
            rng.shuffle(order)
            for measure, area in order:
                body = {"measure": measure, "area": area, "period": PERIOD, "value": str(1000 + self.number)}
                self._post(client, "record", (measure, area), "/figures", body, f"{self.tag}-record-{self.number}-{measure}-{area}")
            for index in range(self.revisions):
                measure, area = rng.choice(self.figures)
                path = f"/figures/{measure}/{area}/{PERIOD}"
                current = client.get(path, headers=auth)
                if current.status_code != 200:
                    raise RuntimeError(f"GET {path} answered {current.status_code}: {current.text[:300]}")
                version = current.json()["version"]
                body = {"value": str(100_000 * (self.number + 1) + index), "reason": f"bench writer {self.number}, change {index}"}
                key = f"{self.tag}-revise-{self.number}-{index}"
                answer = self._post(client, "revise", (measure, area), path + "/revisions", body, key, f'"{version}"')
                if answer["status"] == 200 and index % 4 == 0:  # the client lost the answer: the same request again
                    self._post(client, "retry", (measure, area), path + "/revisions", body, key, f'"{version}"', answer["request_id"])


def read_log(client, auditor: str) -> list[dict]:
    events: list[dict] = []
    position = 1
    while True:
        response = client.get("/audit/log", params={"from": position, "limit": 100_000}, headers={"Authorization": f"Bearer {auditor}"})
        response.raise_for_status()
        page = [json.loads(line) for line in response.text.splitlines() if line.strip()]
        events += page
        if len(page) < 100_000:
            return events
        position = page[-1]["position"] + 1


def check_writes(answers: list[dict], events: list[dict], tag: str, figures: list[tuple[str, str]]) -> dict:
    """Every accepted write in the log exactly once; nothing from refused ones or retries."""
    problems: list[str] = []
    positions = [e["position"] for e in events]
    if positions != list(range(1, len(events) + 1)):
        problems.append("log positions are not 1..N without gaps")
    for before, after in zip(events, events[1:]):
        if after["prev_hash"] != before["hash"]:
            problems.append(f"position {after['position']}: prev_hash is not the hash of position {before['position']}")
            break
    by_request: dict[str, list[dict]] = defaultdict(list)
    for event in events:
        correlation = event["metadata"].get("correlation_id") or ""
        if correlation.startswith(tag + "-"):
            by_request[correlation].append(event)
    by_id = {a["request_id"]: a for a in answers}
    lost = duplicated = stray = 0
    accepted_events = 0
    for answer in answers:
        found = by_request.get(answer["request_id"], [])
        accepted = answer["status"] in (200, 201) and not answer["replayed"]
        if accepted:
            out = answer["body"]
            expected = list(range(out["first_position"], out["last_position"] + 1))
            accepted_events += out["events"]
            if not found:
                lost += 1
                problems.append(f"{answer['request_id']} was answered {answer['status']} but none of its events is in the log")
            elif [e["position"] for e in found] != expected or len(found) != out["events"] or found[-1]["hash"] != out["hash"]:
                duplicated += len(found) > out["events"]
                lost += len(found) < out["events"]
                problems.append(f"{answer['request_id']}: the log holds positions {[e['position'] for e in found]}, the answer said {expected}")
        elif found:
            stray += len(found)
            problems.append(f"{answer['request_id']} ({answer['status']}, replayed={answer['replayed']}) left {len(found)} event(s) in the log")
        if answer["kind"] == "retry":
            original = by_id[answer["retry_of"]]["body"]
            if answer["status"] != 200 or not answer["replayed"] or answer["body"].get("first_position") != original["first_position"]:
                problems.append(f"retry {answer['request_id']} was not answered with the first answer: {answer['status']} {answer['body']}")
    bench_events = sum(len(v) for v in by_request.values())
    if bench_events != accepted_events:
        problems.append(f"the log holds {bench_events} events from the writers; the accepted answers account for {accepted_events}")
    final_values = {}
    for measure, area in figures:
        stream = f"figure-{measure}/{area}/{PERIOD}"
        stream_events = [e for e in events if e["stream"] == stream]
        versions = [e["version"] for e in stream_events]
        if versions != list(range(1, len(versions) + 1)):
            problems.append(f"{stream}: versions {versions} are not 1..n")
        recorded = [e for e in stream_events if e["type"] == "FigureRecorded"]
        revised = [a for a in answers if a["figure"] == (measure, area) and a["kind"] == "revise" and a["status"] == 200]
        if len(recorded) != 1:
            problems.append(f"{stream}: recorded {len(recorded)} times")
        if len(stream_events) != 1 + len(revised):
            problems.append(f"{stream}: {len(stream_events)} events for 1 record and {len(revised)} accepted revisions")
        last = max(revised, key=lambda a: a["body"]["last_position"], default=None)
        final_values[stream] = (stream_events[-1]["data"].get("value") if stream_events else None, last["value"] if last else None)
        if last is not None and final_values[stream][0] != last["value"]:
            problems.append(f"{stream}: the log ends at {final_values[stream][0]}, the last accepted revision set {last['value']}")
    return {
        "events_in_log": len(events),
        "events_from_writers": bench_events,
        "events_accepted": accepted_events,
        "lost": lost,
        "duplicated": duplicated,
        "from_refused_or_retried": stray,
        "problems": problems[:50],
        "problem_count": len(problems),
    }


def writers_case(args, tmp: Path, record: dict, rows: list[dict]) -> None:
    import httpx

    from .on_postgres import create_schema, drop_schema, reachable, server_settings

    case = f"PostgreSQL: {args.writers} concurrent writers through the API (record, revise with If-Match, retry)"
    problem = reachable(args.postgres_url)
    if problem is not None:
        log(f"PostgreSQL skipped: {problem}")
        rows.append({"case": case, "result": "—", "target": "no lost or duplicated event", "passed": None, "note": f"skipped: {problem}"})
        return
    record["postgres_settings"] = server_settings(args.postgres_url)
    url, schema = create_schema(args.postgres_url)
    log(f"PostgreSQL: schema {schema}; preparing the server")
    try:
        with Server(tmp, url, "postgres") as server:
            server.cli("db", "upgrade")
            server.cli("examples", "load")
            tokens = [server.token("data-owner", f"bench desk {desk}") for desk in "ab"]
            auditor = server.token("auditor", "bench auditor")
            server.start()
            if not args.no_bulk:
                bulk_case(server, args, "PostgreSQL", record, rows, targeted=False)
            tag = f"bench-{os.urandom(4).hex()}"
            measures = example_measures()
            figures = [(measures[i % len(measures)], f"bench-writers-a{i:02d}") for i in range(args.shared_figures)]
            start = threading.Barrier(args.writers + 1)
            writers = [
                Writer(n, server.base, tokens[n % len(tokens)], figures, args.revisions, tag, start) for n in range(args.writers)
            ]
            for writer in writers:
                writer.start()
            log(f"PostgreSQL: {args.writers} writers, {len(figures)} shared figures, {args.revisions} revisions each")
            offset = server.log_offset()
            load = load_average()
            start.wait()
            started = perf_counter()
            for writer in writers:
                writer.join()
            seconds = perf_counter() - started
            failures = [w.failure for w in writers if w.failure is not None]
            if failures:
                raise RuntimeError(f"a writer failed: {failures[0]!r}")
            time.sleep(0.3)
            logged = server.answered_since(offset)
            answers = [a for w in writers for a in w.answers]
            with httpx.Client(base_url=server.base, timeout=120) as client:
                events = read_log(client, auditor)
                verified = client.get("/audit/verify", headers={"Authorization": f"Bearer {auditor}"}).json()
                head = client.get("/audit/head", headers={"Authorization": f"Bearer {auditor}"}).json()
            check = check_writes(answers, events, tag, figures)
            if not verified.get("ok") or verified.get("checked") != len(events) or head["position"] != len(events) or head["hash"] != events[-1]["hash"]:
                check["problems"].append(f"verify: {verified}; head {head}; {len(events)} events read")
                check["problem_count"] += 1
    finally:
        drop_schema(args.postgres_url, schema)
    counts = Counter((a["kind"], a["status"], a["replayed"]) for a in answers)
    expected = {("record", 201, False), ("record", 409, False), ("record", 412, False),
                ("revise", 200, False), ("revise", 412, False), ("retry", 200, True)}  # fmt: skip
    unexpected = {f"{k[0]} {k[1]}{' replayed' if k[2] else ''}": v for k, v in counts.items() if k not in expected}
    server_errors = sum(v for k, v in logged.items() if isinstance(k, int) and k >= 500)
    accepted = sum(v for (kind, status, replayed), v in counts.items() if status in (200, 201) and not replayed)
    writes = sum(v for (kind, _, _), v in counts.items())
    summary = {
        "seconds": seconds,
        "writers": args.writers,
        "shared_figures": len(figures),
        "revisions_per_writer": args.revisions,
        "write_requests": writes,
        "accepted_writes": accepted,
        "accepted_writes_per_s": accepted / seconds,
        "write_requests_per_s": writes / seconds,
        "counts": {f"{k[0]} {k[1]}{' replayed' if k[2] else ''}": v for k, v in sorted(counts.items())},
        "unexpected": unexpected,
        "server_logged": {str(k): v for k, v in sorted(logged.items(), key=lambda kv: str(kv[0]))},
        "server_errors": server_errors,
        "verify": verified,
        "load_average_before": load,
        **check,
    }
    record["cases"]["writers_postgres"] = summary
    c = summary["counts"]
    record_409, record_412 = c.get("record 409", 0), c.get("record 412", 0)
    revise_412 = c.get("revise 412", 0)
    passed = not unexpected and not server_errors and check["problem_count"] == 0
    log(f"  {accepted / seconds:,.0f} accepted writes/s ({writes / seconds:,.0f} write requests/s) in {seconds:.1f} s; "
        f"{check['events_in_log']:,} events, {check['problem_count']} problems")  # fmt: skip
    for problem_text in check["problems"][:10]:
        log(f"  problem: {problem_text}")
    result = (
        f"{accepted / seconds:,.0f} accepted writes/s ({writes / seconds:,.0f} write requests/s); "
        f"201: {c.get('record 201', 0)}, 200: {c.get('revise 200', 0)} (+{c.get('retry 200 replayed', 0)} replayed retries), "
        f"409: {record_409}, 412: {revise_412 + record_412}"
        + (f" ({record_412} of them racing to record)" if record_412 else "")
        + f"; lost {check['lost']}, duplicated {check['duplicated']}, from refused or retried {check['from_refused_or_retried']}; "
        f"chain {'verified' if verified.get('ok') else 'BROKEN'} ({verified.get('checked', 0):,} events)"
    )
    if unexpected:
        result += f"; unexpected answers {unexpected}"
    rows.append({"case": case, "result": result, "target": "no lost or duplicated event; chain verifies", "passed": passed})


# -- reporting ------------------------------------------------------------------------------------


def table(rows: list[dict]) -> str:
    return markdown_table(
        ("case", "result", "target", "pass"),
        ("---", "---", "---", ":---:"),
        [(r["case"], r["result"], r["target"], PASSED[r["passed"]]) for r in rows],
    )


def section(record: dict, rows: list[dict]) -> str:
    m = record["machine"]
    w = record["workload"]
    loads = ", ".join(f"{case} {load:.2f}" for case, load in record["load_average_before_case"].items())
    pg = record.get("postgres_settings")
    prose = [
        "`.venv/bin/python -m bench http` records every run in `bench/results/http.json`. "
        "`policing-metrics serve --no-scheduler` runs as a process of its own on 127.0.0.1 (uvicorn with uvloop and "
        "httptools, one worker, one JSON log line per request), its database prepared with the CLI: SQLite on disk "
        "for the scorecard and the bulk import (`db upgrade`, `demo --publish-now`), a fresh PostgreSQL schema for "
        "the writers (`db upgrade`, `examples load`); tokens from `tokens create`. Medians of "
        f"{w['runs']} runs.",
        f"Scorecard: the load generators run in processes of their own on the same {m['cpus']} cores, taking turns, "
        f"{w['seconds']:g} s per run after a {w['warmup']:g} s warm-up: `wrk` (C, one thread: a second one, waiting "
        "for a core the server holds, counts its own wait as latency) and `bench.http_load` (Python asyncio on uvloop, "
        f"raw keep-alive connections) in a closed loop on {w['connections']} connections; and `bench.http_load` in an "
        f"open loop, sending {w['rate']:,.0f} requests/s over {w['open_connections']} connections whatever the "
        "answers, each request's latency counted from when it was due (a closed loop hides a stall: it sends nothing "
        "while it waits). Failed counts every answer other than 200 (the generator's count and the server's own log) "
        "and every socket error; 'in the app' is the p99 of the time the server's log line gives each request.",
        "Bulk: one CSV request, timed end to end by the client, after a warm-up import of 100 figures; each run names "
        "areas no run used before, so every figure is new.",
        f"Writers: {w['writers']} threads with two data-owner tokens record the same {w['shared_figures']} figures "
        "(one wins; the others get 409, or 412 when they raced the winner), then each revises figures at random "
        f"{w['revisions']} times with If-Match from a fresh GET (412 when another writer got there first), sending "
        "every fourth accepted revision again with its Idempotency-Key. The log, read back through `/audit/log`, must "
        "then hold each accepted write's events exactly once at the positions its answer gave, none from a refused "
        "request or a retry, gapless stream versions, each figure's last accepted value; `/audit/verify` must pass.",
        last_run(record, f"SQLite {m['sqlite']}") + (f", PostgreSQL {pg['server_version'].split()[0]}" if pg else "")
        + (f", {m['wrk']}" if m.get("wrk") else "")
        + f", {record['seconds']:.0f} s; 1-minute load average before each case: {loads}.",
    ]
    return section_text(README_HEADING, prose, table(rows), row_notes(rows) + record.get("notes", []))


def notes(record: dict) -> list[str]:
    """What the figures of this run say, in words."""
    said = []
    wide = record["cases"].get("scorecard_wide", {}).get("python") or []
    if wide:
        s = summarise_load(wide)
        c = record["workload"]["wide_connections"]
        said.append(
            f"at {c} connections the server is saturated (its process at ~{statistics.median(r['server_cpu_percent'] for r in wide):.0f}% "
            f"of a core): a closed loop then measures queueing, {c} requests over {s['requests_per_s']:,.0f} req/s "
            f"≈ {1000 * c / s['requests_per_s']:.0f} ms each on average, while the time in the app stays at "
            f"{s['app_p99_ms']:.2f} ms (p99)."
        )
    spread = [r["p99_ms"] for r in record["cases"].get("scorecard_wide", {}).get("wrk") or []]
    if spread and max(spread) > 2 * statistics.median(spread):
        python = record["cases"]["scorecard_wide"]["python"]
        said.append(
            f"`wrk` at {record['workload']['wide_connections']} connections, p99 per run: "
            + ", ".join(f"{p:.0f}" for p in spread)
            + " ms; `bench.http_load` on as many connections, between them: "
            + ", ".join(f"{r['p99_ms']:.0f}" for r in python)
            + " ms. The time in the app stayed the same in every wrk run (p99 at most "
            + f"{max(r['app_p99_ms'] or 0 for r in record['cases']['scorecard_wide']['wrk']):.2f} ms), so the odd "
            "run out waited outside the application: in the event loop's queue, the kernel or wrk itself."
        )
    said.append(
        "what the scorecard needed (service/http): it is answered in the event loop when the released list and "
        "its encoding are cached, with no hop to a worker thread; when the list goes stale one request renews it "
        "while the others are answered from the list it replaces; objects alive at start-up are frozen out of the "
        "collector's full walks (each had stalled every request in flight for ~100 ms)."
    )
    writers = record["cases"].get("writers_postgres")
    if writers and writers["counts"].get("record 412"):
        said.append(
            f"{writers['counts']['record 412']} record request(s) without If-Match got 412 (`stale-version`) when "
            "they raced another writer to create the same figure; the figure then exists, as a 409 would say."
        )
    return said


def parse(argv: list[str] | None) -> argparse.Namespace:
    from .on_postgres import DEFAULT_URL

    parser = argparse.ArgumentParser(prog="python -m bench http", description=__doc__.splitlines()[0])
    common_options(parser, runs=3, write=None)
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each load run")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of load before the measured runs")
    parser.add_argument("--connections", type=int, default=16, help="keep-alive connections of each load generator")
    parser.add_argument("--wide-connections", type=int, default=64, help="connections of the extra runs, for the record (0: none)")
    parser.add_argument("--max-requests", type=int, default=200_000, help="at most this many requests per Python load run")
    parser.add_argument("--rate", type=float, default=TARGET_RPS, help="requests/s of the open-loop runs (0: none)")
    parser.add_argument("--open-connections", type=int, default=64, help="connections of the open-loop runs")
    parser.add_argument("--figures", type=int, default=10_000, help="figures in each bulk import")
    parser.add_argument("--writers", type=int, default=8, help="concurrent writers on PostgreSQL")
    parser.add_argument("--shared-figures", type=int, default=12, help="figures the writers all record and revise")
    parser.add_argument("--revisions", type=int, default=60, help="revisions each writer attempts")
    parser.add_argument("--postgres-url", default=os.environ.get("POLICING_METRICS_BENCH_POSTGRES_URL", DEFAULT_URL))
    parser.add_argument("--no-postgres", action="store_true", help="skip the PostgreSQL cases")
    parser.add_argument("--no-bulk", action="store_true", help="skip the bulk imports")
    parser.add_argument("--no-load", action="store_true", help="skip GET /public/scorecard")
    parser.add_argument("--install-wrk", action=argparse.BooleanOptionalAction, default=True,
                        help="apt-get install wrk when it is missing (as root, or with passwordless sudo)")  # fmt: skip
    parser.add_argument("--tmpdir", type=Path, default=None, help="where the SQLite database goes (a real disk, not tmpfs)")
    args = parser.parse_args(argv)
    write_when_default(
        parser, args, ("runs", "seconds", "connections", "rate", "figures", "writers", "revisions", "no_postgres", "no_bulk", "no_load")
    )
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    started = perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="policing-metrics-bench-http-", dir=args.tmpdir))
    record = new_record(
        tmp,
        workload={
            "runs": args.runs, "seconds": args.seconds, "warmup": args.warmup, "connections": args.connections,
            "wide_connections": args.wide_connections, "rate": args.rate, "open_connections": args.open_connections,
            "figures": args.figures, "writers": args.writers,
            "shared_figures": args.shared_figures, "revisions": args.revisions,
        },  # fmt: skip
        load_average_before_case={},
        cases={},
        notes=[],
    )
    rows: list[dict] = []
    try:
        wrk = None if args.no_load else ensure_wrk(args.install_wrk)
        record["machine"]["wrk"] = subprocess.run([wrk, "--version"], capture_output=True, text=True).stdout.split("[")[0].strip() if wrk else None
        if not (args.no_load and args.no_bulk):
            with Server(tmp, f"sqlite:///{tmp / 'http.db'}", "sqlite") as server:
                log("SQLite: db upgrade, demo --publish-now, tokens create")
                server.cli("db", "upgrade")
                server.cli("demo", "--publish-now")
                server.start()
                log(f"serving on {server.base} (pid {server.process.pid})")
                if not args.no_load:
                    quiet(args.wait_for_quiet, record, "scorecard")
                    scorecard_case(server, args, wrk, record, rows)
                if not args.no_bulk:
                    quiet(args.wait_for_quiet, record, "bulk")
                    bulk_case(server, args, "SQLite", record, rows, targeted=True)
                record["cases"]["sqlite_server_log"] = {str(k): v for k, v in server.answered_since(0).items()}
        if not args.no_postgres:
            quiet(args.wait_for_quiet, record, "postgres")
            writers_case(args, tmp, record, rows)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    record["machine"]["load_average_at_end"] = list(os.getloadavg())
    record["seconds"] = round(perf_counter() - started, 1)
    record["rows"] = [{k: v for k, v in r.items() if k not in ("runs",)} for r in rows]
    record["notes"] = notes(record)
    missed = [r["case"] for r in rows if r["passed"] is False]
    return conclude("http", record, table(rows), missed, section(record, rows), README_HEADING, write=args.write)


if __name__ == "__main__":
    sys.exit(main())
