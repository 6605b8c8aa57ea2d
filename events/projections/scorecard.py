"""The scorecard, persisted: pages of line versions in position order, and snapshots of every line.

As of position P, a line shows what the last snapshot at or before P held for it, overridden by
its versions after that snapshot up to P. A snapshot is written once the versions since the
previous one outnumber the lines a few times over, so a read costs a few times the scorecard's
size whatever the log's length.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from typing import TYPE_CHECKING, Any, Sequence

from sqlalchemy import Connection

from ..store import EventStore
from ..subscription import checkpoint_of
from .base import POSITION, Decoder, Projection, ProjectionError, driver_sql, insert_rows
from .model import SCORECARD_TYPES, Decoding, MeasureState, ScorecardLine, ScorecardModel, scorecard_line, sort_lines
from .tables import SCORECARD_TABLES, measure_versions, scorecard_lines, scorecard_pages, scorecard_snapshots

if TYPE_CHECKING:
    from .history import HistoryProjection

MEASURE_COLUMNS = (
    "position",
    "measure",
    "title",
    "priority",
    "unit",
    "polarity",
    "baseline_period",
    "retired",
    "recorded_at",
    "actor",
    "areas",
)
# A snapshot once the versions since the last one reach SNAPSHOT_FACTOR x the lines (and at least SNAPSHOT_MIN).
SNAPSHOT_FACTOR = 4
SNAPSHOT_MIN = 2000
# Rows folded between checks for a snapshot: a read decodes at most this many versions more than it should.
SNAPSHOT_CHECK = 1000
# Versions per page (more when one event changes many lines): a read decodes at most one page it does not need.
PAGE_VERSIONS = 1000

# Positions whose time and actor a reader remembers (a few MiB at most).
MOMENTS_CACHED = 50_000

LineState = tuple  # (period, value, baseline_value, revised: the position of the line's last version)
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_decode = json.JSONDecoder().decode


def line_states_at(connection: Connection, position: int) -> tuple[dict[int, LineState], int]:
    """Every line's state as of `position`, and how many versions were read past the snapshot."""
    snapshot = connection.exec_driver_sql(
        driver_sql(
            connection,
            f"SELECT position, state FROM {scorecard_snapshots.name} WHERE position <= ? ORDER BY position DESC LIMIT 1",
        ),
        (position,),
    ).first()
    states: dict[int, LineState] = {}
    since = 0
    if snapshot is not None:
        since = snapshot[0]
        for line_id, *state in _decode(snapshot[1]):
            states[line_id] = tuple(state)
    read = 0
    # Pages cover the positions without gaps: the last one needed is the first to reach `position`.
    last = connection.exec_driver_sql(
        driver_sql(connection, f"SELECT min(last_position) FROM {scorecard_pages.name} WHERE last_position >= ?"),
        (position,),
    ).scalar()
    pages = connection.exec_driver_sql(
        driver_sql(
            connection,
            f"SELECT first_position, versions FROM {scorecard_pages.name} WHERE last_position > ? AND last_position <= ? "
            "ORDER BY last_position",
        ),
        (since, position if last is None else last),
    )
    for first, versions in pages:
        if first > position:
            break
        for version_position, line_id, period, value, baseline in _decode(versions):
            if version_position > position:
                break
            if version_position > since:
                states[line_id] = (period, value, baseline, version_position)
                read += 1
    pages.close()
    return states, read


def _pages(versions: list[tuple], checkpoint: int, position: int) -> list[tuple[int, int, str]]:
    """(last_position, first_position, versions JSON) rows covering (checkpoint, position] without gaps."""
    pages = []
    start, first = 0, checkpoint + 1
    while start < len(versions):
        end = min(start + PAGE_VERSIONS, len(versions))
        while end < len(versions) and versions[end][0] == versions[end - 1][0]:
            end += 1  # one position's versions stay on one page
        last = versions[end - 1][0] if end < len(versions) else position
        pages.append((last, first, _encode(versions[start:end])))
        start, first = end, last + 1
    return pages


