"""The append-only, hash-chained event store on SQLite or PostgreSQL.

Appends are serialised (SQLite: BEGIN IMMEDIATE; PostgreSQL: a transaction-scoped advisory
lock), so positions are gapless and commit order is position order: a reader that has seen
position N can never later find an event below N that committed late.
The hot paths (append, read, verify) use the driver's cursor directly; everything else goes
through SQLAlchemy.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from itertools import chain, repeat
from typing import Any, Callable, Iterable, Iterator, Sequence

from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic_core import SchemaValidator, core_schema
from sqlalchemy import Engine

from .canonical import CanonicalizationError, canonical_bytes, canonical_lines, canonical_text
from .chain import GENESIS, GENESIS_HASH, Breach, ChainVerifier, Head, chained_format, envelope_format, event_hash
from .errors import EventStoreError, IdempotencyKeyReused, WrongExpectedVersion
from .records import AppendManyResult, AppendResult, Metadata, NewEvent, RecordedEvent, format_time
from .types import EventRegistry
from .writers import HeldWriter

COLUMNS = "position, stream, version, type, schema_version, data, metadata, recorded_at, prev_hash, hash"
INSERT_SQL = f"INSERT INTO events ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
# Listeners and the lock are per schema, so deployments (or test runs) sharing one PostgreSQL
# database in different schemas neither wake nor wait for each other. 63 bytes: PostgreSQL's limit.
CHANNEL_SQL = "left('pm_events:' || current_schema(), 63)"
# Any constant will do: it names the lock every appender takes.
APPEND_LOCK_KEY = 0x706D6576  # "pmev"
MAX_STREAM_LENGTH = 200


def storable(name: str) -> bool:
    """Whether both engines can hold `name` as text: no NUL, no lone surrogate."""
    if "\x00" in name:
        return False
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
# Streams per `IN (...)` query: well inside SQLite's and PostgreSQL's limits on parameters.
IN_CHUNK = 500

Clock = Callable[[], datetime]

# What most appends record as metadata, canonicalised once.
_DEFAULT_METADATA_TEXT = canonical_text(Metadata().as_dict(None))


try:
    from _json import make_scanner as _make_scanner
except ImportError:  # pragma: no cover - CPython always has the C accelerator
    _make_scanner = None

if _make_scanner is not None:
    _scan_json = _make_scanner(json.JSONDecoder())

    def _loads(text: str) -> Any:
        """json.loads, minus its Python wrappers (a third of the read path's time).

        Stored data is canonical JSON text: the C scanner reads it whole. Anything else
        (whitespace, trailing data, bytes, invalid text) goes to json.loads, which decides.
        """
        try:
            value, end = _scan_json(text, 0)
        except (StopIteration, TypeError):
            end = -1
        return value if end == len(text) else json.loads(text)

else:  # pragma: no cover
    _loads = json.loads


# Validators per event schema, of one event's data and of a list of them (a batch of one type
# is validated in one call).
_VALIDATORS: dict[type, tuple[Callable[[Any], Any], Callable[[list], Any]]] = {}


def _validators(model: type[BaseModel]) -> tuple[Callable[[Any], Any], Callable[[list], Any]]:
    """Validators of one event's data and of a list of them, raising exactly where `model`'s own
    validator (and TypeAdapter(list[model])) would.

    A plain model (no model validators, no post-init, no custom __init__, no definitions)
    is its fields' schema wrapped in "build an instance": validating the fields alone, with
    the model's config, checks the same and skips building the instances nobody keeps.
    """
    found = _VALIDATORS.get(model)
    if found is None:
        schema = model.__pydantic_core_schema__
        plain = (
            schema.get("type") == "model"
            and schema.get("schema", {}).get("type") == "model-fields"
            and not schema.get("custom_init")
            and not schema.get("root_model")
            and schema.get("post_init") is None
        )
        if plain:
            fields, config = schema["schema"], schema.get("config")
            found = (
                SchemaValidator(fields, config).validate_python,
                SchemaValidator(core_schema.list_schema(fields), config).validate_python,
            )
        else:
            found = (model.__pydantic_validator__.validate_python, TypeAdapter(list[model]).validate_python)
        _VALIDATORS[model] = found
    return found


def _chain_rows(
    prev_hex: str,
    first_position: int,
    stream: str,
    first_version: int,
    types: list[str],
    schema_versions: list[int],
    texts: list[str],
    meta_text: str,
    recorded_at: str,
    encoded: list[bytes] | None = None,
) -> tuple[list[tuple], str]:
    """The rows of events appended to one stream after `prev_hex`, hashed; and the last hash.

    Every event of one type in one append shares an envelope format (chain.chained_format).
    `encoded` holds the UTF-8 bytes of `texts` where the caller has them already.
    """
    if len(texts) == 1:  # one event: its envelope, without the batch machinery
        envelope = envelope_format(
            metadata=meta_text, recorded_at=recorded_at, schema_version=schema_versions[0], stream=stream, type=types[0]
        ) % (texts[0].encode() if encoded is None else encoded[0], first_position, first_version)
        digest = event_hash(prev_hex, envelope)
        row = (first_position, stream, first_version, types[0], schema_versions[0], texts[0], meta_text, recorded_at,
               prev_hex, digest)
        return [row], digest
    formats = {
        kind: chained_format(
            metadata=meta_text, recorded_at=recorded_at, schema_version=kind[1], stream=stream, type=kind[0]
        )
        for kind in set(zip(types, schema_versions))
    }
    count = len(texts)
    positions = range(first_position, first_position + count)
    versions = range(first_version, first_version + count)
    if encoded is None:
        encoded = [text.encode() for text in texts]
    sha256 = hashlib.sha256
    digest = bytes.fromhex(prev_hex)
    digests = []
    add = digests.append
    if len(formats) == 1:  # one type: all but the digest, data, position and version is fixed
        (format,) = formats.values()
        for data, position, version in zip(encoded, positions, versions):
            digest = sha256(format % (digest, data, position, version)).digest()
            add(digest)
    else:
        for data, position, kind, version in zip(encoded, positions, zip(types, schema_versions), versions):
            digest = sha256(formats[kind] % (digest, data, position, version)).digest()
            add(digest)
    hashes = list(map(bytes.hex, digests))
    prev_hashes = [prev_hex, *hashes[:-1]]
    rows = list(
        zip(positions, repeat(stream), versions, types, schema_versions, texts, repeat(meta_text), repeat(recorded_at),
            prev_hashes, hashes)
    )
    return rows, hashes[-1]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class VerifyReport:
    head: Head
    breach: Breach | None
    checked: int
    expected_head: Head | None = None

    @property
    def ok(self) -> bool:
        return self.breach is None


class _Dialect:
    name: str
    param: str

    def begin_append(self, cursor) -> None:
        raise NotImplementedError

    def notify(self, cursor, position: int) -> None:
        pass

    def sql(self, text: str) -> str:
        return text.replace("?", self.param)

    def insert(self, cursor, rows: list[tuple]) -> None:
        cursor.executemany(self.sql(INSERT_SQL), rows)


class _SQLite(_Dialect):
    name = "sqlite"
    param = "?"
    # Rows per multi-row INSERT: one statement step inserts them all, a good deal cheaper than
    # as many steps of executemany. 10 parameters a row, within SQLite's limit of 32,766
    # parameters (999 before 3.32).
    ROWS_PER_INSERT = 500 if sqlite3.sqlite_version_info >= (3, 32) else 99

    def __init__(self) -> None:
        row = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        self._sql_insert_chunk = f"INSERT INTO events ({COLUMNS}) VALUES " + ", ".join([row] * self.ROWS_PER_INSERT)

    def begin_append(self, cursor) -> None:
        cursor.execute("BEGIN IMMEDIATE")

    def insert(self, cursor, rows: list[tuple]) -> None:
        if len(rows) == 1:
            cursor.execute(INSERT_SQL, rows[0])
            return
        size = self.ROWS_PER_INSERT
        whole = len(rows) - len(rows) % size
        for start in range(0, whole, size):
            cursor.execute(self._sql_insert_chunk, list(chain.from_iterable(rows[start : start + size])))
        if whole < len(rows):
            cursor.executemany(INSERT_SQL, rows[whole:])


class _Postgres(_Dialect):
    name = "postgresql"
    param = "%s"

    def begin_append(self, cursor) -> None:
        # psycopg has already opened a transaction; the lock is released at its end.
        cursor.execute("SELECT pg_advisory_xact_lock(%s::int, hashtext(current_schema()))", (APPEND_LOCK_KEY,))

    def notify(self, cursor, position: int) -> None:
        # Delivered on commit only, so listeners never wake for an event they cannot see.
        cursor.execute(f"SELECT pg_notify({CHANNEL_SQL}, %s)", (str(position),))


def _dialect_for(engine: Engine) -> _Dialect:
    name = engine.dialect.name
    if name == "sqlite":
        return _SQLite()
    if name == "postgresql":
        return _Postgres()
    raise EventStoreError(f"unsupported database {name!r}")


class EventStore:
    """Append events to streams; read them back by stream, by position, or as of a past moment."""

    def __init__(self, engine: Engine, registry: EventRegistry, clock: Clock = utc_now) -> None:
        self.engine = engine
        self.registry = registry
        self.clock = clock
        self.dialect = _dialect_for(engine)
        self._held_writer = HeldWriter(engine, pipelined=self.dialect.name == "postgresql")
        sql = self.dialect.sql
        self._sql_head = "SELECT position, hash, recorded_at FROM events ORDER BY position DESC LIMIT 1"
        self._sql_stream_version = sql("SELECT max(version) FROM events WHERE stream = ?")
        # One round trip for both things an append reads under its lock.
        self._sql_version_and_head = sql(
            "SELECT (SELECT max(version) FROM events WHERE stream = ?), position, hash, recorded_at "
            "FROM events ORDER BY position DESC LIMIT 1"
        )
        self._sql_idempotency = sql(
            "SELECT fingerprint, stream, first_position, last_position, stream_version FROM idempotency_keys WHERE key = ?"
        )
        self._sql_remember_key = sql(
            "INSERT INTO idempotency_keys (key, fingerprint, stream, first_position, last_position, stream_version) "
            "VALUES (?, ?, ?, ?, ?, ?)"
        )
        self._sql_read_all = sql(
            f"SELECT {COLUMNS} FROM events WHERE position >= ? AND position <= ? ORDER BY position LIMIT ?"
        )
        self._sql_read_stream = sql(
            f"SELECT {COLUMNS} FROM events WHERE stream = ? AND version >= ? AND position <= ? ORDER BY version"
        )
        self._sql_time_at = sql("SELECT recorded_at FROM events WHERE position = ?")
        self._sql_hash_at = sql("SELECT hash FROM events WHERE position = ?")
        self._sql_versions_between = sql(
            "SELECT stream, max(version) FROM events WHERE position >= ? AND position <= ? GROUP BY stream"
        )
        self._sql_read_prefix = sql(
            f"SELECT {COLUMNS} FROM events WHERE stream LIKE ? ESCAPE '\\' AND position <= ? ORDER BY stream, version"
        )

    # -- connections -------------------------------------------------------------------------

    @contextmanager
    def _cursor(self) -> Iterator[Any]:
        """A driver cursor outside any transaction (autocommit reads see committed events only)."""
        connection = self.engine.raw_connection()
        try:
            cursor = connection.cursor()
            try:
                yield cursor
            finally:
                cursor.close()
            if self.dialect.name == "postgresql":
                connection.rollback()  # end psycopg's implicit read transaction
        finally:
            connection.close()

    # -- writing ----------------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection appends write through, if one is held (a later append opens another)."""
        if self._held_writer is not None:
            self._held_writer.close()

    def append(
        self,
        stream: str,
        events: Sequence[NewEvent],
        expected_version: int | None,
        idempotency_key: str | None = None,
        metadata: Metadata | None = None,
    ) -> AppendResult:
        """Append `events` to `stream`, all or nothing.

        `expected_version` is the stream's version the caller decided on (0: the stream must
        not exist yet; None: no check). A retry with the same `idempotency_key` and the same
        events returns the original positions and writes nothing.
        """
        result = self.append_many([(stream, events, expected_version)], idempotency_key, metadata)
        return AppendResult(
            result.first_position, result.last_position, result.stream_versions[stream], result.hash, result.replayed
        )

    def _prepare(self, events: Sequence[NewEvent]) -> tuple[list[str], list[int], list[str], list[bytes] | None]:
        """(types, schema versions, canonical data as text and, for a batch, as UTF-8 bytes) of
        events about to be appended.

        Refuses an unknown type or invalid data naming the first offending event, exactly as
        checking them one by one (validate, then canonicalise) would: the batch paths below
        only ever stand in for that loop when it would have found nothing.
        """
        if len(events) == 1:  # the commonest append, without the batch machinery
            (event,) = events
            return [event.type], [self._validated_one(event)], [canonical_text(event.data)], None
        types = [event.type for event in events]
        datas = [event.data for event in events]
        try:
            encoded = canonical_lines(datas)
        except CanonicalizationError:
            encoded = None
        schema_versions = None if encoded is None else self._validated_batch(types, datas)
        if schema_versions is not None:
            return types, schema_versions, [line.decode() for line in encoded], encoded
        validate = self.registry.validate
        schema_versions = []
        texts = []
        for index, (name, data) in enumerate(zip(types, datas)):
            schema_versions.append(validate(name, data, index).version)
            texts.append(canonical_text(data))
        return types, schema_versions, texts, None

    def _validated_one(self, event: NewEvent) -> int:
        """The schema version of one valid event; refuses it as the registry's validate would."""
        registry = self.registry
        if type(registry).validate is EventRegistry.validate:
            event_type = registry.get(event.type)
            try:
                _validators(event_type.model)[0](event.data)
                return event_type.version
            except ValidationError:
                pass  # the registry's validate says what is wrong
        return registry.validate(event.type, event.data, 0).version

    def _validated_batch(self, types: list[str], datas: list) -> list[int] | None:
        """Schema versions of a batch of one type, validated in one call; None to go one by one."""
        registry = self.registry
        if len(types) < 2 or type(registry).validate is not EventRegistry.validate:
            return None
        name = types[0]
        if not isinstance(name, str) or types.count(name) != len(types):
            return None
        event_type = registry.get(name)
        try:
            _validators(event_type.model)[1](datas)
        except ValidationError:
            return None  # the one-by-one pass names the first invalid event
        return [event_type.version] * len(datas)

    def append_many(
        self,
        appends: Sequence[tuple[str, Sequence[NewEvent], int | None]],
        idempotency_key: str | None = None,
        metadata: Metadata | None = None,
    ) -> AppendManyResult:
        """Append to several streams in one transaction: every event lands, or none does.

        `appends` holds (stream, events, expected_version) per stream, each stream once. An
        entry with no events only checks its stream's version: a condition the decision rested
        on (a figure is recorded only while its measure is still at the version that was read).
        Positions follow the entries' order. A retry with the same `idempotency_key` and the
        same events returns the original positions and writes nothing.
        """
        entries = list(appends)
        seen: set[str] = set()
        total = 0
        for stream, events, expected_version in entries:
            if not isinstance(stream, str) or not stream or len(stream) > MAX_STREAM_LENGTH or not storable(stream):
                raise EventStoreError(
                    f"a stream name is 1 to {MAX_STREAM_LENGTH} characters of text (no NUL), found {stream!r}"
                )
            if stream in seen:
                raise EventStoreError(f"stream {stream!r} appears twice in one append: give each stream one entry")
            seen.add(stream)
            if expected_version is not None and (not isinstance(expected_version, int) or expected_version < 0):
                raise EventStoreError(f"expected_version is a version (0 or more) or None, found {expected_version!r}")
            total += len(events)
        if not total:
            raise EventStoreError("an append needs at least one event")
        types, schema_versions, texts, encoded = self._prepare([event for _, events, _ in entries for event in events])
        if metadata is None and idempotency_key is None:
            meta_text = _DEFAULT_METADATA_TEXT
        else:
            meta_text = canonical_text((metadata or Metadata()).as_dict(idempotency_key))
        # Each entry's slice of the prepared events.
        slices = []
        offset = 0
        for _, events, _ in entries:
            slices.append(slice(offset, offset + len(events)))
            offset += len(events)
        fingerprint = None
        if idempotency_key is not None:
            described = [[stream, [list(pair) for pair in zip(types[part], texts[part])]] for (stream, _, _), part in zip(entries, slices)]
            # One stream: the shape `append` has always fingerprinted, so its keys still match.
            fingerprint = hashlib.sha256(canonical_bytes(described[0] if len(described) == 1 else described)).hexdigest()

        with self._held_writer as connection:
            try:
                cursor = connection.cursor()
                self.dialect.begin_append(cursor)
                if idempotency_key is not None:
                    cursor.execute(self._sql_idempotency, (idempotency_key,))
                    seen_key = cursor.fetchone()
                    if seen_key is not None:
                        connection.rollback()
                        if seen_key[0] != fingerprint:
                            raise IdempotencyKeyReused(idempotency_key, seen_key[1])
                        cursor.execute(self._sql_hash_at, (seen_key[3],))
                        digest_hex = cursor.fetchone()[0]
                        cursor.execute(self._sql_versions_between, (seen_key[2], seen_key[3]))
                        versions = dict(cursor.fetchall())
                        connection.rollback()
                        return AppendManyResult(seen_key[2], seen_key[3], digest_hex, versions, replayed=True)
                if len(entries) == 1:
                    # The common case, one stream: its version and the head in one round trip.
                    cursor.execute(self._sql_version_and_head, (entries[0][0],))
                    found = cursor.fetchone()
                    if found is None:  # an empty log
                        current, head = {}, None
                    else:
                        current = {entries[0][0]: found[0]} if found[0] else {}
                        head = found[1:]
                else:
                    current = self._current_versions(cursor, [stream for stream, _, _ in entries])
                    cursor.execute(self._sql_head)
                    head = cursor.fetchone()
                for stream, _, expected_version in entries:
                    if expected_version is not None and expected_version != current.get(stream, 0):
                        raise WrongExpectedVersion(stream, expected_version, current.get(stream, 0))
                if head is None:
                    position, prev_hex, last_time = 0, GENESIS_HASH, ""
                else:
                    position, prev_hex, last_time = head
                recorded_at = format_time(self.clock())
                if recorded_at < last_time:
                    recorded_at = last_time  # recorded_at never decreases along the log
                first_position = position + 1
                rows: list[tuple] = []
                versions: dict[str, int] = {}
                for (stream, events, _), part in zip(entries, slices):
                    if not events:
                        continue
                    version = current.get(stream, 0)
                    stream_rows, prev_hex = _chain_rows(
                        prev_hex, position + 1, stream, version + 1, types[part], schema_versions[part], texts[part],
                        meta_text, recorded_at, None if encoded is None else encoded[part],
                    )
                    rows.extend(stream_rows)
                    position += len(stream_rows)
                    versions[stream] = version + len(stream_rows)
                self.dialect.insert(cursor, rows)
                if idempotency_key is not None:
                    first_stream = next(iter(versions))
                    cursor.execute(
                        self._sql_remember_key,
                        (idempotency_key, fingerprint, first_stream, first_position, position, versions[first_stream]),
                    )
                self.dialect.notify(cursor, position)
                connection.commit()
                return AppendManyResult(first_position, position, prev_hex, versions)
            except BaseException:
                connection.rollback()
                raise

    def _current_versions(self, cursor, streams: list[str]) -> dict[str, int]:
        """Each stream's version (absent: the stream does not exist yet)."""
        if len(streams) == 1:
            cursor.execute(self._sql_stream_version, (streams[0],))
            version = cursor.fetchone()[0]
            return {streams[0]: version} if version else {}
        found: dict[str, int] = {}
        for start in range(0, len(streams), IN_CHUNK):
            chunk = streams[start : start + IN_CHUNK]
            cursor.execute(self._sql_versions_of(len(chunk)), chunk)
            found.update(cursor.fetchall())
        return found

    def _sql_versions_of(self, count: int) -> str:
        return self.dialect.sql(
            f"SELECT stream, max(version) FROM events WHERE stream IN ({', '.join('?' * count)}) GROUP BY stream"
        )

    def recall(self, idempotency_key: str) -> AppendManyResult | None:
        """What the append made with `idempotency_key` wrote, or None if no append used it.

        For callers that must answer a retried request before deciding anything again (the
        HTTP API's Idempotency-Key): the decision may no longer hold, the answer still does.
        """
        with self._cursor() as cursor:
            cursor.execute(self._sql_idempotency, (idempotency_key,))
            seen_key = cursor.fetchone()
            if seen_key is None:
                return None
            cursor.execute(self._sql_hash_at, (seen_key[3],))
            digest_hex = cursor.fetchone()[0]
            cursor.execute(self._sql_versions_between, (seen_key[2], seen_key[3]))
            versions = dict(cursor.fetchall())
        return AppendManyResult(seen_key[2], seen_key[3], digest_hex, versions, replayed=True)

    # -- reading ----------------------------------------------------------------------------

    def head(self) -> Head:
        """The last event's position and hash (position 0 and the genesis hash when empty)."""
        with self._cursor() as cursor:
            cursor.execute(self._sql_head)
            row = cursor.fetchone()
        return GENESIS if row is None else Head(row[0], row[1])

    def stream_version(self, stream: str) -> int:
        if not storable(stream):
            return 0  # no such stream can have been written
        with self._cursor() as cursor:
            cursor.execute(self._sql_stream_version, (stream,))
            return cursor.fetchone()[0] or 0

    def position_at(self, moment: datetime | str) -> int:
        """The last position recorded at or before `moment` (0 if none).

        recorded_at never decreases along the log, so this is a binary search over positions
        and needs no index on time.
        """
        bound = moment if isinstance(moment, str) else format_time(moment)
        with self._cursor() as cursor:
            cursor.execute(self._sql_head)
            row = cursor.fetchone()
            if row is None:
                return 0
            low, high = 0, row[0]  # invariant: time(low) <= bound < time(high + 1)
            if row[2] <= bound:
                return high
            while low < high:
                middle = (low + high + 1) // 2
                cursor.execute(self._sql_time_at, (middle,))
                if cursor.fetchone()[0] <= bound:
                    low = middle
                else:
                    high = middle - 1
            return low

    def _bound(self, as_of_position: int | None, as_of_time: datetime | str | None) -> int:
        bound = as_of_position if as_of_position is not None else (1 << 62)
        if as_of_time is not None:
            bound = min(bound, self.position_at(as_of_time))
        return bound

    def _decode(self, rows) -> list[RecordedEvent]:
        if not rows:
            return []
        # Column by column, so that the per-row loops run in C (zip, map): this is the read path.
        positions, streams, versions, types, schema_versions, texts, metadata, times, prev_hashes, hashes = zip(*rows)
        payloads = list(map(_loads, texts))
        stale = self._stale_schemas(types, schema_versions)
        if stale:
            registry = self.registry
            for index, kind in enumerate(zip(types, schema_versions)):
                if kind in stale:
                    payloads[index] = registry.upcast(*kind, payloads[index])
        return list(
            map(RecordedEvent, positions, streams, versions, types, schema_versions, payloads, metadata, times, prev_hashes, hashes)
        )

    def _decoding(self, rows) -> Iterator[RecordedEvent]:
        """`_decode`, lazily: each event is built as it is consumed, so a fold that drops it at
        once never holds a batch of them (fewer objects for the garbage collector to promote)."""
        if not rows:
            return iter(())
        positions, streams, versions, types, schema_versions, texts, metadata, times, prev_hashes, hashes = zip(*rows)
        if self._stale_schemas(types, schema_versions):
            return iter(self._decode(rows))
        return map(
            RecordedEvent, positions, streams, versions, types, schema_versions, map(_loads, texts), metadata, times,
            prev_hashes, hashes,
        )

    def _stale_schemas(self, types, schema_versions) -> set[tuple[str, int]]:
        """The (type, schema version) pairs among these rows that need upcasting."""
        current = {event_type.name: event_type.version for event_type in self.registry}
        return {kind for kind in set(zip(types, schema_versions)) if current.get(kind[0], kind[1]) != kind[1]}

    def read_stream(
        self,
        stream: str,
        from_version: int = 1,
        *,
        as_of_position: int | None = None,
        as_of_time: datetime | str | None = None,
    ) -> list[RecordedEvent]:
        """Events of one stream from `from_version`, as the log stood at a position or time."""
        if not storable(stream):
            return []  # no such stream can have been written
        bound = self._bound(as_of_position, as_of_time)
        with self._cursor() as cursor:
            cursor.execute(self._sql_read_stream, (stream, from_version, bound))
            return self._decode(cursor.fetchall())

    def read_streams(
        self,
        streams: Iterable[str],
        *,
        as_of_position: int | None = None,
        as_of_time: datetime | str | None = None,
    ) -> dict[str, list[RecordedEvent]]:
        """Several streams' events at once (a few queries, not one per stream), keyed by stream.

        Every stream asked for is a key; one that does not exist (yet) maps to an empty list.
        """
        found: dict[str, list[RecordedEvent]] = {name: [] for name in dict.fromkeys(streams)}
        names = [name for name in found if storable(name)]
        if not names:
            return found
        bound = self._bound(as_of_position, as_of_time)
        with self._cursor() as cursor:
            for start in range(0, len(names), IN_CHUNK):
                chunk = names[start : start + IN_CHUNK]
                marks = ", ".join("?" * len(chunk))
                cursor.execute(
                    self.dialect.sql(
                        f"SELECT {COLUMNS} FROM events WHERE stream IN ({marks}) AND position <= ? ORDER BY position"
                    ),
                    (*chunk, bound),
                )
                for event in self._decode(cursor.fetchall()):
                    found[event.stream].append(event)
        return found

    def read_prefix(
        self,
        prefix: str,
        *,
        as_of_position: int | None = None,
        as_of_time: datetime | str | None = None,
    ) -> dict[str, list[RecordedEvent]]:
        """Every stream whose name starts with `prefix` ("measure-"), keyed by stream, in name order."""
        if not storable(prefix):
            return {}
        bound = self._bound(as_of_position, as_of_time)
        pattern = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        found: dict[str, list[RecordedEvent]] = {}
        with self._cursor() as cursor:
            cursor.execute(self._sql_read_prefix, (pattern, bound))
            for event in self._decode(cursor.fetchall()):
                found.setdefault(event.stream, []).append(event)
        return dict(sorted(found.items()))

    def read_batches(
        self,
        from_position: int = 1,
        *,
        as_of_position: int | None = None,
        as_of_time: datetime | str | None = None,
        batch_size: int = 1000,
        raw: bool = False,
    ) -> Iterator[list]:
        """The log from `from_position` in batches, in constant memory (keyset pagination).

        With `raw`, batches hold the stored rows (canonical JSON text, undecoded).
        """
        bound = self._bound(as_of_position, as_of_time)
        position = max(from_position, 1)
        while position <= bound:
            with self._cursor() as cursor:
                cursor.execute(self._sql_read_all, (position, bound, batch_size))
                rows = cursor.fetchall()
            if not rows:
                return
            yield rows if raw else self._decode(rows)
            if len(rows) < batch_size:
                return
            position = rows[-1][0] + 1

    def read_all(
        self,
        from_position: int = 1,
        *,
        as_of_position: int | None = None,
        as_of_time: datetime | str | None = None,
        batch_size: int = 1000,
    ) -> Iterator[RecordedEvent]:
        for rows in self.read_batches(
            from_position, as_of_position=as_of_position, as_of_time=as_of_time, batch_size=batch_size, raw=True
        ):
            yield from self._decoding(rows)

    # -- verifying ---------------------------------------------------------------------------

    def verify(
        self,
        expect_head: Head | None = None,
        progress: Callable[[int, int], None] | None = None,
        batch_size: int = 5000,
    ) -> VerifyReport:
        """Walk the whole chain; report the first breach, or the head it leads to.

        With `expect_head` (a head noted earlier), a log that no longer reaches that position,
        or reaches it with another hash, is reported too: that is how a truncated tail shows.
        """
        verifier = ChainVerifier()
        total = self.head().position
        for rows in self.read_batches(1, batch_size=batch_size, raw=True):
            if verifier.feed(rows) is not None:
                break
            if progress is not None:
                progress(verifier.head.position, total)
        head, breach = verifier.head, verifier.breach
        if breach is None and expect_head is not None and expect_head.position > 0:
            if expect_head.position > head.position:
                breach = Breach(
                    head.position + 1,
                    f"the log ends at position {head.position}, but position {expect_head.position} "
                    "was noted earlier: events were removed from the tail",
                )
            else:
                with self._cursor() as cursor:
                    cursor.execute(self._sql_hash_at, (expect_head.position,))
                    stored = cursor.fetchone()[0]
                if stored != expect_head.hash:
                    breach = Breach(
                        expect_head.position,
                        f"hash at position {expect_head.position} is {stored}, but {expect_head.hash} was noted earlier",
                    )
        return VerifyReport(head, breach, head.position, expect_head)

    # -- following ---------------------------------------------------------------------------

    @contextmanager
    def listener(self, poll_interval: float = 0.5) -> Iterator["Listener"]:
        """Something to wait on for new events: LISTEN/NOTIFY on PostgreSQL, polling on SQLite."""
        if self.dialect.name == "postgresql":
            listener = _PostgresListener(self.engine)
        else:
            listener = _PollingListener(self, poll_interval)
        try:
            yield listener
        finally:
            listener.close()


class Listener:
    def wait(self, after_position: int, timeout: float) -> bool:
        """Block until an event after `after_position` may exist, or `timeout` seconds pass."""
        raise NotImplementedError

    def close(self) -> None:
        pass


class _PollingListener(Listener):
    def __init__(self, store: EventStore, poll_interval: float) -> None:
        self._store = store
        self._poll_interval = poll_interval

    def wait(self, after_position: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while True:
            if self._store.head().position > after_position:
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            time.sleep(min(self._poll_interval, remaining))


class _PostgresListener(Listener):
    def __init__(self, engine: Engine) -> None:
        from psycopg import sql

        # A connection of its own, taken out of the pool, in autocommit so LISTEN takes effect.
        pooled = engine.raw_connection()
        self._connection = pooled.driver_connection
        pooled.detach()
        self._connection.rollback()
        self._connection.autocommit = True
        channel = self._connection.execute(f"SELECT {CHANNEL_SQL}").fetchone()[0]
        self._connection.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))

    def wait(self, after_position: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            for notify in self._connection.notifies(timeout=remaining, stop_after=1):
                if not (notify.payload.isascii() and notify.payload.isdigit()) or int(notify.payload) > after_position:
                    return True
        return False

    def close(self) -> None:
        try:
            self._connection.close()
        except Exception:
            pass
