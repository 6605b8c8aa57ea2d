"""`policing-metrics serve` as a real process on 127.0.0.1, for tests of what only a process shows (signals, headers)."""

from __future__ import annotations

import functools
import http.server
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

STARTUP_SECONDS = 60


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def cli(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "service", *args], env={**os.environ, **env}, capture_output=True, text=True, timeout=timeout
    )


class Serving:
    """One `serve` process; its JSON log lines are kept in a file."""

    def __init__(self, directory: Path, env: dict[str, str], *args: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = directory / f"serve-{self.port}.log"
        self.env = {**os.environ, "POLICING_METRICS_LOG_FORMAT": "json", **env}
        self.args = ["serve", "--no-scheduler", "--port", str(self.port), *args]
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> "Serving":
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen([sys.executable, "-m", "service", *self.args], env=self.env, stdout=log, stderr=log)
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"serve exited {self.process.returncode}:\n{self.log_path.read_text()}"
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.2)
        raise AssertionError(f"serve did not answer within {STARTUP_SECONDS} s:\n{self.log_path.read_text()}")

    def __exit__(self, *exc) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def terminate(self) -> None:
        self.process.send_signal(signal.SIGTERM)

    def wait(self, timeout: float) -> int:
        return self.process.wait(timeout)

    def log_lines(self) -> list[dict]:
        lines = []
        for line in self.log_path.read_text().splitlines():
            try:
                lines.append(json.loads(line))
            except ValueError:
                pass
        return lines


class StaticSite:
    """A published folder served over HTTP on 127.0.0.1 from a thread, as a web server or a bucket serves it
    to the public (no listing): `with StaticSite(path) as url:`."""

    def __init__(self, directory: Path) -> None:
        handler = functools.partial(_QuietHandler, directory=str(directory))
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        return f"http://127.0.0.1:{self.server.server_address[1]}/"

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(10)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args) -> None:
        pass

    def list_directory(self, path):  # a bucket or CDN lists nothing: neither does this
        self.send_error(404)
        return None
