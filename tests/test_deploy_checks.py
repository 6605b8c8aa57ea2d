"""deploy/ is checked by the tools made for each part: haproxy -c, and the linters and validators below.

Each tool is installed by `make deploy-tools` (Debian packages) or the test extras (PyPI). With CI=true a
missing tool fails the test; elsewhere it skips.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
IN_CI = os.environ.get("CI", "").lower() == "true"


def tool(name: str) -> str:
    """The path of `name` on PATH or beside this Python (the venv's bin), or skip (fail under CI)."""
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        message = f"{name} is not installed: run `make deploy-tools` (or `make install` for the PyPI ones)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return found


def check(*command: str | Path, env: dict[str, str] | None = None, cwd: Path = ROOT) -> str:
    """Run a checker; a non-zero exit fails the test with everything it printed."""
    result = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{' '.join(map(str, command))} exited {result.returncode}:\n{output}"
    return output


HAPROXY_CFG = DEPLOY / "haproxy" / "haproxy.cfg"
HAPROXY_MODES = {
    "compose (replicas by DNS)": {"HAPROXY_BIND": ":8080"},
    "fixed addresses (a VM, the failure drill)": {
        "API_SERVER_1": "127.0.0.1:8001",
        "API_SERVER_2": "127.0.0.1:8002",
        "API_SERVER_3": "127.0.0.1:8003",
        "HAPROXY_BIND": "127.0.0.1:8080",
        "HAPROXY_STATS_SOCKET": "/tmp/haproxy-check.sock",
    },
}


@pytest.mark.parametrize("mode", HAPROXY_MODES)
def test_the_haproxy_configuration_is_valid_without_a_warning_in_each_mode(mode):
    clean = {key: value for key, value in os.environ.items() if not key.startswith(("API_", "HAPROXY_", "DNS_"))}
    # -dW makes every warning an error.
    result = subprocess.run(
        [tool("haproxy"), "-dW", "-c", "-f", HAPROXY_CFG],
        env={**clean, **HAPROXY_MODES[mode]},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Configuration file is valid" in result.stdout + result.stderr
