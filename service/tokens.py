"""API tokens: issue, list, revoke, and authenticate a bearer token.

A token reads `pm_<token_id>_<secret>`. The log keeps the token id and SHA-256 of the secret
(a 256-bit random value, so a plain hash suffices); the secret is shown once, at issue.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from threading import Lock

from events import EventStore, Metadata, NewEvent
from events.domain.tokens import ROLES, TOKENS_STREAM, TokenIssued, TokenRevoked


class TokenError(ValueError):
    """A token command that cannot be carried out."""


@dataclass(frozen=True)
class Token:
    token_id: str
    name: str
    role: str
    measures: tuple[str, ...] | None
    secret_sha256: str
    issued_at: str
    issued_by: str
    revoked_at: str | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def may_submit_for(self, measure: str) -> bool:
        return self.measures is None or measure in self.measures


def _fold(events) -> dict[str, Token]:
    tokens: dict[str, Token] = {}
    for event in events:
        data = event.data
        if event.type == "TokenIssued":
            measures = tuple(data["measures"]) if data.get("measures") is not None else None
            tokens[data["token_id"]] = Token(
                data["token_id"], data["name"], data["role"], measures, data["secret_sha256"], event.recorded_at, event.actor
            )
        elif event.type == "TokenRevoked":
            old = tokens[data["token_id"]]
            tokens[data["token_id"]] = Token(**{**old.__dict__, "revoked_at": event.recorded_at})
    return tokens


def list_tokens(store: EventStore) -> list[Token]:
    return list(_fold(store.read_stream(TOKENS_STREAM)).values())


def issue_token(
    store: EventStore, *, name: str, role: str, measures: list[str] | None, metadata: Metadata
) -> tuple[Token, str]:
    """Record a new token; return it and the secret text to hand over (shown once)."""
    if role not in ROLES:
        raise TokenError(f"role must be one of {', '.join(ROLES)}, found {role!r}")
    if measures is not None and role != "data-owner":
        raise TokenError("only data-owner tokens are limited to named measures")
    token_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    event = TokenIssued(
        token_id=token_id,
        name=name,
        role=role,
        measures=measures,
        secret_sha256=hashlib.sha256(secret.encode()).hexdigest(),
    )
    store.append(TOKENS_STREAM, [NewEvent.of(event, store.registry)], expected_version=None, metadata=metadata)
    token = next(t for t in list_tokens(store) if t.token_id == token_id)
    return token, f"pm_{token_id}_{secret}"


def revoke_token(store: EventStore, token_id: str, reason: str, metadata: Metadata) -> Token:
    events = store.read_stream(TOKENS_STREAM)
    token = _fold(events).get(token_id)
    if token is None:
        raise TokenError(f"no token with id {token_id!r}: `policing-metrics tokens list` shows them")
    if not token.active:
        raise TokenError(f"token {token_id} was already revoked at {token.revoked_at}")
    store.append(
        TOKENS_STREAM,
        [NewEvent.of(TokenRevoked(token_id=token_id, reason=reason), store.registry)],
        expected_version=len(events),
        metadata=metadata,
    )
    return _fold(store.read_stream(TOKENS_STREAM))[token_id]


class TokenDirectory:
    """Authenticates bearer tokens against the log, re-reading only when the stream has grown."""

    def __init__(self, store: EventStore) -> None:
        self._store = store
        self._version = -1
        self._tokens: dict[str, Token] = {}
        self._lock = Lock()

    def _current(self) -> dict[str, Token]:
        version = self._store.stream_version(TOKENS_STREAM)
        if version != self._version:
            with self._lock:
                events = self._store.read_stream(TOKENS_STREAM)
                self._tokens = _fold(events)
                self._version = len(events)
        return self._tokens

    def authenticate(self, bearer: str) -> Token | None:
        """The active token `bearer` names, or None."""
        prefix, _, rest = bearer.partition("_")
        token_id, _, secret = rest.partition("_")
        if prefix != "pm" or not token_id or not secret:
            return None
        token = self._current().get(token_id)
        if token is None or not token.active:
            return None
        digest = hashlib.sha256(secret.encode()).hexdigest()
        return token if hmac.compare_digest(digest, token.secret_sha256) else None
