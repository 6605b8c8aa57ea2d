"""The Compose stack (deploy/compose) brought up here with podman-compose, used through HAProxy, and taken down.

From nothing: this checkout's image, the stand-in images of deploy/compose/local-images.sh (no registry here),
`up -d`; then migrate exited 0, every health check passes, HAProxy answers on 127.0.0.1 only, nothing is public
before its release, a release scheduled a minute ahead is published once by one of the two schedulers to SeaweedFS,
the site in the bucket checks against the log, and reads keep being answered with an API replica killed. `down -v`
always runs at the end. Minutes, so marker `deploy` (`make test-deploy`), not `make test`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from .containers import ENGINE, ROOT, engine, require_base_image
from .serving import free_port

pytestmark = [pytest.mark.deploy, pytest.mark.timeout(2400)]

COMPOSE = ROOT / "deploy" / "compose"
PROJECT = f"pm-compose-{uuid.uuid4().hex[:6]}"
API_REPLICAS = 3
EDITION = "2022-02"  # the example statement's edition (examples/wmp-2022-02)
REASON = "the Compose test releases within minutes"


def podman_compose() -> str:
    found = shutil.which("podman-compose") or str(Path(sys.executable).with_name("podman-compose"))
    if ENGINE != "podman" or not Path(found).exists():
        pytest.fail("the Compose test runs podman-compose (the test extras) with podman")
    return found


def container(service: str, number: int = 1) -> str:
    return f"{PROJECT}_{service}_{number}"


def wait_for(what: str, check, seconds: float, every: float = 2.0):
    deadline = time.monotonic() + seconds
    while True:
        result = check()
        if result:
            return result
        assert time.monotonic() < deadline, f"{what}: not within {seconds:g} s"
        time.sleep(every)


def get(url: str) -> httpx.Response | None:
    try:
        return httpx.get(url, timeout=10)
    except httpx.TransportError:
        return None


@pytest.fixture(scope="module")
def stack(container_image, tmp_path_factory) -> Iterator[dict]:
    require_base_image()
    weed = os.environ.get("WEED") or shutil.which("weed") or str(Path(sys.executable).with_name("weed"))
    built = subprocess.run(
        [COMPOSE / "local-images.sh"], env={**os.environ, "WEED": weed}, capture_output=True, text=True, timeout=1200
    )
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    # The lines it prints for .env: POSTGRES_IMAGE=..., HAPROXY_IMAGE=..., SEAWEEDFS_IMAGE=...
    standins = dict(re.findall(r"^([A-Z]+_IMAGE)=(\S+)$", built.stdout, re.MULTILINE))
    assert len(standins) == 3, built.stdout[-3000:]
    port = free_port()
    settings = {
        "POSTGRES_PASSWORD": uuid.uuid4().hex,
        "S3_SECRET_ACCESS_KEY": uuid.uuid4().hex,
        "SITE_URL": f"http://127.0.0.1:{port}/",
        "POLICING_METRICS_IMAGE": container_image,
        "API_REPLICAS": str(API_REPLICAS),
        "HTTP_PORT": str(port),
        # Its own network, so a stack already running here (172.30.117.0/24) is left alone.
        "BACKEND_SUBNET": f"172.30.{118 + uuid.uuid4().int % 100}.0/24",
        **standins,
    }
    lines = [
        line for line in (COMPOSE / ".env.example").read_text().splitlines() if line.split("=", 1)[0] not in settings
    ]
    env_file = tmp_path_factory.mktemp("compose") / "env"
    env_file.write_text("\n".join([*lines, *(f"{key}={value}" for key, value in settings.items())]) + "\n")
    base = [
        podman_compose(),
        "--project-name",
        PROJECT,
        "--env-file",
        str(env_file),
        "--file",
        str(COMPOSE / "compose.yaml"),
    ]

    def compose(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
        return subprocess.run([*base, *args], cwd=COMPOSE, capture_output=True, text=True, timeout=timeout)

    started = time.monotonic()
    try:
        up = compose("up", "-d")
        assert up.returncode == 0, up.stdout[-4000:] + up.stderr[-4000:]
        yield {"port": port, "compose": compose, "started": started, "settings": settings}
    finally:
        down = compose("down", "-v", timeout=300)
        left = engine("ps", "--all", "--quiet", "--filter", f"label=io.podman.compose.project={PROJECT}", check=False)
        volumes = engine(
            "volume", "ls", "--quiet", "--filter", f"label=io.podman.compose.project={PROJECT}", check=False
        )
        assert down.returncode == 0 and not left.stdout.strip() and not volumes.stdout.strip(), down.stderr[-3000:]


def scheduler_lines(event: str) -> list[dict]:
    found = []
    for number in (1, 2):
        logs = engine("logs", container("scheduler", number))
        for line in (logs.stdout + logs.stderr).splitlines():
            if line.startswith("{") and f'"{event}"' in line:
                found.append({**json.loads(line), "container": number})
    return found


def test_the_stack_comes_up_healthy_publishes_once_on_time_and_keeps_answering_with_a_replica_killed(stack):
    base = f"http://127.0.0.1:{stack['port']}"
    migrate = container("migrate")
    wait_for(
        "migrate exited",
        lambda: engine("inspect", "--format", "{{.State.Status}}", migrate).stdout.strip() == "exited",
        180,
    )
    assert engine("inspect", "--format", "{{.State.ExitCode}}", migrate).stdout.strip() == "0", engine(
        "logs", migrate
    ).stderr
    healthy = [container("postgres"), container("seaweedfs")]
    healthy += [container("api", n) for n in range(1, API_REPLICAS + 1)] + [container("scheduler", n) for n in (1, 2)]
    for name in healthy:
        # Podman runs health checks on a systemd timer; `healthcheck run` runs the container's own check now.
        check = lambda name=name: engine("healthcheck", "run", name, check=False).returncode == 0
        wait_for(f"{name} healthy", check, 180)
    published = engine("port", container("haproxy")).stdout.split()
    assert published == ["8080/tcp", "->", f"127.0.0.1:{stack['port']}"], published  # the host's loopback only
    ready = wait_for(
        "HAProxy /readyz", lambda: (r := get(f"{base}/readyz")) is not None and r.status_code == 200 and r, 120
    )
    assert ready.json()["status"] == "ready" and ready.json()["object_store"] == "ok"
    up_seconds = time.monotonic() - stack["started"]

    def in_stack(*args: str) -> subprocess.CompletedProcess:
        return engine("exec", container("api", 2), "policing-metrics", *args, timeout=180, check=False)

    loaded = in_stack("examples", "load", "--actor", "compose-test")
    assert loaded.returncode == 0, loaded.stderr
    # Announce and confirm a release a minute or two ahead; until then nothing of it is public.
    at = (datetime.now(ZoneInfo("Europe/London")) + timedelta(seconds=150)).replace(second=0, microsecond=0)
    for args in (
        # The reason also covers a weekend or a bank holiday, when the test may run too.
        ("schedule", EDITION, "--at", at.strftime("%Y-%m-%dT%H:%M"), "--provisional", "--override-reason", REASON),
        ("confirm", EDITION, "--override-reason", REASON),
    ):
        done = in_stack(*args, "--actor", "compose-test")
        assert done.returncode == 0, done.stdout + done.stderr
    for path in ("/public/scorecard", "/public/editions"):
        before = get(f"{base}{path}")
        assert before is not None and before.status_code in (200, 404), path
        assert EDITION not in before.text or before.status_code == 404, (
            f"{path} before the release: {before.text[:500]}"
        )

    scorecard = wait_for(
        "the scorecard released",
        lambda: (r := get(f"{base}/public/scorecard")) is not None and r.status_code == 200 and r,
        420,
        every=3,
    )
    assert datetime.now(ZoneInfo("Europe/London")) >= at, "public before its release time"
    assert scorecard.json()["scorecard"], scorecard.text
    released = wait_for("the release logged", lambda: scheduler_lines("release.released"), 60)
    assert len(released) == 1, released  # two schedulers, one publish
    assert len(scheduler_lines("release.claimed")) == 1

    # The site in the bucket, read back from S3 (the endpoint and path style come from the container's settings).
    checked = in_stack("site", "check", "--to", f"s3://{stack['settings'].get('S3_BUCKET', 'site')}/public")
    assert checked.returncode == 0, checked.stdout + checked.stderr

    # One replica dies: HAProxy retries reads elsewhere and marks it down; every read is still answered.
    engine("kill", "--signal", "KILL", container("api", 1))
    answers = [get(f"{base}/public/scorecard") for _ in range(30)]
    assert [r.status_code if r else None for r in answers] == [200] * 30
    print(f"compose: healthy and ready through HAProxy {up_seconds:.0f} s after `up -d` began")
