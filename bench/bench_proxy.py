"""The proxy benchmark: public reads through HAProxy in front of three `serve` processes against one.

    python -m bench proxy [--runs 3] [--seconds 8] [--connections 32] [--wait-for-quiet SECONDS] [--write/--no-write]

One SQLite database on disk, prepared with the CLI (`db upgrade`, `demo --publish-now`); three
`policing-metrics serve --no-scheduler` on free ports of 127.0.0.1, sharing it and the published
site; HAProxy (Debian's `haproxy`) with deploy/haproxy/haproxy.cfg, as the failure drill runs it,
bound to 127.0.0.1. "Three" sends API_SERVER_1..3 to the three processes; "one" sends all three
server lines to the first, so both pass through the same proxy with the same checks. The load is
`bench.http_load` (asyncio, keep-alive) on GET /public/scorecard, bounded by `--seconds` and a
request count, in a process of its own; the two set-ups take turns within each run (the order
alternating), medians of `--runs`. Every answer other than 200 counts as failed. The machine has
2 cores, shared by the proxy, the servers and the load: the ratio is reported as measured.

Then the writes: a PostgreSQL schema of its own (`db upgrade`, `examples load`, a data owner's
token), three `serve` processes on it behind the same two proxies, and `--writers` threads POSTing
new figures (each its own area, with an Idempotency-Key) for `--seconds`: acknowledged (201)
submissions per second and their latency, three against one, taking turns; the schema is dropped.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from time import perf_counter

from .bench_http import PERIOD, SCORECARD, Server, free_port, run_python_load
from .report import ROOT, bullets, conclude, last_run, log, markdown_table, quiet, shared_machine, wrapped
from .runs import common_options, new_record, stop_process, wait_until_answering

README_HEADING = "## Benchmarks: proxy"
HAPROXY_CFG = ROOT / "deploy" / "haproxy" / "haproxy.cfg"


class Proxy:
    """HAProxy with deploy/haproxy/haproxy.cfg on 127.0.0.1 in front of `servers` (host:port each, three lines)."""

    def __init__(self, directory: Path, servers: list[str], name: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "HAPROXY_BIND": f"127.0.0.1:{self.port}",
            "HAPROXY_STATS_SOCKET": str(directory / f"{name}-haproxy.sock"),
            **{f"API_SERVER_{n + 1}": server for n, server in enumerate(servers)},
        }
        self.log = open(directory / f"{name}-haproxy.log", "ab")
        self.process = subprocess.Popen(["haproxy", "-W", "-db", "-f", str(HAPROXY_CFG)], env=env, stdout=self.log, stderr=self.log)

    def wait_ready(self, path: str = SCORECARD, timeout: float = 60) -> None:
        wait_until_answering(
            self.process, self.base + path, timeout, 0.3,
            lambda: f"haproxy exited with {self.process.returncode}",
            lambda: f"haproxy did not answer 200 on {path} within {timeout:g} s",
        )  # fmt: skip

    def stop(self) -> None:
        stop_process(self.process, signal.SIGUSR1, 10)  # HAProxy's graceful stop
        self.log.close()


def submit_figures(base: str, token: str, measures: list[str], tag: str, writers: int, seconds: float, limit: int) -> dict:
    """`writers` threads POST new figures (each its own area) for `seconds` (at most `limit` each); acknowledged per second."""
    import httpx

    answers: list[list[tuple[int, float]]] = [[] for _ in range(writers)]
    start = threading.Barrier(writers + 1)
    stop_at: list[float] = []

    def write(number: int) -> None:
        with httpx.Client(base_url=base, timeout=60, headers={"Authorization": f"Bearer {token}"}) as client:
            start.wait()
            for index in range(limit):
                if time.monotonic() >= stop_at[0]:
                    return
                body = {"measure": measures[index % len(measures)], "area": f"{tag}-w{number}-{index}", "period": PERIOD, "value": str(index)}
                began = perf_counter()
                try:
                    status = client.post("/figures", json=body, headers={"Idempotency-Key": f"{tag}-{number}-{index}"}).status_code
                except httpx.HTTPError:
                    status = 0
                answers[number].append((status, perf_counter() - began))

    threads = [threading.Thread(target=write, args=(n,), daemon=True) for n in range(writers)]
    for thread in threads:
        thread.start()
    began = time.monotonic()
    stop_at.append(began + seconds)
    start.wait()
    for thread in threads:
        thread.join(seconds + 120)
    elapsed = time.monotonic() - began
    flat = [answer for per_writer in answers for answer in per_writer]
    acknowledged = sorted(took for status, took in flat if status == 201)
    return {
        "acknowledged_per_s": len(acknowledged) / elapsed,
        "acknowledged": len(acknowledged),
        "failed": len(flat) - len(acknowledged),
        "p50_ms": 1000 * acknowledged[len(acknowledged) // 2] if acknowledged else None,
        "p99_ms": 1000 * acknowledged[int(0.99 * len(acknowledged))] if acknowledged else None,
        "seconds": elapsed,
    }


def writes_case(args, tmp: Path, record: dict) -> dict | None:
    """Figure submissions through HAProxy, on PostgreSQL: three `serve` processes against one."""
    from .bench_http import example_measures
    from .on_postgres import DEFAULT_URL, create_schema, drop_schema, reachable

    problem = reachable(DEFAULT_URL)
    if problem is not None:
        log(f"PostgreSQL skipped: {problem}")
        return None
    url, schema = create_schema(DEFAULT_URL)
    servers: list[Server] = []
    proxies: dict[str, Proxy] = {}
    runs: dict[str, list[dict]] = {"three": [], "one": []}
    try:
        for n in range(3):
            server = Server(tmp, url, f"pg-api{n + 1}")
            if servers:
                server.env.update(POLICING_METRICS_PUBLISH_TO=servers[0].env["POLICING_METRICS_PUBLISH_TO"])
            servers.append(server)
        log(f"PostgreSQL (schema {schema}): db upgrade, examples load; 3 × serve --no-scheduler")
        servers[0].cli("db", "upgrade")
        servers[0].cli("examples", "load")
        token = servers[0].token("data-owner", "bench proxy writer")
        for server in servers:
            server.start()
        addresses = [f"127.0.0.1:{s.port}" for s in servers]
        proxies["three"] = Proxy(tmp, addresses, "pg-three")
        proxies["one"] = Proxy(tmp, addresses[:1], "pg-one")
        measures = example_measures()
        for name, proxy in proxies.items():
            proxy.wait_ready("/readyz")
            submit_figures(proxy.base, token, measures, f"warm-{name}", args.writers, args.warmup, 10**6)
        for run in range(args.runs):
            order = ("three", "one") if run % 2 == 0 else ("one", "three")
            for name in order:
                result = submit_figures(proxies[name].base, token, measures, f"r{run}-{name}", args.writers, args.seconds, args.max_writes)
                runs[name].append(result)
                log(f"  {name} behind HAProxy, PostgreSQL: {result['acknowledged_per_s']:,.0f} acknowledged figures/s "
                    f"(p50 {result['p50_ms'] or 0:.1f} ms, p99 {result['p99_ms'] or 0:.1f} ms), failed {result['failed']}")  # fmt: skip
    finally:
        for proxy in proxies.values():
            proxy.stop()
        for server in servers:
            server.stop()
        drop_schema(DEFAULT_URL, schema)
    return {
        name: {
            "acknowledged_per_s": statistics.median(r["acknowledged_per_s"] for r in results),
            "p50_ms": statistics.median(r["p50_ms"] or 0 for r in results),
            "p99_ms": statistics.median(r["p99_ms"] or 0 for r in results),
            "failed": sum(r["failed"] for r in results),
            "acknowledged": sum(r["acknowledged"] for r in results),
            "runs": results,
        }
        for name, results in runs.items()
    }


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench proxy", description=__doc__.split("\n\n")[0])
    common_options(parser, runs=3)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--warmup", type=float, default=6.0, help="Seconds of load first (the configuration's slowstart is 5 s).")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--max-requests", type=int, default=200_000, help="A bound on each run's requests.")
    parser.add_argument("--writers", type=int, default=8, help="Threads submitting figures in the PostgreSQL case.")
    parser.add_argument("--max-writes", type=int, default=5_000, help="A bound on each writer's submissions per run.")
    parser.add_argument("--no-writes", dest="writes", action="store_false", help="Skip the PostgreSQL submissions case.")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if shutil.which("haproxy") is None:
        raise SystemExit("haproxy is not installed (Debian: apt-get install haproxy)")
    started = perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="bench-proxy-", dir=os.environ.get("BENCH_TMPDIR")))
    record = new_record(
        tmp, benchmark="proxy", workload={k: getattr(args, k) for k in ("runs", "seconds", "warmup", "connections", "max_requests")}, cases={}
    )
    servers: list[Server] = []
    proxies: dict[str, Proxy] = {}
    runs: dict[str, list[dict]] = {"three": [], "one": []}
    try:
        database = f"sqlite:///{tmp / 'proxy.db'}"
        for n in range(3):
            server = Server(tmp, database, f"api{n + 1}")
            if servers:  # one published site for all three, as behind a real proxy
                server.env.update(
                    POLICING_METRICS_PUBLISH_TO=servers[0].env["POLICING_METRICS_PUBLISH_TO"],
                    POLICING_METRICS_SITE_URL=servers[0].env["POLICING_METRICS_SITE_URL"],
                )
            servers.append(server)
        log("SQLite: db upgrade, demo --publish-now; 3 × serve --no-scheduler")
        servers[0].cli("db", "upgrade")
        servers[0].cli("demo", "--publish-now")
        for server in servers:
            server.start()
        addresses = [f"127.0.0.1:{s.port}" for s in servers]
        proxies["three"] = Proxy(tmp, addresses, "three")
        proxies["one"] = Proxy(tmp, addresses[:1], "one")
        for proxy in proxies.values():
            proxy.wait_ready()
            run_python_load(proxy.base + SCORECARD, args.connections, args.warmup, args.max_requests)
        for run in range(args.runs):
            quiet(args.wait_for_quiet, record, f"run {run}")
            order = ("three", "one") if run % 2 == 0 else ("one", "three")
            for name in order:
                result = run_python_load(proxies[name].base + SCORECARD, args.connections, args.seconds, args.max_requests)
                failed = result.get("non_200", 0) + sum(result.get("errors", {}).values())
                result["failed_requests"] = failed
                runs[name].append(result)
                log(f"  {name} behind HAProxy: {result['requests_per_s']:,.0f} req/s, p50 {result['p50_ms']:.1f} ms, "
                    f"p99 {result['p99_ms']:.1f} ms, failed {failed} of {result['requests']:,}")  # fmt: skip
        for proxy in proxies.values():
            proxy.stop()
        for server in servers:
            server.stop()
        proxies, servers = {}, []
        if args.writes:
            quiet(args.wait_for_quiet, record, "writes")
            writes = writes_case(args, tmp, record)
            if writes is not None:
                record["cases"]["writes"] = writes
    finally:
        for proxy in proxies.values():
            proxy.stop()
        for server in servers:
            server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    summary = {
        name: {
            "requests_per_s": statistics.median(r["requests_per_s"] for r in results),
            "p50_ms": statistics.median(r["p50_ms"] for r in results),
            "p99_ms": statistics.median(r["p99_ms"] for r in results),
            "failed_requests": sum(r["failed_requests"] for r in results),
            "requests": sum(r["requests"] for r in results),
            "runs": results,
        }
        for name, results in runs.items()
    }
    ratio = summary["three"]["requests_per_s"] / summary["one"]["requests_per_s"]
    record["cases"].update(summary, ratio=ratio)
    record["seconds"] = perf_counter() - started
    record["machine"]["load_average_at_end"] = list(os.getloadavg())
    three, one = summary["three"], summary["one"]
    rows = [
        (
            f"GET {SCORECARD} through HAProxy, {args.connections} connections, {args.seconds:g} s: 3 `serve` processes vs 1",
            f"{three['requests_per_s']:,.0f} req/s (p50 {three['p50_ms']:.1f} ms, p99 {three['p99_ms']:.1f} ms; "
            f"{three['failed_requests']} failed of {three['requests']:,})",
            f"{one['requests_per_s']:,.0f} req/s (p50 {one['p50_ms']:.1f} ms, p99 {one['p99_ms']:.1f} ms; "
            f"{one['failed_requests']} failed of {one['requests']:,})",
            f"{ratio:.2f}×",
            "(report, 2 cores)",
        )
    ]
    writes = record["cases"].get("writes")
    if writes:
        w3, w1 = writes["three"], writes["one"]
        writes["ratio"] = w3["acknowledged_per_s"] / w1["acknowledged_per_s"] if w1["acknowledged_per_s"] else None
        rows.append(
            (
                f"POST /figures through HAProxy on PostgreSQL, {args.writers} writers, {args.seconds:g} s: 3 `serve` processes vs 1",
                f"{w3['acknowledged_per_s']:,.0f} acknowledged/s (p50 {w3['p50_ms']:.1f} ms, p99 {w3['p99_ms']:.1f} ms; "
                f"{w3['failed']} failed)",
                f"{w1['acknowledged_per_s']:,.0f} acknowledged/s (p50 {w1['p50_ms']:.1f} ms, p99 {w1['p99_ms']:.1f} ms; "
                f"{w1['failed']} failed)",
                "—" if writes["ratio"] is None else f"{writes['ratio']:.2f}×",
                "(report, 2 cores)",
            )
        )
    table_text = markdown_table(("case", "three", "one", "ratio", "target"), ("---", "---:", "---:", "---:", "---"), rows)
    missed = [f"{three['failed_requests'] + one['failed_requests']} failed public reads"] if three["failed_requests"] + one["failed_requests"] else []
    if writes and writes["three"]["failed"] + writes["one"]["failed"]:
        missed.append(f"{writes['three']['failed'] + writes['one']['failed']} figure submissions not acknowledged")
    return conclude("proxy", record, table_text, missed, section(record, table_text, args), README_HEADING, write=args.write)


def section(record: dict, table_text: str, args) -> str:
    info = record["machine"]
    loads = record.get("load_average_before_case", {})
    lines = [README_HEADING, ""]
    lines += wrapped(
        "`.venv/bin/python -m bench proxy` records every run in `bench/results/proxy.json`: GET /public/scorecard "
        "through HAProxy (deploy/haproxy/haproxy.cfg, as the failure drill runs it) in front of three `serve "
        "--no-scheduler` processes on one SQLite database, against the same configuration naming one of them "
        f"only; `bench.http_load` on {args.connections} keep-alive connections for {args.seconds:g} s per run, the "
        f"two taking turns, medians of {args.runs} runs. Then the same on a PostgreSQL schema of its own: "
        f"{args.writers} threads POST /figures, each a new figure with its Idempotency-Key, for {args.seconds:g} s; "
        "acknowledged (201) submissions per second and their latency. All on 127.0.0.1.",
        100,
    )
    lines.append("")
    lines += wrapped(
        last_run(record, f"{record['seconds']:.0f} s; 1-minute load average before each run ")
        + ", ".join(f"{v:.2f}" for v in loads.values()) + ".",
        100,
    )
    lines += ["", table_text, ""]
    notes = [
        f"the proxy, the servers and the load generator share {info['cpus']} cores: one `serve` process already "
        "keeps one core busy, so three can at most use the other as well, less what HAProxy and the load take.",
    ]
    writes = record["cases"].get("writes")
    if writes:
        notes.append(
            "figure submissions: every append takes the log's one append lock (gapless positions in commit order), so "
            "API processes add no write capacity beyond their CPU share; here, on 2 loaded cores, three did worse "
            "than one (more processes contending for the cores and the lock). Submissions per run, three: "
            + ", ".join(f"{r['acknowledged_per_s']:.0f}/s" for r in writes["three"]["runs"])
            + "; one: " + ", ".join(f"{r['acknowledged_per_s']:.0f}/s" for r in writes["one"]["runs"]) + "."
        )
    notes.append(
        "public reads per run, three: " + ", ".join(f"{r['requests_per_s']:.0f}" for r in record["cases"]["three"]["runs"])
        + "; one: " + ", ".join(f"{r['requests_per_s']:.0f}" for r in record["cases"]["one"]["runs"]) + " req/s."
    )
    notes += shared_machine(loads.values(), info["cpus"], "absolute rates are lower than on an idle machine.")
    lines += bullets(notes, 98)
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
