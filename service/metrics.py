"""Prometheus metrics: every name the service exports, the hooks that feed them, and the scrape.

Counters and histograms are fed where things happen (an append, a request, a release, a write to
the object store); what the database knows (the head, each projection's checkpoint, what is due,
whether it answers at all) is read when Prometheus scrapes, so every process reports the same
truth. With PROMETHEUS_MULTIPROC_DIR set (several `serve` workers), the workers' files are
merged at scrape time. docs/operations.md lists every metric and what it means.
"""

from __future__ import annotations

import json
import os
import threading
import time
from typing import TYPE_CHECKING, Any, Callable, Iterator
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from events.errors import EventStoreError
from publishers.stores import ImmutableObjectConflict, ObjectNotFound, ObjectStore, StorageError
from publishers.stores.base import retry_listeners

if TYPE_CHECKING:
    from events import EventStore

    from .bootstrap import App

PREFIX = "policing_metrics"
# No `_created` series beside each counter and histogram: they double what Prometheus stores and say nothing an
# operator reads (process start time is `process_start_time_seconds`).
disable_created_metrics()
# Requests are fast (ms) and publishes and appends slower; both sets end in minutes for the outliers.
FAST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
SLOW_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
LATE_BUCKETS = (0, 1, 5, 15, 30, 60, 120, 300, 900, 3600, 86400)


def _multiprocess() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.environ.get("prometheus_multiproc_dir"))


HTTP_REQUESTS = Counter(
    f"{PREFIX}_http_requests_total", "HTTP requests answered, by method, route template and status code.",
    ["method", "route", "status"],
)
HTTP_DURATION = Histogram(
    f"{PREFIX}_http_request_duration_seconds", "Time to answer an HTTP request, by method and route template.",
    ["method", "route"], buckets=FAST_BUCKETS,
)
APPENDS = Counter(
    f"{PREFIX}_appends_total",
    "Appends to the log by result: appended, replayed (an idempotent retry), refused (a conflict or bad input).",
    ["result"],
)
EVENTS_APPENDED = Counter(f"{PREFIX}_events_appended_total", "Events written to the log.")
APPEND_DURATION = Histogram(
    f"{PREFIX}_append_duration_seconds", "Time of one append (validation, the chain and the commit).", buckets=FAST_BUCKETS
)
RELEASES_PUBLISHED = Counter(f"{PREFIX}_releases_published_total", "Releases this scheduler published and recorded.")
RELEASE_LATE = Histogram(
    f"{PREFIX}_release_late_seconds", "Seconds from each release's announced time to its recording by this scheduler (every release).", buckets=LATE_BUCKETS
)
RELEASE_ATTEMPTS = Counter(
    f"{PREFIX}_release_attempts_total", "Release attempts by outcome (released, failed, claimed-elsewhere, ...).", ["outcome"]
)
CLAIMS_HELD = Gauge(
    f"{PREFIX}_release_claims_held", "Release claims this process holds now (it is publishing them).",
    multiprocess_mode="livesum",
)
CLAIMS_TAKEN_OVER = Counter(
    f"{PREFIX}_release_claims_taken_over_total", "Claims this process took over from a process whose lease expired."
)
LAST_SWEEP = Gauge(
    f"{PREFIX}_scheduler_last_sweep_timestamp_seconds", "Unix time of the scheduler's last completed sweep.",
    multiprocess_mode="max",
)
PUBLISH_DURATION = Histogram(
    f"{PREFIX}_publish_duration_seconds", "Time to render and write an edition's revision, by result.",
    ["result"], buckets=SLOW_BUCKETS,
)
OBJECTS_WRITTEN = Counter(
    f"{PREFIX}_object_store_writes_total", "Objects written to the published site (same bytes again do not count).",
    ["kind"],
)
OBJECT_STORE_ERRORS = Counter(
    f"{PREFIX}_object_store_errors_total", "Object store requests that failed after their retries, by operation.",
    ["operation"],
)
OBJECT_STORE_RETRIES = Counter(
    f"{PREFIX}_object_store_retries_total", "Object store requests retried after a transient failure, by operation.",
    ["operation"],
)
VERIFY_LAST_RUN = Gauge(
    f"{PREFIX}_verify_last_run_timestamp_seconds", "Unix time the hash chain was last verified end to end.",
    multiprocess_mode="max",
)
VERIFY_LAST_OK = Gauge(
    f"{PREFIX}_verify_last_success", "1 if the last chain verification passed, 0 if it found a breach.",
    multiprocess_mode="mostrecent",
)
VERIFY_CHECKED = Gauge(
    f"{PREFIX}_verify_last_checked_events", "Events the last chain verification checked.", multiprocess_mode="mostrecent"
)


