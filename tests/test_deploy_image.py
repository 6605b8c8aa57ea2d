"""The container image, built and run here: read-only, as user 10001, against the local PostgreSQL.

Slow (a few minutes: the wheelhouse, the build, and the first time a base image made by mmdebstrap), so it runs in
`make test-deploy` (pytest -m deploy), not in `make test`. The engine is podman (ENGINE=docker works the same way).
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
import uuid

import httpx
import psycopg
import pytest

from .conftest import POSTGRES_URL, require_postgres
from .containers import LIMITS, ROOT, engine
from .serving import free_port

# Building the image takes minutes, more on a loaded machine: the timeout covers the module's build fixture.
pytestmark = [pytest.mark.deploy, pytest.mark.postgres, pytest.mark.timeout(1800)]

GRACE_SECONDS = 20


@pytest.fixture(scope="module")
def image(container_image) -> str:
    return container_image


@pytest.fixture
def database() -> str:
    require_postgres()
    schema = f"img_{uuid.uuid4().hex[:10]}"
    admin_url = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
    yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f"DROP SCHEMA {schema} CASCADE")


def run_flags(database_url: str, port: int) -> list[str]:
    # The host's network so the container reaches PostgreSQL on 127.0.0.1; it listens there too, nowhere else.
    return [
        "--read-only", "--tmpfs", "/tmp", "--user", "10001", "--network", "host", *LIMITS,
        "--env", f"POLICING_METRICS_DATABASE_URL={database_url}",
        "--env", "POLICING_METRICS_HOST=127.0.0.1",
        "--env", f"POLICING_METRICS_PORT={port}",
        "--env", f"POLICING_METRICS_SHUTDOWN_TIMEOUT={GRACE_SECONDS}",
    ]  # fmt: skip


def test_the_image_is_labelled_runs_as_10001_and_serves_by_default(image):
    inspected = json.loads(engine("image", "inspect", image).stdout)[0]
    config = inspected["Config"]
    assert config["User"] == "10001:10001"
    assert config["Entrypoint"] == ["policing-metrics"] and config["Cmd"] == ["serve"]
    labels = config["Labels"]
    revision = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    assert labels["org.opencontainers.image.version"] == "0.1.0"
    assert labels["org.opencontainers.image.revision"] == revision
    assert labels["org.opencontainers.image.source"]
    healthcheck = inspected.get("Healthcheck") or config.get("Healthcheck")
    assert healthcheck and "/healthz" in " ".join(healthcheck["Test"])
    without_pip = engine("run", "--rm", *LIMITS, "--entrypoint", "python3", image, "-c", "import pip", check=False)
    assert without_pip.returncode != 0, "pip should have stayed in the install stage"


def test_upgrade_then_serve_read_only_answers_health_and_drains_a_request_in_flight_on_sigterm(image, database):
    port = free_port()
    upgraded = engine("run", "--rm", *run_flags(database, port), image, "db", "upgrade")
    assert "database schema at" in upgraded.stdout
    again = engine("run", "--rm", *run_flags(database, port), image, "db", "upgrade")  # a second migrate is harmless
    assert "database schema at" in again.stdout
    name = f"pm-test-{uuid.uuid4().hex[:8]}"
    engine("run", "--detach", "--name", name, *run_flags(database, port), image)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, engine("logs", name).stderr
            time.sleep(0.5)
        assert httpx.get(f"{base}/readyz", timeout=5).status_code == 200
        assert engine("healthcheck", "run", name, check=False).returncode == 0  # the image's own HEALTHCHECK

        body = b'{"figures": []}'
        connection = socket.create_connection(("127.0.0.1", port), timeout=30)
        connection.sendall(
            b"POST /figures HTTP/1.1\r\nHost: policing-metrics\r\nContent-Type: application/json\r\n"
            + b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body)
            + body[:5]
        )
        time.sleep(0.5)
        stopping = time.monotonic()
        engine("kill", "--signal", "TERM", name)
        time.sleep(1)
        assert json.loads(engine("inspect", name).stdout)[0]["State"]["Running"], "exited with a request in flight"
        connection.sendall(body[5:])
        answer = connection.recv(65536)
        connection.close()
        assert answer.startswith(b"HTTP/1.1 401 "), answer[:200]
        exit_code = engine("wait", name, timeout=GRACE_SECONDS + 10).stdout.strip()
        assert exit_code == "0", engine("logs", name).stderr
        assert time.monotonic() - stopping < GRACE_SECONDS
        logs = engine("logs", name)
        lines = [json.loads(line) for line in (logs.stdout + logs.stderr).splitlines() if line.startswith("{")]
        assert any(line.get("event") == "serve.listening" for line in lines)  # JSON logs by default
    finally:
        engine("rm", "--force", "--volumes", name, check=False)
