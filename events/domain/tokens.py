"""API tokens: who may do what over HTTP. Only a hash of each secret is ever recorded.

Stream: `api-tokens` (one stream, so issuing and revoking are ordered and conflict-checked).
"""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import Field

from . import registry
from .calendar import UtcTime
from .fields import DomainEvent, Reason, Slug, Text

Role = Literal["data-owner", "editor", "auditor", "admin"]
ROLES: tuple[str, ...] = Role.__args__
TOKENS_STREAM = "api-tokens"


@registry.event("TokenIssued")
class TokenIssued(DomainEvent):
    token_id: str = Field(pattern=r"^[0-9a-f]{16}$")
    name: Text = Field(min_length=1)
    role: Role
    # For data owners: the measures they may submit figures for; None means every measure.
    measures: Optional[list[Slug]] = None
    # The organisation (a force, a PCC) whose areas alone it reaches; None: the hub's own, every area.
    organisation: Optional[Slug] = None
    secret_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    # After this moment the token is refused (None: it never expires; revoke it to end it).
    expires_at: Optional[UtcTime] = None
    # Set when the token was issued by rotating another, which was revoked in the same append.
    replaces: Optional[str] = Field(None, pattern=r"^[0-9a-f]{16}$")


@registry.event("TokenRevoked")
class TokenRevoked(DomainEvent):
    token_id: str = Field(pattern=r"^[0-9a-f]{16}$")
    reason: Reason
