"""API tokens: issued with a role (and, for a data owner, the measures it may submit), revoked with
a reason. A bearer `pm_<token_id>_<secret>` names an active token when the secret's SHA-256 is the
one recorded at issue (the secret is 256 random bits, so a plain hash suffices)."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, replace
from typing import Any, Iterable, Mapping

from ..errors import InvalidValue, TokenAlreadyRevoked, UnknownToken
from ..tokens import ROLES, TokenIssued, TokenRevoked
from . import values

_role = values.choice(ROLES)


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


def fold(events: Iterable[tuple[str, Mapping[str, Any], str, str]]) -> dict[str, Token]:
    """Every token by id, from (type, data, recorded_at, actor) of the tokens stream."""
    tokens: dict[str, Token] = {}
    for type_, data, recorded_at, actor in events:
        if type_ == "TokenIssued":
            measures = tuple(data["measures"]) if data.get("measures") is not None else None
            tokens[data["token_id"]] = Token(
                data["token_id"], data["name"], data["role"], measures, data["secret_sha256"], recorded_at, actor
            )
        elif type_ == "TokenRevoked" and data["token_id"] in tokens:
            tokens[data["token_id"]] = replace(tokens[data["token_id"]], revoked_at=recorded_at)
    return tokens


def secret_sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def bearer(token_id: str, secret: str) -> str:
    """The text a token holder sends: `pm_<token_id>_<secret>`."""
    return f"pm_{token_id}_{secret}"


def issue(
    tokens: Mapping[str, Token], *, token_id: str, secret: str, name: str, role: str, measures: list[str] | None
) -> TokenIssued:
    _role("role", role)
    if measures is not None and role != "data-owner":
        raise InvalidValue("measures", "no measures: only data-owner tokens are limited to named measures", measures)
    if token_id in tokens:
        raise InvalidValue("token_id", "a token id not yet issued", token_id)
    return TokenIssued(token_id=token_id, name=name, role=role, measures=measures, secret_sha256=secret_sha256(secret))


def revoke(tokens: Mapping[str, Token], token_id: str, reason: str) -> TokenRevoked:
    token = tokens.get(token_id)
    if token is None:
        raise UnknownToken(token_id)
    if not token.active:
        raise TokenAlreadyRevoked(token_id, token.revoked_at or "")
    return TokenRevoked(token_id=token_id, reason=values.reason("reason", reason, "a reason for revoking the token"))


def authenticate(tokens: Mapping[str, Token], bearer_text: str) -> Token | None:
    """The active token `bearer_text` names, or None (unknown, revoked, or the wrong secret)."""
    prefix, _, rest = bearer_text.partition("_")
    token_id, _, secret = rest.partition("_")
    if prefix != "pm" or not token_id or not secret:
        return None
    token = tokens.get(token_id)
    if token is None or not token.active:
        return None
    return token if hmac.compare_digest(secret_sha256(secret), token.secret_sha256) else None