class MeasureHistory:
    """Every measure version, in memory: the measures as of any position without a query."""

    def __init__(self, rows) -> None:
        self.versions: dict[str, tuple[list[int], list[MeasureState]]] = {}
        for position, measure, title, priority, unit, polarity, baseline_period, retired, areas in rows:
            positions, states = self.versions.setdefault(measure, ([], []))
            positions.append(position)
            states.append(MeasureState(measure, title, priority, unit, polarity, baseline_period, bool(retired), _decode(areas)))

    def at(self, position: int) -> dict[str, MeasureState]:
        measures = {}
        for measure, (positions, states) in self.versions.items():
            index = bisect_right(positions, position)
            if index:
                measures[measure] = states[index - 1]
        return measures


def measures_at(connection: Connection, position: int) -> dict[str, MeasureState]:
    measures: dict[str, MeasureState] = {}
    rows = connection.exec_driver_sql(
        driver_sql(
            connection,
            f"SELECT {', '.join(MEASURE_COLUMNS[1:8])}, areas FROM {measure_versions.name} WHERE position <= ? ORDER BY position",
        ),
        (position,),
    )
    for measure, title, priority, unit, polarity, baseline_period, retired, areas in rows:
        measures[measure] = MeasureState(measure, title, priority, unit, polarity, baseline_period, bool(retired), _decode(areas))
    return measures


def line_keys(connection: Connection) -> dict[int, tuple[str, str]]:
    rows = connection.exec_driver_sql(f"SELECT line_id, measure, area FROM {scorecard_lines.name}")
    return {line_id: (measure, area) for line_id, measure, area in rows}


