"""Moving the whole log, byte for byte: from one database to another, or through a JSON-lines file.

Rows go across as stored (positions, stream versions, recorded times, canonical data and
metadata text, hashes), never re-appended, so every hash and every published manifest's log
position stays what it was. Each batch commits with the idempotency keys that end inside it, so a
crash leaves the target holding a whole prefix of the log, which `resume` continues from after
checking it is the source's own prefix. Every row is checked against the chain on the way in and
the target is verified end to end against the source's head afterwards.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import IO, Callable, Iterable, Iterator, Sequence

from sqlalchemy import bindparam, text

from .chain import GENESIS, ChainRow, ChainVerifier, Head
from .errors import EventStoreError
from .dialect import COLUMNS, INSERT_SQL
from .store import EventStore

FORMAT = "policing-metrics-log"
FORMAT_VERSION = 1
BATCH = 5000
EVENT_FIELDS = tuple(name.strip() for name in COLUMNS.split(","))
KEY_FIELDS = ("key", "fingerprint", "stream", "first_position", "last_position", "stream_version")
INSERT_KEY_SQL = f"INSERT INTO idempotency_keys ({', '.join(KEY_FIELDS)}) VALUES (?, ?, ?, ?, ?, ?)"

Progress = Callable[[int, int], None]  # (position reached, head)


class TransferRefused(EventStoreError):
    """The target or the file is not one a transfer may go into or come from; nothing was written."""


@dataclass(frozen=True)
class Batch:
    events: list[tuple]  # rows in EVENT_FIELDS order
    keys: list[tuple]  # idempotency keys whose last position falls in this batch, in KEY_FIELDS order


@dataclass(frozen=True)
class TransferReport:
    head: Head  # the source's head: what the target now ends at
    copied: int  # events written by this run
    resumed_from: int  # the target's head position before this run (0: it was empty)


# -- reading ------------------------------------------------------------------------------------


def database_batches(source: EventStore, after: int, head: Head, batch_size: int = BATCH) -> Iterator[Batch]:
    """The source's events after position `after` up to `head`, with their idempotency keys."""
    keys_sql = source.dialect.sql(
        f"SELECT {', '.join(KEY_FIELDS)} FROM idempotency_keys WHERE last_position > ? AND last_position <= ? ORDER BY last_position, key"
    )
    for rows in source.read_batches(after + 1, as_of_position=head.position, batch_size=batch_size, raw=True):
        with source._cursor() as cursor:
            cursor.execute(keys_sql, (rows[0][0] - 1, rows[-1][0]))
            keys = [tuple(row) for row in cursor.fetchall()]
        yield Batch([tuple(row) for row in rows], keys)


def export_lines(source: EventStore, out: IO[str], progress: Progress | None = None) -> Head:
    """Write the whole log as JSON lines: a header naming the head, one line per event and per
    idempotency key (after the last event it covers), and a trailer that says the file is whole."""
    head = source.head()
    out.write(json.dumps({"format": FORMAT, "version": FORMAT_VERSION, "head": str(head)}) + "\n")
    events = 0
    for batch in database_batches(source, 0, head):
        keys = iter(batch.keys)
        key = next(keys, None)
        for row in batch.events:
            out.write(json.dumps(dict(zip(EVENT_FIELDS, row)), ensure_ascii=False) + "\n")
            while key is not None and key[4] == row[0]:
                out.write(json.dumps({"idempotency_key": dict(zip(KEY_FIELDS, key))}, ensure_ascii=False) + "\n")
                key = next(keys, None)
        events += len(batch.events)
        if progress is not None:
            progress(batch.events[-1][0], head.position)
    out.write(json.dumps({"end": {"head": str(head), "events": events}}) + "\n")
    return head


