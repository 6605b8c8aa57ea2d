"""What happened and what follows from it: event types, the append-only store, the hash chain.

The store and subscriptions (SQLAlchemy and the drivers) load when first named, so importing
`events.domain` loads no database code (tests/test_layers.py).
"""

from importlib import import_module

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
from .types import EventRegistry, EventType

_LAZY = {"EventStore": ".store", "VerifyReport": ".store", "CatchUpSubscription": ".subscription"}


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
