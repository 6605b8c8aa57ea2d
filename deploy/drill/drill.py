"""The failure drill: the deployment's shape as real processes on this machine, faults injected, promises checked.

PostgreSQL (the local server, a schema of its own), SeaweedFS (`weed mini`), three `serve --no-scheduler`
behind HAProxy (deploy/haproxy/haproxy.cfg), two `scheduler`s publishing to S3. A loopback load client
reads the public API through the proxy while a data owner submits figures through it. A release comes
due; the scheduler that claims it is SIGKILLed mid-publish, one API process is SIGKILLed and another
gets SIGTERM. Then it prints a summary and exits 1 if any promise was broken. Bounded: it stops by
itself (within 3 minutes of starting, then DRILL_TIMEOUT seconds, 240 by default).

Run it with `deploy/drill/run` (or `make test-drill`); `--json FILE` also writes the summary as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from events import EventStore, Metadata  # noqa: E402
from events.database import make_engine, upgrade  # noqa: E402
from events.domain import registry  # noqa: E402
from service.handlers.examples import DEFAULT_EXAMPLE, load_example  # noqa: E402
from service.handlers.releases import Releases  # noqa: E402
from service.handlers.tokens import issue_token  # noqa: E402
from tests.s3 import free_ports, weed_mini  # noqa: E402  (the tests' SeaweedFS launcher, shared as the bench does)

POSTGRES = os.environ.get("DRILL_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
EDITION = "2022-02"
AREA = "west-midlands"
DUE_AFTER = timedelta(seconds=float(os.environ.get("DRILL_DUE_AFTER", "15")))
TIMEOUT = float(os.environ.get("DRILL_TIMEOUT", "240"))  # from the moment everything is ready
READY_SECONDS = 180  # five Python processes starting at once on a busy 2-core machine can take a minute or more
LEASE_SECONDS = 5
# The lease, a sweep or two and the publish itself: a release taken over should be out well within this.
MAX_DELAY_SECONDS = 60
READERS, WRITERS = 4, 2
MAX_WRITES = 1500  # per writer
PUBLIC_PATHS = ("/public/scorecard", "/public/editions", f"/public/editions/{EDITION}/index.html", "/public/history/homicide")


def log(message: str) -> None:
    print(f"[drill {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class Process:
    """A child process whose JSON log lines (stderr) are kept and can be waited on."""

    def __init__(self, name: str, command: list[str], environment: dict[str, str], directory: Path) -> None:
        self.name = name
        self.lines: list[str] = []
        self.seen = threading.Condition()
        self.output = open(directory / f"{name}.log", "w")
        self.process = subprocess.Popen(
            command, env=environment, cwd=directory, stdin=subprocess.DEVNULL, stdout=self.output, stderr=subprocess.PIPE, text=True
        )
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.process.stderr:
            self.output.write(line)
            with self.seen:
                self.lines.append(line)
                self.seen.notify_all()

    def events(self, name: str) -> list[dict]:
        found = []
        for line in list(self.lines):
            if f'"{name}"' in line:
                try:
                    found.append(json.loads(line))
                except ValueError:
                    pass
        return found

    def wait_for(self, name: str, timeout: float) -> dict | None:
        deadline = time.monotonic() + timeout
        with self.seen:
            while time.monotonic() < deadline:
                found = self.events(name)
                if found:
                    return found[0]
                if self.process.poll() is not None:
                    return None
                self.seen.wait(0.05)
        return None

    def signal(self, sig: int) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)

    def stop(self) -> int | None:
        self.signal(signal.SIGTERM)
        try:
            return self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(5)
        finally:
            self.reader.join(5)
            self.output.close()


@dataclass
class Load:
    """The load client's tallies; every list is appended by its own threads only."""

    stop: threading.Event = field(default_factory=threading.Event)
    gets: list[tuple[float, float, str, int]] = field(default_factory=list)  # (start, seconds, path, status or -1)
    failed_gets: list[str] = field(default_factory=list)
    early: list[str] = field(default_factory=list)  # an edition file answered 200 before its time
    acknowledged: dict[str, dict] = field(default_factory=dict)  # idempotency key -> 2xx answer
    write_attempts: int = 0
    write_retries: int = 0
    write_failures: list[str] = field(default_factory=list)


