"""Errors the event store raises, each with a message a person can act on."""

from __future__ import annotations


class EventStoreError(Exception):
    """Base class for everything the event store refuses."""


class WrongExpectedVersion(EventStoreError):
    """The stream is not at the version the writer based its decision on."""

    def __init__(self, stream: str, expected: int, actual: int) -> None:
        self.stream = stream
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"stream {stream!r} is at version {actual}, not the expected {expected}: "
            "read it again, decide again and retry"
        )


class IdempotencyKeyReused(EventStoreError):
    """The same idempotency key was used earlier for different events."""

    def __init__(self, key: str, stream: str) -> None:
        self.key = key
        self.stream = stream
        super().__init__(
            f"idempotency key {key!r} was already used for different events (stream {stream!r}); "
            "use a new key for a new request"
        )


class UnknownEventType(EventStoreError):
    def __init__(self, type_name: str, known: list[str]) -> None:
        self.type_name = type_name
        super().__init__(
            f"unknown event type {type_name!r}; declared types are: {', '.join(sorted(known)) or 'none'}"
        )


class InvalidEvent(EventStoreError):
    """Event data does not match its type's schema; `problems` lists (field, message) pairs."""

    def __init__(self, type_name: str, problems: list[tuple[str, str]], index: int | None = None) -> None:
        self.type_name = type_name
        self.problems = problems
        self.index = index
        where = f"event {index + 1} " if index is not None else ""
        detail = "; ".join(f"{field}: {message}" for field, message in problems)
        super().__init__(f"{where}({type_name}) is invalid: {detail}")


class SchemaNotCurrent(EventStoreError):
    """The database schema is not the one this software was written for."""


class SchemaNewer(SchemaNotCurrent):
    """The database was migrated by newer software than this: waiting will not help, a newer install will."""
