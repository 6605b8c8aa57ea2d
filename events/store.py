"""The append-only, hash-chained event store, written against events.dialect (the engines:
events/sqlite.py, events/postgres.py).

Appends are serialised (the dialect's begin_append: SQLite BEGIN IMMEDIATE, PostgreSQL a
transaction-scoped advisory lock), so positions are gapless and commit order is position order:
a reader that has seen position N can never later find an event below N that committed late.
The hot paths (append, read, verify) use the driver's cursor directly; everything else goes
through SQLAlchemy. Events are checked and made canonical by events.prepare, hashed by
events.chain, decoded by events.decoding.
"""

from __future__ import annotations

import hashlib
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Iterator, Sequence, TypeVar

from sqlalchemy import Engine

from .canonical import canonical_bytes, canonical_text
from .chain import GENESIS, GENESIS_HASH, Breach, ChainVerifier, Head, chain_rows, chain_rows_across
from .decoding import decode, decoding
from .dialect import COLUMNS, Listener
from .engines import dialect_for
from .errors import EventStoreError, IdempotencyKeyReused, WrongExpectedVersion
from .merkle import ProofError
from .prepare import prepare
from .tree import StoredTree
from .records import AppendManyResult, AppendResult, Metadata, NewEvent, RecordedEvent, format_time
from .types import EventRegistry
from .writers import HeldWriter

MAX_STREAM_LENGTH = 200
T = TypeVar("T")


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


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _checked_entries(appends: Iterable[tuple[str, Sequence[NewEvent], int | None]]) -> list:
    """The entries of an append as a list, refused unless each names a storable stream once with
    a version (or None) to expect, and at least one of them has an event."""
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
    return entries


def _slices(entries: list) -> list[slice]:
    """Each entry's slice of the append's events, taken all together in order."""
    slices = []
    offset = 0
    for _, events, _ in entries:
        slices.append(slice(offset, offset + len(events)))
        offset += len(events)
    return slices


def _fingerprint(entries: list, slices: list[slice], types: list[str], texts: list[str]) -> str:
    """What an idempotency key stands for: each stream with its events' types and canonical data."""
    described = [[stream, [list(pair) for pair in zip(types[part], texts[part])]] for (stream, _, _), part in zip(entries, slices)]
    # One stream: the shape `append` has always fingerprinted, so its keys still match.
    return hashlib.sha256(canonical_bytes(described[0] if len(described) == 1 else described)).hexdigest()


@dataclass(frozen=True)
class VerifyReport:
    head: Head
    breach: Breach | None
    checked: int
    expected_head: Head | None = None

    @property
    def ok(self) -> bool:
        return self.breach is None