def reader(base: str, load: Load, due: datetime) -> None:
    with httpx.Client(base_url=base, timeout=10) as client:
        n = 0
        while not load.stop.is_set():
            path = PUBLIC_PATHS[n % len(PUBLIC_PATHS)]
            n += 1
            started = time.monotonic()
            try:
                status = client.get(path).status_code
            except httpx.HTTPError as exc:
                status, problem = -1, f"{path}: {type(exc).__name__}: {exc}"
            else:
                problem = None if status in (200, 404) else f"{path}: HTTP {status}"
            load.gets.append((started, time.monotonic() - started, path, status))
            if problem:
                load.failed_gets.append(problem)
            if status == 200 and path.startswith(f"/public/editions/{EDITION}/") and datetime.now(timezone.utc) < due:
                load.early.append(f"{path} answered 200 at {datetime.now(timezone.utc).isoformat()}, before {due.isoformat()}")


def drill_period(index: int) -> str:
    """A distinct period for each write that has long ended (a new figure's must): months of the 20th century,
    one month long for the first 1,200 writes, two for the next 1,200, and so on."""
    start = index % 1200
    end = start + index // 1200
    return f"{1900 + start // 12}-{start % 12 + 1:02d}/{1900 + end // 12}-{end % 12 + 1:02d}"


