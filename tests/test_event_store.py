"""The event store's contract, run against SQLite and PostgreSQL alike."""

from __future__ import annotations

import os
import signal
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel
from sqlalchemy import text

from events import (
    EventRegistry,
    EventStore,
    EventStoreError,
    IdempotencyKeyReused,
    InvalidEvent,
    Metadata,
    NewEvent,
    UnknownEventType,
    WrongExpectedVersion,
)
from events.database import make_engine, upgrade
from events.types import EventType

from .support import counted
from .support import registry as test_registry


def positions(events):
    return [event.position for event in events]


def test_appends_get_gapless_positions_in_commit_order_and_versions_per_stream(store):
    first = store.append("a", [counted(count=1), counted(count=2)], expected_version=0)
    second = store.append("b", [counted(count=3)], expected_version=0)
    third = store.append("a", [counted(count=4)], expected_version=2)

    assert (first.first_position, first.last_position, first.stream_version) == (1, 2, 2)
    assert (second.first_position, second.last_position, second.stream_version) == (3, 3, 1)
    assert (third.first_position, third.stream_version) == (4, 3)
    log = list(store.read_all())
    assert positions(log) == [1, 2, 3, 4]
    assert [(e.stream, e.version, e.data["count"]) for e in log] == [("a", 1, 1), ("a", 2, 2), ("b", 1, 3), ("a", 3, 4)]
    assert store.head().position == 4 and store.head().hash == third.hash


def test_a_wrong_expected_version_is_refused_and_reports_the_current_version(store):
    store.append("a", [counted(), counted()], expected_version=0)

    with pytest.raises(WrongExpectedVersion) as conflict:
        store.append("a", [counted()], expected_version=1)

    assert conflict.value.actual == 2 and conflict.value.expected == 1
    assert "at version 2" in str(conflict.value)
    assert store.head().position == 2


def test_expected_version_zero_means_the_stream_must_not_exist_yet(store):
    store.append("a", [counted()], expected_version=0)
    with pytest.raises(WrongExpectedVersion):
        store.append("a", [counted()], expected_version=0)


def test_no_expected_version_appends_whatever_the_stream_holds(store):
    store.append("a", [counted()], expected_version=None)
    result = store.append("a", [counted()], expected_version=None)
    assert result.stream_version == 2


def test_a_batch_with_one_invalid_event_writes_nothing(store):
    store.append("a", [counted()], expected_version=0)

    with pytest.raises(InvalidEvent) as invalid:
        store.append("a", [counted(count=2), NewEvent("ThingCounted", {"thing": "x", "count": "many"})], expected_version=1)

    assert invalid.value.index == 1
    assert invalid.value.problems[0][0] == "count"
    assert "event 2 (ThingCounted) is invalid: count:" in str(invalid.value)
    assert positions(store.read_all()) == [1]


def test_an_unknown_event_type_is_refused_naming_the_declared_types(store):
    with pytest.raises(UnknownEventType) as unknown:
        store.append("a", [NewEvent("ThingCountd", {"thing": "x", "count": 1})], expected_version=0)
    assert "ThingCountd" in str(unknown.value) and "ThingCounted" in str(unknown.value)
    assert store.head().position == 0


@pytest.mark.parametrize("stream", ["", "x" * 201])
def test_a_stream_name_must_be_one_to_two_hundred_characters(store, stream):
    with pytest.raises(EventStoreError):
        store.append(stream, [counted()], expected_version=0)


def test_an_empty_append_is_refused(store):
    with pytest.raises(EventStoreError, match="at least one event"):
        store.append("a", [], expected_version=0)


def test_a_retry_with_the_same_idempotency_key_returns_the_original_positions_and_writes_nothing(store):
    store.append("other", [counted()], expected_version=0)
    original = store.append("a", [counted(count=1), counted(count=2)], expected_version=0, idempotency_key="req-1")

    retry = store.append("a", [counted(count=1), counted(count=2)], expected_version=0, idempotency_key="req-1")

    assert retry.replayed and not original.replayed
    assert retry[:4] == original[:4]
    assert store.head().position == 3
    assert store.read_stream("a")[0].metadata["idempotency_key"] == "req-1"


def test_the_same_idempotency_key_with_different_events_is_refused(store):
    store.append("a", [counted(count=1)], expected_version=0, idempotency_key="req-1")
    with pytest.raises(IdempotencyKeyReused):
        store.append("a", [counted(count=99)], expected_version=1, idempotency_key="req-1")
    assert store.head().position == 1


