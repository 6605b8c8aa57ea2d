"""The container engine for the deploy tests (marker `deploy`, `make test-deploy`): podman unless ENGINE says."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONTAINER = ROOT / "deploy" / "container"
ENGINE = os.environ.get("ENGINE", "podman")
BASE_IMAGE = os.environ.get("BASE_IMAGE", "localhost/debian-python:bookworm")
# What this machine's engine needs (deploy/README.md, "building without a registry"): it may not raise rlimits.
LIMITS = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"]


def engine(*args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([ENGINE, *args], capture_output=True, text=True, timeout=timeout)
    if check:
        assert result.returncode == 0, f"{ENGINE} {' '.join(args)}:\n{result.stdout}{result.stderr}"
    return result


def require_base_image() -> None:
    if shutil.which(ENGINE) is None:
        pytest.fail(f"{ENGINE} is not installed: apt-get install podman (deploy/README.md)")
    if engine("image", "exists", BASE_IMAGE, check=False).returncode != 0:
        subprocess.run([CONTAINER / "base-image.sh", BASE_IMAGE], check=True, timeout=900)


def build_image() -> str:
    """This checkout's image (deploy/container/build.sh) under a new tag; the caller removes it."""
    require_base_image()
    image = f"localhost/policing-metrics:test-{uuid.uuid4().hex[:8]}"
    subprocess.run(
        [CONTAINER / "build.sh", *LIMITS],
        env={**os.environ, "IMAGE": image, "BASE_IMAGE": BASE_IMAGE, "PYTHON": sys.executable},
        check=True,
        timeout=1200,
    )
    return image