def writer(base: str, token: str, load: Load, number: int) -> None:
    measure = ("homicide", "burglary")[number % 2]
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, timeout=15, headers=headers) as client:
        for index in range(MAX_WRITES):
            if load.stop.is_set():
                return
            body = {"measure": measure, "area": AREA, "period": drill_period(index), "value": str(index)}
            key = uuid.uuid4().hex
            for attempt in range(10):  # the same key every time: a retry can never record twice
                load.write_attempts += 1
                try:
                    answer = client.post("/figures", json=body, headers={"Idempotency-Key": key})
                except httpx.HTTPError as exc:
                    outcome = f"{type(exc).__name__}"
                else:
                    if 200 <= answer.status_code < 300:
                        load.acknowledged[key] = answer.json()
                        break
                    outcome = f"HTTP {answer.status_code}: {answer.text[:200]}"
                    if answer.status_code < 500 and answer.status_code != 429:
                        load.write_failures.append(f"{body['period']}: {outcome}")
                        break
                load.write_retries += 1
                time.sleep(0.2 * (attempt + 1))
            else:
                load.write_failures.append(f"{body['period']}: gave up after 10 attempts ({outcome})")
            time.sleep(0.02)


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="Also write the summary here as JSON.")
    parser.add_argument("--keep", action="store_true", help="Keep the working directory and schema afterwards.")
    arguments = parser.parse_args()
    started = time.monotonic()
    work = Path(os.environ.get("DRILL_DIR") or f"/tmp/policing-metrics-drill-{uuid.uuid4().hex[:8]}")
    work.mkdir(parents=True, exist_ok=True)
    schema = f"drill_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
    database_url = POSTGRES.replace("postgresql://", "postgresql+psycopg://", 1) + f"?options=-csearch_path%3D{schema}"
    failed = lambda message: (_ for _ in ()).throw(SystemExit(f"drill: {message}"))  # noqa: E731
    with ExitStack() as stack:
        stack.callback(lambda: _drop(schema, arguments.keep))
        s3 = stack.enter_context(weed_mini(failed))
        bucket = "drill"
        s3.client().create_bucket(Bucket=bucket)
        log(f"SeaweedFS at {s3.endpoint_url}; PostgreSQL schema {schema}; logs in {work}")

        # The log: the example statement, approved, its release announced DUE_AFTER from now; a data owner's token.
        engine = make_engine(database_url)
        upgrade(engine)
        store = EventStore(engine, registry)
        load_example(store, DEFAULT_EXAMPLE, Metadata(actor="drill", source="drill"), AREA)
        _, bearer = issue_token(store, name="drill data owner", role="data-owner", measures=None, metadata=Metadata(actor="drill"))
        engine.dispose()

        environment = {
            **os.environ,
            "POLICING_METRICS_DATABASE_URL": database_url,
            "POLICING_METRICS_PUBLISH_TO": f"s3://{bucket}/site",
            "POLICING_METRICS_LOG_FORMAT": "json",
            "AWS_ENDPOINT_URL": s3.endpoint_url,
            "AWS_REGION": "us-east-1",
        }
        python = [sys.executable, "-m", "service"]
        api_ports = free_ports(3)
        proxy_port, *metrics_ports = free_ports(3)
        apis = [
            Process(f"api{n + 1}", [*python, "serve", "--no-scheduler", "--port", str(port)], environment, work)
            for n, port in enumerate(api_ports)
        ]
        for api in apis:
            stack.callback(api.stop)
        proxy_environment = {
            **os.environ,
            "HAPROXY_BIND": f"127.0.0.1:{proxy_port}",
            **{f"API_SERVER_{n + 1}": f"127.0.0.1:{port}" for n, port in enumerate(api_ports)},
        }
        proxy = Process("haproxy", ["haproxy", "-W", "-db", "-f", str(ROOT / "deploy/haproxy/haproxy.cfg")], proxy_environment, work)
        stack.callback(proxy.stop)
        schedulers = [
            Process(
                f"scheduler{n + 1}",
                [*python, "scheduler", "--sweep-seconds", "1", "--lease-seconds", str(LEASE_SECONDS), "--metrics-port", str(port)],
                environment,
                work,
            )
            for n, port in enumerate(metrics_ports)
        ]
        for scheduler in schedulers:
            stack.callback(scheduler.stop)
        base = f"http://127.0.0.1:{proxy_port}"
        _wait_ready(base, [f"http://127.0.0.1:{p}" for p in api_ports], [f"http://127.0.0.1:{p}" for p in metrics_ports])
        # Everything is up: announce the release for the first whole minute at least DUE_AFTER away.
        earliest = datetime.now(timezone.utc) + DUE_AFTER
        due = earliest.replace(second=0, microsecond=0) + timedelta(minutes=1)
        engine = make_engine(database_url)
        Releases(EventStore(engine, registry)).announce(EDITION, due, override_reason="the failure drill releases at once", actor="drill")
        engine.dispose()
        log(f"3 APIs behind HAProxy at {base}, 2 schedulers; release due at {due.isoformat()}")

        load = Load()
        threads = [threading.Thread(target=reader, args=(base, load, due), daemon=True) for _ in range(READERS)]
        threads += [threading.Thread(target=writer, args=(base, bearer, load, n), daemon=True) for n in range(WRITERS)]
        for thread in threads:
            thread.start()

        # The fault: whichever scheduler starts publishing is killed once the first files are out.
        deadline = time.monotonic() + TIMEOUT
        holder = None
        while holder is None and time.monotonic() < deadline:
            holder = next((s for s in schedulers if s.events("release.publishing")), None)
            time.sleep(0.005)
        if holder is None:
            raise SystemExit("drill: no scheduler started publishing in time")
        s3_client = s3.client()
        prefix = f"site/editions/{EDITION}/r1/"
        written_before_kill: dict[str, tuple] = {}
        wait_files = time.monotonic() + 30  # rendering comes first, and takes a while on a busy machine
        while not written_before_kill and time.monotonic() < wait_files:  # the first of its files is out
            written_before_kill = _objects(s3_client, bucket, prefix)
        holder.signal(signal.SIGKILL)
        faults_at = time.monotonic()
        killed_at = datetime.now(timezone.utc)
        holder.process.wait(10)
        written_before_kill = _objects(s3_client, bucket, prefix)
        mid_publish = _released(database_url) is None  # it died before the release was recorded
        log(f"SIGKILL {holder.name} while publishing ({len(written_before_kill)} edition files out)")
        apis[0].signal(signal.SIGKILL)
        apis[1].signal(signal.SIGTERM)
        log("SIGKILL api1, SIGTERM api2")

        # Wait for another scheduler to take the release over and record it.
        released = None
        while released is None and time.monotonic() < deadline:
            released = _released(database_url)
            time.sleep(0.2)
        published_seen = time.monotonic()
        time.sleep(5)  # the readers see it released through the proxy
        faults_end = time.monotonic()
        load.stop.set()
        for thread in threads:
            thread.join(30)

        summary = _check(
            database_url, s3_client, bucket, prefix, load, released, written_before_kill, due, killed_at,
            faults_at, faults_end, mid_publish, holder, schedulers, environment, work, base,
        )
        summary["drill_seconds"] = round(time.monotonic() - started, 1)
        summary["published_after_faults_seconds"] = round(published_seen - faults_at, 2)
    _print(summary)
    if arguments.json:
        arguments.json.write_text(json.dumps(summary, indent=2) + "\n")
    return 0 if not summary["broken"] else 1


