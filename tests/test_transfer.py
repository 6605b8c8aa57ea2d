"""Moving the log: `db copy` between SQLite and PostgreSQL and `export`/`import`, byte for byte,
refusing a non-empty target, resumable after a crash (shown with a killed process), verified."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from events import EventStore, Metadata, NewEvent
from events.database import make_engine, upgrade
from events.domain import registry
from events.transfer import TransferRefused, copy_log, export_lines, import_lines
from service.cli import cli

from .publish_support import EDITION, SITE_URL, clock, example_database, example_store, publishing  # noqa: F401

pytestmark = pytest.mark.postgres


def rows(store: EventStore) -> list[tuple]:
    with store.engine.connect() as connection:
        events = [tuple(r) for r in connection.execute(text("SELECT * FROM events ORDER BY position"))]
        keys = [tuple(r) for r in connection.execute(text("SELECT * FROM idempotency_keys ORDER BY key"))]
    return events + keys


def open_store(url: str) -> EventStore:
    engine = make_engine(url)
    upgrade(engine)
    return EventStore(engine, registry)


def with_keys(store: EventStore) -> None:
    """Two idempotent appends, so keys travel too."""
    for n in (1, 2):
        store.append(f"transfer-{n}", [NewEvent("EditionApproved", {"edition": f"t-{n}", "revision": 1, "position": 0, "head_hash": "0" * 64})], 0, idempotency_key=f"key-{n}", metadata=Metadata(actor="a"))


def invoke(*args: str) -> "object":
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_the_example_log_goes_to_postgresql_and_back_with_every_position_time_and_hash_unchanged(example_store, postgres_url, tmp_path):
    with_keys(example_store)
    postgres = open_store(postgres_url)
    report = copy_log(example_store, postgres)
    assert report.head == example_store.head() and report.copied == report.head.position
    assert rows(postgres) == rows(example_store)
    back = open_store(f"sqlite:///{tmp_path / 'back.db'}")
    copy_log(postgres, back)
    assert rows(back) == rows(example_store)
    # An idempotent retry against the copy answers with the original positions, writing nothing.
    retried = back.append("transfer-1", [NewEvent("EditionApproved", {"edition": "t-1", "revision": 1, "position": 0, "head_hash": "0" * 64})], 0, idempotency_key="key-1", metadata=Metadata(actor="a"))
    assert retried.replayed and back.head() == example_store.head()


def test_a_copy_into_a_database_that_holds_events_is_refused_and_writes_nothing(example_store, postgres_url):
    postgres = open_store(postgres_url)
    postgres.append("someone-elses", [NewEvent("EditionApproved", {"edition": "x", "revision": 1, "position": 0, "head_hash": "0" * 64})], 0)
    before = rows(postgres)
    with pytest.raises(TransferRefused, match=r"already holds 1 events .* only into an empty database; .*--resume"):
        copy_log(example_store, postgres)
    with pytest.raises(TransferRefused, match="not an interrupted copy of this log"):
        copy_log(example_store, postgres, resume=True)
    assert rows(postgres) == before


def test_the_cli_copies_rebuilds_the_projections_and_the_published_site_still_matches_the_log(example_store, publishing, postgres_url, tmp_path, clock):
    site = tmp_path / "site"
    from publishers.stores import LocalDirectory

    publishing.publish(EDITION, to=LocalDirectory(site), now=True, override_reason="a test publishes at once", actor="test")
    head = example_store.head()
    source = str(example_store.engine.url)
    example_store.engine.dispose()
    result = invoke("db", "copy", "--from", source, "--to", postgres_url)
    assert result.exit_code == 0, result.output
    assert f"copied {head.position} events; target verified; head {head}" in result.output
    result = invoke("--database-url", postgres_url, "verify", "--expect-head", str(head))
    assert result.exit_code == 0 and f"ok: {head.position} events verified" in result.output
    result = invoke("--database-url", postgres_url, "site", "check", "--to", f"file://{site}", "--site-url", SITE_URL, "--against-log")
    assert result.exit_code == 0, result.output
    assert "every released manifest the one it records" in result.output
    scorecard = invoke("--database-url", postgres_url, "scorecard", "--format", "json")
    assert scorecard.exit_code == 0 and '"homicide"' in scorecard.output  # projections rebuilt from the copy


def test_a_site_whose_manifest_the_log_does_not_record_is_reported(example_store, publishing, tmp_path):
    from publishers.check import check_against_log
    from publishers.stores import LocalDirectory

    site = LocalDirectory(tmp_path / "site")
    publishing.publish(EDITION, to=site, now=True, override_reason="a test publishes at once", actor="test")
    [released] = [e for e in example_store.read_all(1) if e.type == "EditionReleased"]
    key = f"editions/{EDITION}/r1/manifest.json"
    entry = (EDITION, 1, released.data["manifest_hash"], key)
    frozen = json.loads(site.get(f"editions/{EDITION}/r1/manifest.json"))["frozen_at"]
    assert check_against_log(site, [entry], lambda position: None) == [
        f"edition {EDITION} revision 1 disagrees with the log: editions/{EDITION}/r1/manifest.json was frozen at "
        f"position {frozen['position']} with head hash {frozen['head_hash']}, but the log has no event there: the log "
        f"was cut short at or before position {frozen['position']} after this revision was published"
    ]
    assert "is not the manifest the log records" in check_against_log(site, [(EDITION, 1, "0" * 64, key)], lambda p: None)[-1]


def big_log(path, events: int) -> str:
    url = f"sqlite:///{path}"
    store = open_store(url)
    batch = [NewEvent("EditionApproved", {"edition": "big", "revision": n, "position": 0, "head_hash": "0" * 64}) for n in range(1, 1001)]
    for n in range(events // 1000):
        store.append(f"big-{n}", batch, 0)
    store.close()
    store.engine.dispose()
    return url


@pytest.mark.slow
def test_a_copy_killed_with_sigkill_part_way_is_refused_as_it_stands_and_completed_by_resume(tmp_path, postgres_url):
    source = big_log(tmp_path / "big.db", 40_000)
    target = open_store(postgres_url)
    command = subprocess.Popen(
        [sys.executable, "-m", "service", "db", "copy", "--from", source, "--to", postgres_url, "--batch", "500"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path,
    )
    deadline = time.monotonic() + 60
    while target.head().position < 2000 and time.monotonic() < deadline and command.poll() is None:
        time.sleep(0.01)
    os.kill(command.pid, signal.SIGKILL)
    command.wait(10)
    landed = target.head().position
    assert 0 < landed < 40_000 and landed % 500 == 0  # whole batches only
    assert target.verify().breach is None
    refused = invoke("db", "copy", "--from", source, "--to", postgres_url)
    assert refused.exit_code == 1 and f"already holds {landed} events" in refused.output
    resumed = invoke("db", "copy", "--from", source, "--to", postgres_url, "--resume")
    assert resumed.exit_code == 0, resumed.output
    assert f"copied {40_000 - landed} events, resumed after position {landed}; target verified" in resumed.output
    assert rows(target) == rows(EventStore(make_engine(source), registry))


def test_an_export_imports_into_an_empty_database_byte_for_byte(example_store, postgres_url):
    with_keys(example_store)
    out = io.StringIO()
    head = export_lines(example_store, out)
    lines = out.getvalue().splitlines(keepends=True)
    assert json.loads(lines[0]) == {"format": "policing-metrics-log", "version": 1, "head": str(head)}
    assert json.loads(lines[-1]) == {"end": {"head": str(head), "events": head.position}}
    target = open_store(postgres_url)
    report = import_lines(lambda: iter(lines), target)
    assert report.head == head and rows(target) == rows(example_store)
    with pytest.raises(TransferRefused, match="already holds"):
        import_lines(lambda: iter(lines), target)
    assert import_lines(lambda: iter(lines), target, resume=True).copied == 0


def export_of(store) -> list[str]:
    out = io.StringIO()
    export_lines(store, out)
    return out.getvalue().splitlines(keepends=True)


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda lines: lines[:-1], "without its trailer line: it is truncated"),
        (lambda lines: lines[:50] + lines[51:], "position 50 is missing"),
        (lambda lines: lines[:1] + [lines[1].replace("Homicides", "Homicidez")] + lines[2:], "position 1: hash does not match"),
        (lambda lines: lines[:3] + ["{not json\n"] + lines[4:], "line 4: expected a JSON object, found invalid JSON"),
        (lambda lines: lines[:3] + ['{"position": "3"}\n'] + lines[4:], "line 4: expected the fields position, stream"),
        (lambda lines: ['{"format": "something-else"}\n'] + lines[1:], "line 1: expected the header"),
    ],
)
def test_a_damaged_export_is_refused_naming_where_and_imports_nothing(example_store, tmp_path, damage, message):
    lines = damage(export_of(example_store))
    target = open_store(f"sqlite:///{tmp_path / 'target.db'}")
    with pytest.raises(TransferRefused, match=message):
        import_lines(lambda: iter(lines), target)
    assert target.head().position == 0


def test_the_export_and_import_commands_round_trip_through_a_file(example_store, tmp_path):
    source = str(example_store.engine.url)
    head = example_store.head()
    exported = invoke("--database-url", source, "export", "--to", str(tmp_path / "log.jsonl"))
    assert exported.exit_code == 0 and not (tmp_path / "log.jsonl.partial").exists()
    target = f"sqlite:///{tmp_path / 'restored.db'}"
    imported = invoke("--database-url", target, "import", str(tmp_path / "log.jsonl"))
    assert imported.exit_code == 0, imported.output
    assert f"imported {head.position} events; target verified; head {head}" in imported.output
    assert invoke("--database-url", target, "verify", "--expect-head", str(head)).exit_code == 0
    again = invoke("--database-url", target, "import", str(tmp_path / "log.jsonl"))
    assert again.exit_code == 1 and "already holds" in again.output
