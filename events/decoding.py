"""Stored rows back into events: canonical JSON data read by the C scanner, older schemas upcast."""

from __future__ import annotations

import json
from typing import Any, Iterator, Sequence

from .records import RecordedEvent
from .types import EventRegistry

try:
    from _json import make_scanner as _make_scanner
except ImportError:  # pragma: no cover - CPython always has the C accelerator
    _make_scanner = None

if _make_scanner is not None:
    _scan_json = _make_scanner(json.JSONDecoder())

    def loads(text: str) -> Any:
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
    loads = json.loads


def decode(registry: EventRegistry, rows: Sequence[tuple]) -> list[RecordedEvent]:
    """Stored rows as events, each one's data upcast to its type's current schema."""
    if not rows:
        return []
    # Column by column, so that the per-row loops run in C (zip, map): this is the read path.
    positions, streams, versions, types, schema_versions, texts, metadata, times, prev_hashes, hashes = zip(*rows)
    payloads = list(map(loads, texts))
    stale = _stale_schemas(registry, types, schema_versions)
    if stale:
        for index, kind in enumerate(zip(types, schema_versions)):
            if kind in stale:
                payloads[index] = registry.upcast(*kind, payloads[index])
    return list(
        map(RecordedEvent, positions, streams, versions, types, schema_versions, payloads, metadata, times, prev_hashes, hashes)
    )


def decoding(registry: EventRegistry, rows: Sequence[tuple]) -> Iterator[RecordedEvent]:
    """`decode`, lazily: each event is built as it is consumed, so a fold that drops it at
    once never holds a batch of them (fewer objects for the garbage collector to promote)."""
    if not rows:
        return iter(())
    positions, streams, versions, types, schema_versions, texts, metadata, times, prev_hashes, hashes = zip(*rows)
    if _stale_schemas(registry, types, schema_versions):
        return iter(decode(registry, rows))
    return map(
        RecordedEvent, positions, streams, versions, types, schema_versions, map(loads, texts), metadata, times,
        prev_hashes, hashes,
    )


def _stale_schemas(registry: EventRegistry, types, schema_versions) -> set[tuple[str, int]]:
    """The (type, schema version) pairs among these rows that need upcasting."""
    current = {event_type.name: event_type.version for event_type in registry}
    return {kind for kind in set(zip(types, schema_versions)) if current.get(kind[0], kind[1]) != kind[1]}