def test_metadata_records_actor_source_and_correlation(store):
    meta = Metadata(actor="analyst@wmp", source="cli", correlation_id="c-1", causation_id="e-0")
    store.append("a", [counted()], expected_version=0, metadata=meta)
    event = store.read_stream("a")[0]
    assert event.metadata == {"actor": "analyst@wmp", "source": "cli", "correlation_id": "c-1", "causation_id": "e-0"}


def test_raw_sql_update_and_delete_of_events_fail(store, engine):
    store.append("a", [counted()], expected_version=0)
    for statement in ("UPDATE events SET data = '{}' WHERE position = 1", "DELETE FROM events WHERE position = 1"):
        with pytest.raises(Exception, match="immutable"):
            with engine.begin() as connection:
                connection.execute(text(statement))
    assert store.read_stream("a")[0].data["count"] == 1


def test_recorded_at_never_decreases_even_when_the_clock_goes_back(store, clock):
    store.append("a", [counted()], expected_version=0)
    clock.advance(hours=-1)
    store.append("a", [counted()], expected_version=1)
    first, second = store.read_all()
    assert second.recorded_at == first.recorded_at
    assert first.recorded_at.endswith("Z") and len(first.recorded_at) == 27  # microseconds, UTC


def test_a_stream_reads_from_a_version_and_as_of_a_position_or_time(store, clock):
    store.append("a", [counted(count=1), counted(count=2)], expected_version=0)
    noon = clock.advance(hours=3)
    store.append("b", [counted(count=3)], expected_version=0)
    clock.advance(hours=3)
    store.append("a", [counted(count=4)], expected_version=2)

    assert [e.data["count"] for e in store.read_stream("a")] == [1, 2, 4]
    assert [e.data["count"] for e in store.read_stream("a", from_version=2)] == [2, 4]
    assert [e.data["count"] for e in store.read_stream("a", as_of_position=3)] == [1, 2]
    assert [e.data["count"] for e in store.read_stream("a", as_of_time=noon)] == [1, 2]
    assert store.read_stream("missing") == []


def test_the_log_reads_from_a_position_in_batches_and_as_of_a_time(store, clock):
    times = []
    for n in range(10):
        times.append(clock.advance(minutes=1))
        store.append(f"s{n % 3}", [counted(count=n)], expected_version=None)

    batches = list(store.read_batches(3, batch_size=4))
    assert [positions(batch) for batch in batches] == [[3, 4, 5, 6], [7, 8, 9, 10]]
    assert positions(store.read_all(as_of_time=times[4])) == [1, 2, 3, 4, 5]
    assert positions(store.read_all(5, as_of_position=7)) == [5, 6, 7]
    assert store.position_at(times[0].replace(year=2000)) == 0
    assert [store.position_at(t) for t in times] == list(range(1, 11))


def test_events_of_an_older_schema_version_are_read_in_the_current_shape(engine, clock):
    class RenamedV1(BaseModel):
        name: str

    class RenamedV2(BaseModel):
        title: str
        language: str

    old = EventRegistry()
    old.declare(EventType("Renamed", 1, RenamedV1))
    EventStore(engine, old, clock=clock).append("a", [NewEvent("Renamed", {"name": "Homicide"})], expected_version=0)

    new = EventRegistry()
    new.declare(EventType("Renamed", 2, RenamedV2, {1: lambda d: {"title": d["name"], "language": "en"}}))
    store = EventStore(engine, new, clock=clock)
    store.append("a", [NewEvent("Renamed", {"title": "Robbery", "language": "en"})], expected_version=1)

    first, second = store.read_stream("a")
    assert (first.schema_version, first.data) == (1, {"title": "Homicide", "language": "en"})
    assert (second.schema_version, second.data) == (2, {"title": "Robbery", "language": "en"})
    assert store.verify().ok  # upcasting is a reading concern: the stored bytes still verify


def test_a_type_declared_without_its_upcasters_is_refused():
    class Model(BaseModel):
        x: int

    with pytest.raises(ValueError, match="lacks upcasters"):
        EventRegistry().declare(EventType("T", 3, Model, {1: lambda d: d}))


# -- append_many: several streams, one transaction ------------------------------------------------


