"""The release scheduler: publishes each announced release at its time, never early, once.

The schedule lives in the log. Each process folds it into the calendar projection, and gives
APScheduler one in-memory date job per open release (rebuilt whenever the calendar changes)
plus a periodic sweep that catches anything due, including releases missed while every process
was down: those go out at start-up and are recorded as late by their delay.

APScheduler only says *when* to look. Whether this process releases a release is decided in the
database (`events.claims`); that the release happens once is ensured by the idempotent publish
and the release event's idempotency key, so a process that takes over a dead one's claim can
safely redo whatever part the dead one had done.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable, Protocol

import structlog
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from events import EventStore
from events.domain.calendar import parse_zoned
from events.domain.errors import ReleaseNotConfirmed
from events.domain.rules import releases as release_rules
from events.records import parse_time
from events.projections.calendar import CalendarProjection
from events.store import Clock, utc_now

from . import metrics
from events.claims import Claim, ReleaseClaims, claim_key, process_owner
from .handlers.releases import PublishOutcome, Releases, approved_revision

SWEEP_JOB = "sweep"
VERIFY_JOB = "verify"
RELEASE_JOB_PREFIX = "release:"


class Publish(Protocol):
    """Renders and uploads an edition's revision; publishing identical content again is a no-op.
    Once the scheduler has recorded the release, `after_release` refreshes what lists it (the site)."""

    def __call__(self, edition: str, revision: int) -> PublishOutcome: ...

    def after_release(self, edition: str, revision: int) -> None: ...


@dataclass(frozen=True)
class PlannedJob:
    job_id: str
    edition: str
    release_at: str  # as announced, London time with offset
    run_at: datetime  # UTC


@dataclass(frozen=True)
class Attempt:
    """What one attempt at a release did: `outcome` is one of the OUTCOMES below."""

    job_id: str
    edition: str
    release_at: str
    outcome: str
    revision: int | None = None
    # Released: seconds from its announced time to when the release was recorded (2.0 when it went
    # out two seconds after), whatever the calendar says. The event's own `late_by_seconds` is the
    # public's "published late" and stays None within ON_TIME_TOLERANCE_SECONDS.
    late_by_seconds: float | None = None


# released: this attempt recorded it; already-released / cancelled / moved: nothing to do;
# not-yet: too early, nothing done; claimed-elsewhere / busy: another attempt holds it;
# not-approved / failed / abandoned: the claim was given back and a later sweep retries.
OUTCOMES = (
    "released", "already-released", "cancelled", "moved", "not-yet", "claimed-elsewhere", "busy",
    "not-approved", "failed", "abandoned", "stopping",
)


class _Heartbeat:
    """Renews a claim's lease while a release is worked on, so only a dead process's claim expires."""

    def __init__(self, claims: ReleaseClaims, claim: Claim, interval: float, log) -> None:
        self._claims, self._claim, self._interval, self._log = claims, claim, interval, log
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{claim.key}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._done.wait(self._interval):
            try:
                if not self._claims.renew(self._claim):
                    self._log.warning("release.claim_lost", reason="lease expired and another process took over")
                    return
            except Exception as exc:  # a database blip: the next beat tries again before the lease runs out
                self._log.warning("release.heartbeat_failed", error=str(exc))

    def stop(self) -> None:
        self._done.set()
        self._thread.join(timeout=5)


class ReleaseScheduler:
    def __init__(
        self,
        store: EventStore,
        publish: Publish,
        *,
        clock: Clock = utc_now,
        owner: str | None = None,
        lease: timedelta = timedelta(seconds=60),
        sweep_interval: timedelta = timedelta(seconds=30),
        workers: int = 4,
        verify_interval: timedelta | None = None,
        releases: Releases | None = None,
        calendar: CalendarProjection | None = None,
    ) -> None:
        """`releases` and `calendar` come from the composition root (built here when not given)."""
        self.store = store
        self.publish = publish
        self.clock = clock
        self.owner = owner or process_owner()
        self.lease = lease
        self.sweep_interval = sweep_interval
        self.verify_interval = verify_interval
        self.releases = releases or Releases(store, clock)
        self.projection = calendar or CalendarProjection(store)
        self.claims = ReleaseClaims(store.engine, clock, lease)
        self.log = structlog.get_logger("scheduler").bind(owner=self.owner)
        self._aps = BackgroundScheduler(
            timezone=timezone.utc,
            executors={"default": ThreadPoolExecutor(workers)},
            # A job that fires late still runs (misfire_grace_time=None): late is better than missed.
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._rebuilding = threading.Lock()  # the sweep and the follower may both see a change
        self._in_flight: dict[str, Claim | None] = {}
        self._calendar_seen: tuple | None = None
        self._follower: threading.Thread | None = None

    # -- one release ------------------------------------------------------------------------

    def attempt(self, edition: str, release_at: str) -> Attempt:
        """Try to release `edition` for its announced time `release_at`; safe to call from any process, any time."""
        attempt = self._attempt(edition, release_at)
        metrics.observe_attempt(attempt)
        return attempt

    def _attempt(self, edition: str, release_at: str) -> Attempt:
        job_id = uuid.uuid4().hex[:12]
        log = self.log.bind(job_id=job_id, edition=edition, release_at=release_at)
        done = lambda outcome, **kw: Attempt(job_id, edition, release_at, outcome, **kw)  # noqa: E731
        due = parse_zoned(release_at)
        now = self.clock()
        if now < due:
            # Never early, whatever woke us: APScheduler's timer, a sweep, a person.
            log.info("release.not_yet", now=now.isoformat(), due_in_seconds=(due - now).total_seconds())
            return done("not-yet")
        if self._stopping.is_set():
            return done("stopping")
        key = claim_key(edition, release_at)
        with self._lock:
            if key in self._in_flight:
                return done("busy")  # the date job and a sweep met in this process
            self._in_flight[key] = None
        try:
            claim = self.claims.claim(edition, release_at, self.owner, job_id)
            if claim is None:
                log.debug("release.claimed_elsewhere")
                return done("claimed-elsewhere")
            with self._lock:
                self._in_flight[key] = claim
            log.info("release.claimed", attempts=claim.attempts, took_over_from=claim.previous_owner)
            if claim.previous_owner is not None:
                metrics.CLAIMS_TAKEN_OVER.inc()
            metrics.CLAIMS_HELD.inc()
            heartbeat = _Heartbeat(self.claims, claim, max(self.lease.total_seconds() / 3, 0.05), log)
            try:
                return self._release(claim, log, done)
            finally:
                heartbeat.stop()
                metrics.CLAIMS_HELD.dec()
        finally:
            with self._lock:
                self._in_flight.pop(key, None)

    def _release(self, claim: Claim, log, done) -> Attempt:
        edition, release_at = claim.edition, claim.release_at
        try:
            # The projection may lag the log: decide on the release's own stream.
            current = self.releases.release(edition)
            if current is None or current.status == "cancelled":
                self.claims.finish(claim, "cancelled")
                log.info("release.skipped", reason="cancelled")
                return done("cancelled")
            if current.status == "released":
                self.claims.finish(claim, "released", current.released_revision)
                log.info("release.skipped", reason="already released", revision=current.released_revision)
                return done("already-released", revision=current.released_revision)
            try:
                release_rules.check_confirmed(current, edition=edition)
            except ReleaseNotConfirmed as refusal:
                # Never confirmed by its time: nothing goes out; moved to a new time, it is a new claim.
                self.claims.finish(claim, "not-confirmed")
                log.warning("release.not_confirmed", problem=str(refusal))
                return done("not-confirmed")
            if current.release_at != release_at:
                # Rescheduled: the new time is its own claim, released when it comes.
                self.claims.finish(claim, "moved")
                log.info("release.skipped", reason="rescheduled", now_at=current.release_at)
                return done("moved")
            revision = approved_revision(self.store, edition)
            if revision is None:
                self.claims.abandon(claim)
                log.error(
                    "release.not_approved",
                    problem=f"{edition!r} is due but has no approved revision: approve it; the next sweep releases it",
                )
                return done("not-approved")
            if self._stopping.is_set():
                # Last safe point: nothing is out yet, so give the release to another process.
                self.claims.abandon(claim)
                log.warning("release.abandoned", reason="stopping before publishing")
                return done("abandoned")
            log.info("release.publishing", revision=revision, attempts=claim.attempts)
            outcome = self.publish(edition, revision)
            released, recorded = self.releases.record_release(
                edition, revision, release_at, outcome, released_at=self.clock(), actor=self.owner
            )
            self.publish.after_release(edition, revision)  # the site lists it once it is recorded
            self.claims.finish(claim, "released", revision)
            late_by = round((parse_time(released.released_at) - parse_zoned(release_at)).total_seconds(), 3)
            log.info(
                "release.released",
                revision=revision,
                recorded=recorded,
                late_by_seconds=late_by,
                late_on_the_calendar=released.late_by_seconds is not None,
                manifest_hash=released.manifest_hash,
                keys=len(released.keys),
            )
            return done("released", revision=revision, late_by_seconds=late_by)
        except Exception as exc:
            # Give the claim back at once: the next sweep (here or elsewhere) retries, and the
            # idempotent publish and release event make the retry safe.
            try:
                self.claims.abandon(claim)
            except Exception:
                pass  # the lease expires on its own
            log.error("release.failed", error=str(exc), error_type=type(exc).__name__, exc_info=True)
            return done("failed")

    # -- what is due, what is planned ----------------------------------------------------------

    def catch_up(self) -> None:
        try:
            self.projection.catch_up()
        except Exception as exc:
            # Another process may be folding the same batch; the projection is idempotent and
            # the next catch-up continues from the shared checkpoint.
            self.log.warning("calendar.catch_up_failed", error=str(exc))

    def sweep(self) -> list[Attempt]:
        """Attempt every open release whose time has come; what a restart or a missed timer relies on."""
        self.catch_up()
        attempts = [self.attempt(r.edition, r.release_at) for r in self.projection.due(self.clock()) if not self._stopping.is_set()]
        self._rebuild_if_changed()
        metrics.LAST_SWEEP.set(time.time())
        return attempts

    def verify_log(self) -> None:
        """Walk the whole hash chain; the result is what the verify metrics (and their alert) show."""
        report = self.store.verify()
        metrics.observe_verify(report)
        if report.breach is None:
            self.log.info("verify.ok", checked=report.checked, head=str(report.head))
        else:
            self.log.error("verify.failed", position=report.breach.position, problem=report.breach.problem)

    def _timer_time(self, due: datetime) -> datetime:
        """When APScheduler, which runs on the system clock, should wake for `due` on our clock.

        The same instant when the two clocks agree (production); a test's clock may be elsewhere.
        """
        return datetime.now(timezone.utc) + max(due - self.clock(), timedelta(0))

    def planned_jobs(self) -> list[PlannedJob]:
        """One date job per open release, at its time (at once, if it is already due)."""
        return [
            PlannedJob(f"{RELEASE_JOB_PREFIX}{claim_key(r.edition, r.release_at)}", r.edition, r.release_at, self._timer_time(r.due))
            for r in self.projection.open_releases()
        ]

    def jobs(self) -> dict[str, datetime | None]:
        """APScheduler's jobs as they stand: id and next run time."""
        return {job.id: job.next_run_time for job in self._aps.get_jobs()}

    def rebuild(self) -> list[PlannedJob]:
        """Make APScheduler's date jobs match the calendar: add new times, drop moved or cancelled ones."""
        with self._rebuilding:
            return self._rebuild()

    def _rebuild(self) -> list[PlannedJob]:
        planned = self.planned_jobs()
        wanted = {job.job_id: job for job in planned}
        for job in self._aps.get_jobs():
            if job.id.startswith(RELEASE_JOB_PREFIX) and job.id not in wanted:
                job.remove()
        existing = {job.id for job in self._aps.get_jobs()}
        for job in planned:
            if job.job_id not in existing:
                self._aps.add_job(
                    self._timer_fired,
                    DateTrigger(run_date=job.run_at),
                    args=(job.edition, job.release_at),
                    id=job.job_id,
                    name=f"release {job.edition} at {job.release_at}",
                )
        self._calendar_seen = self._calendar_state()
        self.log.info("scheduler.jobs_rebuilt", releases=len(planned), next=planned[0].release_at if planned else None)
        return planned

    def _calendar_state(self) -> tuple:
        return tuple((r.edition, r.release_at, r.status) for r in self.projection.open_releases())

    def _rebuild_if_changed(self) -> None:
        if self._aps.running and self._calendar_state() != self._calendar_seen:
            self.rebuild()

    def _timer_fired(self, edition: str, release_at: str) -> None:
        attempt = self.attempt(edition, release_at)
        if attempt.outcome == "not-yet" and not self._stopping.is_set():
            # The timer ran ahead of our clock: look again at the due time.
            self._aps.add_job(
                self._timer_fired, DateTrigger(run_date=self._timer_time(parse_zoned(release_at))), args=(edition, release_at),
                id=f"{RELEASE_JOB_PREFIX}{claim_key(edition, release_at)}", replace_existing=True,
            )

    # -- running ------------------------------------------------------------------------------

    def start(self, *, follow: bool = True, paused: bool = False) -> list[Attempt]:
        """Catch up, release whatever was missed, then plan the date jobs and the sweep.

        `paused` plans the jobs without running them (to look at the plan).
        """
        _route_apscheduler_logs()
        self.log.info("scheduler.starting", lease_seconds=self.lease.total_seconds(), sweep_seconds=self.sweep_interval.total_seconds())
        missed = self.sweep()
        self._aps.start(paused=paused)
        self.rebuild()
        self._aps.add_job(self.sweep, IntervalTrigger(seconds=self.sweep_interval.total_seconds()), id=SWEEP_JOB)
        if self.verify_interval is not None:
            # First soon after start, then every interval: the alert wants a pass at least daily.
            self._aps.add_job(
                self.verify_log, IntervalTrigger(seconds=self.verify_interval.total_seconds()), id=VERIFY_JOB,
                next_run_time=datetime.now(timezone.utc) + timedelta(seconds=1),
            )
        if follow:
            self._follower = threading.Thread(target=self._follow, name="calendar-follower", daemon=True)
            self._follower.start()
        return missed

    def _follow(self) -> None:
        """Rebuild the date jobs soon after any calendar change, not only at the next sweep."""
        try:
            with self.store.listener() as listener:
                position = self.store.head().position
                # Listening now; anything that landed before is caught here, not missed.
                self.catch_up()
                self._rebuild_if_changed()
                while not self._stopping.is_set():
                    if listener.wait(position, 1.0):
                        position = self.store.head().position
                        self.catch_up()
                        self._rebuild_if_changed()
        except Exception as exc:
            self.log.error("scheduler.follower_failed", error=str(exc), fallback="the periodic sweep")

    def in_flight(self) -> list[str]:
        with self._lock:
            return list(self._in_flight)

    def stop(self, grace: float = 30.0) -> None:
        """Stop planning; let a release being published finish within `grace` seconds, give the rest back."""
        self._stopping.set()
        if self._aps.running:
            self._aps.shutdown(wait=False)
        deadline = time.monotonic() + grace
        while self.in_flight() and time.monotonic() < deadline:
            time.sleep(0.05)
        with self._lock:
            unfinished = [claim for claim in self._in_flight.values() if claim is not None]
        for claim in unfinished:
            # Still publishing after the grace period: hand the claim over now rather than at lease
            # expiry. If this process then finishes too, the publish and the release event are idempotent.
            self.claims.abandon(claim)
            self.log.warning("release.abandoned", job_id=claim.attempt_id, edition=claim.edition, reason="stopping")
        if self._follower is not None:
            self._follower.join(timeout=5)
        self.log.info("scheduler.stopped", abandoned=len(unfinished))


def run_until_signalled(scheduler: ReleaseScheduler, grace: float = 30.0, ready: Callable[[], None] | None = None) -> None:
    """Run in the foreground until SIGTERM or SIGINT, then stop cleanly (see `ReleaseScheduler.stop`)."""
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda signum, _frame: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        scheduler.start()
        if ready is not None:
            ready()
        stop.wait()
        scheduler.log.info("scheduler.stopping", signal="received")
    finally:
        scheduler.stop(grace)
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class _ToStructlog(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        structlog.get_logger("apscheduler").log(record.levelno, record.getMessage())


def _route_apscheduler_logs() -> None:
    """APScheduler logs through the standard library; send its warnings into our JSON lines."""
    logger = logging.getLogger("apscheduler")
    if not any(isinstance(h, _ToStructlog) for h in logger.handlers):
        logger.addHandler(_ToStructlog())
        logger.setLevel(logging.WARNING)
        logger.propagate = False
