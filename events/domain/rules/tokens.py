"""API tokens: issued with a role (and, for a data owner, the measures it may submit), revoked with
a reason, optionally expiring, and rotated (a new secret for the same holder, the old one revoked at
once). A bearer `pm_<token_id>_<secret>` names an active token when the secret's SHA-256 is the one
recorded at issue (the secret is 256 random bits, so a plain hash suffices) and it has not expired."""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Mapping

from ..errors import InvalidValue, TokenAlreadyRevoked, TokenExpired, TokenNotRecognised, UnknownToken
from ..tokens import ROLES, TokenIssued, TokenRevoked
from . import values

_role = values.choice(ROLES)
_DURATION = re.compile(r"^(\d{1,5})([dh])$")


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
    expires_at: str | None = None
    replaces: str | None = None
    organisation: str | None = None  # whose areas alone it reaches (None: every area)

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and datetime.fromisoformat(self.expires_at) <= now

    @property
    def lifetime(self) -> timedelta | None:
        if self.expires_at is None:
            return None
        return datetime.fromisoformat(self.expires_at) - datetime.fromisoformat(self.issued_at)

    def may_submit_for(self, measure: str) -> bool:
        return self.measures is None or measure in self.measures


def fold(events: Iterable[tuple[str, Mapping[str, Any], str, str]]) -> dict[str, Token]:
    """Every token by id, from (type, data, recorded_at, actor) of the tokens stream."""
    tokens: dict[str, Token] = {}
    for type_, data, recorded_at, actor in events:
        if type_ == "TokenIssued":
            measures = tuple(data["measures"]) if data.get("measures") is not None else None
            tokens[data["token_id"]] = Token(
                data["token_id"],
                data["name"],
                data["role"],
                measures,
                data["secret_sha256"],
                recorded_at,
                actor,
                expires_at=data.get("expires_at"),
                replaces=data.get("replaces"),
                organisation=data.get("organisation"),
            )
        elif type_ == "TokenRevoked" and data["token_id"] in tokens:
            tokens[data["token_id"]] = replace(tokens[data["token_id"]], revoked_at=recorded_at)
    return tokens


def secret_sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def bearer(token_id: str, secret: str) -> str:
    """The text a token holder sends: `pm_<token_id>_<secret>`."""
    return f"pm_{token_id}_{secret}"


def expiry(text: str, now: datetime) -> datetime:
    """When a token given `--expires TEXT` at `now` expires: TEXT is a lifetime (90d, 12h) or a time
    with its offset (2027-03-31T17:00:00+01:00), and must lie in the future."""
    expected = "a lifetime such as 90d or 12h, or a future time with its offset such as 2027-03-31T17:00:00Z"
    found = _DURATION.match(text.strip())
    if found:
        amount, unit = int(found.group(1)), found.group(2)
        moment = now + (timedelta(days=amount) if unit == "d" else timedelta(hours=amount))
    else:
        try:
            moment = datetime.fromisoformat(text.strip())
        except ValueError:
            raise InvalidValue("expires", expected, text) from None
        if moment.tzinfo is None:
            raise InvalidValue("expires", expected, text, "give the time's offset, e.g. Z or +01:00")
    if moment <= now:
        raise InvalidValue("expires", expected, text, "that is not in the future")
    return moment.astimezone(timezone.utc)


def _utc_text(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def issue(
    tokens: Mapping[str, Token],
    *,
    token_id: str,
    secret: str,
    name: str,
    role: str,
    measures: list[str] | None,
    expires_at: datetime | None = None,
    replaces: str | None = None,
    organisation: str | None = None,
    organisations: Mapping[str, Any] | None = None,
) -> TokenIssued:
    _role("role", role)
    if organisation is not None:
        if role not in ("data-owner", "editor"):
            raise InvalidValue("organisation", "no organisation: only data-owner and editor tokens belong to one", organisation)
        if organisations is not None and organisation not in organisations:
            known = ", ".join(sorted(organisations)) or "none defined yet"
            raise InvalidValue("organisation", f"a defined organisation ({known})", organisation)
    if measures is not None and role != "data-owner":
        raise InvalidValue("measures", "no measures: only data-owner tokens are limited to named measures", measures)
    if token_id in tokens:
        raise InvalidValue("token_id", "a token id not yet issued", token_id)
    return TokenIssued(
        token_id=token_id,
        name=name,
        role=role,
        measures=measures,
        secret_sha256=secret_sha256(secret),
        expires_at=_utc_text(expires_at),
        replaces=replaces,
        organisation=organisation,
    )


def revoke(tokens: Mapping[str, Token], token_id: str, reason: str) -> TokenRevoked:
    token = tokens.get(token_id)
    if token is None:
        raise UnknownToken(token_id)
    if not token.active:
        raise TokenAlreadyRevoked(token_id, token.revoked_at or "")
    return TokenRevoked(token_id=token_id, reason=values.reason("reason", reason, "a reason for revoking the token"))


def rotate(
    tokens: Mapping[str, Token], token_id: str, *, new_id: str, secret: str, now: datetime, expires_at: datetime | None = None
) -> tuple[TokenIssued, TokenRevoked]:
    """A new token for the same holder, role and measures, and the old one revoked, to append together.

    An expired token may be rotated (that is how its holder gets going again). Without a new expiry
    the new token lives as long as the old one was issued for."""
    old = tokens.get(token_id)
    if old is None:
        raise UnknownToken(token_id)
    if not old.active:
        raise TokenAlreadyRevoked(token_id, old.revoked_at or "")
    if expires_at is None and old.lifetime is not None:
        expires_at = now + old.lifetime
    issued = issue(
        tokens,
        token_id=new_id,
        secret=secret,
        name=old.name,
        role=old.role,
        measures=list(old.measures) if old.measures is not None else None,
        expires_at=expires_at,
        replaces=token_id,
        organisation=old.organisation,
    )
    return issued, TokenRevoked(token_id=token_id, reason=f"rotated: replaced by {new_id}")


def token_id_of(bearer_text: str) -> str | None:
    """The token id a bearer text claims (unchecked), or None if it is not shaped like a token."""
    prefix, _, rest = bearer_text.partition("_")
    token_id, _, secret = rest.partition("_")
    return token_id if prefix == "pm" and token_id and secret else None


def authenticate(tokens: Mapping[str, Token], bearer_text: str, now: datetime) -> Token:
    """The token `bearer_text` names, if active, not expired and the secret matches.

    Raises TokenNotRecognised (unknown, revoked, the wrong secret: one answer for all, so a caller
    learns nothing about which ids exist) or TokenExpired (the right secret, past its expiry)."""
    token_id = token_id_of(bearer_text)
    token = tokens.get(token_id) if token_id else None
    if token is None or not token.active:
        raise TokenNotRecognised()
    secret = bearer_text.split("_", 2)[2]
    if not hmac.compare_digest(secret_sha256(secret), token.secret_sha256):
        raise TokenNotRecognised()
    if token.expired(now):
        raise TokenExpired(token.token_id, token.expires_at or "")
    return token
