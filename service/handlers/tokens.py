"""Token commands: issue, list, revoke, rotate; and the directory that authenticates a bearer token.

Each command reads the tokens stream, lets `events.domain.rules.tokens` decide, and appends at the
version it read. The secret is made here (randomness is not a rule) and shown once, at issue.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from threading import Lock

from events import EventStore, Metadata, NewEvent
from events.store import Clock, utc_now
from events.domain.rules import tokens as rules
from events.domain.rules.tokens import Token
from events.domain.tokens import TOKENS_STREAM

__all__ = ["Token", "TokenDirectory", "issue_token", "list_tokens", "revoke_token", "rotate_token"]


def _load(store: EventStore) -> tuple[dict[str, Token], int]:
    events = store.read_stream(TOKENS_STREAM)
    return rules.fold((e.type, e.data, e.recorded_at, e.actor) for e in events), len(events)


def list_tokens(store: EventStore) -> list[Token]:
    return list(_load(store)[0].values())


def _new_secret() -> tuple[str, str]:
    return secrets.token_hex(8), secrets.token_urlsafe(32)


def issue_token(
    store: EventStore,
    *,
    name: str,
    role: str,
    measures: list[str] | None,
    metadata: Metadata,
    expires_at: datetime | None = None,
    organisation: str | None = None,
) -> tuple[Token, str]:
    """Record a new token; return it and the bearer text to hand over (shown once)."""
    from .organisations import load_organisations

    tokens, version = _load(store)
    token_id, secret = _new_secret()
    event = rules.issue(
        tokens, token_id=token_id, secret=secret, name=name, role=role, measures=measures, expires_at=expires_at,
        organisation=organisation, organisations=load_organisations(store)[0] if organisation is not None else None,
    )  # fmt: skip
    store.append(TOKENS_STREAM, [NewEvent.of(event, store.registry)], expected_version=version, metadata=metadata)
    return _load(store)[0][token_id], rules.bearer(token_id, secret)


def revoke_token(store: EventStore, token_id: str, reason: str, metadata: Metadata) -> Token:
    tokens, version = _load(store)
    event = rules.revoke(tokens, token_id, reason)
    store.append(TOKENS_STREAM, [NewEvent.of(event, store.registry)], expected_version=version, metadata=metadata)
    return _load(store)[0][token_id]


def rotate_token(
    store: EventStore, token_id: str, metadata: Metadata, *, now: datetime, expires_at: datetime | None = None
) -> tuple[Token, str]:
    """Issue the holder of `token_id` a new token and revoke the old one, in one append."""
    tokens, version = _load(store)
    new_id, secret = _new_secret()
    events = rules.rotate(tokens, token_id, new_id=new_id, secret=secret, now=now, expires_at=expires_at)
    store.append(TOKENS_STREAM, [NewEvent.of(e, store.registry) for e in events], expected_version=version, metadata=metadata)
    return _load(store)[0][new_id], rules.bearer(new_id, secret)


class TokenDirectory:
    """Authenticates bearer tokens against the log, re-reading only when the stream has grown."""

    def __init__(self, store: EventStore, clock: Clock = utc_now) -> None:
        self._store = store
        self._clock = clock
        self._version = -1
        self._tokens: dict[str, Token] = {}
        self._lock = Lock()

    def _current(self) -> dict[str, Token]:
        version = self._store.stream_version(TOKENS_STREAM)
        if version != self._version:
            with self._lock:
                self._tokens, self._version = _load(self._store)
        return self._tokens

    def authenticate(self, bearer: str) -> Token:
        """The token `bearer` names; TokenNotRecognised or TokenExpired if it does not pass."""
        return rules.authenticate(self._current(), bearer, self._clock())