class EventStore:
    """Append events to streams; read them back by stream, by position, or as of a past moment."""

    def __init__(self, engine: Engine, registry: EventRegistry, clock: Clock = utc_now) -> None:
        self.engine = engine
        self.registry = registry
        self.clock = clock
        self.dialect = dialect_for(engine)
        self._held_writer = HeldWriter(engine, pipelined=self.dialect.pipelined)
        self.tree = StoredTree(self.dialect.sql)  # the log's Merkle tree, caught up before it is read
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
            self.dialect.end_read(connection)
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
        entries = _checked_entries(appends)
        prepared = prepare(self.registry, [event for _, events, _ in entries for event in events])
        types, schema_versions, texts, encoded = prepared
        if metadata is None and idempotency_key is None:
            meta_text = _DEFAULT_METADATA_TEXT
        else:
            meta_text = canonical_text((metadata or Metadata()).as_dict(idempotency_key))
        slices = _slices(entries)
        fingerprint = None if idempotency_key is None else _fingerprint(entries, slices, types, texts)

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
                        replayed = self._replayed(cursor, seen_key)
                        connection.rollback()
                        return replayed
                current, head = self._versions_and_head(cursor, entries)
                for stream, _, expected_version in entries:
                    if expected_version is not None and expected_version != current.get(stream, 0):
                        raise WrongExpectedVersion(stream, expected_version, current.get(stream, 0))
                position, prev_hex, last_time = (0, GENESIS_HASH, "") if head is None else head
                # recorded_at never decreases along the log
                recorded_at = max(format_time(self.clock()), last_time)
                first_position = position + 1
                versions: dict[str, int] = {}
                written = [(stream, part) for (stream, events, _), part in zip(entries, slices) if events]
                if len(written) == 1:
                    ((stream, part),) = written
                    version = current.get(stream, 0)
                    rows, prev_hex = chain_rows(
                        prev_hex, position + 1, stream, version + 1, types[part], schema_versions[part], texts[part],
                        meta_text, recorded_at, None if encoded is None else encoded[part],
                    )  # fmt: skip
                    versions[stream] = version + len(rows)
                else:  # several streams (a bulk import: one event each), chained in one pass
                    streams: list[str] = []
                    event_versions: list[int] = []
                    for stream, part in written:
                        version = current.get(stream, 0)
                        count = part.stop - part.start
                        streams.extend([stream] * count)
                        event_versions.extend(range(version + 1, version + count + 1))
                        versions[stream] = version + count
                    rows, prev_hex = chain_rows_across(
                        prev_hex, position + 1, streams, event_versions, prepared, meta_text, recorded_at
                    )
                position += len(rows)
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

    def _replayed(self, cursor, seen_key: tuple) -> AppendManyResult:
        """What the append that used an idempotency key wrote, from its row of idempotency_keys."""
        _, _, first_position, last_position, _ = seen_key
        cursor.execute(self._sql_hash_at, (last_position,))
        digest_hex = cursor.fetchone()[0]
        cursor.execute(self._sql_versions_between, (first_position, last_position))
        return AppendManyResult(first_position, last_position, digest_hex, dict(cursor.fetchall()), replayed=True)

    def _versions_and_head(self, cursor, entries: list) -> tuple[dict[str, int], tuple | None]:
        """The appended streams' current versions (absent: not yet written) and the log's head row
        (position, hash, recorded_at; None for an empty log), read under the append's lock."""
        if len(entries) == 1:
            # The common case, one stream: its version and the head in one round trip.
            stream = entries[0][0]
            cursor.execute(self._sql_version_and_head, (stream,))
            found = cursor.fetchone()
            if found is None:  # an empty log
                return {}, None
            return ({stream: found[0]} if found[0] else {}), found[1:]
        current = self._current_versions(cursor, [stream for stream, _, _ in entries])
        cursor.execute(self._sql_head)
        return current, cursor.fetchone()

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
            return None if seen_key is None else self._replayed(cursor, seen_key)

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
            return decode(self.registry, cursor.fetchall())

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
                for event in decode(self.registry, cursor.fetchall()):
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
            for event in decode(self.registry, cursor.fetchall()):
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
            yield rows if raw else decode(self.registry, rows)
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
            yield from decoding(self.registry, rows)

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
        # The tree is checked as far as a catch-up that repairs nothing leaves it (an appended tail
        # has no tree hashes yet): events appended meanwhile are checked by the chain alone.
        tree_size = self._under_append_lock(lambda cursor: self.tree.catch_up(cursor, repair=False))
        verifier, tree = ChainVerifier(), self.tree.checker()
        total = self.head().position
        with self._cursor() as cursor:
            for rows in self.read_batches(1, batch_size=batch_size, raw=True):
                hashes = [row[9] for row in rows if row[0] <= tree_size]
                if verifier.feed(rows) is not None or tree.feed(cursor, hashes) is not None:
                    break
                if progress is not None:
                    progress(verifier.head.position, total)
            head, breach = verifier.head, verifier.breach or tree.finish(cursor)
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

    # -- the Merkle tree (events/merkle.py, events/tree.py, docs/proofs.md) ----------------------
    # Leaf index i is the event at position i + 1; a tree of size n covers positions 1 … n. Appends
    # write no tree hashes: each read below first has the table caught up (under the append lock)
    # unless it covers the size read already, so any size from 0 to the head's position can be asked
    # for, at any later time, and no reader sees a tree behind the log.

    def tree_head(self) -> tuple[int, bytes]:
        """(size, root) of the tree of the whole log as it is now: what a checkpoint signs."""
        return self._read_tree(None, lambda cursor, size: (size, self.tree.root(cursor, size)))

    def tree_root(self, size: int) -> bytes:
        """The root of the tree of the first `size` events (the root of the empty tree for 0)."""
        return self._read_tree(size, self.tree.root)

    def inclusion_proof(self, position: int, size: int) -> list[bytes]:
        """The proof that the event at `position` is leaf `position - 1` of the tree of `size` events."""
        return self.inclusion_proofs([position], size)[position]

    def inclusion_proofs(self, positions: Iterable[int], size: int) -> dict[int, list[bytes]]:
        """Inclusion proofs of several events in the tree of `size` events, read together (an edition's figures)."""
        wanted = list(dict.fromkeys(positions))
        for position in wanted:
            if not (isinstance(position, int) and 1 <= position <= size):
                raise ProofError(f"position {position!r} is not in a tree of {size} events (positions 1 to {size})")
        proofs = self._read_tree(size, lambda cursor, n: self.tree.inclusion_proofs(cursor, [p - 1 for p in wanted], n))
        return dict(zip(wanted, proofs))

    def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]:
        """The proof that the tree of `new_size` events extends the tree of `old_size` (nothing rewritten)."""
        return self._read_tree(new_size, lambda cursor, size: self.tree.consistency_proof(cursor, old_size, size))

    def catch_up_tree(self) -> int:
        """Extend the stored tree to the log's head, under the append lock; returns the tree's size.

        The readers above do it when they need to; a caller may do it ahead of them (after an import)."""
        return self._under_append_lock(self.tree.catch_up)

    def rebuild_tree(self) -> int:
        """Recompute the stored tree from the log, under the append lock; returns the tree's size."""
        return self._under_append_lock(lambda cursor: self.tree.rebuild(cursor).size)

    def _read_tree(self, size: int | None, read: Callable[[Any, int], T]) -> T:
        """`read(cursor, size)` once the stored tree holds what the tree of `size` events (None: the log's
        head now) needs. The check is made on one connection; a catch-up, which takes a connection of its
        own, runs only after that one is back in the pool, then the read is made on another: a reader
        holding a connection while it waited for a second one (with as many readers at once as the pool
        holds connections, every one of them waited so until the pool's timeout) never happens."""
        with self._cursor() as cursor:
            if size is None:
                cursor.execute(self._sql_head)
                row = cursor.fetchone()
                size = 0 if row is None else row[0]
            else:
                self._check_tree_size(cursor, size)
            if self.tree.covers(cursor, size):
                return read(cursor, size)
        self.catch_up_tree()
        with self._cursor() as cursor:
            return read(cursor, size)

    def _under_append_lock(self, work: Callable[[Any], Any]) -> Any:
        """`work(cursor)` in a transaction of its own on a connection of its own, holding the append
        lock; a transaction of derived writes (dialect.begin_derived: the tree only), whose commit
        need not reach the disk before it returns."""
        connection = self.engine.raw_connection()
        try:
            cursor = connection.cursor()
            try:
                self.dialect.begin_derived(cursor)
                result = work(cursor)
                connection.commit()
                return result
            except BaseException:
                connection.rollback()
                raise
            finally:
                self.dialect.end_derived(cursor)
        finally:
            connection.close()

    def _check_tree_size(self, cursor, size: int) -> None:
        if not isinstance(size, int) or size < 0:
            raise ProofError(f"a tree size is a whole number of events, found {size!r}")
        cursor.execute(self._sql_head)
        row = cursor.fetchone()
        if size > (0 if row is None else row[0]):
            raise ProofError(f"the log holds {0 if row is None else row[0]} events, not {size}: no tree of that size yet")

    # -- following ---------------------------------------------------------------------------

    @contextmanager
    def listener(self, poll_interval: float = 0.5) -> Iterator[Listener]:
        """Something to wait on for new events: LISTEN/NOTIFY on PostgreSQL, polling on SQLite."""
        listener = self.dialect.listener(self, poll_interval)
        try:
            yield listener
        finally:
            listener.close()

