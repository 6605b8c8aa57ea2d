"""The hash chain: canonical bytes equal RFC 8785's, and verify finds any tampering."""

from __future__ import annotations

import enum
import hashlib
import uuid

import pytest
import rfc8785
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from events import Head
from events.canonical import CanonicalizationError, canonical_bytes, canonical_lines, canonical_text
from events.chain import GENESIS_HASH, HASHED_FIELDS, envelope_bytes
from events.domain import registry as domain_registry

from .conftest import bypass_triggers
from .strategies import model_data
from .support import counted

json_scalars = st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text()
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=12,
)


@given(json_values)
def test_canonical_text_equals_the_rfc8785_package_for_every_json_value_the_schemas_allow(value):
    assert canonical_bytes(value) == rfc8785.dumps(value)
    assert canonical_text(value).encode() == rfc8785.dumps(value)


@given(st.recursive(st.floats(allow_nan=False, allow_infinity=False) | st.integers(-(2**60), 2**60) | st.text(), lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(), c, max_size=3), max_leaves=8))
def test_values_outside_the_fast_path_still_match_or_are_refused_like_rfc8785(value):
    try:
        expected = rfc8785.dumps(value)
    except Exception:
        with pytest.raises(CanonicalizationError):
            canonical_bytes(value)
    else:
        assert canonical_bytes(value) == expected


@given(st.lists(st.recursive(st.floats() | st.integers(-(2**60), 2**60) | st.text() | st.none(), lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(), c, max_size=3), max_leaves=6), min_size=2, max_size=6))
def test_a_batch_is_canonicalised_as_each_value_alone_or_refused_like_it(values):
    try:
        expected = [rfc8785.dumps(value) for value in values]
    except Exception:
        with pytest.raises(CanonicalizationError):
            canonical_lines(values)
    else:
        assert canonical_lines(values) == expected


@pytest.mark.parametrize(
    "value",
    [
        {"a": None, "b": [1, None]},  # nulls that are nulls: kept
        {"note": "nullified, 0.5e3 of 1234567890123456 in \ue000"},  # alarms inside a string
        {"\U0001f600": 1, "\ue000": 2},  # UTF-16 order differs from code point order
        [1e16, -0.0, 0.1, 5e-324],  # ECMAScript number forms
    ],
)
def test_values_the_fast_check_doubts_still_come_out_canonical(value):
    assert canonical_bytes(value) == rfc8785.dumps(value)
    assert canonical_lines([value, value]) == [rfc8785.dumps(value)] * 2


def test_values_with_a_standard_json_form_are_written_in_it_by_every_path():
    # A UUID or an enum member is not JSON, but msgspec writes it as its JSON text: alone, in a
    # batch, and when a float sends the value on the slow path, the result is the same.
    ident = uuid.UUID("12345678-1234-5678-1234-567812345678")
    plain = {"id": ident, "kind": Colour.RED}
    slow = {"id": ident, "kind": Colour.RED, "share": 0.5}
    assert canonical_bytes(plain) == rfc8785.dumps({"id": str(ident), "kind": "red"})
    assert canonical_bytes(slow) == rfc8785.dumps({"id": str(ident), "kind": "red", "share": 0.5})
    assert canonical_lines([plain, slow]) == [canonical_bytes(plain), canonical_bytes(slow)]


class Colour(enum.Enum):
    RED = "red"


@pytest.mark.parametrize("value", [[float("inf")], {"k": [1, {"x": float("-inf")}]}, 2**53, {1: "integer key"}])
def test_more_values_with_no_canonical_form_are_refused_alone_and_in_a_batch(value):
    with pytest.raises(CanonicalizationError):
        canonical_bytes(value)
    with pytest.raises(CanonicalizationError):
        canonical_lines([{"fine": 1}, value])


@pytest.mark.parametrize("value", [float("nan"), "\ud800", {"k": object()}])
def test_values_with_no_canonical_form_are_refused(value):
    with pytest.raises(CanonicalizationError):
        canonical_bytes(value)


def _event_data(event_type):
    """Data of every shape the event type's schema allows."""
    return model_data(event_type.model)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(list(domain_registry)).flatmap(lambda t: st.tuples(st.just(t), _event_data(t))),
    st.dictionaries(st.sampled_from(["actor", "source", "correlation_id", "causation_id", "idempotency_key"]), st.text()),
    st.integers(1, 2**53 - 1),
    st.text(min_size=1),
    st.integers(1, 2**31),
)
def test_the_hashed_envelope_is_the_rfc8785_form_of_the_documented_fields(typed, metadata, position, stream, version):
    event_type, data = typed
    recorded_at = "2026-11-26T10:05:24.123456Z"
    fields = {
        "position": position,
        "stream": stream,
        "version": version,
        "type": event_type.name,
        "schema_version": event_type.version,
        "data": data,
        "metadata": metadata,
        "recorded_at": recorded_at,
    }
    envelope = envelope_bytes(
        **{**fields, "data": canonical_text(data), "metadata": canonical_text(metadata)}
    )
    assert envelope == rfc8785.dumps(fields)
    assert tuple(sorted(fields)) == HASHED_FIELDS


def test_each_hash_is_sha256_of_the_previous_hash_and_the_envelope_as_documented(store):
    store.append("a", [counted(count=1), counted(count=2)], expected_version=0)
    _assert_hashed_as_documented(store)


