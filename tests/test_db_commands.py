"""`db upgrade` and `db wait` as deployments run them: several replicas at once, again and again, before the rest."""

from __future__ import annotations

import contextlib
import socket
import socketserver
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from events.database import MIGRATION_LOCK_KEY, make_engine, schema_revisions, upgrade

from .serving import cli, free_port

pytestmark = pytest.mark.postgres


def libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def popen(url: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "service", *args],
        env={"POLICING_METRICS_DATABASE_URL": url, "PATH": "/usr/bin:/bin"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_two_upgrades_started_at_once_run_one_after_the_other_and_both_succeed(postgres_url):
    with psycopg.connect(libpq(postgres_url), autocommit=True) as holder:
        # Hold the upgrade's own lock, so both processes are surely running at the same time when it is let go.
        holder.execute("SELECT pg_advisory_lock(%s, hashtext(current_schema()))", (MIGRATION_LOCK_KEY,))
        upgrades = [popen(postgres_url, "db", "upgrade") for _ in range(2)]
        time.sleep(3)
        assert [process.poll() for process in upgrades] == [None, None], "an upgrade did not wait for the lock"
        assert holder.execute("SELECT to_regclass('events')").fetchone() == (None,)
        holder.execute("SELECT pg_advisory_unlock(%s, hashtext(current_schema()))", (MIGRATION_LOCK_KEY,))
        results = [process.communicate(timeout=120) for process in upgrades]
        assert [process.returncode for process in upgrades] == [0, 0], results
        assert holder.execute("SELECT count(*) FROM alembic_version").fetchone() == (1,)
    engine = make_engine(postgres_url)
    current, head = schema_revisions(engine)
    engine.dispose()
    assert current == head
    assert all(f"database schema at {head}" in out for out, _ in results)


def test_an_upgrade_run_again_changes_nothing_and_succeeds(postgres_url):
    env = {"POLICING_METRICS_DATABASE_URL": postgres_url}
    assert cli(env, "db", "upgrade").returncode == 0
    with psycopg.connect(libpq(postgres_url)) as connection:
        before = connection.execute("SELECT count(*) FROM pg_class WHERE relnamespace = current_schema()::regnamespace").fetchone()
    again = cli(env, "db", "upgrade")
    assert again.returncode == 0, again.stderr
    with psycopg.connect(libpq(postgres_url)) as connection:
        after = connection.execute("SELECT count(*) FROM pg_class WHERE relnamespace = current_schema()::regnamespace").fetchone()
        assert connection.execute("SELECT count(*) FROM alembic_version").fetchone() == (1,)
    assert before == after


def test_db_wait_returns_once_another_process_has_migrated(postgres_url):
    waiting = popen(postgres_url, "db", "wait", "--timeout", "90")
    time.sleep(2)
    assert waiting.poll() is None, waiting.communicate()
    upgrade_engine = make_engine(postgres_url)
    upgrade(upgrade_engine)
    upgrade_engine.dispose()
    out, err = waiting.communicate(timeout=60)
    assert waiting.returncode == 0, err
    assert out.startswith("database schema at ")


def test_db_wait_gives_up_after_its_timeout_saying_what_to_run(postgres_url):
    started = time.monotonic()
    result = cli({"POLICING_METRICS_DATABASE_URL": postgres_url}, "db", "wait", "--timeout", "2")
    assert result.returncode == 1
    assert 2 <= time.monotonic() - started
    assert "has no schema yet: run `policing-metrics db upgrade`" in result.stderr


def test_db_wait_refuses_at_once_a_schema_newer_than_this_software(postgres_url):
    engine = make_engine(postgres_url)
    upgrade(engine)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    started = time.monotonic()
    result = cli({"POLICING_METRICS_DATABASE_URL": postgres_url}, "db", "wait", "--timeout", "60")
    assert result.returncode == 1
    assert time.monotonic() - started < 30
    assert "newer than this software knows" in result.stderr


def test_db_wait_names_a_database_that_does_not_answer_without_its_password():
    url = "postgresql+psycopg://postgres:s3cret@127.0.0.1:1/test?connect_timeout=1"
    result = cli({"POLICING_METRICS_DATABASE_URL": url}, "db", "wait", "--timeout", "1")
    assert result.returncode == 1
    assert "did not answer within 1 s" in result.stderr and "127.0.0.1:1" in result.stderr
    assert "s3cret" not in result.stderr


def test_db_upgrade_wait_names_a_database_that_never_answers_without_its_password():
    url = "postgresql+psycopg://postgres:s3cret@127.0.0.1:1/test?connect_timeout=1"
    started = time.monotonic()
    result = cli({"POLICING_METRICS_DATABASE_URL": url}, "db", "upgrade", "--wait", "2")
    assert result.returncode == 1
    assert 2 <= time.monotonic() - started
    assert "did not answer within 2 s" in result.stderr and "127.0.0.1:1" in result.stderr
    assert "s3cret" not in result.stderr


def test_db_upgrade_wait_migrates_a_database_that_starts_answering_later(postgres_url):
    # A database container still starting: nothing listens on the port at first, then PostgreSQL does.
    target = make_url(postgres_url)
    port = free_port()
    late = make_url(postgres_url).set(host="127.0.0.1", port=port).render_as_string(hide_password=False)
    upgrading = popen(late, "db", "upgrade", "--wait", "90")
    time.sleep(3)
    assert upgrading.poll() is None, upgrading.communicate()
    with forwarding(port, target.host, target.port or 5432):
        out, err = upgrading.communicate(timeout=90)
    assert upgrading.returncode == 0, err
    assert out.startswith("database schema at ")
    engine = make_engine(postgres_url)
    current, head = schema_revisions(engine)
    engine.dispose()
    assert current == head


@contextlib.contextmanager
def forwarding(port: int, host: str, target_port: int) -> Iterator[None]:
    """Listens on 127.0.0.1:port and passes each connection through to host:target_port."""

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            with socket.create_connection((host, target_port)) as upstream:
                pipes = [threading.Thread(target=pipe, args=(a, b), daemon=True)
                         for a, b in ((self.request, upstream), (upstream, self.request))]  # fmt: skip
                for thread in pipes:
                    thread.start()
                for thread in pipes:
                    thread.join()

    def pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                sink.shutdown(socket.SHUT_WR)

    server = socketserver.ThreadingTCPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
