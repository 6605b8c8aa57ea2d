"""Writes over HTTP: Idempotency-Key and If-Match around the same command handlers the CLI uses.

Handlers are handed a `UnitOfWork`: the reads they need from the store, and appends that
- record every event with the token's actor, the request id and the request's fingerprint (a
  handler's own metadata is kept: its fields win, the request's fill what it leaves unset);
- use the request's idempotency key (scoped to the token), so the first answer's events are found
  again on a retry, and a retry is answered from them without deciding anew (a handler's own key,
  where it gives one, is kept instead: it is what makes that handler's append happen once);
- hold the stream named by If-Match to the version the client saw: the handler appends at the
  version it read, and the unit of work refuses unless that is the If-Match version (412 otherwise).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import replace
from typing import Any, Callable, Iterable, Sequence

from fastapi import Request
from pydantic import BaseModel

from events import EventRegistry, EventStore, Metadata, NewEvent, WrongExpectedVersion
from events.records import AppendManyResult, AppendResult
from events.store import Clock

from ..handlers.tokens import Token
from .problems import PROBLEM_BASE, Problem


class WriteOut(BaseModel):
    """What a write recorded: the log positions and each stream's new version."""

    first_position: int
    last_position: int
    hash: str
    streams: dict[str, int]
    events: int
    replayed: bool = False
    rows: int | None = None
    recorded: int | None = None
    changed: int | None = None
    unchanged: int | None = None


class UnitOfWork:
    """One HTTP request's reads and appends (see the module's docstring)."""

    def __init__(
        self, store: EventStore, metadata: Metadata, idempotency_key: str | None, if_match: tuple[str, int] | None
    ) -> None:
        self._store = store
        self.metadata = metadata  # the request's: handlers pass it on with their appends
        self._key = idempotency_key
        self._if_match = if_match
        self.written: list[AppendManyResult | AppendResult] = []
        # Reads are the store's own, its bound methods (signatures and all): a unit of work changes
        # only how appends are recorded.
        self.registry: EventRegistry = store.registry
        self.head = store.head
        self.stream_version = store.stream_version
        self.read_stream = store.read_stream
        self.read_streams = store.read_streams
        self.read_prefix = store.read_prefix

    @property
    def clock(self) -> Clock:
        return self._store.clock  # what "today" is for a rule that needs it (a figure's period must be over)

    # -- appends, with the request's metadata, key and If-Match ------------------------------------

    def append(
        self,
        stream: str,
        events: Sequence[NewEvent],
        expected_version: int | None,
        idempotency_key: str | None = None,
        metadata: Metadata | None = None,
    ) -> AppendResult:
        self._hold(stream, expected_version)
        result = self._store.append(stream, events, expected_version, *self._recorded_with(idempotency_key, metadata))
        self.written.append(result)
        return result

    def append_many(
        self,
        appends: Iterable[tuple[str, Sequence[NewEvent], int | None]],
        idempotency_key: str | None = None,
        metadata: Metadata | None = None,
    ) -> AppendManyResult:
        appends = list(appends)
        for stream, _, expected_version in appends:
            self._hold(stream, expected_version)
        result = self._store.append_many(appends, *self._recorded_with(idempotency_key, metadata))
        self.written.append(result)
        return result

    def _hold(self, stream: str, expected_version: int | None) -> None:
        if self._if_match and stream == self._if_match[0] and expected_version != self._if_match[1]:
            raise WrongExpectedVersion(stream, self._if_match[1], expected_version if expected_version is not None else -1)

    def _recorded_with(self, key: str | None, metadata: Metadata | None) -> tuple[str | None, Metadata]:
        """The handler's key, else the request's; the handler's metadata over the request's."""
        request = self.metadata
        if metadata is None or metadata is request:
            return key or self._key, request
        merged = replace(
            metadata,
            correlation_id=metadata.correlation_id or request.correlation_id,
            extra={**request.extra, **metadata.extra},
        )
        return key or self._key, merged


