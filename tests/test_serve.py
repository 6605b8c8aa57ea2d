"""`serve` as operators run it behind a proxy: whose forwarded headers it believes, and how it stops."""

from __future__ import annotations

import socket
import time

import httpx
import pytest

from .serving import Serving, cli

pytestmark = pytest.mark.slow


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    env = {"POLICING_METRICS_DATABASE_URL": f"sqlite:///{tmp_path / 'store.db'}", "POLICING_METRICS_PUBLISH_TO": str(tmp_path / "site")}
    assert cli(env, "db", "upgrade").returncode == 0
    return env


def client_logged_for(server: Serving, request_id: str) -> str:
    return next(line["client"] for line in server.log_lines() if line.get("request_id") == request_id and line.get("event") == "http.request")


def test_a_forwarded_client_address_is_believed_only_from_a_trusted_proxy(tmp_path, env):
    forwarded = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}
    with Serving(tmp_path, env) as trusting:  # the default trusts 127.0.0.1, where this test's requests come from
        httpx.get(f"{trusting.base}/healthz", headers={**forwarded, "X-Request-ID": "via-trusted"})
        time.sleep(0.2)
        assert client_logged_for(trusting, "via-trusted") == "203.0.113.7"
    with Serving(tmp_path, {**env, "POLICING_METRICS_FORWARDED_ALLOW_IPS": "192.0.2.1"}) as wary:
        httpx.get(f"{wary.base}/healthz", headers={**forwarded, "X-Request-ID": "via-untrusted"})
        time.sleep(0.2)
        assert client_logged_for(wary, "via-untrusted") == "127.0.0.1"


def half_sent_request(server: Serving, body: bytes) -> socket.socket:
    """A POST whose headers and first half of the body are sent: the request is in flight until the rest comes."""
    connection = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    connection.sendall(
        b"POST /figures HTTP/1.1\r\nHost: policing-metrics\r\nContent-Type: application/json\r\n"
        + b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body)
        + body[: len(body) // 2]
    )
    time.sleep(0.5)  # the server has read the headers and started the request
    return connection


def test_sigterm_lets_a_request_in_flight_finish_and_then_exits_0(tmp_path, env):
    body = b'{"figures": []}'
    with Serving(tmp_path, env, "--shutdown-timeout", "20") as server:
        connection = half_sent_request(server, body)
        server.terminate()
        time.sleep(1)
        assert server.process.poll() is None, "serve exited with a request in flight"
        with pytest.raises(httpx.TransportError):  # no new connections while it drains
            httpx.get(f"{server.base}/healthz", timeout=2)
        connection.sendall(body[len(body) // 2 :])
        answer = connection.recv(65536)
        connection.close()
        assert answer.startswith(b"HTTP/1.1 401 "), answer[:200]  # answered in full (no token was sent)
        assert server.wait(20) == 0


def test_a_request_that_does_not_finish_within_the_shutdown_timeout_does_not_hold_the_process(tmp_path, env):
    with Serving(tmp_path, env, "--shutdown-timeout", "2") as server:
        connection = half_sent_request(server, b'{"figures": []}')
        started = time.monotonic()
        server.terminate()
        assert server.wait(15) == 0
        assert 1.5 <= time.monotonic() - started < 10
        connection.close()
