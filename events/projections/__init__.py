"""Read models folded from the log by catch-up subscriptions, each in its own tables.

`Projections` is the facade for the scorecard and history: it keeps them current and answers
what data owners and auditors ask, now or as of a past time or log position. (The release
calendar, `calendar.py`, has its own subscription.)
"""

from __future__ import annotations

import threading
from datetime import datetime, time, timezone
from typing import Callable

from ..records import format_time
from ..store import EventStore
from ..subscription import checkpoint_of, follow
from .base import ProjectionError, ProjectionSubscription, gc_paused
from .comparison import LineChange, line_change
from .history import Diff, FigureChange, FigureDiff, HistoryProjection, ParagraphAsOf, ParagraphDiff, Triangle, Vintage
from .model import ScorecardLine, choose_latest, fold_scorecard, order_key, period_info, same_length, scorecard_line
from .scorecard import ScorecardProjection

Moment = int | str | datetime
RebuildProgress = Callable[[str, int, int], None]  # (projection, position reached, head)
Covered = Callable[[str, str, str], bool]  # (measure, area, period) -> may it be shown


class Projections:
    """The scorecard and history projections of one store."""

    def __init__(self, store: EventStore, batch_size: int = 1000) -> None:
        self.store = store
        self.history = HistoryProjection(store)
        self.scorecard = ScorecardProjection(store, self.history)
        # History first: the scorecard, continuing from storage, may ask it for a line's figures.
        self.subscriptions = [
            ProjectionSubscription(store, self.history, batch_size),
            ProjectionSubscription(store, self.scorecard, batch_size),
        ]
        # One catch-up at a time through this object: the scorecard keeps its model in memory
        # between batches. (Other processes, and other objects, take turns at the checkpoint's lock.)
        self._writing = threading.Lock()

    # -- keeping current --------------------------------------------------------------------

    def catch_up(
        self, until: int | None = None, progress: RebuildProgress | None = None, batch_size: int | None = None
    ) -> int:
        """Bring every projection to the head (or to `until`); return the position reached."""
        target = self.store.head().position if until is None else until
        with self._writing:
            for subscription in self.subscriptions:
                subscription.catch_up(target, _named(progress, subscription.name), batch_size)
        return target

    def run(self, stop: threading.Event, poll_interval: float = 0.5) -> None:
        """Catch up, then follow new events (LISTEN/NOTIFY on PostgreSQL, polling on SQLite) until `stop` is set."""
        follow(self.store, self.catch_up, stop, poll_interval)

    def rebuild(self, progress: RebuildProgress | None = None, batch_size: int | None = None) -> int:
        """Clear every projection and fold the whole log again."""
        with self._writing:
            for subscription in self.subscriptions:
                subscription.rebuild(_named(progress, subscription.name), batch_size)
        return self.checkpoint()

    def checkpoint(self) -> int:
        """The position every projection has reached."""
        with self.store.engine.connect() as connection:
            return min(checkpoint_of(connection, s.name, s.version) for s in self.subscriptions)

    # -- moments ----------------------------------------------------------------------------

    def position_of(self, moment: Moment | None) -> int:
        """A log position for a moment: a position as is, a time as the last position recorded by then.

        Text of digits only is a position; other text is an ISO 8601 time (UTC when it names no
        zone; a date alone means the end of that day). None is the projections' checkpoint.
        """
        checkpoint = self.checkpoint()
        if moment is None:
            return checkpoint
        if isinstance(moment, str) and moment.strip().isascii() and moment.strip().isdigit():
            moment = int(moment.strip())
        if isinstance(moment, int):
            if moment < 0:
                raise ProjectionError(f"a log position is 0 or more, found {moment}")
            position = moment
            head = self.store.head().position
            if position > head:
                raise ProjectionError(f"the log ends at position {head}; position {position} has not happened yet")
        else:
            position = self.store.position_at(format_time(parse_moment(moment)))
        if position > checkpoint:
            raise ProjectionError(
                f"the projections are at position {checkpoint}, behind {position}: catch them up first"
            )
        return position

    # -- questions --------------------------------------------------------------------------

    def scorecard_lines(
        self,
        at: Moment | None = None,
        area: str | None = None,
        measure: str | None = None,
        covered: Covered | None = None,
    ) -> list[ScorecardLine]:
        """The scorecard as of a moment. With `covered`, each line is chosen from only the figures it
        admits (an edition's coverage): the latest covered figure, against a covered baseline."""
        position = self.position_of(at)
        # A read decodes thousands of short-lived lists: the cyclic collector would stop to
        # rescan everything long-lived for them every few reads (tens of ms), for no garbage.
        with gc_paused(), self.store.engine.connect() as connection:
            lines = self.scorecard.lines_at(connection, position, area=area, measure=measure)
            if covered is None:
                return lines
            measures = self.scorecard.measure_history(connection).at(position)
            chosen = []
            for line in lines:
                figures = self.history.figures_as_of(connection, line.measure, line.area, position)
                admitted = {period: value for period, value in figures.items() if covered(line.measure, line.area, period)}
                latest, _, value, baseline = choose_latest(measures[line.measure].for_area(line.area), admitted)
                found = scorecard_line(measures[line.measure], line.area, latest, value, baseline, None, None)
                if found is not None:
                    chosen.append(found)
            return chosen

    def series(self, measure: str, area: str, at: Moment | None = None, covered: Covered | None = None) -> list[tuple[str, str]]:
        """(period, value) of every figure with the baseline period's length, in period order: a trend line."""
        position = self.position_of(at)
        with self.store.engine.connect() as connection:
            state = self.scorecard.measure_history(connection).at(position).get(measure)
            if state is None:
                return []
            state = state.for_area(area)
            figures = self.history.figures_as_of(connection, measure, area, position)
        baseline = state.baseline_info
        same = [
            (period, value)
            for period, value in figures.items()
            if same_length(period_info(period), baseline) and (covered is None or covered(measure, area, period))
        ]
        return sorted(same, key=lambda item: order_key(item[0]))

    def history_of(
        self, measure: str, area: str | None = None, period: str | None = None, at: Moment | None = None
    ) -> list[FigureChange]:
        position = self.position_of(at)
        with self.store.engine.connect() as connection:
            return self.history.changes(connection, measure, area, period, position)

    def triangle(self, measure: str, area: str, columns: str | None = None, at: Moment | None = None) -> Triangle:
        """The revision triangle; columns are edition approvals when the area has any, else recorded times."""
        position = self.position_of(at)
        with self.store.engine.connect() as connection:
            if columns is None:
                columns = "editions" if self.history.approvals(connection, area, position) else "times"
            return self.history.triangle(connection, measure, area, columns, position)

    def paragraphs(self, edition: str, at: Moment | None = None) -> list[ParagraphAsOf]:
        position = self.position_of(at)
        with self.store.engine.connect() as connection:
            return self.history.paragraphs(connection, edition, position)

    def diff(self, from_moment: Moment, to_moment: Moment) -> Diff:
        start, end = self.position_of(from_moment), self.position_of(to_moment)
        if start > end:
            raise ProjectionError(
                f"--from ({from_moment}, position {start}) is later than --to ({to_moment}, position {end})"
            )
        with gc_paused(), self.store.engine.connect() as connection:
            return self.history.diff(connection, start, end)


def parse_moment(text: str | datetime) -> datetime:
    """An ISO 8601 time; UTC when it names no zone; a date alone is the end of that day."""
    if isinstance(text, datetime):
        moment = text
    else:
        value = text.strip()
        try:
            if len(value) == 10:
                moment = datetime.combine(datetime.fromisoformat(value).date(), time.max)
            else:
                moment = datetime.fromisoformat(value)
        except ValueError:
            raise ProjectionError(
                f"expected a log position (e.g. 1200) or an ISO 8601 time (e.g. 2022-02-01T09:30:00Z), found {text!r}"
            ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment


def _named(progress: RebuildProgress | None, name: str):
    if progress is None:
        return None
    return lambda position, head: progress(name, position, head)


__all__ = [
    "Diff",
    "FigureChange",
    "FigureDiff",
    "HistoryProjection",
    "LineChange",
    "Moment",
    "ParagraphAsOf",
    "ParagraphDiff",
    "ProjectionError",
    "Projections",
    "ScorecardLine",
    "ScorecardProjection",
    "Triangle",
    "Vintage",
    "fold_scorecard",
    "line_change",
    "parse_moment",
]
