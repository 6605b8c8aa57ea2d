"""The alert rules in deploy/prometheus/ are valid and do what their unit tests say (promtool, Debian `prometheus`)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

RULES = Path(__file__).resolve().parent.parent / "deploy" / "prometheus"


@pytest.fixture
def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("promtool is missing: `make test` installs it (make deploy-tools: apt-get install prometheus)")
        pytest.skip("promtool is not installed (apt-get install prometheus)")
    return found


def run(promtool: str, *args: str) -> str:
    result = subprocess.run([promtool, *args], cwd=RULES, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def test_the_alert_rules_pass_promtools_check(promtool):
    assert "SUCCESS: 8 rules found" in run(promtool, "check", "rules", "alerts.yml")


def test_each_alert_fires_when_its_condition_holds_and_stays_quiet_otherwise(promtool):
    assert "SUCCESS" in run(promtool, "test", "rules", "alerts.test.yml")


def test_every_listed_condition_has_an_alert_with_a_unit_test():
    rules, tests = (RULES / "alerts.yml").read_text(), (RULES / "alerts.test.yml").read_text()
    for alert in (
        "ReleaseOverdue", "NoLiveScheduler", "ProjectionLagging", "ChainVerificationFailed", "ChainVerificationNotRun",
        "HighServerErrorRatio", "DatabaseUnreachable", "ObjectStoreUnreachable",
    ):
        assert f"alert: {alert}" in rules and f"alertname: {alert}\n" in tests
