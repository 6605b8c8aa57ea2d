"""The release calendar as a read model: one row per release, its change history, pre-release access.

Fed by a catch-up subscription named `calendar`. Several scheduler processes may catch the same
projection up at once, so applying an event is idempotent: a release row only moves forward
(it records the position of the last event folded in), and history rows are keyed by position.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from typing import Sequence

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    and_,
    select,
    update,
)

from ..domain.calendar import ACCESS_TYPES, CALENDAR_EVENT_TYPES, Change, Release, apply, parse_zoned
from ..domain.rules.releases import is_due
from ..records import RecordedEvent, format_time
from ..store import EventStore
from ..subscription import CatchUpSubscription

SUBSCRIPTION = "calendar"
# Of what the tables below hold: bump it when that changes, and the calendar is rebuilt.
# 2: a correction's release is its own change kind, `corrected`, and leaves the first release's time and lateness.
VERSION = 2

metadata = MetaData()

calendar_releases = Table(
    "calendar_releases",
    metadata,
    Column("edition", Text, primary_key=True),
    Column("title", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("release_at", Text, nullable=False),  # London wall-clock time with its offset
    Column("release_at_utc", Text, nullable=False),  # the same instant in the log's UTC format, for ordering
    Column("time_zone", Text, nullable=False),
    Column("previous_release_at", Text),
    Column("cancellation_reason", Text),
    Column("override_reason", Text),
    Column("sequence", Integer, nullable=False),
    Column("released_revision", Integer),
    Column("released_at", Text),
    Column("late_by_seconds", Integer),
    Column("manifest_hash", Text),
    Column("keys", Text),  # JSON list
    Column("position", BigInteger, nullable=False),
    Index("calendar_releases_due", "status", "release_at_utc"),  # what is due: open releases by time
)

calendar_changes = Table(
    "calendar_changes",
    metadata,
    Column("position", BigInteger, primary_key=True, autoincrement=False),
    Column("edition", Text, nullable=False, index=True),
    Column("kind", Text, nullable=False),
    Column("release_at", Text, nullable=False),
    Column("previous_release_at", Text),
    Column("reason", Text),
    Column("recorded_at", Text, nullable=False),
    Column("actor", Text, nullable=False),
)

pre_release_access = Table(
    "pre_release_access",
    metadata,
    Column("position", BigInteger, primary_key=True, autoincrement=False),
    Column("edition", Text, nullable=False, index=True),
    Column("kind", Text, nullable=False),  # granted | accessed
    Column("person", Text, nullable=False),
    Column("role", Text),
    Column("reason", Text),
    Column("what", Text),
    Column("accessed_at", Text),
    Column("granted", Boolean),
    Column("recorded_at", Text, nullable=False),
    Column("actor", Text, nullable=False),
)


def _insert_ignoring_duplicates(connection: Connection, table: Table, values: dict) -> None:
    """INSERT ... ON CONFLICT DO NOTHING: the row may already be there from another process's catch-up."""
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    connection.execute(dialect_insert(table).values(**values).on_conflict_do_nothing())


def _row_to_release(row) -> Release:
    return Release(
        edition=row.edition,
        title=row.title,
        status=row.status,
        release_at=row.release_at,
        time_zone=row.time_zone,
        previous_release_at=row.previous_release_at,
        cancellation_reason=row.cancellation_reason,
        override_reason=row.override_reason,
        sequence=row.sequence,
        released_revision=row.released_revision,
        released_at=row.released_at,
        late_by_seconds=row.late_by_seconds,
        manifest_hash=row.manifest_hash,
        keys=tuple(json.loads(row.keys)) if row.keys else (),
        position=row.position,
    )


def _release_values(release: Release) -> dict:
    return {
        "title": release.title,
        "status": release.status,
        "release_at": release.release_at,
        "release_at_utc": format_time(parse_zoned(release.release_at)),
        "time_zone": release.time_zone,
        "previous_release_at": release.previous_release_at,
        "cancellation_reason": release.cancellation_reason,
        "override_reason": release.override_reason,
        "sequence": release.sequence,
        "released_revision": release.released_revision,
        "released_at": release.released_at,
        "late_by_seconds": release.late_by_seconds,
        "manifest_hash": release.manifest_hash,
        "keys": json.dumps(list(release.keys)) if release.keys else None,
        "position": release.position,
    }