class ScorecardProjection(Projection):
    name = "scorecard"
    version = 3  # 2: line versions name their position (when and who are read from the log); 3: measures' areas
    tables = SCORECARD_TABLES

    def __init__(self, store: EventStore, history: HistoryProjection | None = None) -> None:
        """`history` gives a line's figures (`figures_as_of`); needed only when continuing from storage."""
        self.store = store
        decoder = Decoder(store, SCORECARD_TYPES)
        self.decoding = Decoding(decoder.scan, decoder.current, decoder.upcast, decoder.actor)
        self._history = history
        self._model: ScorecardModel | None = None
        self._position: int | None = None  # the checkpoint the model stands at; None: unknown
        self._connection: Connection | None = None
        self._since_snapshot = 0
        # Readers' caches: line ids never change meaning; measure versions are few.
        self._keys: dict[int, tuple[str, str]] = {}
        self._measures: tuple[tuple, MeasureHistory] | None = None
        self._moments: dict[int, tuple[str, str]] = {}

    # -- writing ----------------------------------------------------------------------------

    def handle(self, connection: Connection, rows: Sequence[Sequence[Any]], checkpoint: int) -> None:
        model_position, self._position = self._position, None  # unknown until this batch is through
        self._connection = connection
        if checkpoint == 0:
            self._model, self._since_snapshot = ScorecardModel(), 0
        elif self._model is None or model_position != checkpoint:
            self._model = self._restore(connection, checkpoint)
        model, snapshots = self._model, []
        # A snapshot may fall inside a batch (a rebuild's batches are large): fold a slice at a time
        # and take one at the end of a slice once enough versions have piled up since the last.
        for start in range(0, len(rows), SNAPSHOT_CHECK):
            part = rows[start : start + SNAPSHOT_CHECK]
            before = len(model.versions)
            model.apply_rows(part, self.decoding)
            self._since_snapshot += len(model.versions) - before
            if self._since_snapshot >= max(SNAPSHOT_MIN, SNAPSHOT_FACTOR * len(model.lines)):
                shown = [
                    (line.line_id, line.latest, line.value, line.baseline, line.revised) for line in model.shown_lines()
                ]
                snapshots.append((part[-1][POSITION], len(shown), _encode(shown)))
                self._since_snapshot = 0
        self._flush(connection, checkpoint, rows[-1][POSITION], snapshots)
        self._connection = None
        self._position = rows[-1][POSITION]

    def _flush(self, connection: Connection, checkpoint: int, position: int, snapshots: list[tuple]) -> None:
        model = self._model
        assert model is not None
        insert_rows(connection, scorecard_lines, ("line_id", "measure", "area"), model.new_lines)
        insert_rows(connection, measure_versions, MEASURE_COLUMNS, model.measure_versions)
        if model.versions:
            insert_rows(
                connection,
                scorecard_pages,
                ("last_position", "first_position", "versions"),
                _pages(model.versions, checkpoint, position),
            )
        insert_rows(connection, scorecard_snapshots, ("position", "lines", "state"), snapshots)
        model.new_lines, model.versions, model.measure_versions = [], [], []

    def _restore(self, connection: Connection, checkpoint: int) -> ScorecardModel:
        """The model as stored at `checkpoint`: what every line shows, without figures."""
        model = ScorecardModel(loader=self._load_figures)
        keys = line_keys(connection)
        for line_id, (measure, area) in sorted(keys.items()):
            model.add_line(line_id, measure, area)
        model.next_line_id = max(keys, default=0) + 1
        model.measures = measures_at(connection, checkpoint)
        states, self._since_snapshot = line_states_at(connection, checkpoint)
        for line_id, state in states.items():
            model.lines[keys[line_id]].restore(*state)
        return model

    def _load_figures(self, measure: str, area: str, position: int) -> dict[str, str]:
        connection = self._connection
        history = self._history
        if history is None or connection is None:
            raise ProjectionError("the scorecard needs the history projection to continue from storage")
        if checkpoint_of(connection, history.name, history.version) < position:
            raise ProjectionError(
                f"the history projection is behind position {position}: catch it up before the scorecard"
            )
        return history.figures_as_of(connection, measure, area, position)

    # -- reading ----------------------------------------------------------------------------

    def lines_at(
        self, connection: Connection, position: int, area: str | None = None, measure: str | None = None
    ) -> list[ScorecardLine]:
        """The scorecard as the log stood at `position` (the caller checks the checkpoint)."""
        states, _ = line_states_at(connection, position)
        measures = self.measure_history(connection).at(position)
        keys = self._keys
        if any(line_id not in keys for line_id in states):
            keys = self._keys = line_keys(connection)  # lines are only ever added
        shown = []
        for line_id, state in states.items():
            line_measure, line_area = keys[line_id]
            if (area is not None and line_area != area) or (measure is not None and line_measure != measure):
                continue
            definition = measures.get(line_measure)
            if definition is not None and not definition.retired and (state[0] is not None or state[2] is not None):
                shown.append((definition, line_area, state))
        moments = self.moments(connection, {state[3] for _, _, state in shown})
        lines = []
        for definition, line_area, (period, value, baseline, revised) in shown:
            line = scorecard_line(definition, line_area, period, value, baseline, *moments[revised])
            if line is not None:
                lines.append(line)
        return sort_lines(lines)

    def moments(self, connection: Connection, positions: set[int]) -> dict[int, tuple[str, str]]:
        """position -> (recorded_at, actor), from the log itself (and remembered: the log never changes)."""
        cache = self._moments
        found = {position: cache[position] for position in positions if position in cache}
        wanted = sorted(positions - found.keys())
        actor = self.decoding.actor
        if not wanted:
            chunks = []
        elif connection.dialect.name == "postgresql":  # one array parameter, not a thousand placeholders to parse
            chunks = [("SELECT position, recorded_at, metadata FROM events WHERE position = ANY(%s)", (wanted,))]
        else:
            chunks = [
                (
                    f"SELECT position, recorded_at, metadata FROM events WHERE position IN ({', '.join('?' * len(chunk))})",
                    tuple(chunk),
                )
                for chunk in (wanted[first : first + 500] for first in range(0, len(wanted), 500))
            ]
        for sql, parameters in chunks:
            for event_position, recorded_at, metadata in connection.exec_driver_sql(sql, parameters):
                found[event_position] = (recorded_at, actor(metadata))
        if len(cache) > MOMENTS_CACHED:
            cache.clear()
        cache.update(found)
        return found

    def measure_history(self, connection: Connection) -> MeasureHistory:
        """Every measure version, cached until the table changes (it is small: one row per measure event)."""
        key = tuple(connection.exec_driver_sql(f"SELECT count(*), max(position) FROM {measure_versions.name}").one())
        cached = self._measures
        if cached is None or cached[0] != key:
            rows = connection.exec_driver_sql(
                f"SELECT {', '.join(MEASURE_COLUMNS[:8])}, areas FROM {measure_versions.name} ORDER BY position"
            ).fetchall()
            cached = self._measures = (key, MeasureHistory(rows))
        return cached[1]
