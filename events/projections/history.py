"""History: every figure, paragraph and approval event as a row with when, who and why.

It answers what a figure was at any past position, how it was revised (the revision triangle),
and what changed between two moments (the diff).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Sequence

from sqlalchemy import Connection, Table

from ..store import EventStore
from ..subscription import load_checkpoint
from .base import METADATA, POSITION, RECORDED_AT, TYPE, Decoder, Projection, driver_sql, insert_rows
from .comparison import _EXACT, decimal_text, mean
from .model import order_key
from .tables import (
    HISTORY_INDEXES,
    HISTORY_TABLES,
    edition_approvals,
    editions,
    figure_versions,
    paragraph_versions,
)

HISTORY_TYPES = frozenset(
    {
        "FigureRecorded",
        "FigureRevised",
        "FigureWithdrawn",
        "ParagraphWritten",
        "ParagraphRevised",
        "ParagraphRemoved",
        "EditionOpened",
        "EditionApproved",
    }
)
FIGURE_COLUMNS = (
    "position",
    "measure",
    "area",
    "period",
    "value",
    "kind",
    "reason",
    "source",
    "note",
    "recorded_at",
    "actor",
)
PARAGRAPH_COLUMNS = (
    "position",
    "edition",
    "number",
    "kind",
    "section",
    "heading",
    "text",
    "reason",
    "recorded_at",
    "actor",
)
APPROVAL_COLUMNS = ("position", "edition", "revision", "frozen_position", "reason", "recorded_at", "actor")


@dataclass(frozen=True)
class FigureChange:
    """One event in a figure's life. `value` is None when the event withdrew the figure."""

    position: int
    recorded_at: str
    actor: str
    measure: str
    area: str
    period: str
    value: str | None
    previous_value: str | None
    kind: str  # recorded, revision, correction, withdrawn
    reason: str | None
    source: str | None = None
    note: str | None = None

    CSV_COLUMNS = (
        "measure",
        "area",
        "period",
        "position",
        "recorded_at",
        "actor",
        "kind",
        "value",
        "previous_value",
        "reason",
        "source",
        "note",
    )

    def as_json(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in self.CSV_COLUMNS}


@dataclass(frozen=True)
class ParagraphChange:
    position: int
    recorded_at: str
    actor: str
    edition: str
    number: int
    kind: str  # written, revised, removed
    text: str | None
    previous_text: str | None
    reason: str | None


@dataclass(frozen=True)
class ParagraphAsOf:
    edition: str
    number: int
    section: str | None
    heading: str | None
    text: str


@dataclass(frozen=True)
class FigureDiff:
    measure: str
    area: str
    period: str
    old_value: str | None
    new_value: str | None
    changes: tuple[FigureChange, ...]


@dataclass(frozen=True)
class ParagraphDiff:
    edition: str
    number: int
    old_text: str | None
    new_text: str | None
    changes: tuple[ParagraphChange, ...]


@dataclass(frozen=True)
class Diff:
    """What differs between the log at `from_position` and at `to_position`, with the events between."""

    from_position: int
    to_position: int
    figures: tuple[FigureDiff, ...]
    paragraphs: tuple[ParagraphDiff, ...]

    def as_json(self) -> dict:
        """The diff as JSON: every changed figure and paragraph with its old and new value and the events between."""
        return {
            "from_position": self.from_position,
            "to_position": self.to_position,
            "figures": [
                {
                    "measure": f.measure,
                    "area": f.area,
                    "period": f.period,
                    "old_value": f.old_value,
                    "new_value": f.new_value,
                    "changes": [c.as_json() | {"position": c.position} for c in f.changes],
                }
                for f in self.figures
            ],
            "paragraphs": [
                {
                    "edition": p.edition,
                    "number": p.number,
                    "old_text": p.old_text,
                    "new_text": p.new_text,
                    "changes": [
                        {
                            "position": c.position,
                            "recorded_at": c.recorded_at,
                            "actor": c.actor,
                            "kind": c.kind,
                            "text": c.text,
                            "previous_text": c.previous_text,
                            "reason": c.reason,
                        }
                        for c in p.changes
                    ],
                }
                for p in self.paragraphs
            ],
        }


@dataclass(frozen=True)
class Vintage:
    """A column of a revision triangle: the figures as the log stood at `position`."""

    label: str
    position: int
    recorded_at: str


@dataclass(frozen=True)
class TriangleRow:
    period: str
    cells: tuple[str | None, ...]  # one per vintage; None: not recorded (or withdrawn) then
    revision: str | None  # latest estimate minus first estimate; None with fewer than two