# -- hooks --------------------------------------------------------------------------------------


def observe_appends(store: "EventStore") -> "EventStore":
    """Count and time every append of `store` (append calls append_many, so one wrapper sees both)."""
    inner = store.append_many

    def append_many(appends, idempotency_key=None, metadata=None):
        started = time.perf_counter()
        try:
            result = inner(appends, idempotency_key, metadata)
        except EventStoreError:
            APPENDS.labels("refused").inc()
            raise
        APPEND_DURATION.observe(time.perf_counter() - started)
        if result.replayed:
            APPENDS.labels("replayed").inc()
        else:
            APPENDS.labels("appended").inc()
            EVENTS_APPENDED.inc(result.last_position - result.first_position + 1)
        return result

    store.append_many = append_many  # type: ignore[method-assign]
    return store


class ObservedObjectStore(ObjectStore):
    """An object store whose writes and failures are counted; everything else is the inner store's."""

    def __init__(self, inner: ObjectStore) -> None:
        self.inner = inner

    def _call(self, operation: str, call: Callable[[], Any]) -> Any:
        try:
            return call()
        except (ObjectNotFound, ImmutableObjectConflict):
            raise  # answers about the objects, not failures of the store
        except StorageError:
            OBJECT_STORE_ERRORS.labels(operation).inc()
            raise

    def put_immutable(self, key, body, **options):
        result = self._call("put", lambda: self.inner.put_immutable(key, body, **options))
        if result.written:
            OBJECTS_WRITTEN.labels("immutable").inc()
        return result

    def put_mutable(self, key, body, **options):
        result = self._call("put", lambda: self.inner.put_mutable(key, body, **options))
        if result.written:
            OBJECTS_WRITTEN.labels("mutable").inc()
        return result

    def get(self, key):
        return self._call("get", lambda: self.inner.get(key))

    def head(self, key):
        return self._call("head", lambda: self.inner.head(key))

    def list(self, prefix=""):
        return self._call("list", lambda: self.inner.list(prefix))

    def location(self, key=""):
        return self.inner.location(key)

    def __getattr__(self, name: str) -> Any:  # anything beyond the contract (a directory's root, ...)
        return getattr(self.inner, name)


def observe_publish(publish: Callable[[str, int], Any]) -> Callable[[str, int], Any]:
    def timed(edition: str, revision: int) -> Any:
        started = time.perf_counter()
        try:
            outcome = publish(edition, revision)
        except Exception:
            PUBLISH_DURATION.labels("failed").observe(time.perf_counter() - started)
            raise
        PUBLISH_DURATION.labels("published").observe(time.perf_counter() - started)
        return outcome

    timed.after_release = publish.after_release  # the scheduler's Publish: the site is refreshed after recording
    return timed


def count_retry(operation: str) -> None:
    OBJECT_STORE_RETRIES.labels(operation).inc()


retry_listeners.append(count_retry)


def observe_attempt(attempt: Any) -> None:
    """What the scheduler calls after each attempt at a release."""
    RELEASE_ATTEMPTS.labels(attempt.outcome).inc()
    if attempt.outcome == "released":
        RELEASES_PUBLISHED.inc()
        RELEASE_LATE.observe(attempt.late_by_seconds)


def observe_verify(report: Any) -> None:
    VERIFY_LAST_RUN.set(time.time())
    VERIFY_LAST_OK.set(1 if report.breach is None else 0)
    VERIFY_CHECKED.set(report.checked)


# -- read at scrape time ------------------------------------------------------------------------


