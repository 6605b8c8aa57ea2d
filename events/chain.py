"""The hash chain: how one event's hash is computed from its fields and its predecessor's hash.

docs/hash-chain.md states the same algorithm for auditors; keep the two in step.
"""

from __future__ import annotations

import hashlib
from itertools import repeat
from typing import Iterable, NamedTuple

from .canonical import canonical_string

GENESIS_HASH = "0" * 64

# The hashed fields, in RFC 8785 key order (plain code-point order for these ASCII names).
HASHED_FIELDS = ("data", "metadata", "position", "recorded_at", "schema_version", "stream", "type", "version")


def envelope_format(
    *, metadata: str, recorded_at: str | None, schema_version: int, stream: str | None, type: str
) -> bytes:
    """The envelope of every event with these fields, as a bytes %-format awaiting (data, position, version).

    The one place the envelope is written, its fields in HASHED_FIELDS order: appends and verify
    fill it in for each event (one format serves a whole append), `envelope_bytes` for one.
    `metadata`, like the data filled in later, is canonical JSON text already (the store keeps
    both so), so the envelope is assembled rather than re-serialised; tests check it equals
    `rfc8785.dumps` of the fields. `recorded_at` or `stream` given as None leaves a slot (%b,
    after the position: recorded_at's, then stream's) for its quoted bytes, `quoted_bytes(...)`,
    so that one format serves a log of one-event appends too (verify).
    """
    time = "\x00" if recorded_at is None else canonical_string(recorded_at)
    name = "\x00" if stream is None else canonical_string(stream)
    # \x00 marks a slot: canonical JSON escapes every control character, so none occurs in it.
    text = (
        f'{{"data":%s,"metadata":{metadata.replace("%", "%%")},"position":%d,"recorded_at":{time.replace("%", "%%")},'
        f'"schema_version":{schema_version:d},"stream":{name.replace("%", "%%")},'
        f'"type":{canonical_string(type).replace("%", "%%")},"version":%d}}'
    )
    if recorded_at is None or stream is None:
        text = text.replace("\x00", "%b")
    return text.encode()


def quoted_bytes(text: str) -> bytes:
    """What fills an envelope's slot for `text` (see envelope_format)."""
    return canonical_string(text).encode()


def envelope_bytes(
    *,
    position: int,
    stream: str,
    version: int,
    type: str,
    schema_version: int,
    data: str,
    metadata: str,
    recorded_at: str,
) -> bytes:
    """RFC 8785 bytes of one event's hashed fields (`data` and `metadata` canonical JSON text)."""
    format = envelope_format(
        metadata=metadata, recorded_at=recorded_at, schema_version=schema_version, stream=stream, type=type
    )
    return format % (data.encode(), position, version)


def event_hash(prev_hash: str, envelope: bytes) -> str:
    """hash = SHA-256(prev_hash as 32 raw bytes || envelope), as lowercase hex."""
    return hashlib.sha256(bytes.fromhex(prev_hash) + envelope).hexdigest()


def chained_format(**fields) -> bytes:
    """`envelope_format` behind a slot for the previous hash's 32 bytes: the whole input of
    SHA-256, awaiting (previous digest, data, position, [slots,] version), in one %-operation."""
    return b"%b" + envelope_format(**fields)


