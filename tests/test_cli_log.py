"""The log commands as a person runs them: schema checks, verify, head."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from events.database import make_engine
from service.cli import cli

from .conftest import bypass_triggers


@pytest.fixture
def run(database_url):
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(cli, ["--database-url", database_url, *args], catch_exceptions=False)

    return invoke


def test_every_command_refuses_an_unmigrated_database_and_says_what_to_run(run):
    result = run("verify")
    assert result.exit_code == 2
    assert "has no schema yet: run `policing-metrics db upgrade`" in result.output


def test_a_database_newer_than_the_software_is_refused(run, database_url):
    assert run("db", "upgrade").exit_code == 0
    engine = make_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = 'ffff'"))
    engine.dispose()
    result = run("head")
    assert result.exit_code == 2
    assert "newer than this software knows" in result.output


def test_upgrade_then_demo_then_verify_reports_the_head(run):
    assert "database schema at" in run("db", "upgrade").output
    demo = run("demo")
    assert demo.exit_code == 0 and "chain verified" in demo.output
    head = run("head").output.strip()
    verify = run("verify", "--expect-head", head)
    assert verify.exit_code == 0
    assert f"ok: {head.split(':')[0]} events verified; head {head}" in verify.output
    # structured logs go to stderr as JSON lines with a job id
    logs = [json.loads(line) for line in verify.stderr.splitlines() if line.startswith("{")]
    assert any(entry["event"] == "verify.ok" and entry["job_id"] for entry in logs)


def test_verify_exits_non_zero_naming_the_first_bad_position(run, database_url):
    run("db", "upgrade")
    run("demo")
    engine = make_engine(database_url)
    bypass_triggers(engine, "UPDATE events SET data = replace(data, 'e', 'E') WHERE position = 3")
    engine.dispose()
    result = run("verify")
    assert result.exit_code == 1
    assert "chain broken at position 3" in result.output


def test_verify_detects_a_truncated_tail_against_the_noted_head(run, database_url):
    run("db", "upgrade")
    run("demo")
    noted = run("head").output.strip()
    engine = make_engine(database_url)
    bypass_triggers(engine, f"DELETE FROM events WHERE position = {noted.split(':')[0]}")
    engine.dispose()
    assert run("verify").exit_code == 0
    result = run("verify", "--expect-head", noted)
    assert result.exit_code == 1 and "removed from the tail" in result.output


def test_a_malformed_expected_head_is_a_usage_error(run):
    run("db", "upgrade")
    result = run("verify", "--expect-head", "3:nothex")
    assert result.exit_code == 2 and "expected POSITION:HASH" in result.output


def test_the_console_command_is_installed_and_reads_its_settings_from_the_environment(tmp_path):
    env = {"POLICING_METRICS_DATABASE_URL": f"sqlite:///{tmp_path}/env.db", "PATH": ""}
    exe = [sys.executable, "-m", "service"]
    upgraded = subprocess.run([*exe, "db", "upgrade"], env=env, capture_output=True, text=True)
    assert upgraded.returncode == 0, upgraded.stderr
    assert (tmp_path / "env.db").exists()


def test_the_published_head_read_from_the_site_alone_is_one_the_log_still_holds(run, tmp_path, monkeypatch):
    site = tmp_path / "site"
    monkeypatch.setenv("POLICING_METRICS_PUBLISH_TO", str(site))
    run("db", "upgrade")
    assert run("demo", "--publish-now").exit_code == 0
    [manifest] = site.glob("editions/*/r*/manifest.json")
    frozen = json.loads(manifest.read_text())["frozen_at"]
    published = run("site", "head").output.strip()
    assert published == f"{frozen['position']}:{frozen['head_hash']}"
    assert run("verify", "--expect-head", published).exit_code == 0


def test_the_published_head_of_an_empty_site_is_an_error_not_a_blank(run, tmp_path):
    result = run("site", "head", "--to", str(tmp_path / "empty"))
    assert result.exit_code == 1
    assert "nothing is published" in result.output