def test_append_many_writes_several_streams_in_one_run_of_positions_in_entry_order(store):
    store.append("a", [counted(count=1)], expected_version=0)

    result = store.append_many(
        [("b", [counted(count=2), counted(count=3)], 0), ("a", [counted(count=4)], 1), ("c", [counted(count=5)], None)]
    )

    assert (result.first_position, result.last_position) == (2, 5)
    assert result.stream_versions == {"b": 2, "a": 2, "c": 1}
    assert result.hash == store.head().hash
    log = list(store.read_all())
    assert [(e.stream, e.version, e.data["count"]) for e in log] == [("a", 1, 1), ("b", 1, 2), ("b", 2, 3), ("a", 2, 4), ("c", 1, 5)]
    assert store.verify().ok


def test_append_many_with_one_stale_expected_version_writes_nothing_and_names_that_stream(store):
    store.append("a", [counted()], expected_version=0)
    store.append("b", [counted(), counted()], expected_version=0)

    with pytest.raises(WrongExpectedVersion) as conflict:
        store.append_many([("a", [counted()], 1), ("b", [counted()], 1), ("c", [counted()], 0)])

    assert (conflict.value.stream, conflict.value.expected, conflict.value.actual) == ("b", 1, 2)
    assert store.head().position == 3
    assert store.read_stream("c") == []


def test_append_many_with_one_invalid_event_writes_nothing_and_counts_events_across_streams(store):
    with pytest.raises(InvalidEvent) as invalid:
        store.append_many(
            [("a", [counted(), counted()], 0), ("b", [NewEvent("ThingCounted", {"thing": "x", "count": "many"})], 0)]
        )
    assert invalid.value.index == 2
    assert store.head().position == 0


def test_an_entry_without_events_is_a_condition_on_its_streams_version(store):
    store.append("measure", [counted()], expected_version=0)

    store.append_many([("figure-1", [counted()], 0), ("measure", [], 1)])
    with pytest.raises(WrongExpectedVersion) as conflict:
        store.append_many([("figure-2", [counted()], 0), ("measure", [], 0)])

    assert conflict.value.stream == "measure"
    assert [e.stream for e in store.read_all()] == ["measure", "figure-1"]
    assert store.stream_version("measure") == 1  # a condition writes nothing to its stream


def test_append_many_refuses_a_stream_named_twice_and_a_call_with_no_events(store):
    with pytest.raises(EventStoreError, match="appears twice"):
        store.append_many([("a", [counted()], 0), ("a", [counted()], 1)])
    with pytest.raises(EventStoreError, match="at least one event"):
        store.append_many([("a", [], 0), ("b", [], None)])
    with pytest.raises(EventStoreError, match="at least one event"):
        store.append_many([])
    assert store.head().position == 0


def test_an_append_many_retried_with_its_idempotency_key_returns_the_original_result_and_writes_nothing(store):
    entries = [("a", [counted(count=1)], 0), ("b", [counted(count=2), counted(count=3)], 0)]
    original = store.append_many(entries, idempotency_key="import-1")
    store.append("c", [counted()], expected_version=0)

    retry = store.append_many(entries, idempotency_key="import-1")

    assert retry.replayed and not original.replayed
    assert retry[:4] == original[:4]
    assert store.head().position == 4
    with pytest.raises(IdempotencyKeyReused):
        store.append_many([("a", [counted(count=9)], 1)], idempotency_key="import-1")


def test_append_and_a_one_stream_append_many_share_idempotency_keys(store):
    first = store.append("a", [counted(count=1)], expected_version=0, idempotency_key="req-1")
    retry = store.append_many([("a", [counted(count=1)], 0)], idempotency_key="req-1")
    assert retry.replayed and (retry.first_position, retry.stream_versions) == (first.first_position, {"a": 1})


def test_append_many_records_one_metadata_for_every_event(store):
    store.append_many([("a", [counted()], 0), ("b", [counted()], 0)], metadata=Metadata(actor="analyst", source="cli"))
    assert [e.metadata for e in store.read_all()] == [{"actor": "analyst", "source": "cli"}] * 2


def test_append_many_spans_thousands_of_streams(store):
    result = store.append_many([(f"s-{n}", [counted(count=n)], 0) for n in range(2_000)])
    assert result.last_position == 2_000 and len(result.stream_versions) == 2_000
    assert store.read_streams(["s-0", "s-1999"])["s-1999"][0].data["count"] == 1999
    assert store.verify().ok