class StateCollector(Collector):
    """What the database and the object store say now: head, lag, due releases, reachability."""

    NAMES = tuple(
        f"{PREFIX}_{name}"
        for name in (
            "database_up", "object_store_up", "log_head_position", "projection_lag_events", "releases_due",
            "release_overdue_seconds",
        )
    )

    def __init__(self, app: "App") -> None:
        self.app = app
        self.clock = app.clock

    def collect(self) -> Iterator[GaugeMetricFamily]:
        database_up = GaugeMetricFamily(f"{PREFIX}_database_up", "1 if the database answered this scrape, else 0.")
        store_up = GaugeMetricFamily(f"{PREFIX}_object_store_up", "1 if the published site's store answered, else 0.")
        try:
            head, lags, due = self._read_database()
        except Exception:
            database_up.add_metric([], 0)
        else:
            database_up.add_metric([], 1)
            yield GaugeMetricFamily(f"{PREFIX}_log_head_position", "The log's last position (0: empty).", value=head)
            lag = GaugeMetricFamily(
                f"{PREFIX}_projection_lag_events", "Events between the log head and each projection's checkpoint.",
                labels=["projection"],
            )
            for name, behind in lags:
                lag.add_metric([name], behind)
            yield lag
            yield GaugeMetricFamily(
                f"{PREFIX}_releases_due", "Confirmed or provisional releases whose time has come and are not released.",
                value=len(due),
            )
            now = self.clock()
            yield GaugeMetricFamily(
                f"{PREFIX}_release_overdue_seconds", "Seconds since the oldest due, unreleased release's time (0: none).",
                value=max([(now - release.due).total_seconds() for release in due], default=0.0),
            )
        yield database_up
        try:
            self.app.published.exists("index.html")
        except Exception:
            store_up.add_metric([], 0)
        else:
            store_up.add_metric([], 1)
        yield store_up

    def _read_database(self) -> tuple[int, list[tuple[str, int]], list]:
        from sqlalchemy import select

        from events.subscription import checkpoints

        store = self.app.store
        head = store.head().position
        with store.engine.connect() as connection:
            rows = connection.execute(select(checkpoints.c.name, checkpoints.c.position)).all()
        due = self.app.calendar.due(self.clock())  # as the calendar stands: the scheduler catches it up
        return head, [(name, max(head - position, 0)) for name, position in rows], due


def exposition(app: "App") -> bytes:
    """The text every /metrics answers: this process's (or all workers') metrics, then the state."""
    if _multiprocess():
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        counted = generate_latest(registry)
    else:
        counted = generate_latest(REGISTRY)
    state = CollectorRegistry(auto_describe=False)
    state.register(StateCollector(app))
    return counted + generate_latest(state)


CONTENT_TYPE = CONTENT_TYPE_LATEST


# -- a scheduler-only process's own little server ------------------------------------------------


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # structlog, not stderr, carries our logs
        pass


def serve_health_and_metrics(app: "App", host: str, port: int) -> Callable[[], None]:
    """/healthz, /readyz and /metrics on `host:port` in a daemon thread; returns the function that stops it."""

    def wsgi(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == "/metrics":
            body, status, kind = exposition(app), "200 OK", CONTENT_TYPE
        elif path == "/healthz":
            body, status, kind = b'{"status":"ok"}', "200 OK", "application/json"
        elif path == "/readyz":
            try:
                with app.engine.connect() as connection:
                    connection.exec_driver_sql("SELECT 1")
                schema = app.check_schema()
                body, status = b'{"status":"ready","database":"ok","schema":"%s"}' % schema.encode(), "200 OK"
            except Exception as exc:
                body, status = ('{"status":"unavailable","detail":%s}' % json.dumps(str(exc))).encode(), "503 Service Unavailable"
            kind = "application/json"
        else:
            body, status, kind = b'{"status":404}', "404 Not Found", "application/json"
        start_response(status, [("Content-Type", kind), ("Content-Length", str(len(body)))])
        return [body]

    server = make_server(host, port, wsgi, server_class=_ThreadingServer, handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="metrics-server", daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()

    return stop
