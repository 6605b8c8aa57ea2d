"""The failure drill (deploy/drill/run) as a test: real PostgreSQL, SeaweedFS, HAProxy, three APIs and two
schedulers; a scheduler SIGKILLed mid-publish, one API SIGKILLed and another SIGTERMed; every promise asserted."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import require_postgres

ROOT = Path(__file__).resolve().parent.parent

pytestmark = [pytest.mark.slow, pytest.mark.drill, pytest.mark.postgres, pytest.mark.s3]


def test_under_faults_one_release_nothing_lost_no_failed_public_read_and_the_site_and_chain_check(tmp_path):
    require_postgres()
    if shutil.which("haproxy") is None:
        pytest.fail("haproxy is missing: `make test` installs it (make deploy-tools)")
    summary_file = tmp_path / "summary.json"
    drill = subprocess.run(
        [str(ROOT / "deploy" / "drill" / "run"), "--json", str(summary_file)],
        env={**os.environ, "VENV": str(Path(sys.executable).parent.parent), "DRILL_DIR": str(tmp_path / "drill")},
        capture_output=True, text=True, timeout=600,
    )
    assert drill.returncode == 0, drill.stdout + drill.stderr[-3000:]
    summary = json.loads(summary_file.read_text())
    assert summary["broken"] == []
    assert summary["edition_released_events"] == 1
    assert summary["killed_mid_publish"] and summary["taken_over_from_killed"] and summary["released_by"]
    assert summary["published_keys"] > 0 and summary["published_keys_present"] == summary["published_keys"]
    assert summary["edition_files_rewritten"] == 0
    assert summary["writes_acknowledged"] > 0 and summary["writes_in_log_exactly_once"] == summary["writes_acknowledged"]
    assert summary["public_gets_during_faults"] > 0 and summary["public_gets_failed"] == 0
    assert "consistent" in summary["site_check"] and summary["verify"].startswith("ok:")
    assert 0 <= summary["seconds_from_due_to_published"] <= 60
    print(drill.stdout)
