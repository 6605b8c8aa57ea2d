"""What happened and what follows from it: event types, the append-only store, the hash chain."""

from .chain import GENESIS, Breach, Head
from .errors import (
    EventStoreError,
    IdempotencyKeyReused,
    InvalidEvent,
    SchemaNotCurrent,
    UnknownEventType,
    WrongExpectedVersion,
)
from .records import AppendManyResult, AppendResult, Metadata, NewEvent, RecordedEvent
from .store import EventStore, VerifyReport
from .subscription import CatchUpSubscription
from .types import EventRegistry, EventType

__all__ = [
    "GENESIS",
    "AppendManyResult",
    "AppendResult",
    "Breach",
    "CatchUpSubscription",
    "EventRegistry",
    "EventStore",
    "EventStoreError",
    "EventType",
    "Head",
    "IdempotencyKeyReused",
    "InvalidEvent",
    "Metadata",
    "NewEvent",
    "RecordedEvent",
    "SchemaNotCurrent",
    "UnknownEventType",
    "VerifyReport",
    "WrongExpectedVersion",
]
