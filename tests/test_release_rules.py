"""The release calendar's rules as pure decisions: given a release's events, when a command, then an
event or a refusal. No database: the state is folded from events made here."""

from __future__ import annotations

from datetime import datetime, timezone
from types import SimpleNamespace

import pytest

from events.domain.errors import (
    DomainError,
    EmbargoInForce,
    ReleaseClosed,
    ReleaseNotDue,
    ReleaseRefused,
    ReleaseWasCancelled,
)
from events.domain.rules import releases as rules

NOW = datetime(2026, 1, 5, 9, 0, 30, tzinfo=timezone.utc)  # Monday, GMT
MANIFEST = "a" * 64


def folded(*events: tuple[str, dict]):
    """The release and its released revisions after these (type, data) events."""
    recorded = [SimpleNamespace(type=t, data=d, position=n, recorded_at="2026-01-01T00:00:00.000000Z") for n, (t, d) in enumerate(events, 1)]
    return rules.fold(recorded), rules.released_revisions(recorded)


def announced(at="2026-01-07T09:30:00+00:00", state="confirmed"):
    return ("ReleaseAnnounced", {"edition": "2022-02", "title": "Statement", "release_at": at, "state": state})


def released(revision=1, at="2026-01-07T09:30:00+00:00"):
    return ("EditionReleased", {
        "edition": "2022-02", "revision": revision, "release_at": at, "released_at": "2026-01-07T09:30:01.000000Z",
        "manifest_hash": MANIFEST, "keys": ["editions/2022-02/r1/manifest.json"],
    })  # fmt: skip


def release(current, done, revision=1, at="2026-01-07T09:30:00+00:00", when=datetime(2026, 1, 7, 9, 30, 2, tzinfo=timezone.utc)):
    return rules.release(
        current, done, edition="2022-02", revision=revision, release_at=at, released_at=when, manifest_hash=MANIFEST, keys=["k"]
    )


def test_every_refusal_of_the_calendar_is_a_domain_error():
    assert issubclass(ReleaseRefused, DomainError)


def test_an_edition_never_announced_and_published_on_demand_is_announced_for_this_minute_with_the_default_reason():
    release_at, event = rules.publish_time(None, edition="2022-02", title="Statement", now=NOW, early=False, override_reason=None)
    assert release_at == "2026-01-05T09:00:00+00:00"
    assert (event.state, event.override_reason) == ("confirmed", rules.ON_DEMAND_REASON)


def test_a_release_announced_for_later_is_refused_unless_early_with_a_reason_which_moves_it_to_this_minute():
    current, _ = folded(announced())
    with pytest.raises(EmbargoInForce, match="embargoed until Wednesday 7 January 2026 09:30 GMT"):
        rules.publish_time(current, edition="2022-02", title="t", now=NOW, early=True, override_reason=" ")
    release_at, event = rules.publish_time(current, edition="2022-02", title="t", now=NOW, early=True, override_reason="the Board")
    assert (type(event).__name__, event.previous_release_at, event.release_at) == (
        "ReleaseRescheduled", "2026-01-07T09:30:00+00:00", release_at,
    )  # fmt: skip


def test_a_release_moved_to_now_by_another_publish_goes_out_at_that_time_with_no_second_move():
    current, _ = folded(announced(), ("ReleaseRescheduled", {
        "edition": "2022-02", "release_at": "2026-01-05T09:00:00+00:00", "previous_release_at": "2026-01-07T09:30:00+00:00",
        "reason": "the Board", "override_reason": "the Board",
    }))  # fmt: skip
    assert rules.publish_time(current, edition="2022-02", title="t", now=NOW, early=True, override_reason="the Board") == (
        "2026-01-05T09:00:00+00:00", None,
    )  # fmt: skip


def test_a_cancelled_release_is_published_only_early_with_a_reason():
    current, _ = folded(announced(), ("ReleaseCancelled", {"edition": "2022-02", "release_at": "2026-01-07T09:30:00+00:00", "reason": "merged"}))
    with pytest.raises(ReleaseWasCancelled, match="merged"):
        rules.publish_time(current, edition="2022-02", title="t", now=NOW, early=False, override_reason=None)


def test_a_first_release_is_recorded_at_its_time_never_before_and_once():
    current, done = folded(announced())
    with pytest.raises(ReleaseNotDue):
        release(current, done, when=datetime(2026, 1, 7, 9, 29, tzinfo=timezone.utc))
    event = release(current, done)
    assert (event.revision, event.late_by_seconds) == (1, None)
    current, done = folded(announced(), released())
    assert release(current, done) is None


def test_a_correction_is_recorded_after_the_release_it_corrects_and_an_older_revision_never_after_a_newer_one():
    current, done = folded(announced(), released())
    correction = release(current, done, revision=2, at="2026-02-04T09:35:00+00:00", when=datetime(2026, 2, 4, 9, 35, 3, tzinfo=timezone.utc))
    assert (correction.revision, correction.release_at) == (2, "2026-02-04T09:35:00+00:00")
    with pytest.raises(ReleaseClosed, match="before the release it corrects"):
        release(current, done, revision=2, at="2026-01-06T09:30:00+00:00")
    current, done = folded(announced(), released(), released(3, "2026-02-04T09:35:00+00:00"))
    with pytest.raises(ReleaseClosed):
        release(current, done, revision=2, at="2026-02-05T09:35:00+00:00", when=datetime(2026, 2, 5, 9, 36, tzinfo=timezone.utc))


def test_a_correction_goes_out_at_its_approvals_minute_never_before_the_release_it_corrects():
    _, done = folded(announced(), released())
    assert rules.correction_time(datetime(2026, 2, 4, 9, 35, 40, tzinfo=timezone.utc), done) == "2026-02-04T09:35:00+00:00"
    assert rules.correction_time(datetime(2026, 1, 6, 9, 0, tzinfo=timezone.utc), done) == "2026-01-07T09:30:00+00:00"