def file_batches(lines: Iterable[str], batch_size: int = BATCH) -> Iterator[tuple[str, object]]:
    """Parse an export: ('head', Head) first, then ('batch', Batch)s, then ('end', Head). Refuses, naming
    the line, anything that is not what `export_lines` writes."""
    header_seen = False
    events: list[tuple] = []
    keys: list[tuple] = []
    count = 0
    for number, line in enumerate(lines, 1):
        where = f"line {number}"
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise TransferRefused(f"{where}: expected a JSON object, found invalid JSON ({exc.msg})")
        if not isinstance(item, dict):
            raise TransferRefused(f"{where}: expected a JSON object, found {type(item).__name__}")
        if not header_seen:
            if item.get("format") != FORMAT or item.get("version") != FORMAT_VERSION:
                raise TransferRefused(
                    f"{where}: expected the header {{\"format\": \"{FORMAT}\", \"version\": {FORMAT_VERSION}, ...}}, found {line.strip()[:120]}"
                )
            header_seen = True
            yield "head", _head(item.get("head"), where)
            continue
        if "end" in item:
            if events or keys:
                yield "batch", Batch(events, keys)
            end = item["end"]
            head = _head(end.get("head") if isinstance(end, dict) else None, where)
            if not isinstance(end, dict) or end.get("events") != count:
                raise TransferRefused(f"{where}: the trailer counts {end.get('events') if isinstance(end, dict) else end!r} events, the file holds {count}")
            yield "end", head
            return
        if "idempotency_key" in item:
            keys.append(_fields(item["idempotency_key"], KEY_FIELDS, where))
            continue
        events.append(_fields(item, EVENT_FIELDS, where))
        count += 1
        if len(events) >= batch_size:
            yield "batch", Batch(events, keys)
            events, keys = [], []
    if not header_seen:
        raise TransferRefused("the file is empty: expected an export written by `policing-metrics export`")
    raise TransferRefused(f"the file ends after {count} events without its trailer line: it is truncated")


def _head(value: object, where: str) -> Head:
    try:
        return Head.parse(value) if isinstance(value, str) else Head.parse(repr(value))
    except ValueError as exc:
        raise TransferRefused(f"{where}: head: {exc}")


_TYPES = {"position": int, "version": int, "schema_version": int, "first_position": int, "last_position": int, "stream_version": int}


def _fields(item: object, names: Sequence[str], where: str) -> tuple:
    if not isinstance(item, dict) or set(item) != set(names):
        found = sorted(item) if isinstance(item, dict) else type(item).__name__
        raise TransferRefused(f"{where}: expected the fields {', '.join(names)}, found {found}")
    for name in names:
        expected = _TYPES.get(name, str)
        if type(item[name]) is not expected:
            raise TransferRefused(f"{where}: field {name}: expected {expected.__name__}, found {item[name]!r}")
    return tuple(item[name] for name in names)


# -- writing ------------------------------------------------------------------------------------


def target_head(target: EventStore, resume: bool) -> tuple[Head, str]:
    """Where writing into `target` starts, and the recorded time there: refuses a non-empty target
    unless resuming."""
    head = target.head()
    if head.position and not resume:
        raise TransferRefused(
            f"the target database already holds {head.position} events (head {head}): the log goes only into an empty "
            "database; to continue a copy or import that was interrupted, run it again with --resume"
        )
    if not head.position:
        with target.engine.connect() as connection:
            if connection.execute(text("SELECT count(*) FROM idempotency_keys")).scalar():
                raise TransferRefused("the target database has no events but holds idempotency keys: use an empty database")
        return GENESIS, ""
    with target.engine.connect() as connection:
        recorded_at = connection.execute(text("SELECT recorded_at FROM events WHERE position = :p"), {"p": head.position}).scalar()
    return head, recorded_at


def check_prefix(target: Head, source_hash_at: Callable[[int], str | None]) -> None:
    """A resumed target must be the source's own prefix: the same hash at the target's head."""
    if target.position == 0:
        return
    found = source_hash_at(target.position)
    if found != target.hash:
        raise TransferRefused(
            f"the target ends at {target}, but the source's position {target.position} is "
            f"{'missing' if found is None else found}: the target is not an interrupted copy of this log; use an empty database"
        )