def project(connection: Connection, events: Sequence[RecordedEvent]) -> bool:
    """Fold a batch of the log into the calendar tables; True if any calendar event was in it."""
    seen = False
    for event in events:
        if event.type not in CALENDAR_EVENT_TYPES:
            continue
        seen = True
        data = event.data
        if event.type in ACCESS_TYPES:
            granted = event.type == "PreReleaseAccessGranted"
            _insert_ignoring_duplicates(
                connection,
                pre_release_access,
                {
                    "position": event.position,
                    "edition": data.get("edition") or "",  # "": a read of no one edition
                    "kind": "granted" if granted else "accessed",
                    "person": data["person"],
                    "role": data.get("role"),
                    "reason": data.get("reason"),
                    "what": data.get("what"),
                    "accessed_at": data.get("accessed_at"),
                    "granted": True if granted else data["granted"],
                    "recorded_at": event.recorded_at,
                    "actor": event.actor,
                },
            )
            continue
        row = connection.execute(select(calendar_releases).where(calendar_releases.c.edition == data["edition"])).first()
        current = _row_to_release(row) if row is not None else None
        if current is not None and current.position >= event.position:
            continue  # already folded in by another process
        after = apply(current, event.type, data, position=event.position, recorded_at=event.recorded_at)
        if after is None:
            continue
        change = after.changes[-1]
        _insert_ignoring_duplicates(
            connection,
            calendar_changes,
            {
                "position": event.position,
                "edition": after.edition,
                "kind": change.kind,
                "release_at": change.release_at,
                "previous_release_at": change.previous_release_at,
                "reason": change.reason,
                "recorded_at": event.recorded_at,
                "actor": event.actor,
            },
        )
        values = _release_values(after)
        if current is None:
            _insert_ignoring_duplicates(connection, calendar_releases, {"edition": after.edition, **values})
        else:
            # Only forward: a concurrent catch-up that got here first leaves nothing to do.
            connection.execute(
                update(calendar_releases)
                .where(and_(calendar_releases.c.edition == after.edition, calendar_releases.c.position < event.position))
                .values(**values)
            )
    return seen


class CalendarProjection:
    """The calendar read model over one store: catch it up, then ask it what is due."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self.changed = False  # set when a catch-up folded in a calendar event; the reader clears it
        self.subscription = CatchUpSubscription(store, SUBSCRIPTION, self._handle, version=VERSION, reset=self._reset)

    @staticmethod
    def _reset(connection: Connection) -> None:
        for table in (calendar_releases, calendar_changes, pre_release_access):
            connection.execute(table.delete())

    def _handle(self, connection: Connection, events: Sequence[RecordedEvent]) -> None:
        if project(connection, events):
            self.changed = True

    def catch_up(self) -> int:
        return self.subscription.catch_up()

    # queries

    def releases(self, *, with_changes: bool = True) -> list[Release]:
        """Every release on the calendar, soonest first, each with its change history."""
        with self.store.engine.connect() as connection:
            rows = connection.execute(
                select(calendar_releases).order_by(calendar_releases.c.release_at_utc, calendar_releases.c.edition)
            ).all()
            releases = [_row_to_release(row) for row in rows]
            if not with_changes:
                return releases
            history: dict[str, list[Change]] = {}
            for row in connection.execute(select(calendar_changes).order_by(calendar_changes.c.position)):
                history.setdefault(row.edition, []).append(
                    Change(row.kind, row.release_at, row.previous_release_at, row.reason, row.recorded_at, row.position)
                )
        return [replace(release, changes=tuple(history.get(release.edition, ()))) for release in releases]

    def release(self, edition: str) -> Release | None:
        return next((r for r in self.releases() if r.edition == edition), None)

    def open_releases(self) -> list[Release]:
        """Releases still to happen (provisional or confirmed), soonest first."""
        with self.store.engine.connect() as connection:
            rows = connection.execute(
                select(calendar_releases)
                .where(calendar_releases.c.status.in_(("provisional", "confirmed")))
                .order_by(calendar_releases.c.release_at_utc, calendar_releases.c.edition)
            ).all()
        return [_row_to_release(row) for row in rows]

    def due(self, now: datetime) -> list[Release]:
        """Confirmed releases whose time has come (at or before `now`), the longest overdue first:
        a provisional one is not released until it is confirmed."""
        return [r for r in self.open_releases() if is_due(r, now)]

    def access(self, edition: str | None = None) -> list[dict]:
        """Pre-release grants and accesses, in log order, for auditors."""
        query = select(pre_release_access).order_by(pre_release_access.c.position)
        if edition is not None:
            query = query.where(pre_release_access.c.edition == edition)
        with self.store.engine.connect() as connection:
            return [dict(row._mapping) for row in connection.execute(query)]