def test_a_batch_longer_than_one_insert_statement_lands_whole_in_order_and_verifies(store):
    count = 2 * 500 + 7  # SQLite inserts 500 rows per statement: two statements and a remainder
    result = store.append("long", [counted(count=n) for n in range(count)], expected_version=0)
    assert (result.first_position, result.last_position, result.stream_version) == (1, count, count)
    log = list(store.read_stream("long"))
    assert [(e.position, e.version, e.data["count"]) for e in log] == [(n + 1, n + 1, n) for n in range(count)]
    report = store.verify()
    assert report.ok and report.checked == count and store.head().hash == result.hash


class _Noted(BaseModel):
    note: str


class _Scored(BaseModel):
    score: int
    tags: list[str] = []


_mixed = EventRegistry()
_mixed.declare(EventType("Noted", 1, _Noted))
_mixed.declare(EventType("Scored", 3, _Scored, {1: lambda d: d, 2: lambda d: d}))
_texts = st.text(alphabet=st.sampled_from("a%s%d%%b{}\"\\é\ue000😀"), min_size=1, max_size=8)
_mixed_events = st.lists(
    st.one_of(
        st.builds(lambda note: NewEvent("Noted", {"note": note}), _texts),
        st.builds(lambda score, tags: NewEvent("Scored", {"score": score, "tags": tags}), st.integers(-(2**40), 2**40), st.lists(_texts, max_size=2)),
    ),
    min_size=1,
    max_size=7,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(entries=st.lists(st.tuples(_texts, _mixed_events), min_size=1, max_size=3, unique_by=lambda e: e[0]), actor=_texts)
def test_every_batch_shape_hashes_by_the_documented_recipe(engine, clock, entries, actor):
    """Batches mixing types and schema versions, with '%', quotes and characters beyond the BMP
    in streams, data and metadata, hash exactly as docs/hash-chain.md says (verify recomputes
    every hash from the stored fields, independently of the append path)."""
    store = EventStore(engine, _mixed, clock=clock)
    head = store.head().position
    result = store.append_many([(stream, events, None) for stream, events in entries], metadata=Metadata(actor=actor))
    written = list(store.read_all(head + 1))
    assert [(e.stream, e.type, e.data) for e in written] == [
        (stream, event.type, event.data) for stream, events in entries for event in events
    ]
    assert written[-1].hash == result.hash
    assert store.verify().ok


def test_appends_from_many_threads_of_one_process_share_the_store_safely(store):
    # Given one store used by eight threads at once (as the HTTP server's worker threads use it)
    def writer(thread: int) -> list[int]:
        landed = []
        for n in range(25):
            while True:
                try:
                    result = store.append(f"t-{n % 3}", [counted(f"thread-{thread}", n)], store.stream_version(f"t-{n % 3}"))
                except WrongExpectedVersion:
                    continue  # another thread got there first: read again and retry
                landed.append(result.first_position)
                break
        return landed

    with ThreadPoolExecutor(8) as pool:
        landed = [position for positions in pool.map(writer, range(8)) for position in positions]
    # Then every append landed once, the positions are gapless, and the chain verifies
    assert sorted(landed) == list(range(1, 8 * 25 + 1))
    assert [e.position for e in store.read_all()] == list(range(1, 8 * 25 + 1))
    assert store.verify().ok


def test_a_closed_store_opens_a_new_connection_for_its_next_append(store):
    store.append("a", [counted(count=1)], expected_version=0)
    store.close()
    store.close()  # twice is harmless
    assert store.append("a", [counted(count=2)], expected_version=1).last_position == 2
    assert store.verify().ok


@pytest.mark.parametrize("how", ["engine disposed", "store dropped"])
def test_an_sqlite_file_stands_whole_once_its_store_is_done(tmp_path, how):
    # Given a store that has appended (its writer connection held open between appends)
    engine = make_engine(f"sqlite:///{tmp_path / 'log.db'}")
    upgrade(engine)
    store = EventStore(engine, test_registry)
    store.append("a", [counted(count=1)], expected_version=0)
    # When the engine is disposed of, or the store simply dropped
    if how == "engine disposed":
        engine.dispose()
    else:
        del store
        engine.dispose()
    # Then the main file alone holds the event: the write-ahead log was checkpointed and removed
    assert not (tmp_path / "log.db-wal").exists()
    copy = tmp_path / "copy.db"
    copy.write_bytes((tmp_path / "log.db").read_bytes())
    copied = make_engine(f"sqlite:///{copy}")
    try:
        assert [e.data["count"] for e in EventStore(copied, test_registry).read_all()] == [1]
    finally:
        copied.dispose()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX")
def test_a_process_forked_while_another_thread_is_appending_can_append(tmp_path):
    # Given an SQLite store whose writer connection another thread holds, mid-append, at the fork
    engine = make_engine(f"sqlite:///{tmp_path / 'log.db'}")
    upgrade(engine)
    store = EventStore(engine, test_registry)
    store.append("parent", [counted(count=1)], expected_version=0)
    with store._held_writer:  # what an append in another thread holds
        pid = os.fork()
        if pid == 0:  # the child: appends through the same store object, then reports
            code = 1
            try:
                signal.alarm(20)  # a deadlock ends the child instead of the test run
                store.append("child", [counted(count=2)], expected_version=0)
                code = 0
            finally:
                os._exit(code)
    # Then the child's append went through (on a connection of its own), and the parent's still do
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    store.append("parent", [counted(count=3)], expected_version=1)
    assert [(e.stream, e.data["count"]) for e in store.read_all()] == [("parent", 1), ("child", 2), ("parent", 3)]
    assert store.verify().ok
    engine.dispose()


pool = st.sampled_from(["p", "q", "r", "s"])


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    entries=st.lists(st.tuples(pool, st.integers(0, 3), st.sampled_from(["right", "right", "none", "stale"])), max_size=4, unique_by=lambda e: e[0])
)
def test_append_many_lands_whole_or_not_at_all(store, entries):
    """Property: with every expected version right (or None) all events land, in entry order,
    each stream continuing from its version; with any stale one, or no events, nothing does."""
    before = {stream: store.stream_version(stream) for stream in "pqrs"}
    head = store.head().position
    appends = [
        (stream, [counted(stream, n) for n in range(count)], {"right": before[stream], "none": None, "stale": before[stream] + 1}[how])
        for stream, count, how in entries
    ]
    total = sum(count for _, count, _ in entries)
    ok = total > 0 and all(how != "stale" for _, _, how in entries)
    try:
        result = store.append_many(appends)
    except EventStoreError:
        assert not ok
        assert store.head().position == head
        return
    assert ok
    written = list(store.read_all(head + 1))
    assert [e.stream for e in written] == [stream for stream, count, _ in entries for _ in range(count)]
    for stream, count, _ in entries:
        if count:
            assert result.stream_versions[stream] == before[stream] + count == store.stream_version(stream)
    assert result.last_position == head + total


