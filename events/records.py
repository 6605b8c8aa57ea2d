"""The values that go into the log and come out of it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, NamedTuple

from pydantic import BaseModel

TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def format_time(moment: datetime) -> str:
    """recorded_at as stored and hashed: UTC, microseconds, fixed width, so text order is time order."""
    if moment.tzinfo is timezone.utc:
        utc = moment
    elif moment.tzinfo is None:
        raise ValueError("times must carry a time zone")
    else:
        utc = moment.astimezone(timezone.utc)
    if utc.year >= 1000:
        # The same text as TIME_FORMAT, several times faster: "YYYY-MM-DDTHH:MM:SS.ffffff" + "Z".
        return utc.isoformat(timespec="microseconds")[:26] + "Z"
    return utc.strftime(TIME_FORMAT)


def parse_time(text: str) -> datetime:
    return datetime.strptime(text, TIME_FORMAT).replace(tzinfo=timezone.utc)


class NewEvent(NamedTuple):
    """An event about to be appended: its type and its data (JSON values only).

    A named tuple: immutable, and the cheapest object to build, which matters to callers that
    build thousands of them per batch.
    """

    type: str
    data: dict[str, Any]

    @classmethod
    def of(cls, model: BaseModel, registry: Any) -> "NewEvent":
        """The event `model` is, its data dumped from it. A frozen model's values are the ones its
        schema validated when it was built, so the store need not validate them again (`ModelEvent`);
        any other model's may have been assigned since."""
        name, data = registry.for_model(type(model)).name, model.model_dump(mode="json")
        if not model.model_config.get("frozen"):
            return cls(name, data)
        event = ModelEvent(name, data)
        event.schema = type(model)
        return event


class ModelEvent(NewEvent):
    """A NewEvent that `NewEvent.of` dumped from a frozen instance of its type's schema (the pydantic
    model validated the values when the instance was built): the store skips validating its data again
    when `schema` is the model its own registry declares for the type, and validates everything
    else. Only code holds one: no input (an HTTP body, a file) becomes one except through a model.
    Never build one from a model made by `model_construct` or `model_copy(update=...)`, which skip
    validation; `_replace` gives a plain NewEvent, validated as any other."""

    schema: type[BaseModel]

    def _replace(self, **changes: Any) -> NewEvent:
        return NewEvent(**{**self._asdict(), **changes})


@dataclass(frozen=True)
class Metadata:
    """Who and what caused an append; recorded with every event of the append."""

    actor: str = "system"
    source: str = "api"
    correlation_id: str | None = None
    causation_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self, idempotency_key: str | None) -> dict[str, Any]:
        values: dict[str, Any] = {"actor": self.actor, "source": self.source}
        if self.correlation_id is not None:
            values["correlation_id"] = self.correlation_id
        if self.causation_id is not None:
            values["causation_id"] = self.causation_id
        if idempotency_key is not None:
            values["idempotency_key"] = idempotency_key
        if self.extra:
            values["extra"] = self.extra
        return values


class RecordedEvent:
    """An event as the log holds it. `data` is in the type's current schema (upcast if older)."""

    __slots__ = (
        "position",
        "stream",
        "version",
        "type",
        "schema_version",
        "data",
        "_metadata",
        "recorded_at",
        "prev_hash",
        "hash",
    )

    def __init__(self, position, stream, version, type, schema_version, data, metadata, recorded_at, prev_hash, hash):
        self.position: int = position
        self.stream: str = stream
        self.version: int = version
        self.type: str = type
        self.schema_version: int = schema_version
        self.data: dict[str, Any] = data
        self._metadata: str | dict = metadata
        self.recorded_at: str = recorded_at
        self.prev_hash: str = prev_hash
        self.hash: str = hash

    @property
    def metadata(self) -> dict[str, Any]:
        # Decoded on first use: most folds never look at it.
        if isinstance(self._metadata, str):
            self._metadata = json.loads(self._metadata)
        return self._metadata

    @property
    def actor(self) -> str:
        return self.metadata.get("actor", "")

    def as_dict(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "stream": self.stream,
            "version": self.version,
            "type": self.type,
            "schema_version": self.schema_version,
            "data": self.data,
            "metadata": self.metadata,
            "recorded_at": self.recorded_at,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }

    def __repr__(self) -> str:
        return f"RecordedEvent(position={self.position}, stream={self.stream!r}, version={self.version}, type={self.type!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RecordedEvent) and other.hash == self.hash and other.position == self.position

    def __hash__(self) -> int:
        return hash((self.position, self.hash))


class AppendResult(NamedTuple):
    first_position: int
    last_position: int
    stream_version: int
    hash: str
    replayed: bool = False  # True when an idempotent retry returned the original positions


class AppendManyResult(NamedTuple):
    """What `EventStore.append_many` wrote: one run of positions across several streams."""

    first_position: int
    last_position: int
    hash: str  # of the last event written
    stream_versions: dict[str, int]  # each stream written to, at its new version
    replayed: bool = False
