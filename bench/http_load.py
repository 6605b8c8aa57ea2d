"""A small HTTP/1.1 load generator, run as a process of its own by the HTTP benchmark.

    python -m bench.http_load URL [--connections 16] [--seconds 10] [--max-requests 200000] [--rate R]

Keeps `--connections` keep-alive connections busy with GET URL, one request in flight on each
(a closed loop, like wrk), for `--seconds` or until `--max-requests` have completed. Latency runs
from writing a request to having read its whole response. With `--rate R` the loop is open
instead: request i is due at start + i/R whatever the answers before it, goes out on the first
idle connection, and its latency runs from when it was due, so a stalled server is not hidden by
a generator that waited for it (no coordinated omission). Prints one JSON object: requests,
seconds, requests/s, p50/p90/p99/max in ms, the statuses seen, and errors (a connection that
failed or closed early, or a response that did not parse). Raw asyncio protocols, on uvloop when
it is installed: with httpx the client, not the server, would be the bottleneck on two cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import Counter, deque
from time import perf_counter_ns
from urllib.parse import urlsplit


class Run:
    """What every connection of one run shares: the request, the clock, the tallies."""

    def __init__(self, request: bytes, seconds: float, max_requests: int) -> None:
        self.request = request
        self.deadline = time.perf_counter() + seconds
        self.max_requests = max_requests
        self.started_requests = 0
        self.latencies_ns: list[int] = []
        self.statuses: Counter[int] = Counter()
        self.errors: Counter[str] = Counter()

        self.due: deque[int] = deque()  # open loop: when each request waiting for a connection was due
        self.idle: deque[Connection] = deque()  # first in, first out: every connection stays in use
        self.open_loop = False
        self.scheduling = False
        self.closed_idle = 0

    def may_send(self) -> bool:
        return self.started_requests < self.max_requests and time.perf_counter() < self.deadline

    async def schedule(self, rate: float, seconds: float) -> None:
        """Open loop: a request due every 1/rate s, rate x seconds of them (at most max_requests), each
        handed to an idle connection or queued for the next one to come free."""
        self.open_loop = self.scheduling = True
        start = perf_counter_ns()
        interval = 1e9 / rate
        total = min(self.max_requests, int(rate * seconds))
        number = 0
        while number < total:
            now = perf_counter_ns()
            while number < total and start + number * interval <= now:
                self.due.append(int(start + number * interval))
                number += 1
            while self.due and self.idle:
                self.idle.popleft().send(self.due.popleft())
            await asyncio.sleep(max(0.0, (start + number * interval - perf_counter_ns()) / 1e9))
        self.scheduling = False
        for connection in self.idle:
            connection.finish()
        self.idle.clear()


class Connection(asyncio.Protocol):
    def __init__(self, run: Run, done: asyncio.Future) -> None:
        self.run = run
        self.done = done
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.need: int | None = None
        self.status = 0
        self.sent_at = 0
        self.in_flight = False

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.next()

    def next(self) -> None:
        """Closed loop: send again. Open loop: take the oldest request due, or wait to be handed one."""
        run = self.run
        if not run.open_loop:
            if run.may_send():
                self.send(perf_counter_ns())
            else:
                self.finish()
        elif run.due:
            self.send(run.due.popleft())
        elif run.scheduling:
            run.idle.append(self)
        else:
            self.finish()

    def send(self, due_ns: int) -> None:
        self.run.started_requests += 1
        self.buffer.clear()
        self.need = None
        self.in_flight = True
        self.sent_at = due_ns
        self.transport.write(self.run.request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.need is None:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end]).decode("latin-1").split("\r\n")
            try:
                self.status = int(head[0].split(" ", 2)[1])
                length = next(int(line.split(":", 1)[1]) for line in head[1:] if line.lower().startswith("content-length:"))
            except (IndexError, ValueError, StopIteration):
                self.fail("unparsable response (no status or no Content-Length)")
                return
            self.need = end + 4 + length
        if len(self.buffer) >= self.need:
            latency = perf_counter_ns() - self.sent_at
            self.in_flight = False
            if len(self.buffer) > self.need:
                self.fail("more bytes than the response's Content-Length")
                return
            self.run.latencies_ns.append(latency)
            self.run.statuses[self.status] += 1
            self.next()

    def fail(self, why: str) -> None:
        self.run.errors[why] += 1
        self.in_flight = False
        self.finish()

    def finish(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()
        if not self.done.done():
            self.done.set_result(None)

    def connection_lost(self, exc) -> None:
        if self in self.run.idle:  # closed while it had nothing to do (a keep-alive timeout): not a failure
            self.run.idle.remove(self)
            self.run.closed_idle += 1
        if self.in_flight:
            self.run.errors[f"connection lost mid-response: {exc or 'closed by the server'}"] += 1
            self.in_flight = False
        if not self.done.done():
            self.done.set_result(None)


async def drive(url: str, connections: int, seconds: float, max_requests: int, rate: float | None = None) -> dict:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    request = f"GET {target} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: bench.http_load\r\nAccept: */*\r\n\r\n".encode()
    loop = asyncio.get_running_loop()
    run = Run(request, seconds, max_requests)
    run.open_loop = rate is not None
    run.scheduling = run.open_loop  # connections made before the scheduler starts wait to be handed requests
    finished = []
    started = time.perf_counter()
    for _ in range(connections):
        done = loop.create_future()
        try:
            await loop.create_connection(lambda done=done: Connection(run, done), host, port)
        except OSError as exc:
            run.errors[f"connect: {exc}"] += 1
            continue
        finished.append(done)
    if rate is not None:
        started = time.perf_counter()
        await run.schedule(rate, seconds)
    grace = seconds + 10
    try:
        await asyncio.wait_for(asyncio.gather(*finished), timeout=grace)
    except asyncio.TimeoutError:
        run.errors["no answer within the run's duration + 10 s"] += sum(1 for f in finished if not f.done())
    elapsed = time.perf_counter() - started
    latencies = sorted(run.latencies_ns)

    def percentile(q: float) -> float | None:
        if not latencies:
            return None
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] / 1e6

    return {
        "generator": "bench.http_load",
        "loop": type(loop).__module__.split(".")[0],
        "connections": connections,
        "rate": rate,
        "requests": len(latencies),
        "seconds": elapsed,
        "requests_per_s": len(latencies) / elapsed if elapsed else 0.0,
        "p50_ms": percentile(0.50),
        "p90_ms": percentile(0.90),
        "p99_ms": percentile(0.99),
        "max_ms": latencies[-1] / 1e6 if latencies else None,
        "statuses": {str(k): v for k, v in sorted(run.statuses.items())},
        "non_200": sum(v for k, v in run.statuses.items() if k != 200),
        "errors": dict(run.errors),
        "connections_closed_while_idle": run.closed_idle,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.http_load", description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--max-requests", type=int, default=200_000)
    parser.add_argument("--rate", type=float, default=None, help="open loop: requests per second, whatever the answers")
    args = parser.parse_args(argv)
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:
        runner = asyncio.run
    result = runner(drive(args.url, args.connections, args.seconds, args.max_requests, args.rate))
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