def _assert_hashed_as_documented(store) -> None:
    prev = GENESIS_HASH
    for event in store.read_all():
        fields = {
            "position": event.position,
            "stream": event.stream,
            "version": event.version,
            "type": event.type,
            "schema_version": event.schema_version,
            "data": event.data,
            "metadata": event.metadata,
            "recorded_at": event.recorded_at,
        }
        assert event.prev_hash == prev
        assert event.hash == hashlib.sha256(bytes.fromhex(prev) + rfc8785.dumps(fields)).hexdigest()
        prev = event.hash


def _fill(store, n=12):
    for i in range(n):
        store.append(f"s{i % 3}", [counted(count=i, tags=["é", "x"])], expected_version=None)


def test_percent_signs_in_a_stream_its_data_or_metadata_are_hashed_as_text(store):
    # The envelope is a %-format filled in per event: its fixed parts must not be read as slots.
    from events import Metadata

    store.append("a%d%s%%", [counted(thing="50%s"), counted(thing="%d")], None, metadata=Metadata(actor="%b"))
    store.append("b%", [counted(thing="%")], None, metadata=Metadata(actor="100%"))
    _assert_hashed_as_documented(store)
    assert store.verify().ok


def test_an_intact_log_verifies_and_reports_its_head(store):
    _fill(store)
    report = store.verify()
    assert report.ok and report.checked == 12 and report.head == store.head()


def test_an_empty_log_verifies(store):
    assert store.verify().ok and store.verify().head.position == 0


COLUMNS = ["stream", "type", "data", "metadata", "recorded_at", "prev_hash", "hash"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(position=st.integers(1, 12), column=st.sampled_from(COLUMNS), offset=st.integers(0, 10_000), delta=st.integers(1, 94))
def test_verify_names_the_position_of_any_single_altered_byte(store, engine, position, column, offset, delta):
    if store.head().position == 0:
        _fill(store)
    with store._cursor() as cursor:
        cursor.execute(store.dialect.sql(f"SELECT {column} FROM events WHERE position = ?"), (position,))
        value = cursor.fetchone()[0]
    index = offset % len(value)
    # Shift one printable ASCII character to another printable one, keeping the text valid.
    changed_char = chr((ord(value[index]) - 32 + delta) % 95 + 32) if 32 <= ord(value[index]) < 127 else "?"
    altered = value[:index] + changed_char + value[index + 1 :]
    try:
        bypass_triggers(engine, f"UPDATE events SET {column} = ? WHERE position = ?", (altered, position))
    except Exception as exc:  # the unique (stream, version) key refused the forgery itself
        assume("UNIQUE" not in str(exc).upper())
        raise
    try:
        report = store.verify()
        assert not report.ok
        # An altered hash shows at its own position or, if only the link breaks, at the next.
        assert report.breach.position in (position, position + 1)
    finally:
        bypass_triggers(engine, f"UPDATE events SET {column} = ? WHERE position = ?", (value, position))
    assert store.verify().ok


def test_verify_detects_a_deleted_event(store, engine):
    _fill(store)
    bypass_triggers(engine, "DELETE FROM events WHERE position = 5")
    report = store.verify()
    assert report.breach.position == 5 and "missing" in report.breach.problem


def test_verify_detects_an_inserted_event(store, engine):
    _fill(store, 3)
    # Forge an event between 2 and 3: move 3 up, insert a copy of 2's successor link.
    bypass_triggers(engine, "UPDATE events SET position = 4 WHERE position = 3")
    bypass_triggers(
        engine,
        "INSERT INTO events SELECT 3, stream, version + 10, type, schema_version, data, metadata, recorded_at, hash, hash FROM events WHERE position = 2",
    )
    report = store.verify()
    assert report.breach.position == 3


def test_verify_detects_reordered_events(store, engine):
    _fill(store)
    bypass_triggers(engine, "UPDATE events SET position = 1000 WHERE position = 4")
    bypass_triggers(engine, "UPDATE events SET position = 4 WHERE position = 5")
    bypass_triggers(engine, "UPDATE events SET position = 5 WHERE position = 1000")
    report = store.verify()
    assert report.breach.position == 4


def test_verify_detects_a_truncated_tail_against_a_noted_head(store, engine):
    _fill(store)
    noted = store.head()
    bypass_triggers(engine, "DELETE FROM events WHERE position > 9")

    assert store.verify().ok  # a shorter chain is still a chain ...
    report = store.verify(expect_head=noted)
    assert not report.ok and report.breach.position == 10 and "removed from the tail" in report.breach.problem


def test_verify_detects_a_rewritten_tail_against_a_noted_head(store, engine, clock):
    _fill(store)
    noted = store.head()
    bypass_triggers(engine, "DELETE FROM events WHERE position > 9")
    for i in range(3):
        store.append("s0", [counted(count=100 + i)], expected_version=None)
    report = store.verify(expect_head=noted)
    assert not report.ok and report.breach.position == 12


def test_a_noted_head_that_is_still_in_the_log_passes(store):
    _fill(store)
    noted = store.head()
    store.append("s0", [counted()], expected_version=None)
    assert store.verify(expect_head=noted).ok


@pytest.mark.parametrize("text", ["12", "12:abc", "x:" + "0" * 64, "12:" + "g" * 64])
def test_a_malformed_head_is_refused(text):
    with pytest.raises(ValueError):
        Head.parse(text)


def test_a_head_with_a_non_ascii_digit_is_refused():
    with pytest.raises(ValueError):
        Head.parse("²:" + "0" * 64)