def test_read_streams_reads_many_streams_at_once_and_as_of_a_position(store):
    store.append("a", [counted(count=1)], expected_version=0)
    store.append("b", [counted(count=2)], expected_version=0)
    store.append("a", [counted(count=3)], expected_version=1)

    streams = store.read_streams(["a", "b", "missing", "a"])
    assert {name: [e.data["count"] for e in events] for name, events in streams.items()} == {"a": [1, 3], "b": [2], "missing": []}
    assert [e.data["count"] for e in store.read_streams(["a"], as_of_position=2)["a"]] == [1]


def test_read_prefix_reads_every_stream_that_starts_so_and_no_other(store):
    for stream in ("measure-b", "measure-a", "measures", "measure_x", "figure-a"):
        store.append(stream, [counted()], expected_version=0)
    store.append("measure-a", [counted()], expected_version=1)

    found = store.read_prefix("measure-")
    assert list(found) == ["measure-a", "measure-b"]
    assert [e.version for e in found["measure-a"]] == [1, 2]
    assert list(store.read_prefix("measure_")) == ["measure_x"]  # "_" is not a wildcard
    assert list(store.read_prefix("measure-", as_of_position=1)) == ["measure-b"]


@pytest.mark.parametrize("name", ["a\x00b", "a\ud800b"])
def test_a_stream_name_neither_engine_can_hold_is_refused_on_append_and_absent_on_read(store, name):
    with pytest.raises(EventStoreError, match="no NUL"):
        store.append(name, [counted()], expected_version=0)
    assert store.read_stream(name) == [] and store.stream_version(name) == 0
    assert store.read_streams([name, "a"]) == {name: [], "a": []}