def _drop(schema: str, keep: bool) -> None:
    if keep:
        return
    with psycopg.connect(POSTGRES, autocommit=True) as admin:
        admin.execute(f"DROP SCHEMA {schema} CASCADE")


def _wait_ready(proxy: str, apis: list[str], schedulers: list[str], timeout: float = READY_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    pending = [f"{a}/readyz" for a in apis] + [f"{s}/readyz" for s in schedulers] + [f"{proxy}/readyz"]
    while pending and time.monotonic() < deadline:
        try:
            if httpx.get(pending[0], timeout=2).status_code == 200:
                pending.pop(0)
                continue
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    if pending:
        raise SystemExit(f"drill: not ready within {timeout} s: {pending}")


def _objects(client, bucket: str, prefix: str) -> dict[str, tuple]:
    found = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            found[item["Key"]] = (item["ETag"], item["LastModified"].isoformat())
    return found


def _released(database_url: str) -> dict | None:
    with psycopg.connect(_libpq(database_url)) as connection:
        row = connection.execute("SELECT data FROM events WHERE type = 'EditionReleased' ORDER BY position LIMIT 1").fetchone()
    return None if row is None else json.loads(row[0])


def _libpq(database_url: str) -> str:
    return database_url.replace("postgresql+psycopg://", "postgresql://", 1)


def _check(database_url, s3_client, bucket, prefix, load, released, before_kill, due, killed_at, faults_at, faults_end,
           mid_publish, holder, schedulers, environment, work, base) -> dict:
    broken: list[str] = []
    with psycopg.connect(_libpq(database_url)) as connection:
        releases = connection.execute("SELECT data FROM events WHERE type = 'EditionReleased'").fetchall()
        keyed = dict(
            connection.execute(
                "SELECT metadata::jsonb->>'idempotency_key', count(*) FROM events "
                "WHERE metadata::jsonb ? 'idempotency_key' GROUP BY 1"
            ).fetchall()
        )
    if len(releases) != 1:
        broken.append(f"{len(releases)} EditionReleased events, expected exactly 1")
    keys = json.loads(releases[0][0])["keys"] if releases else []
    present = _objects(s3_client, bucket, "site/")
    missing = [key for key in keys if f"site/{key}" not in present]
    rewritten = [key for key, seen in before_kill.items() if present.get(key) != seen]
    if missing:
        broken.append(f"published keys missing: {missing[:5]}")
    if rewritten:
        broken.append(f"keys written before the kill were written again: {rewritten[:5]}")
    if not mid_publish:
        broken.append("the killed scheduler had already finished: not a kill mid-publish")
    counts = {}
    for key in load.acknowledged:
        scoped = next((k for k in keyed if k.endswith(f":{key}")), None)
        counts[key] = keyed.get(scoped, 0)
    not_once = {key: n for key, n in counts.items() if n != 1}
    if not_once:
        broken.append(f"{len(not_once)} acknowledged writes not in the log exactly once: {list(not_once.items())[:3]}")
    if load.write_failures:
        broken.append(f"{len(load.write_failures)} writes refused or given up: {load.write_failures[:3]}")
    if load.failed_gets:
        broken.append(f"{len(load.failed_gets)} failed public GETs: {load.failed_gets[:3]}")
    if released is None:
        broken.append("the release was not recorded within the drill's time")
    elif (datetime.fromisoformat(released["released_at"].replace("Z", "+00:00")) - due).total_seconds() > MAX_DELAY_SECONDS:
        broken.append(f"the release went out more than {MAX_DELAY_SECONDS} s after its time")
    if not any(entry.get("took_over_from") for s in schedulers if s is not holder for entry in s.events("release.claimed")):
        broken.append("no surviving scheduler took the killed one's claim over")
    if load.early:
        broken.append(f"edition files public before their time: {load.early[:3]}")
    site = subprocess.run(
        [sys.executable, "-m", "service", "site", "check"], env=environment, cwd=work, capture_output=True, text=True, timeout=120
    )
    if site.returncode != 0:
        broken.append(f"site check: {site.stdout.strip()[-500:]} {site.stderr.strip()[-300:]}")
    verify = subprocess.run(
        [sys.executable, "-m", "service", "verify"], env=environment, cwd=work, capture_output=True, text=True, timeout=120
    )
    if verify.returncode != 0:
        broken.append(f"verify: {verify.stdout.strip()} {verify.stderr.strip()[-300:]}")
    taker = [s.name for s in schedulers if s is not holder and s.events("release.released")]
    took_over = [s.events("release.claimed") for s in schedulers if s is not holder]
    during = [seconds for start, seconds, _, status in load.gets if faults_at <= start <= faults_end and status > 0]
    released_at = datetime.fromisoformat(released["released_at"].replace("Z", "+00:00")) if released else None
    return {
        "broken": broken,
        "edition_released_events": len(releases),
        "published_keys": len(keys),
        "published_keys_present": len(keys) - len(missing),
        "edition_files_written_before_the_kill": len(before_kill),
        "edition_files_rewritten": len(rewritten),
        "killed_scheduler": holder.name,
        "killed_mid_publish": mid_publish,
        "released_by": taker,
        "taken_over_from_killed": any(
            entry.get("took_over_from") for claims in took_over for entry in claims
        ),
        "site_check": site.stdout.strip().splitlines()[-1] if site.stdout.strip() else site.stderr.strip()[-200:],
        "verify": verify.stdout.strip().splitlines()[-1] if verify.stdout.strip() else verify.stderr.strip()[-200:],
        "writes_acknowledged": len(load.acknowledged),
        "writes_in_log_exactly_once": sum(1 for n in counts.values() if n == 1),
        "write_attempts": load.write_attempts,
        "write_retries": load.write_retries,
        "public_gets": len(load.gets),
        "public_gets_failed": len(load.failed_gets),
        "public_gets_during_faults": len(during),
        "public_get_p50_ms_during_faults": round(percentile(during, 0.50) * 1000, 1),
        "public_get_p99_ms_during_faults": round(percentile(during, 0.99) * 1000, 1),
        "public_get_p50_ms_overall": round(statistics.median([s for _, s, _, st in load.gets if st > 0]) * 1000, 1) if load.gets else None,
        "due_at": due.isoformat(),
        "scheduler_killed_at": killed_at.isoformat(),
        "released_at": released["released_at"] if released else None,
        "seconds_from_due_to_published": round((released_at - due).total_seconds(), 2) if released_at else None,
        "late_by_seconds_recorded": released.get("late_by_seconds") if released else None,
    }


def _print(summary: dict) -> None:
    print("failure drill summary")
    for key, value in summary.items():
        if key != "broken":
            print(f"  {key}: {value}")
    if summary["broken"]:
        print("BROKEN:")
        for problem in summary["broken"]:
            print(f"  - {problem}")
    else:
        print("every promise held")


if __name__ == "__main__":
    sys.exit(main())
