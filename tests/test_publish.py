"""Publishing: keys and write order, an identical publish is a no-op, a changed file is refused, a failure at
any step leaves the site consistent and publishing again completes it (on a directory and on SeaweedFS),
a correction supersedes without touching the old revision, and nothing unreleased is ever public."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from typer.testing import CliRunner

from events import EventStore
from events.database import make_engine
from events.domain import registry
from events.domain.calendar import release_stream
from events.domain.errors import ReleaseNotConfirmed
from publishers.check import check_site
from publishers.publish import PublishFailed, RevisionConflict
from publishers.stores import S3, LocalDirectory, ObjectStore, StorageUnavailable
from service.bootstrap import bootstrap
from service.cli import cli
from service.config import Settings
from service.handlers.publishing import (
    EmbargoInForce,
    ManifestChanged,
    PublishRefused,
    Publishing,
    RevisionSuperseded,
)
from service.handlers.releases import Releases
from service.scheduler import ReleaseScheduler

from .conftest import FakeClock
from .publish_support import (  # noqa: F401  (fixtures)
    EDITION,
    LOADED_AT,
    SITE_URL,
    VERSION,
    announce,
    another_edition,
    clock,
    correct_burglary,
    example_database,
    example_store,
    publishing,
)
from .s3 import FAST_RETRY, REGION

R1 = f"editions/{EDITION}/r1"
R2 = f"editions/{EDITION}/r2"
REVISION_FILES = ("edition.json", "scorecard.csv", "scorecard.csv-metadata.json", "index.html", "manifest.json")
PUBLIC = ("index.html", "feed.atom", "feed.rss", "latest/index.html", "latest/edition.json", "calendar.json", "calendar.ics", "calendar.atom")


def released(store: EventStore, edition: str = EDITION) -> list:
    return [e for e in store.read_stream(release_stream(edition)) if e.type == "EditionReleased"]


def listed(site: ObjectStore) -> set[str]:
    """The revision directories the public index and feeds link to."""
    found = set()
    for key in ("index.html", "feed.atom", "feed.rss"):
        if site.exists(key):
            found |= set(re.findall(r"editions/[a-z0-9-]+/r\d+", site.get(key).decode()))
    return found


def assert_consistent(site: ObjectStore, log: EventStore) -> None:
    """No reachable link to a missing file, no incomplete revision linked, nothing listed that the log has not released."""
    assert check_site(site, SITE_URL) == []
    for directory in listed(site):
        _, edition, revision = directory.split("/")
        assert int(revision[1:]) in [e.data["revision"] for e in released(log, edition)], f"{directory} is listed but not released"


# keys, order and idempotence


def test_publishing_writes_the_revision_under_immutable_keys_then_the_site_and_records_the_release(publishing, example_store, tmp_path):
    site = LocalDirectory(tmp_path / "site")

    report = publishing.publish(EDITION, to=site)

    assert report.edition_keys == tuple(f"{R1}/{name}" for name in REVISION_FILES)
    assert report.edition_files.written == list(report.edition_keys), "files in order, the manifest last"
    assert report.site_files.written[-1] == "index.html", "the root index last"
    assert report.site_files.written.index("feed.atom") < report.site_files.written.index("index.html")
    (event,) = released(example_store)
    assert event.data["manifest_hash"] == report.manifest_hash == hashlib.sha256(site.get(f"{R1}/manifest.json")).hexdigest()
    assert event.data["keys"] == list(report.edition_keys) and event.data["revision"] == 1
    assert set(site.list()) >= {
        *report.edition_keys, f"editions/{EDITION}/index.html", f"editions/{EDITION}/status.css", "edition.schema.json", *PUBLIC
    }
    assert_consistent(site, example_store)


def test_publishing_the_same_revision_again_writes_nothing_and_records_nothing(publishing, example_store, tmp_path, clock):
    site = LocalDirectory(tmp_path / "site")
    publishing.publish(EDITION, to=site)
    head = example_store.head()
    clock.advance(hours=5)

    again = publishing.publish(EDITION, to=site)

    assert again.mode == "again" and again.edition_files.written == [] and again.site_files.written == []
    assert again.recorded is False and example_store.head() == head
    assert "nothing to do" in again.summary()


def test_a_published_file_changed_behind_our_back_is_refused_loudly_naming_the_key(publishing, tmp_path):
    site = LocalDirectory(tmp_path / "site")
    publishing.publish(EDITION, to=site)
    (tmp_path / "site" / R1 / "scorecard.csv").write_bytes(b"measure\r\ntampered\r\n")

    with pytest.raises(RevisionConflict) as refused:
        publishing.publish(EDITION, to=site)

    assert f"{R1}/scorecard.csv" in str(refused.value) and "approving a new revision" in str(refused.value)


def test_a_released_revision_that_would_render_differently_is_not_published_again(publishing, example_store, clock, tmp_path):
    site = LocalDirectory(tmp_path / "site")
    publishing.publish(EDITION, to=site)
    upgraded = Publishing(example_store, site_url=SITE_URL, software_version="9.9.9", clock=clock)

    with pytest.raises(ManifestChanged) as refused:
        upgraded.publish(EDITION, to=LocalDirectory(tmp_path / "elsewhere"))

    assert "never change" in str(refused.value)
    assert LocalDirectory(tmp_path / "elsewhere").list() == []


# a failure at every step


class Outage(ObjectStore):
    """A store that works until its `fail_at`-th write, then fails every write (a lasting outage or a crash)."""

    def __init__(self, inner: ObjectStore, fail_at: int | None = None) -> None:
        self.inner, self.fail_at, self.writes = inner, fail_at, []

    def _write(self, method: str, key: str, body: bytes, **kwargs):
        self.writes.append(key)
        if self.fail_at is not None and len(self.writes) >= self.fail_at:
            raise StorageUnavailable("put", self.inner.location(key), 5, "injected outage")
        return getattr(self.inner, method)(key, body, **kwargs)

    def put_immutable(self, key, body, **kwargs):
        return self._write("put_immutable", key, body, **kwargs)

    def put_mutable(self, key, body, **kwargs):
        return self._write("put_mutable", key, body, **kwargs)

    def get(self, key):
        return self.inner.get(key)

    def head(self, key):
        return self.inner.head(key)

    def list(self, prefix=""):
        return self.inner.list(prefix)

    def location(self, key=""):
        return self.inner.location(key)


def _prepare(scenario: str, log: EventStore, site: ObjectStore, clock: FakeClock) -> int:
    """The published site before the publish under test; returns the revision that publish is of."""
    publishing = Publishing(log, site_url=SITE_URL, software_version=VERSION, clock=clock)
    if scenario == "first release beside a published edition":
        another_edition(log, "2021-11", title="Statement for November 2021")
        publishing.publish("2021-11", to=site)
        clock.advance(minutes=10)
        return 1
    publishing.publish(EDITION, to=site)
    return correct_burglary(log, clock)


def _every_step(scenario: str, example_database, tmp_path, new_site, copy_site) -> None:
    """Prepare the scenario once; then, for each write a clean publish makes, start from a copy of the
    prepared log and site, fail that write and every later one, check, and publish again."""
    clock = FakeClock(LOADED_AT + timedelta(minutes=30))
    base_log = tmp_path / "base.db"
    shutil.copy(example_database, base_log)
    log = EventStore(make_engine(f"sqlite:///{base_log}"), registry, clock=clock)
    base_site = new_site("base")
    revision = _prepare(scenario, log, base_site, clock)
    Publishing(log, site_url=SITE_URL, software_version=VERSION, clock=clock).site(base_site)  # projections caught up
    log.engine.dispose()
    prepared_at = clock.now

    def fresh(name: str) -> tuple[EventStore, ObjectStore, Publishing]:
        path = tmp_path / f"{name}.db"
        shutil.copy(base_log, path)
        step_clock = FakeClock(prepared_at)
        step_log = EventStore(make_engine(f"sqlite:///{path}"), registry, clock=step_clock)
        site = copy_site(base_site, name)
        return step_log, site, Publishing(step_log, site_url=SITE_URL, software_version=VERSION, clock=step_clock)

    log, site, publishing = fresh("count")
    counting = Outage(site)
    publishing.publish(EDITION, revision, to=counting)
    steps = list(counting.writes)
    log.engine.dispose()
    assert len(steps) >= 15
    def run(step: int, key: str) -> None:
        log, site, publishing = fresh(f"step-{step}")
        before = {k: site.get(k) for k in site.list() if k.startswith("editions/")}

        with pytest.raises(PublishFailed) as failed:
            publishing.publish(EDITION, revision, to=Outage(site, fail_at=step))

        assert failed.value.key == key and f"edition {EDITION} revision {revision}" in str(failed.value)
        assert "run the same publish again" in str(failed.value)
        assert_consistent(site, log)
        assert all(site.get(k) == body for k, body in before.items() if "/r" in k), "a published revision is never touched"

        publishing.publish(EDITION, revision, to=site)

        assert_consistent(site, log)
        assert f"editions/{EDITION}/r{revision}" in listed(site), f"step {step} ({key}): publishing again completed it"
        assert [e.data["revision"] for e in released(log)].count(revision) == 1
        log.engine.dispose()

    # The steps are independent (a log and a site each), so they run side by side to keep the test quick.
    with ThreadPoolExecutor(4) as pool:
        for done in [pool.submit(run, step, key) for step, key in enumerate(steps, start=1)]:
            done.result()


def _copy_directory(base: LocalDirectory, name: str) -> LocalDirectory:
    shutil.copytree(base.root, base.root.parent / name)
    return LocalDirectory(base.root.parent / name)


@pytest.mark.parametrize("scenario", ["first release beside a published edition", "correction"])
def test_a_failure_at_every_write_leaves_a_directory_site_consistent_and_publishing_again_completes_it(
    scenario, example_database, tmp_path
):
    _every_step(scenario, example_database, tmp_path, lambda name: LocalDirectory(tmp_path / name), _copy_directory)


@pytest.mark.s3
def test_a_failure_at_every_write_leaves_a_seaweedfs_site_consistent_and_publishing_again_completes_it(
    example_database, tmp_path, seaweedfs, s3_bucket
):
    def make_site(name: str) -> S3:
        return S3(s3_bucket, name, endpoint_url=seaweedfs.endpoint_url, region=REGION, path_style=True, retry=FAST_RETRY,
                  session=seaweedfs.session)  # fmt: skip

    def copy_site(base: S3, name: str) -> S3:
        # Server-side copies keep each object's Content-Type, Cache-Control and checksum.
        for key in base.list():
            base.client.copy_object(
                Bucket=s3_bucket, Key=f"{name}/{key}", CopySource={"Bucket": s3_bucket, "Key": f"base/{key}"},
                ChecksumAlgorithm="SHA256",
            )
        return make_site(name)

    _every_step("correction", example_database, tmp_path, make_site, copy_site)


@pytest.mark.s3
def test_transient_s3_errors_while_publishing_are_retried_and_the_publish_completes(publishing, example_store, s3_store):
    from .test_storage import _error_response, _fail

    attempts = _fail(s3_store, "PutObject", lambda request: _error_response(request, 503, "SlowDown"), times=2)

    report = publishing.publish(EDITION, to=s3_store)

    assert len(attempts) > len(report.edition_files.written)
    assert s3_store.head(f"{R1}/index.html").cache_control == "public, max-age=31536000, immutable"
    assert s3_store.head("feed.atom").cache_control == "public, max-age=300"
    assert s3_store.head("feed.atom").content_type == "application/atom+xml"
    assert_consistent(s3_store, example_store)


@pytest.mark.s3
def test_a_lasting_s3_failure_exits_non_zero_with_a_message_naming_the_edition_and_key(example_database, tmp_path, seaweedfs):
    path = tmp_path / "cli.db"
    shutil.copy(example_database, path)

    result = CliRunner().invoke(
        cli,
        ["--database-url", f"sqlite:///{path}", "--log-format", "json", "publish", EDITION,
         "--to", "s3://no-such-bucket/site", "--endpoint-url", seaweedfs.endpoint_url, "--path-style", "--region", REGION],
    )  # fmt: skip

    assert result.exit_code == 1
    assert f"error: publishing edition {EDITION} revision 1 stopped at {R1}/edition.json" in result.output
    assert "run the same publish again" in result.output
    logged = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    failure = next(entry for entry in logged if entry["event"] == "publish.failed")
    assert (failure["edition"], failure["key"]) == (EDITION, f"{R1}/edition.json")


# a correction after publication


def test_a_correction_publishes_r2_beside_r1_which_stays_as_it_was_and_is_marked_superseded(publishing, example_store, clock, tmp_path):
    site = LocalDirectory(tmp_path / "site")
    publishing.publish(EDITION, to=site)
    r1 = {key: site.get(key) for key in site.list(R1)}

    revision = correct_burglary(example_store, clock)
    report = publishing.publish(EDITION, to=site)

    assert (revision, report.revision, report.mode) == (2, 2, "correction")
    assert {key: site.get(key) for key in site.list(R1)} == r1
    status = site.get(f"editions/{EDITION}/status.css").decode()
    assert 'body[data-revision="1"] .superseded-banner { display: block; }' in status
    assert 'data-revision="2"' not in status
    landing = site.get(f"editions/{EDITION}/index.html").decode()
    assert landing.index('href="r2/"') < landing.index('href="r1/"') and "(the latest release)" in landing
    assert "Superseded" in landing and "under-counted by 90 offences" in landing
    page = site.get(f"{R2}/index.html").decode()
    assert "Revision 2 supersedes revision 1" in page and "19,018 became 19,108" in page
    assert 'href="../r1/">Revision 1</a>' in page
    assert "r2/" in site.get("latest/index.html").decode()
    assert json.loads(site.get("latest/edition.json"))["revision"] == 2
    assert site.get("latest/edition.json") == site.get(f"{R2}/edition.json")
    assert [e.data["revision"] for e in released(example_store)] == [1, 2]
    second = released(example_store)[1].data
    assert second["release_at"] == "2026-02-04T09:35:00+00:00", "a correction's time is its approval's minute"
    assert_consistent(site, example_store)


def test_a_revision_superseded_before_release_cannot_be_published_after_its_successor(publishing, example_store, clock, tmp_path):
    correct_burglary(example_store, clock)  # revision 2 approved before anything was published

    with pytest.raises(RevisionSuperseded) as refused:
        publishing.publish(EDITION, 1, to=LocalDirectory(tmp_path / "site"))

    assert "publish revision 2" in str(refused.value)


# embargo


def test_an_edition_announced_for_later_is_refused_pointing_at_the_scheduler_and_nothing_is_written(publishing, example_store, clock, tmp_path):
    announce(example_store, clock, EDITION, "2026-01-07T09:30")
    head = example_store.head()
    site = LocalDirectory(tmp_path / "site")

    with pytest.raises(EmbargoInForce) as refused:
        publishing.publish(EDITION, to=site)

    assert "embargoed until Wednesday 7 January 2026 09:30 GMT" in str(refused.value)
    assert "policing-metrics scheduler" in str(refused.value) and "--now --override-reason" in str(refused.value)
    assert site.list() == [] and example_store.head() == head


def test_publishing_early_needs_now_and_a_reason_which_the_calendar_records(publishing, example_store, clock, tmp_path):
    announce(example_store, clock, EDITION, "2026-01-07T09:30")
    site = LocalDirectory(tmp_path / "site")
    with pytest.raises(PublishRefused, match="--now needs --override-reason"):
        publishing.publish(EDITION, to=site, now=True)

    report = publishing.publish(EDITION, to=site, now=True, override_reason="The Board asked for it before its meeting")

    types = [e.type for e in example_store.read_stream(release_stream(EDITION))]
    assert types[-2:] == ["ReleaseRescheduled", "EditionReleased"]
    moved = example_store.read_stream(release_stream(EDITION))[-2].data
    assert moved["reason"] == moved["override_reason"] == "The Board asked for it before its meeting"
    assert moved["previous_release_at"] == "2026-01-07T09:30:00+00:00" and report.release_at == moved["release_at"]
    assert "The Board asked for it" in site.get("calendar.json").decode()


def test_at_its_announced_time_the_edition_goes_out_showing_that_time(publishing, example_store, clock, tmp_path):
    announce(example_store, clock, EDITION, "2026-01-07T09:30")
    clock.now = clock.now.replace(day=7, hour=9, minute=30, second=4)
    site = LocalDirectory(tmp_path / "site")

    report = publishing.publish(EDITION, to=site)

    assert report.release_at == "2026-01-07T09:30:00+00:00"
    assert '<time datetime="2026-01-07T09:30:00+00:00">Wednesday 7 January 2026 09:30 GMT</time>' in site.get(f"{R1}/index.html").decode()


def test_nothing_unreleased_appears_in_the_index_feeds_latest_or_edition_folders(publishing, example_store, clock, tmp_path):
    another_edition(example_store, "2022-05")
    announce(example_store, clock, "2022-05", "2026-03-05T09:30", confirmed=False)
    site = LocalDirectory(tmp_path / "site")

    publishing.publish(EDITION, to=site)

    assert not any(key.startswith("editions/2022-05") for key in site.list())
    for key in site.list():
        body = site.get(key).decode(errors="replace")
        assert "Homicides in the year to March 2022" not in body, key
        if not key.startswith("calendar."):
            assert "2022-05" not in body and "not yet released" not in body, key
    # The calendar names the coming release, by title and time only.
    calendar = json.loads(site.get("calendar.json"))
    coming = next(r for r in calendar["releases"] if r["edition"] == "2022-05")
    assert coming["status"] == "provisional" and coming["released"] is None
    assert_consistent(site, example_store)


# the scheduler, the command, the demo's server


def test_the_scheduler_publishes_a_due_release_through_the_wired_publisher(example_database, tmp_path, clock):
    path = tmp_path / "app.db"
    shutil.copy(example_database, path)
    settings = Settings(database_url=f"sqlite:///{path}", publish_to=f"file://{tmp_path / 'site'}", site_url=SITE_URL)
    app = bootstrap(settings, clock=clock)
    announce(app.store, clock, EDITION, "2026-01-07T09:30")
    clock.now = clock.now.replace(day=7, hour=9, minute=31)

    (attempt,) = ReleaseScheduler(app.store, app.publish, clock=clock, owner="test").sweep()

    assert (attempt.outcome, attempt.revision) == ("released", 1)
    site = LocalDirectory(tmp_path / "site")
    assert f"{R1}" in listed(site) and len(released(app.store)) == 1
    assert_consistent(site, app.store)
    app.close()


def test_a_provisional_release_is_not_published_until_confirmed_by_the_scheduler_or_on_demand(example_database, tmp_path, clock):
    path = tmp_path / "app.db"
    shutil.copy(example_database, path)
    settings = Settings(database_url=f"sqlite:///{path}", publish_to=f"file://{tmp_path / 'site'}", site_url=SITE_URL)
    app = bootstrap(settings, clock=clock)
    release_at = announce(app.store, clock, EDITION, "2026-01-07T09:30", confirmed=False)
    clock.now = clock.now.replace(day=7, hour=9, minute=31)
    scheduler = ReleaseScheduler(app.store, app.publish, clock=clock, owner="test")
    site = LocalDirectory(tmp_path / "site")

    assert scheduler.sweep() == [], "a sweep passes a provisional release by"
    assert scheduler.attempt(EDITION, release_at).outcome == "not-confirmed", "and so does its timer"
    with pytest.raises(ReleaseNotConfirmed, match="provisional release is not published until it is confirmed"):
        app.publishing.publish(EDITION, to=site)
    assert not any(key.startswith("editions/") for key in site.list()) and released(app.store) == []

    # Postponed with its reason, then confirmed: at its new time the scheduler releases it.
    Releases(app.store, clock).reschedule(EDITION, "2026-01-08T09:30", reason="the Board asked to see it first")
    Releases(app.store, clock).confirm(EDITION, override_reason="the Board meets today", actor="analyst")
    clock.now = clock.now.replace(day=8, hour=9, minute=30, second=2)
    (attempt,) = scheduler.sweep()
    assert (attempt.outcome, attempt.revision) == ("released", 1)
    assert [e.data["release_at"] for e in released(app.store)] == ["2026-01-08T09:30:00+00:00"]
    app.close()


def test_the_publish_command_reports_what_it_wrote_and_a_second_run_that_there_was_nothing_to_do(example_database, tmp_path):
    path = tmp_path / "cli.db"
    shutil.copy(example_database, path)
    args = ["--database-url", f"sqlite:///{path}", "publish", EDITION, "--to", f"file://{tmp_path / 'site'}", "--site-url", SITE_URL]

    first = CliRunner().invoke(cli, args)
    second = CliRunner().invoke(cli, args)

    assert first.exit_code == 0, first.output
    assert f"edition {EDITION} revision 1 (first release" in first.output and "release recorded in the log" in first.output
    assert second.exit_code == 0 and "nothing to do" in second.output
    check = CliRunner().invoke(cli, [*args[:2], "site", "check", "--to", f"file://{tmp_path / 'site'}", "--site-url", SITE_URL])
    assert check.exit_code == 0 and "consistent" in check.output, check.output


def test_site_serve_serves_the_published_folder_on_localhost(publishing, tmp_path):
    publishing.publish(EDITION, to=LocalDirectory(tmp_path / "site"))
    server = subprocess.Popen(
        [sys.executable, "-m", "service", "site", "serve", "--dir", str(tmp_path / "site"), "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        line = server.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+/", line).group(0)
        assert "Ctrl-C" in line
        with urllib.request.urlopen(url) as response:
            assert response.status == 200 and b"Released statements" in response.read()
        with urllib.request.urlopen(url + "feed.atom") as response:
            assert response.headers["Content-Type"] == "application/atom+xml"
    finally:
        server.terminate()
        server.wait(10)


def test_every_page_of_the_published_site_is_valid_html5_with_one_h1_and_ordered_headings(publishing, example_store, clock, tmp_path):
    import html5lib

    site = LocalDirectory(tmp_path / "site")
    publishing.publish(EDITION, to=site)
    correct_burglary(example_store, clock)
    publishing.publish(EDITION, to=site)
    pages = [key for key in site.list() if key.endswith(".html")]
    assert {"index.html", "latest/index.html", f"editions/{EDITION}/index.html", f"{R1}/index.html", f"{R2}/index.html"} <= set(pages)
    for key in pages:
        document = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parse(site.get(key))
        assert document.get("lang") == "en-GB", key
        levels = [int(element.tag[1]) for element in document.iter() if re.fullmatch(r"h[1-6]", str(element.tag))]
        assert levels.count(1) == 1 and levels[0] == 1, key
        assert all(later - earlier <= 1 for earlier, later in zip(levels, levels[1:])), key
        assert not list(document.iter("script")), key
