"""Release claims: the database decides which scheduler process releases a release.

A claim is a row keyed by the release (edition and announced time). The first process to insert
it owns it for a lease, renewed while it works. A process that dies leaves its claim to expire;
any other process may then take it over with an UPDATE that only succeeds if the row is still
the expired one it read (same owner, same attempt count), so exactly one taker wins. APScheduler
plays no part in this: with several processes its own job stores would run a job in each.

Owning a claim is not what makes a release happen once; it keeps processes from working on the
same release at the same time. Once is guaranteed by the idempotent publish and the release
event's idempotency key, which a taker-over relies on to finish a half-done release safely.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Column, Engine, Integer, MetaData, Table, Text, and_, select, update

from .records import format_time
from .store import Clock, utc_now

# An expiry earlier than any clock reading: an abandoned claim is free to take at once.
RELEASED_CLAIM_EXPIRY = "1970-01-01T00:00:00.000000Z"

release_claims = Table(
    "release_claims",
    MetaData(),
    Column("claim_key", Text, primary_key=True),
    Column("edition", Text, nullable=False),
    Column("release_at", Text, nullable=False),
    Column("owner", Text, nullable=False),
    Column("attempt_id", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("claimed_at", Text, nullable=False),
    Column("expires_at", Text, nullable=False),
    Column("revision", Integer),
    Column("finished_at", Text),
    Column("outcome", Text),
)


def process_owner() -> str:
    """Names this process in claims and logs: host, pid, and a nonce in case a pid is reused."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def claim_key(edition: str, release_at: str) -> str:
    return f"{edition}@{release_at}"


@dataclass(frozen=True)
class Claim:
    key: str
    edition: str
    release_at: str
    owner: str
    attempt_id: str
    attempts: int  # 1 for the first claim; more after takeovers
    previous_owner: str | None = None  # whose expired claim this one took over


class ReleaseClaims:
    def __init__(self, engine: Engine, clock: Clock = utc_now, lease: timedelta = timedelta(seconds=60)) -> None:
        self.engine = engine
        self.clock = clock
        self.lease = lease

    def _insert_new(self, connection, values: dict) -> bool:
        if connection.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        # ON CONFLICT DO NOTHING rather than catching the unique violation: on PostgreSQL an
        # error would abort the transaction; here the loser simply inserts no row.
        # RETURNING says whether a row went in (rowcount is not reliable here on every driver).
        statement = insert(release_claims).values(**values).on_conflict_do_nothing().returning(release_claims.c.claim_key)
        return connection.execute(statement).first() is not None

    def claim(self, edition: str, release_at: str, owner: str, attempt_id: str) -> Claim | None:
        """Take the release if nobody holds it, or if its holder's lease expired unfinished; else None."""
        key = claim_key(edition, release_at)
        now = self.clock()
        values = {
            "owner": owner,
            "attempt_id": attempt_id,
            "claimed_at": format_time(now),
            "expires_at": format_time(now + self.lease),
        }
        with self.engine.begin() as connection:
            if self._insert_new(connection, {"claim_key": key, "edition": edition, "release_at": release_at, "attempts": 1, **values}):
                return Claim(key, edition, release_at, owner, attempt_id, 1)
        with self.engine.begin() as connection:
            seen = connection.execute(select(release_claims).where(release_claims.c.claim_key == key)).first()
            if seen is None or seen.finished_at is not None or seen.expires_at >= format_time(now):
                return None
            # Compare-and-swap on what we read: of several processes seeing the same expired
            # claim, the first UPDATE changes owner and attempts, and the others match no row.
            taken = connection.execute(
                update(release_claims)
                .where(
                    and_(
                        release_claims.c.claim_key == key,
                        release_claims.c.owner == seen.owner,
                        release_claims.c.attempts == seen.attempts,
                        release_claims.c.finished_at.is_(None),
                        release_claims.c.expires_at < format_time(now),
                    )
                )
                .values(attempts=seen.attempts + 1, **values)
            ).rowcount
        if taken != 1:
            return None
        return Claim(key, edition, release_at, owner, attempt_id, seen.attempts + 1, previous_owner=seen.owner)

    def _mine(self, claim: Claim):
        return and_(
            release_claims.c.claim_key == claim.key,
            release_claims.c.attempt_id == claim.attempt_id,
            release_claims.c.finished_at.is_(None),
        )

    def renew(self, claim: Claim) -> bool:
        """Extend the lease; False if the claim was lost (expired and taken over)."""
        with self.engine.begin() as connection:
            return connection.execute(
                update(release_claims).where(self._mine(claim)).values(expires_at=format_time(self.clock() + self.lease))
            ).rowcount == 1

    def finish(self, claim: Claim, outcome: str, revision: int | None = None) -> bool:
        """Mark the release done, so no process claims it again."""
        with self.engine.begin() as connection:
            return connection.execute(
                update(release_claims)
                .where(self._mine(claim))
                .values(finished_at=format_time(self.clock()), outcome=outcome, revision=revision)
            ).rowcount == 1

    def abandon(self, claim: Claim) -> bool:
        """Give the claim up unfinished, for another process (or a later sweep) to take at once."""
        with self.engine.begin() as connection:
            return connection.execute(
                update(release_claims).where(self._mine(claim)).values(expires_at=RELEASED_CLAIM_EXPIRY)
            ).rowcount == 1

    def get(self, edition: str, release_at: str) -> dict | None:
        with self.engine.connect() as connection:
            row = connection.execute(
                select(release_claims).where(release_claims.c.claim_key == claim_key(edition, release_at))
            ).first()
        return dict(row._mapping) if row is not None else None

    def all(self) -> list[dict]:
        with self.engine.connect() as connection:
            return [dict(row._mapping) for row in connection.execute(select(release_claims).order_by(release_claims.c.claim_key))]