def write_batches(target: EventStore, start: Head, last_recorded_at: str, batches: Iterable[Batch], progress: Progress | None = None, total: int = 0) -> Head:
    """Insert each batch (checked against the chain from `start`) in its own transaction."""
    verifier = ChainVerifier(start, last_recorded_at)
    insert_event, insert_key = target.dialect.sql(INSERT_SQL), target.dialect.sql(INSERT_KEY_SQL)
    for batch in batches:
        rows = [row for row in batch.events if row[0] > start.position]
        keys = [key for key in batch.keys if key[4] > start.position]
        if not rows and not keys:
            continue
        breach = verifier.feed(ChainRow(*row) for row in rows)
        if breach is not None:
            raise TransferRefused(f"position {breach.position}: {breach.problem}; nothing from this batch was written")
        for key in keys:
            if key[4] > verifier.head.position:
                raise TransferRefused(f"idempotency key {key[0]!r} ends at position {key[4]}, after the events written so far")
        connection = target.engine.raw_connection()
        try:
            cursor = connection.cursor()
            target.dialect.begin_append(cursor)  # the append lock: nothing appends while a batch goes in
            if rows:
                cursor.executemany(insert_event, rows)
            if keys:
                cursor.executemany(insert_key, keys)
            connection.commit()
        except BaseException:
            connection.rollback()
            raise
        finally:
            connection.close()
        if progress is not None:
            progress(verifier.head.position, total)
    return verifier.head


def copy_log(
    source: EventStore, target: EventStore, *, resume: bool = False, batch_size: int = BATCH, progress: Progress | None = None
) -> TransferReport:
    """Copy the source's whole log into an empty target (or continue an interrupted copy), then verify it."""
    head = source.head()
    verified = source.verify()
    if verified.breach is not None:
        raise TransferRefused(f"the source log is broken at position {verified.breach.position}: {verified.breach.problem}")
    start, recorded_at = target_head(target, resume)
    check_prefix(start, lambda position: hash_at(source, position))
    if start.position > head.position:
        raise TransferRefused(f"the target ({start}) is ahead of the source ({head})")
    write_batches(target, start, recorded_at, database_batches(source, start.position, head, batch_size), progress, head.position)
    return _finish(target, head, start)


def import_lines(lines: Callable[[], Iterable[str]], target: EventStore, *, resume: bool = False, progress: Progress | None = None) -> TransferReport:
    """Import an export into an empty target (or continue an interrupted import), then verify it.

    The file is read twice: once to check it whole (its format, its chain, its trailer), so a
    truncated or damaged file writes nothing, then to write it.
    """
    verifier, head = ChainVerifier(), None
    for kind, value in file_batches(lines()):
        if kind == "head":
            head = value
        elif kind == "batch":
            breach = verifier.feed(ChainRow(*row) for row in value.events)
            if breach is not None:
                raise TransferRefused(f"position {breach.position}: {breach.problem}; nothing was imported")
        elif value != head or verifier.head != head:
            raise TransferRefused(f"the file's events end at {verifier.head}, but its header and trailer say {head} and {value}")
    start, recorded_at = target_head(target, resume)
    if start.position:

        def hash_at(position: int) -> str | None:
            for kind, value in file_batches(lines()):
                if kind == "batch" and value.events and value.events[-1][0] >= position:
                    return next((row[9] for row in value.events if row[0] == position), None)
            return None

        check_prefix(start, hash_at)
    batches = (value for kind, value in file_batches(lines()) if kind == "batch")
    write_batches(target, start, recorded_at, batches, progress, head.position)
    return _finish(target, head, start)


def hash_at(store: EventStore, position: int) -> str | None:
    """The stored hash at `position`, or None if the log has no such position."""
    with store.engine.connect() as connection:
        return connection.execute(text("SELECT hash FROM events WHERE position = :p"), {"p": position}).scalar()


def _finish(target: EventStore, head: Head, start: Head) -> TransferReport:
    report = target.verify(head)
    if report.breach is not None or report.head != head:
        raise TransferRefused(
            f"after writing, the target does not verify against the source's head {head}: "
            f"{report.breach.problem if report.breach else f'it ends at {report.head}'}"
        )
    return TransferReport(head, head.position - start.position, start.position)


def stored_rows(store: EventStore, positions: Iterable[int]) -> dict[int, ChainRow]:
    """The events at `positions` exactly as stored and hashed (no upcasting): what a proof of them publishes."""
    wanted = sorted(set(positions))
    found: dict[int, ChainRow] = {}
    with store.engine.connect() as connection:
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            rows = connection.execute(
                text(
                    "SELECT position, stream, version, type, schema_version, data, metadata, recorded_at, prev_hash, hash "
                    "FROM events WHERE position IN :positions"
                ).bindparams(bindparam("positions", expanding=True)),
                {"positions": chunk},
            )
            found.update((row[0], ChainRow(*row)) for row in rows)
    return found