def _if_match(request: Request, stream: str | None) -> tuple[str, int] | None:
    header = request.headers.get("if-match")
    if header is None or stream is None:
        return None
    text = header.strip()
    weak = text.startswith("W/")
    tag = text.removeprefix("W/")
    digits = tag[1:-1]
    if not (len(tag) >= 3 and tag[0] == tag[-1] == '"' and digits.isascii() and digits.isdigit()):
        raise Problem(400, "Bad request", f'If-Match: expected the stream version as an entity tag such as "3", found {header!r}')
    if weak:
        # If-Match compares strongly (RFC 9110 13.1.1): a weak entity tag never matches.
        current = request.app.state.store.stream_version(stream)
        raise Problem(
            412, "Precondition failed",
            f"If-Match: {header} is a weak entity tag, which never matches (RFC 9110 strong comparison): send \"{current}\"",
            type=PROBLEM_BASE + "stale-version", current_version=current, headers=etag(current),
        )
    return stream, int(digits)


def _scoped_key(request: Request, token: Token) -> str | None:
    key = request.headers.get("idempotency-key")
    if key is None:
        return None
    if not 1 <= len(key) <= 200 or not key.isprintable():
        raise Problem(400, "Bad request", "Idempotency-Key: expected 1 to 200 printable characters (a UUID is ideal)")
    return f"http:{token.token_id}:{key}"


def fingerprint(request: Request, body: BaseModel | str | bytes | None) -> str:
    if isinstance(body, BaseModel):
        payload = body.model_dump_json().encode()
    elif isinstance(body, str):
        payload = body.encode()
    else:
        payload = body or b""
    digest = hashlib.sha256()
    for part in (request.method.encode(), request.url.path.encode(), str(sorted(request.query_params.multi_items())).encode(), payload):
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()


def _summarise(store: EventStore, first: int, last: int, hash_: str, replayed: bool, rows: int | None) -> WriteOut:
    events = list(store.read_all(first, as_of_position=last))
    versions: dict[str, int] = {}
    for event in events:
        versions[event.stream] = event.version
    out = WriteOut(
        first_position=first, last_position=last, hash=hash_, streams=versions, events=len(events), replayed=replayed
    )
    if rows is not None:
        # An imported row records something new where its event opens its stream, else changes it.
        kinds = Counter("recorded" if event.version == 1 else "changed" for event in events)
        out.rows, out.recorded, out.changed = rows, kinds["recorded"], kinds["changed"]
        out.unchanged = rows - out.recorded - out.changed
    return out


def perform(
    request: Request,
    token: Token,
    body: BaseModel | str | bytes | None,
    action: Callable[[UnitOfWork], Any],
    *,
    if_match_stream: str | None = None,
    rows: int | None = None,
) -> tuple[WriteOut | None, Any]:
    """Run `action` once per idempotency key; return what it wrote (None if nothing) and its result."""
    store: EventStore = request.app.state.store
    key = _scoped_key(request, token)
    request_sha = fingerprint(request, body)
    if key is not None:
        earlier = store.recall(key)
        if earlier is not None:
            first = next(iter(store.read_all(earlier.first_position, as_of_position=earlier.first_position)))
            if first.metadata.get("extra", {}).get("request_sha256") != request_sha:
                raise Problem(
                    422,
                    "Idempotency key reused",
                    "this Idempotency-Key was used for a different request: use a new key for a new request",
                    type=PROBLEM_BASE + "idempotency-key-reused",
                )
            recorded_rows = first.metadata.get("extra", {}).get("rows")
            return _summarise(store, earlier.first_position, earlier.last_position, earlier.hash, True, recorded_rows), None
    extra: dict[str, Any] = {"request_sha256": request_sha}
    if rows is not None:
        extra["rows"] = rows
    metadata = Metadata(
        actor=f"token:{token.token_id}:{token.name}",
        source="api",
        correlation_id=request.state.request_id,
        extra=extra,
    )
    if_match = _if_match(request, if_match_stream)
    work = UnitOfWork(store, metadata, key, if_match)
    try:
        result = action(work)
    except WrongExpectedVersion as exc:
        if if_match is not None:
            raise  # 412: the version the client named is not current
        raise Problem(
            409,
            "Conflict",
            f"{exc.stream} changed while this request was being decided (now at version {exc.actual}): "
            "read it again and retry",
            type=PROBLEM_BASE + "concurrent-change",
            current_version=exc.actual,
        ) from None
    if not work.written:
        return None, result
    first = work.written[0]
    last = work.written[-1]
    return _summarise(store, first.first_position, last.last_position, last.hash, False, rows), result


def etag(version: int) -> dict[str, str]:
    return {"ETag": f'"{version}"'}


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