def chain_rows(
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
    return _rows(prev_hex, digests, positions, repeat(stream), versions, types, schema_versions, texts, meta_text, recorded_at)


def chain_rows_across(
    prev_hex: str, first_position: int, streams: list[str], versions: list[int], prepared: tuple, meta_text: str, recorded_at: str
) -> tuple[list[tuple], str]:
    """`chain_rows` for events appended to several streams at once (event i to `streams[i]` at
    `versions[i]`; `prepared` is what events.prepare made of them: types, schema versions, texts and
    their bytes or None): one format per type and schema version, with a slot for the stream, so that
    a batch of a hundred thousand one-event streams (a bulk import) builds no format per event."""
    types, schema_versions, texts, encoded = prepared
    formats = {
        kind: chained_format(metadata=meta_text, recorded_at=recorded_at, schema_version=kind[1], stream=None, type=kind[0])
        for kind in set(zip(types, schema_versions))
    }
    positions = range(first_position, first_position + len(texts))
    if encoded is None:
        encoded = [text.encode() for text in texts]
    sha256 = hashlib.sha256
    digest = bytes.fromhex(prev_hex)
    digests = []
    add = digests.append
    for data, position, stream, version, kind in zip(encoded, positions, streams, versions, zip(types, schema_versions)):
        digest = sha256(formats[kind] % (digest, data, position, quoted_bytes(stream), version)).digest()
        add(digest)
    return _rows(prev_hex, digests, positions, streams, versions, types, schema_versions, texts, meta_text, recorded_at)


def _rows(prev_hex, digests, positions, streams, versions, types, schema_versions, texts, meta_text, recorded_at):
    """The events table's rows, in column order, and the last hash."""
    hashes = list(map(bytes.hex, digests))
    prev_hashes = [prev_hex, *hashes[:-1]]
    rows = list(
        zip(positions, streams, versions, types, schema_versions, texts, repeat(meta_text), repeat(recorded_at),
            prev_hashes, hashes)
    )  # fmt: skip
    return rows, hashes[-1]


class ChainRow(NamedTuple):
    position: int
    stream: str
    version: int
    type: str
    schema_version: int
    data: str
    metadata: str
    recorded_at: str
    prev_hash: str
    hash: str


class Breach(NamedTuple):
    """The first place where the log is not what its chain says it should be."""

    position: int
    problem: str


class Head(NamedTuple):
    position: int
    hash: str

    def __str__(self) -> str:
        return f"{self.position}:{self.hash}"

    @classmethod
    def parse(cls, text: str) -> "Head":
        position, sep, digest = text.partition(":")
        if not sep or not (position.isascii() and position.isdigit()) or len(digest) != 64:
            raise ValueError(f"expected POSITION:HASH (a number, a colon, 64 hex digits), found {text!r}")
        int(digest, 16)
        return cls(int(position), digest.lower())


GENESIS = Head(0, GENESIS_HASH)


class ChainVerifier:
    """Checks rows fed in position order, batch after batch, from a known head.

    Checks: positions are consecutive, each prev_hash is the previous hash, each hash
    recomputes from the row, recorded_at never decreases. `head` is the last good event.
    """

    def __init__(self, start: Head = GENESIS, last_recorded_at: str = "") -> None:
        self.head = start
        self.breach: Breach | None = None
        self._last_time = last_recorded_at
        # Formats with slots for recorded_at and stream (few: by type, schema and metadata), and
        # streams' quoted bytes: a log of one-event appends builds no format per event.
        self._formats: dict[tuple, bytes] = {}
        self._quoted_streams: dict[str, bytes] = {}

    def feed(self, rows: Iterable[ChainRow]) -> Breach | None:
        if self.breach is not None:
            return self.breach
        sha256 = hashlib.sha256
        expected_position = self.head.position + 1
        prev_hex = self.head.hash
        prev_digest = bytes.fromhex(prev_hex)
        last_time = self._last_time
        formats = self._formats
        quoted_streams = self._quoted_streams
        quoted_time = quoted_bytes(last_time)
        breach = None
        for position, stream, version, type_, schema_version, data, metadata, recorded_at, prev_hash, digest in rows:
            if position != expected_position:
                what = "missing" if position > expected_position else "repeated or out of order"
                breach = Breach(expected_position, f"position {expected_position} is {what} (found {position} next)")
                break
            if prev_hash != prev_hex:
                breach = Breach(position, f"prev_hash {prev_hash} is not the hash of position {position - 1} ({prev_hex})")
                break
            if recorded_at < last_time:
                breach = Breach(position, f"recorded_at {recorded_at} is earlier than the previous event's {last_time}")
                break
            kind = (type_, schema_version, metadata)
            format = formats.get(kind)
            if format is None:
                if len(formats) >= 64:
                    formats.clear()
                format = formats[kind] = chained_format(
                    metadata=metadata, recorded_at=None, schema_version=schema_version, stream=None, type=type_
                )
            quoted_stream = quoted_streams.get(stream)
            if quoted_stream is None:
                if len(quoted_streams) >= 4096:
                    quoted_streams.clear()
                quoted_stream = quoted_streams[stream] = quoted_bytes(stream)
            if recorded_at != last_time:  # the rows of one append share their time
                quoted_time = quoted_bytes(recorded_at)
            actual = sha256(format % (prev_digest, data.encode(), position, quoted_time, quoted_stream, version)).digest()
            actual_hex = actual.hex()
            if actual_hex != digest:
                breach = Breach(position, f"hash does not match the event's contents (stored {digest}, computed {actual_hex})")
                break
            prev_digest = actual
            prev_hex = actual_hex
            last_time = recorded_at
            expected_position += 1
        self.head = Head(expected_position - 1, prev_hex)
        self._last_time = last_time
        self.breach = breach
        return breach
