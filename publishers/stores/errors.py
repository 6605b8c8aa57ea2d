"""Errors an object store raises, each naming the object (as a full location) and what to do next."""

from __future__ import annotations


class StorageError(Exception):
    """Base class for everything a store refuses or fails to do; `operation` and `location` say what and where."""

    def __init__(self, message: str, *, operation: str | None = None, location: str | None = None) -> None:
        self.operation = operation
        self.location = location
        super().__init__(message)


class InvalidKey(StorageError, ValueError):
    def __init__(self, key: str, problem: str) -> None:
        self.key = key
        super().__init__(f"invalid object key {key!r}: {problem}; keys look like 'editions/2026-q1/r1/index.html'")


class InvalidDestination(StorageError, ValueError):
    def __init__(self, destination: str, problem: str) -> None:
        self.destination = destination
        super().__init__(
            f"cannot publish to {destination!r}: {problem}; use file://DIR, a directory path, or s3://BUCKET/PREFIX"
        )


class ObjectNotFound(StorageError, KeyError):
    def __init__(self, location: str) -> None:
        super().__init__(f"{location} does not exist", operation="get", location=location)

    def __str__(self) -> str:  # KeyError would otherwise print the message in quotes
        return self.args[0]


class ImmutableObjectConflict(StorageError):
    """An immutable key already holds different bytes: published files never change."""

    def __init__(self, location: str, existing_sha256: str, offered_sha256: str) -> None:
        self.existing_sha256 = existing_sha256
        self.offered_sha256 = offered_sha256
        super().__init__(
            f"refusing to overwrite {location}: it was already published with different content "
            f"(SHA-256 {existing_sha256} there, {offered_sha256} offered); published files never change, "
            "so publish the change as a new revision",
            operation="put",
            location=location,
        )


class ChecksumMismatch(StorageError):
    """What the store holds after an upload is not what was sent."""

    def __init__(self, location: str, expected_sha256: str, found: str, *, removed: bool) -> None:
        self.expected_sha256 = expected_sha256
        self.found = found
        outcome = "the corrupt copy was removed; publish again" if removed else "publish again to replace it"
        super().__init__(
            f"upload of {location} was corrupted: sent SHA-256 {expected_sha256}, the store has {found}; {outcome}",
            operation="put",
            location=location,
        )


class StorageUnavailable(StorageError):
    """Transient failures (throttling, 5xx, lost connections) outlasted every retry."""

    def __init__(self, operation: str, location: str, attempts: int, cause: str) -> None:
        self.attempts = attempts
        super().__init__(
            f"{operation} {location} failed {attempts} times (last: {cause}); the storage looks unavailable: "
            "publish again later, which keeps the files already there and skips identical ones",
            operation=operation,
            location=location,
        )


class StorageRequestRefused(StorageError):
    """The store answered with an error that retrying cannot fix (403, 404 bucket, 400 ...)."""

    def __init__(self, operation: str, location: str, cause: str, hint: str) -> None:
        super().__init__(
            f"{operation} {location} was refused ({cause}); {hint}", operation=operation, location=location
        )