@dataclass
class Triangle:
    """Rows: reference periods; columns: vintages (edition approvals or recorded times)."""

    measure: str
    area: str
    columns: str  # editions or times
    vintages: list[Vintage]
    rows: list[TriangleRow]
    mean_revision: str | None = None
    mean_absolute_revision: str | None = None
    revised_periods: int = 0

    def to_csv(self) -> str:
        """One row per period, one column per vintage, then the revision; the two means last."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["period", *(vintage.label for vintage in self.vintages), "revision"])
        blanks = [""] * len(self.vintages)
        for row in self.rows:
            writer.writerow([row.period, *("" if cell is None else cell for cell in row.cells), row.revision or ""])
        writer.writerow(["mean revision", *blanks, self.mean_revision or ""])
        writer.writerow(["mean absolute revision", *blanks, self.mean_absolute_revision or ""])
        return out.getvalue()

    def as_json(self) -> dict[str, Any]:
        return {
            "measure": self.measure,
            "area": self.area,
            "columns": self.columns,
            "vintages": [vintage.__dict__ for vintage in self.vintages],
            "rows": [{"period": row.period, "cells": list(row.cells), "revision": row.revision} for row in self.rows],
            "mean_revision": self.mean_revision,
            "mean_absolute_revision": self.mean_absolute_revision,
            "revised_periods": self.revised_periods,
        }



# One history row per event, in the columns above: (position, data, recorded_at, actor) -> row.


def _figure_row(position: int, data: dict, recorded_at: str, actor: str | None, value, kind: str, reason) -> tuple:
    return (
        position, data["measure"], data["area"], data["period"], value, kind, reason,
        data.get("source") or None, data.get("note") or None, recorded_at, actor,
    )  # fmt: skip


def _figure_recorded(position: int, data: dict, recorded_at: str, actor: str | None) -> tuple:
    return _figure_row(position, data, recorded_at, actor, data["value"], "recorded", None)


def _figure_revised(position: int, data: dict, recorded_at: str, actor: str | None) -> tuple:
    return _figure_row(position, data, recorded_at, actor, data["value"], data["kind"], data["reason"])


def _figure_withdrawn(position: int, data: dict, recorded_at: str, actor: str | None) -> tuple:
    return (position, data["measure"], data["area"], data["period"], None, "withdrawn", data["reason"], None, None,
            recorded_at, actor)  # fmt: skip


def _paragraph_written(position: int, data: dict, recorded_at: str, actor: str | None) -> tuple:
    return (position, data["edition"], data["number"], "written", data["section"], data.get("heading", ""),
            data["text"], None, recorded_at, actor)  # fmt: skip


def _paragraph_revised(position: int, data: dict, recorded_at: str, actor: str | None) -> tuple:
    return (position, data["edition"], data["number"], "revised", None, data.get("heading"), data["text"],
            data["reason"], recorded_at, actor)  # fmt: skip


def _paragraph_removed(position: int, data: dict, recorded_at: str, actor: str | None) -> tuple:
    return (position, data["edition"], data["number"], "removed", None, None, None, data["reason"], recorded_at, actor)


def _edition_approved(position: int, data: dict, recorded_at: str, actor: str | None) -> tuple:
    return (position, data["edition"], data["revision"], data["position"], data.get("reason") or None, recorded_at,
            actor)  # fmt: skip


_ROW_OF = {
    "FigureRecorded": (figure_versions, _figure_recorded),
    "FigureRevised": (figure_versions, _figure_revised),
    "FigureWithdrawn": (figure_versions, _figure_withdrawn),
    "ParagraphWritten": (paragraph_versions, _paragraph_written),
    "ParagraphRevised": (paragraph_versions, _paragraph_revised),
    "ParagraphRemoved": (paragraph_versions, _paragraph_removed),
    "EditionApproved": (edition_approvals, _edition_approved),
}
_COLUMNS = {figure_versions: FIGURE_COLUMNS, paragraph_versions: PARAGRAPH_COLUMNS, edition_approvals: APPROVAL_COLUMNS}

class HistoryProjection(Projection):
    name = "history"
    version = 1
    tables = HISTORY_TABLES

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self.decoder = Decoder(store, HISTORY_TYPES)

    # -- writing ----------------------------------------------------------------------------

    def reset(self, connection: Connection) -> None:
        super().reset(connection)
        # Rebuilding from zero: rows first, indexes at the end (see finish).
        for index in HISTORY_INDEXES:
            index.drop(connection, checkfirst=True)

    def finish(self, connection: Connection) -> None:
        # Under the checkpoint's lock: two processes finishing at once would both create the index.
        load_checkpoint(connection, self.name, self.version)
        for index in HISTORY_INDEXES:
            index.create(connection, checkfirst=True)

    def handle(self, connection: Connection, rows: Sequence[Sequence[Any]], checkpoint: int) -> None:
        decoder = self.decoder
        wanted, loads, actor_of = decoder.types, decoder.data, decoder.actor
        batches: dict[Table, list[tuple]] = {table: [] for table in _COLUMNS}
        opened: dict[str, tuple] = {}
        for row in rows:
            type_ = row[TYPE]
            if type_ not in wanted:
                continue
            data = loads(row)
            position = row[POSITION]
            if type_ == "EditionOpened":
                opened[data["edition"]] = (data["edition"], data["area"], data["title"], position)
                continue
            table, row_of = _ROW_OF[type_]
            batches[table].append(row_of(position, data, row[RECORDED_AT], actor_of(row[METADATA])))
        for table, columns in _COLUMNS.items():
            insert_rows(connection, table, columns, batches[table])
        if opened:
            # Opening an edition again (the commands refuse it) replaces what is known of it.
            connection.exec_driver_sql(
                driver_sql(connection, f"DELETE FROM {editions.name} WHERE edition = ?"), [(key,) for key in opened]
            )
            insert_rows(connection, editions, ("edition", "area", "title", "opened_position"), list(opened.values()))

    # -- reading: figures -------------------------------------------------------------------

    def figures_as_of(self, connection: Connection, measure: str, area: str, position: int) -> dict[str, str]:
        """period -> value of every figure of one measure in one area, as of `position`."""
        rows = connection.exec_driver_sql(
            driver_sql(
                connection,
                f"SELECT period, value FROM {figure_versions.name} WHERE measure = ? AND area = ? AND position <= ? ORDER BY position",
            ),
            (measure, area, position),
        )
        figures: dict[str, str] = {}
        for period, value in rows:
            if value is None:
                figures.pop(period, None)
            else:
                figures[period] = value
        return figures

    def changes(
        self,
        connection: Connection,
        measure: str,
        area: str | None = None,
        period: str | None = None,
        at: int | None = None,
    ) -> list[FigureChange]:
        """Every event of the measure's figures (in an area, for a period), oldest first per figure."""
        conditions, params = ["measure = ?"], [measure]
        if area is not None:
            conditions.append("area = ?")
            params.append(area)
        if period is not None:
            conditions.append("period = ?")
            params.append(period)
        if at is not None:
            conditions.append("position <= ?")
            params.append(at)
        rows = connection.exec_driver_sql(
            driver_sql(
                connection,
                f"SELECT {', '.join(FIGURE_COLUMNS)} FROM {figure_versions.name} WHERE {' AND '.join(conditions)} ORDER BY position",
            ),
            tuple(params),
        )
        return _with_previous(rows)

    def _figure_value(self, connection: Connection, key: tuple[str, str, str], position: int) -> str | None:
        return connection.exec_driver_sql(
            driver_sql(
                connection,
                f"SELECT value FROM {figure_versions.name} WHERE measure = ? AND area = ? AND period = ? AND position <= ? "
                "ORDER BY position DESC LIMIT 1",
            ),
            (*key, position),
        ).scalar()

    def triangle(
        self, connection: Connection, measure: str, area: str, columns: str = "editions", at: int | None = None
    ) -> Triangle:
        """The revision triangle of one measure in one area, as of `at`.

        `editions`: one column per approval of an edition for the area, the figures as the edition
        was frozen; `times`: one column per moment any of the measure's figures changed.
        """
        changes = self.changes(connection, measure, area, at=at)
        if columns == "editions":
            vintages = self.approvals(connection, area, at)
        elif columns == "times":
            last_at: dict[str, int] = {}
            for change in changes:
                last_at[change.recorded_at] = change.position
            vintages = [Vintage(moment, position, moment) for moment, position in last_at.items()]
        else:
            raise ValueError(f"columns are 'editions' or 'times', found {columns!r}")
        periods = sorted({change.period for change in changes}, key=order_key)
        cells: dict[str, list[str | None]] = {period: [] for period in periods}
        current: dict[str, str | None] = {}
        index = 0
        for vintage in vintages:
            while index < len(changes) and changes[index].position <= vintage.position:
                current[changes[index].period] = changes[index].value
                index += 1
            for period in periods:
                cells[period].append(current.get(period))
        rows, revisions = [], []
        for period in periods:
            estimates = [Decimal(cell) for cell in cells[period] if cell is not None]
            revision = None
            if len(estimates) >= 2:
                difference = _EXACT.subtract(estimates[-1], estimates[0])
                revisions.append(difference)
                revision = decimal_text(difference)
            rows.append(TriangleRow(period, tuple(cells[period]), revision))
        triangle = Triangle(measure, area, columns, vintages, rows, revised_periods=len(revisions))
        if revisions:
            places = max(-min(value.as_tuple().exponent for value in revisions), 0) + 2  # type: ignore[operator]
            triangle.mean_revision = decimal_text(mean(revisions, places))
            triangle.mean_absolute_revision = decimal_text(mean([abs(value) for value in revisions], places))
        return triangle

    def approvals(self, connection: Connection, area: str, at: int | None = None) -> list[Vintage]:
        rows = connection.exec_driver_sql(
            driver_sql(
                connection,
                f"SELECT a.edition, a.revision, a.frozen_position, a.recorded_at FROM {edition_approvals.name} a "
                f"JOIN {editions.name} e ON e.edition = a.edition WHERE e.area = ? AND a.position <= ? "
                "ORDER BY a.frozen_position, a.position",
            ),
            (area, at if at is not None else 1 << 62),
        )
        return [
            Vintage(f"{edition} r{revision}", frozen, recorded_at) for edition, revision, frozen, recorded_at in rows
        ]

    # -- reading: paragraphs ----------------------------------------------------------------

    def paragraphs(self, connection: Connection, edition: str, at: int | None = None) -> list[ParagraphAsOf]:
        """The edition's paragraphs as of `at`, in number order."""
        rows = connection.exec_driver_sql(
            driver_sql(
                connection,
                f"SELECT number, kind, section, heading, text FROM {paragraph_versions.name} WHERE edition = ? AND position <= ? "
                "ORDER BY position",
            ),
            (edition, at if at is not None else 1 << 62),
        )
        state: dict[int, ParagraphAsOf | None] = {}
        for number, kind, section, heading, text in rows:
            before = state.get(number)
            if kind == "removed":
                state[number] = None
            elif kind == "written":
                state[number] = ParagraphAsOf(edition, number, section, heading, text)
            else:
                state[number] = ParagraphAsOf(
                    edition,
                    number,
                    before.section if before else None,
                    heading if heading is not None else (before.heading if before else None),
                    text,
                )
        return [paragraph for _, paragraph in sorted(state.items()) if paragraph is not None]

    # -- reading: what changed --------------------------------------------------------------

    def diff(self, connection: Connection, from_position: int, to_position: int) -> Diff:
        """Every figure and paragraph that differs between the two positions, with the events between."""
        rows = connection.exec_driver_sql(
            driver_sql(
                connection,
                f"SELECT {', '.join(FIGURE_COLUMNS)} FROM {figure_versions.name} WHERE position > ? AND position <= ? ORDER BY position",
            ),
            (from_position, to_position),
        ).fetchall()
        by_figure: dict[tuple[str, str, str], list] = {}
        for row in rows:
            by_figure.setdefault((row[1], row[2], row[3]), []).append(row)
        figures = []
        for key, trail in sorted(by_figure.items(), key=lambda item: (item[0][0], item[0][1], order_key(item[0][2]))):
            old = self._figure_value(connection, key, from_position)
            new = trail[-1][4]
            if old != new:
                figures.append(FigureDiff(*key, old, new, tuple(_with_previous(trail, {key: old}))))

        rows = connection.exec_driver_sql(
            driver_sql(
                connection,
                f"SELECT position, edition, number, kind, text, reason, recorded_at, actor FROM {paragraph_versions.name} "
                "WHERE position > ? AND position <= ? ORDER BY position",
            ),
            (from_position, to_position),
        ).fetchall()
        by_paragraph: dict[tuple[str, int], list] = {}
        for row in rows:
            by_paragraph.setdefault((row[1], row[2]), []).append(row)
        paragraphs = []
        for (edition, number), trail in sorted(by_paragraph.items()):
            old = connection.exec_driver_sql(
                driver_sql(
                    connection,
                    f"SELECT text FROM {paragraph_versions.name} WHERE edition = ? AND number = ? AND position <= ? "
                    "ORDER BY position DESC LIMIT 1",
                ),
                (edition, number, from_position),
            ).scalar()
            new = trail[-1][4]
            if old != new:
                changes, previous = [], old
                for position, _, _, kind, text, reason, recorded_at, actor in trail:
                    changes.append(
                        ParagraphChange(position, recorded_at, actor, edition, number, kind, text, previous, reason)
                    )
                    previous = text
                paragraphs.append(ParagraphDiff(edition, number, old, new, tuple(changes)))
        return Diff(from_position, to_position, tuple(figures), tuple(paragraphs))


def _with_previous(rows, previous: dict | None = None) -> list[FigureChange]:
    """FigureChanges from stored rows in position order, each with the value it replaced."""
    previous = dict(previous or {})
    changes = []
    for position, measure, area, period, value, kind, reason, source, note, recorded_at, actor in rows:
        key = (measure, area, period)
        changes.append(
            FigureChange(
                position,
                recorded_at,
                actor,
                measure,
                area,
                period,
                value,
                previous.get(key),
                kind,
                reason,
                source,
                note,
            )
        )
        previous[key] = value
    return changes


__all__ = [
    "Diff",
    "FigureChange",
    "FigureDiff",
    "HistoryProjection",
    "ParagraphAsOf",
    "ParagraphChange",
    "ParagraphDiff",
    "Triangle",
    "TriangleRow",
    "Vintage",
]
