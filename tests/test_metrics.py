"""Metrics: what /metrics says after requests, appends, releases and verification, in Prometheus's names.

Counters are process-wide, so each test reads how much a sample moved, never its absolute value.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from datetime import timedelta, timezone

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from events import EventStore, NewEvent
from events.domain.editions import edition_stream
from events.errors import WrongExpectedVersion
from events.projections import Projections
from events.projections.calendar import CalendarProjection
from publishers.stores import LocalDirectory, StorageError, StorageUnavailable
from events.database import make_engine, upgrade
from events.domain import registry
from events.domain.calendar import parse_zoned
from service import metrics
from service.bootstrap import App
from service.config import Settings
from service.http import create_app
from service.scheduler import ReleaseScheduler

from .publish_support import EDITION, clock, example_database, example_store  # noqa: F401  (fixtures)
from .release_support import FakePublisher, announce_for, approve


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def scraped(text: str) -> dict[tuple[str, tuple], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


@pytest.fixture
def application(example_store, tmp_path, clock):
    app = App(Settings(database_url=str(example_store.engine.url), default_area="west-midlands", publish_to=f"file://{tmp_path / 'site'}"), clock)
    app.__dict__.update(engine=example_store.engine, store=metrics.observe_appends(example_store))
    return app


@pytest.fixture
def client(application):
    with TestClient(create_app(application)) as client:
        yield client


def test_requests_are_counted_and_timed_by_route_template_never_by_raw_path(client):
    before = sample("policing_metrics_http_requests_total", method="GET", route="/public/editions/{edition}/{name}", status="404")
    timed = sample("policing_metrics_http_request_duration_seconds_count", method="GET", route="/public/editions/{edition}/{name}")
    for edition in ("1999-01", "1999-02", "1999-03"):
        assert client.get(f"/public/editions/{edition}/index.html").status_code == 404
    assert client.get("/no/such/thing/at/all").status_code == 404
    text = client.get("/metrics").text
    found = scraped(text)
    route = (("method", "GET"), ("route", "/public/editions/{edition}/{name}"), ("status", "404"))
    assert found[("policing_metrics_http_requests_total", route)] == before + 3
    assert found[("policing_metrics_http_request_duration_seconds_count", route[:2])] == timed + 3
    assert found[("policing_metrics_http_requests_total", (("method", "GET"), ("route", "<unmatched>"), ("status", "404")))] >= 1
    assert "1999-0" not in text and "/no/such" not in text


def approval(edition: str, revision: int) -> NewEvent:
    return NewEvent("EditionApproved", {"edition": edition, "revision": revision, "position": 0, "head_hash": "0" * 64})


def test_appends_are_counted_with_their_events_and_timed_and_a_refused_one_is_counted_as_refused(application):
    store = application.store
    appended, events = sample("policing_metrics_appends_total", result="appended"), sample("policing_metrics_events_appended_total")
    refused, timed = sample("policing_metrics_appends_total", result="refused"), sample("policing_metrics_append_duration_seconds_count")
    store.append(edition_stream("metrics-test"), [approval("metrics-test", 1), approval("metrics-test", 2)], expected_version=0)
    store.append(edition_stream("metrics-test"), [approval("metrics-test", 3)], expected_version=2, idempotency_key="k1")
    store.append(edition_stream("metrics-test"), [approval("metrics-test", 3)], expected_version=2, idempotency_key="k1")
    with pytest.raises(WrongExpectedVersion):
        store.append(edition_stream("metrics-test"), [approval("metrics-test", 4)], expected_version=0)
    assert sample("policing_metrics_appends_total", result="appended") == appended + 2
    assert sample("policing_metrics_events_appended_total") == events + 3
    assert sample("policing_metrics_appends_total", result="replayed") >= 1
    assert sample("policing_metrics_appends_total", result="refused") == refused + 1
    assert sample("policing_metrics_append_duration_seconds_count") == timed + 3


def test_the_scrape_reads_the_head_each_projections_lag_and_how_long_a_due_release_has_waited(application, client, clock):
    store = application.store
    Projections(store).catch_up()
    at = announce_for(store, "2026-q1", "2026-01-07", announced_at=clock())
    approve(store, "2026-q1")
    clock.now = parse_zoned(at).astimezone(timezone.utc) + timedelta(minutes=7)
    found = scraped(client.get("/metrics").text)
    head = store.head().position
    assert found[("policing_metrics_log_head_position", ())] == head
    assert found[("policing_metrics_projection_lag_events", (("projection", "history"),))] == 2  # the announcement and approval
    assert found[("policing_metrics_releases_due", ())] == 0  # the calendar projection has not seen it yet: not due
    CalendarProjection(store).catch_up()
    found = scraped(client.get("/metrics").text)
    assert found[("policing_metrics_releases_due", ())] == 1
    assert found[("policing_metrics_release_overdue_seconds", ())] == 7 * 60
    assert found[("policing_metrics_database_up", ())] == 1 and found[("policing_metrics_object_store_up", ())] == 1


def test_an_unreachable_database_scrapes_as_down_instead_of_failing_the_scrape(application, client):
    application.__dict__["store"] = EventStore(make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=1"), registry)
    found = scraped(client.get("/metrics").text)
    assert found[("policing_metrics_database_up", ())] == 0
    assert ("policing_metrics_log_head_position", ()) not in found


def test_metrics_name_no_unreleased_edition_and_no_figure(application, client, clock):
    at = announce_for(application.store, "2031-embargoed", "2031-01-08", announced_at=clock())
    approve(application.store, "2031-embargoed")
    CalendarProjection(application.store).catch_up()
    client.get("/public/editions/2031-embargoed/edition.json")
    text = client.get("/metrics").text
    # What a scraper stores: metric names and label values (sample values are numbers, e.g. times in 2026 as 1.796…e+09).
    stored = [
        word
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        for word in (sample.name, *sample.labels.values())
    ]
    assert stored, "the scrape held no samples"
    for word in stored:
        assert "2031" not in word and "embargoed" not in word and at not in word, word
    assert "_created" not in text  # counters' creation times are not exported (they doubled the series)


def test_a_release_counts_as_published_with_its_lateness_and_its_claim_is_held_only_while_publishing(application, clock):
    store = application.store
    at = announce_for(store, "2026-q1", "2026-01-07", announced_at=clock())
    approve(store, "2026-q1")
    published = sample("policing_metrics_releases_published_total")
    late = {name: sample(f"policing_metrics_release_late_seconds_{name}") for name in ("count", "sum")}
    buckets = {le: sample("policing_metrics_release_late_seconds_bucket", le=le) for le in ("0.0", "1.0", "5.0")}
    held = []
    publisher = FakePublisher()

    def publish(edition, revision):
        held.append(sample("policing_metrics_release_claims_held"))
        return publisher(edition, revision)

    publish.after_release = publisher.after_release
    clock.now = parse_zoned(at).astimezone(timezone.utc) + timedelta(seconds=2)
    before = time.time()
    [attempt] = ReleaseScheduler(store, metrics.observe_publish(publish), clock=clock, owner="a").sweep()
    assert attempt.outcome == "released"
    assert sample("policing_metrics_releases_published_total") == published + 1
    # Two seconds late (by the fake clock, not the wall's): counted as such, though the calendar calls it on time.
    assert attempt.late_by_seconds == 2.0
    assert sample("policing_metrics_release_late_seconds_count") == late["count"] + 1
    assert sample("policing_metrics_release_late_seconds_sum") == late["sum"] + 2.0
    assert {le: sample("policing_metrics_release_late_seconds_bucket", le=le) - was for le, was in buckets.items()} == {
        "0.0": 0, "1.0": 0, "5.0": 1
    }
    assert held == [1.0] and sample("policing_metrics_release_claims_held") == 0
    assert sample("policing_metrics_scheduler_last_sweep_timestamp_seconds") >= before
    assert sample("policing_metrics_publish_duration_seconds_count", result="published") >= 1


def test_verification_records_when_it_ran_and_whether_the_chain_held(application):
    before = time.time()
    ReleaseScheduler(application.store, FakePublisher()).verify_log()
    assert sample("policing_metrics_verify_last_run_timestamp_seconds") >= before
    assert sample("policing_metrics_verify_last_success") == 1
    assert sample("policing_metrics_verify_last_checked_events") == application.store.head().position


def test_object_store_writes_count_only_new_bytes_and_failures_count_by_operation(tmp_path):
    site = metrics.ObservedObjectStore(LocalDirectory(tmp_path / "site"))
    written = sample("policing_metrics_object_store_writes_total", kind="immutable")
    site.put_immutable("a/b.html", b"<p>one</p>")
    site.put_immutable("a/b.html", b"<p>one</p>")  # the same bytes again: nothing written
    assert sample("policing_metrics_object_store_writes_total", kind="immutable") == written + 1
    failed = sample("policing_metrics_object_store_errors_total", operation="put")
    with pytest.raises(StorageError):
        metrics.ObservedObjectStore(Broken()).put_mutable("feed.xml", b"x")
    assert sample("policing_metrics_object_store_errors_total", operation="put") == failed + 1
    assert not site.exists("missing.html")  # a missing object is an answer, not a failure
    assert sample("policing_metrics_object_store_errors_total", operation="head") == 0


class Broken(LocalDirectory):
    def __init__(self) -> None:
        pass

    def put_mutable(self, key, body, **options):
        raise StorageUnavailable("put", key, 5, "ConnectionError: the store did not answer")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_scheduler_command_serves_health_and_metrics_on_its_metrics_port(tmp_path):
    url = f"sqlite:///{tmp_path / 'scheduler.db'}"
    engine = make_engine(url)
    upgrade(engine)
    EventStore(engine, registry).append(edition_stream("x"), [approval("x", 1)], expected_version=0)
    engine.dispose()
    port = free_port()
    command = subprocess.Popen(
        [sys.executable, "-m", "service", "--database-url", url, "scheduler", "--sweep-seconds", "0.5", "--metrics-port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path,
    )
    try:
        deadline, found = time.monotonic() + 30, {}
        while time.monotonic() < deadline:
            try:
                found = scraped(httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text)
                if found.get(("policing_metrics_verify_last_success", ())) == 1:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        assert found[("policing_metrics_log_head_position", ())] == 1
        assert found[("policing_metrics_verify_last_checked_events", ())] == 1
        assert found[("policing_metrics_scheduler_last_sweep_timestamp_seconds", ())] > 0
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").json() == {"status": "ok"}
        assert httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200
    finally:
        command.send_signal(signal.SIGTERM)
        assert command.wait(20) == 0


def test_several_worker_processes_counters_are_summed_in_multiprocess_mode(tmp_path):
    directory = tmp_path / "prometheus"
    directory.mkdir()
    environment = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    worker = textwrap.dedent(
        """
        from service import metrics
        metrics.HTTP_REQUESTS.labels("GET", "/public/scorecard", "200").inc(3)
        """
    )
    for _ in range(2):
        subprocess.run([sys.executable, "-c", worker], env=environment, check=True)
    reader = textwrap.dedent(
        """
        import sys
        from prometheus_client import CollectorRegistry, generate_latest, multiprocess
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        sys.stdout.write(generate_latest(registry).decode())
        """
    )
    text = subprocess.run([sys.executable, "-c", reader], env=environment, check=True, capture_output=True, text=True).stdout
    found = scraped(text)
    assert found[("policing_metrics_http_requests_total", (("method", "GET"), ("route", "/public/scorecard"), ("status", "200")))] == 6


def test_docs_operations_lists_every_metric_the_service_exports():
    documented = open(os.path.join(os.path.dirname(__file__), "..", "docs", "operations.md")).read()
    names = {
        family.name + ("_total" if family.type == "counter" else "")
        for family in REGISTRY.collect()
        if family.name.startswith("policing_metrics_")
    }
    names |= set(metrics.StateCollector.NAMES)
    assert len(names) > 20
    missing = sorted(name for name in names if f"`{name}" not in documented)
    assert not missing, f"docs/operations.md does not list {missing}"
