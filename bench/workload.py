"""The benchmark's workload: one event type declared here, and deterministic ~150-byte payloads.

Every case (ours, eventsourcing, raw SQL) appends or reads the same payloads, so the only
difference between the columns of the table is the code doing the work.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Iterator

from pydantic import BaseModel, ConfigDict

from events import EventRegistry, NewEvent

EVENT_TYPE = "FigureSampled"

registry = EventRegistry()


@registry.event(EVENT_TYPE)
class FigureSampled(BaseModel):
    """A made-up figure: enough fields of mixed kinds to be a realistic 150 bytes."""

    model_config = ConfigDict(extra="forbid")

    area: str
    measure: str
    period: str
    sequence: int
    value: int
    provisional: bool
    note: str


_AREAS = ("Birmingham East", "Birmingham West", "Coventry", "Dudley", "Sandwell", "Solihull", "Walsall")
_MEASURES = ("burglary-residential", "robbery-personal", "vehicle-crime", "homicide", "knife-crime")


def payload(sequence: int) -> dict:
    return {
        "area": _AREAS[sequence % len(_AREAS)],
        "measure": _MEASURES[sequence % len(_MEASURES)],
        "period": f"{2019 + sequence % 4}-{1 + sequence % 12:02d}",
        "sequence": sequence,
        "value": (sequence * 7919) % 100_000,
        "provisional": sequence % 3 == 0,
        "note": "revised after late returns",
    }


def stream_name(index: int) -> str:
    return f"figure-{index:04d}"


@dataclass(frozen=True)
class Batch:
    """One durable commit's worth of events, all for one stream (our append takes one stream)."""

    stream: str
    first_version: int
    payloads: list[dict]

    def new_events(self) -> list[NewEvent]:
        return [NewEvent(EVENT_TYPE, data) for data in self.payloads]


def batches(events: int, streams: int, per_batch: int) -> Iterator[Batch]:
    """`events` payloads over `streams` streams, `per_batch` consecutive ones per stream per commit.

    Streams are visited round-robin, so each stream receives events / streams of them.
    """
    per_stream, rest = divmod(events, streams)
    if rest or per_stream % per_batch:
        raise ValueError(f"{events} events do not split evenly over {streams} streams in batches of {per_batch}")
    sequence = 0
    versions = [0] * streams
    stream = 0
    while sequence < events:
        size = per_batch
        yield Batch(stream_name(stream), versions[stream] + 1, [payload(s) for s in range(sequence, sequence + size)])
        versions[stream] += size
        sequence += size
        stream = (stream + 1) % streams


def data_bytes() -> float:
    """The mean size of one event's data as canonical JSON."""
    sample = [len(json.dumps(payload(i), separators=(",", ":"), sort_keys=True).encode()) for i in range(1000)]
    return sum(sample) / len(sample)
