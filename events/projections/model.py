"""The scorecard as a fold over the log, in memory: measures, lines (measure x area), figures.

One model serves both the persisted projection and the in-memory fold, so they cannot differ in
what they decide; they differ only in where state comes from and where changes go.

A *line* is one measure in one area. What the scorecard shows of it is three things: the latest
figure whose period has the baseline period's length (other than the baseline period itself),
that figure's value, and the baseline figure's value. Every event that changes any of them
emits a *version* of the line: (position, line id, period, value, baseline value). When and by
whom a line was last revised is the recorded_at and actor of its last version's position.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Iterable, Iterator, NamedTuple, Sequence

from ..domain.comparisons import change_unit
from ..domain.periods import Period, PeriodError
from ..records import RecordedEvent
from ..store import COLUMNS
from .comparison import line_change

MEASURE_TYPES = frozenset({"MeasureDefined", "MeasureAmended", "MeasureSetForArea", "MeasureRetired"})
AREA_DETAILS = ("baseline_period", "priority")  # what the scorecard reads of a measure's settings in an area
FIGURE_TYPES = frozenset({"FigureRecorded", "FigureRevised", "FigureWithdrawn"})
SCORECARD_TYPES = MEASURE_TYPES | FIGURE_TYPES


class PeriodInfo(NamedTuple):
    months: int | None  # length in whole months, when made of whole months
    days: int
    latest_rank: int  # orders periods for "latest": by end, then start (then text, on a tie)
    order_rank: int  # orders periods for display: by start, then end (then text)


_periods: dict[str, PeriodInfo] = {}
_DAY_BITS = 21  # day ordinals stay below 2**21 until the year 5741


def period_info(text: str) -> PeriodInfo:
    info = _periods.get(text)
    if info is None:
        try:
            period = Period.parse(text)
        except PeriodError:
            # The schemas refuse such periods; stored data that predates a rule still folds.
            info = PeriodInfo(None, -1, 0, 0)
        else:
            start, end = period.start.toordinal(), period.end.toordinal()
            info = PeriodInfo(period.months, period.days, end << _DAY_BITS | start, start << _DAY_BITS | end)
        _periods[text] = info
    return info


def order_key(text: str) -> tuple[int, str]:
    """Sort key for showing periods: by start, then end."""
    return (period_info(text).order_rank, text)


def same_length(a: PeriodInfo, b: PeriodInfo) -> bool:
    """12 months against 12 months; periods not of whole months compare by days (see Period.same_length)."""
    if a.months is not None and b.months is not None:
        return a.months == b.months
    return a.days == b.days


# For each baseline period: period -> its latest_rank if it has the baseline's length, else -1.
# One lookup answers both questions the fold asks of every figure.
_ranks_by_baseline: dict[str, dict[str, int]] = {}


def ranks_for(baseline_period: str) -> dict[str, int]:
    ranks = _ranks_by_baseline.get(baseline_period)
    if ranks is None:
        ranks = _ranks_by_baseline[baseline_period] = {}
    return ranks


def rank_against(ranks: dict[str, int], baseline_period: str, period: str) -> int:
    rank = ranks.get(period)
    if rank is None:
        info = period_info(period)
        rank = ranks[period] = info.latest_rank if same_length(info, period_info(baseline_period)) else -1
    return rank


def choose_latest(measure: "MeasureState", figures: dict[str, str]) -> tuple[str | None, int, str | None, str | None]:
    """(latest period, its rank, its value, the baseline value) a line shows from its figures: the
    latest period of the baseline's length, by end, then start (then text, on a tie)."""
    latest, latest_rank, value = None, -1, None
    baseline_period, ranks = measure.baseline_period, measure.ranks
    for period, figure in figures.items():
        if period == baseline_period:
            continue
        rank = rank_against(ranks, baseline_period, period)
        if rank > latest_rank or (rank == latest_rank and rank >= 0 and period > latest):  # type: ignore[operator]
            latest, latest_rank, value = period, rank, figure
    return latest, latest_rank, value, figures.get(baseline_period)


class MeasureState:
    __slots__ = (
        "measure",
        "title",
        "priority",
        "unit",
        "polarity",
        "baseline_period",
        "baseline_info",
        "ranks",
        "retired",
        "areas",
        "_in_area",
    )

    def __init__(
        self,
        measure: str,
        title: str,
        priority: str,
        unit: str,
        polarity: str,
        baseline_period: str,
        retired: bool = False,
        areas: dict[str, dict[str, str]] | None = None,
    ):
        self.measure = measure
        self.title = title
        self.priority = priority
        self.unit = unit
        self.polarity = polarity
        self.baseline_period = baseline_period
        self.baseline_info = period_info(baseline_period)
        self.ranks = ranks_for(baseline_period)
        self.retired = retired
        # area -> its own baseline_period and priority (MeasureSetForArea); most measures have none
        self.areas: dict[str, dict[str, str]] = areas or {}
        self._in_area: dict[str, MeasureState] = {}

    def row(self) -> tuple:
        return (self.measure, self.title, self.priority, self.unit, self.polarity, self.baseline_period, self.retired)

    def areas_text(self) -> str:
        return json.dumps(self.areas, sort_keys=True, separators=(",", ":")) if self.areas else "{}"

    def for_area(self, area: str) -> "MeasureState":
        """The measure as it is in `area`: its own baseline period and priority where it set them."""
        own = self.areas.get(area)
        if not own:
            return self
        state = self._in_area.get(area)
        if state is None:
            state = self._in_area[area] = MeasureState(
                self.measure, self.title, own.get("priority", self.priority), self.unit, self.polarity,
                own.get("baseline_period", self.baseline_period), self.retired,
            )  # fmt: skip
        return state


class Line:
    """One measure in one area. `figures` (period -> value) is None until needed (see ScorecardModel)."""

    __slots__ = ("line_id", "measure", "area", "figures", "latest", "latest_rank", "value", "baseline", "revised")

    def __init__(self, line_id: int, measure: str, area: str, figures: dict[str, str] | None) -> None:
        self.line_id = line_id
        self.measure = measure
        self.area = area
        self.figures = figures
        self.latest: str | None = None
        self.latest_rank = -1
        self.value: str | None = None
        self.baseline: str | None = None
        self.revised = 0  # the position of the last event that changed what the line shows

    def shown(self) -> tuple:
        return (self.latest, self.value, self.baseline)

    def restore(self, period: str | None, value: str | None, baseline: str | None, revised: int) -> None:
        self.latest = period
        self.latest_rank = -1 if period is None else period_info(period).latest_rank
        self.value = value
        self.baseline = baseline
        self.revised = revised


# (position, line_id, period, value, baseline_value)
Version = tuple
# (position, measure, title, priority, unit, polarity, baseline_period, retired, recorded_at, actor, areas)
MeasureVersion = tuple
FiguresLoader = Callable[[str, str, int], dict[str, str]]

_COLUMNS = tuple(name.strip() for name in COLUMNS.split(","))
# The stored rows' layout, unpacked in the fold's loop: a change to the store's columns must show here.
assert _COLUMNS == (
    "position",
    "stream",
    "version",
    "type",
    "schema_version",
    "data",
    "metadata",
    "recorded_at",
    "prev_hash",
    "hash",
), _COLUMNS
_SET, _WITHDRAW, _MEASURE = 1, 2, 3
_KINDS = {
    "FigureRecorded": _SET, "FigureRevised": _SET, "FigureWithdrawn": _WITHDRAW,
    "MeasureDefined": _MEASURE, "MeasureAmended": _MEASURE, "MeasureSetForArea": _MEASURE, "MeasureRetired": _MEASURE,
}  # fmt: skip


class Decoding(NamedTuple):
    """How the fold turns a stored row's data into a dict: the C JSON scanner, then upcasting
    when the row's schema version is not the type's current one."""

    scan: Callable[[str, int], tuple[Any, int]]
    versions: dict[str, int]  # type -> current schema version
    upcast: Callable[[Sequence[Any], dict[str, Any]], dict[str, Any]]
    actor: Callable[[str], str]  # stored metadata text -> actor


class ScorecardModel:
    """Applies measure and figure events; emits line versions and measure versions.

    Full mode (`loader` None): every line holds all its figures, as after folding from position 1.
    Partial mode: lines start with what the scorecard showed (restored from storage) and no
    figures; the few events that need a line's figures (withdrawing the latest figure, a new
    baseline period) fetch them as of the position before the event through `loader`.
    """

    def __init__(self, loader: FiguresLoader | None = None, next_line_id: int = 1) -> None:
        self.loader = loader
        self.measures: dict[str, MeasureState] = {}
        self.lines: dict[tuple[str, str], Line] = {}
        self.measure_lines: dict[str, list[Line]] = {}
        self.next_line_id = next_line_id
        self.new_lines: list[tuple[int, str, str]] = []
        self.versions: list[Version] = []
        self.measure_versions: list[MeasureVersion] = []

    # -- state ------------------------------------------------------------------------------

    def add_line(self, line_id: int, measure: str, area: str) -> Line:
        line = Line(line_id, measure, area, {} if self.loader is None else None)
        self.lines[(measure, area)] = line
        self.measure_lines.setdefault(measure, []).append(line)
        return line

    def _new_line(self, measure: str, area: str) -> Line:
        line_id = self.next_line_id
        self.next_line_id += 1
        self.new_lines.append((line_id, measure, area))
        line = Line(line_id, measure, area, {})  # a new line's figures are all in this batch: known
        self.lines[(measure, area)] = line
        self.measure_lines.setdefault(measure, []).append(line)
        return line

    def _figures(self, line: Line, before: int) -> dict[str, str]:
        if line.figures is None:
            line.figures = self.loader(line.measure, line.area, before)  # type: ignore[misc]
        return line.figures

    def _emit(self, line: Line, position: int) -> None:
        line.revised = position
        self.versions.append((position, line.line_id, line.latest, line.value, line.baseline))

    def _recompute(self, line: Line, measure: MeasureState | None, position: int) -> None:
        """Choose the line's latest and baseline figures afresh from all its figures."""
        latest, latest_rank, value, baseline = None, -1, None, None
        if measure is not None:
            latest, latest_rank, value, baseline = choose_latest(measure.for_area(line.area), self._figures(line, position - 1))
        line.latest, line.latest_rank, line.value, line.baseline = latest, latest_rank, value, baseline

    def _recompute_measure(self, measure_id: str, position: int, area: str | None = None) -> None:
        measure = self.measures.get(measure_id)
        for line in self.measure_lines.get(measure_id, ()):
            if area is not None and line.area != area:
                continue
            before = line.shown()
            self._recompute(line, measure, position)
            if line.shown() != before:
                self._emit(line, position)

    # -- events -----------------------------------------------------------------------------

    def apply_rows(self, rows: Iterable[Sequence[Any]], decoding: Decoding) -> None:
        """Fold stored rows (the log's own columns), skipping the types the scorecard does not use.

        Most events of a large log are figures, so their common case is written out here rather
        than in a method per event: this loop is most of a rebuild's time.
        """
        kinds, scan, versions = _KINDS, decoding.scan, decoding.versions
        lines, measures, emit = self.lines, self.measures, self._emit
        for row in rows:
            position, _, _, type_, schema_version, text, metadata, recorded_at, _, _ = row
            kind = kinds.get(type_)
            if kind is None:
                continue
            data = scan(text, 0)[0]
            if versions.get(type_) != schema_version:
                data = decoding.upcast(row, data)
            if kind != _SET:
                if kind == _WITHDRAW:
                    self.figure_withdrawn(position, data["measure"], data["area"], data["period"])
                else:
                    self.measure_event(position, type_, data, recorded_at, decoding.actor(metadata))
                continue
            measure_id, area, period, value = data["measure"], data["area"], data["period"], data["value"]
            line = lines.get((measure_id, area))
            if line is None:
                line = self._new_line(measure_id, area)
            figures = line.figures
            if figures is not None:
                figures[period] = value
            measure = measures.get(measure_id)
            if measure is None:
                continue
            if measure.areas:
                measure = measure.for_area(area)
            if period == line.latest:
                if line.value != value:
                    line.value = value
                    emit(line, position)
            elif period == measure.baseline_period:
                if line.baseline != value:
                    line.baseline = value
                    emit(line, position)
            else:
                ranks = measure.ranks
                rank = ranks.get(period)
                if rank is None:
                    rank = rank_against(ranks, measure.baseline_period, period)
                if rank > line.latest_rank or (rank == line.latest_rank and rank >= 0 and period > line.latest):  # type: ignore[operator]
                    line.latest, line.latest_rank, line.value = period, rank, value
                    emit(line, position)

    def figure_withdrawn(self, position: int, measure_id: str, area: str, period: str) -> None:
        line = self.lines.get((measure_id, area))
        if line is None:
            return  # nothing recorded there: nothing to withdraw
        measure = self.measures.get(measure_id)
        if measure is not None:
            measure = measure.for_area(area)
        if measure is not None and period == line.latest:
            figures = self._figures(line, position - 1)
            figures.pop(period, None)
            self._recompute(line, measure, position)
            self._emit(line, position)
            return
        if line.figures is not None:
            line.figures.pop(period, None)
        if measure is not None and period == measure.baseline_period and line.baseline is not None:
            line.baseline = None
            self._emit(line, position)

    def measure_event(self, position: int, type_: str, data: dict[str, Any], recorded_at: str, actor: str) -> None:
        measure_id = data["measure"]
        measure = self.measures.get(measure_id)
        if type_ == "MeasureDefined":
            # Defining a measure again (the commands refuse it) replaces it, and un-retires it.
            measure = MeasureState(
                measure_id, data["title"], data["priority"], data["unit"], data["polarity"], data["baseline_period"]
            )
            self.measures[measure_id] = measure
            rebased = True
        elif measure is None:
            return  # amending or retiring what was never defined changes nothing
        elif type_ == "MeasureAmended":
            for name in ("title", "priority", "unit", "polarity"):
                if data.get(name) is not None:
                    setattr(measure, name, data[name])
            baseline_period = data.get("baseline_period")
            rebased = baseline_period is not None and baseline_period != measure.baseline_period
            if rebased:
                measure.baseline_period = baseline_period
                measure.baseline_info = period_info(baseline_period)
                measure.ranks = ranks_for(baseline_period)
            measure._in_area.clear()
        elif type_ == "MeasureSetForArea":
            area = data["area"]
            before = measure.for_area(area).baseline_period
            own = {**measure.areas.get(area, {}), **{n: data[n] for n in AREA_DETAILS if data.get(n) is not None}}
            if own == measure.areas.get(area, {}):
                return  # a source or definition: nothing the scorecard shows
            measure.areas = {**measure.areas, area: own}
            measure._in_area.clear()
            self.measure_versions.append((position, *measure.row(), recorded_at, actor, measure.areas_text()))
            if measure.for_area(area).baseline_period != before:
                self._recompute_measure(measure_id, position, area)
            return
        elif type_ == "MeasureRetired" and not measure.retired:
            measure.retired = True
            measure._in_area.clear()
            rebased = False
        else:
            return
        self.measure_versions.append((position, *measure.row(), recorded_at, actor, measure.areas_text()))
        if rebased:
            self._recompute_measure(measure_id, position)

    # -- what it shows ----------------------------------------------------------------------

    def shown_lines(self) -> Iterator[Line]:
        for line in self.lines.values():
            if line.latest is not None or line.baseline is not None:
                yield line


JSON_KEYS = (
    "measure", "area", "title", "period", "value", "unit", "baseline_period", "baseline_value",
    "change", "change_unit", "change_percent", "direction", "assessment",
)  # fmt: skip


class ScorecardLine(NamedTuple):
    """One line of the scorecard: a measure's latest figure in an area against its baseline.

    Values are exact decimal text; `change_percent` is a signed whole percent (-12 for a 12%
    reduction). Comparison fields are None when either figure is missing. (A named tuple: a
    scorecard as of a past moment builds a thousand of these, and a frozen dataclass is slow to.)
    """

    measure: str
    area: str
    title: str
    unit: str
    polarity: str
    priority: str
    period: str | None
    value: str | None
    baseline_period: str
    baseline_value: str | None
    change: str | None
    change_percent: int | None
    direction: str | None
    assessment: str | None
    revised_at: str | None
    revised_by: str | None
    series: tuple[tuple[str, str], ...] = ()

    @property
    def change_unit(self) -> str:
        """percentage-points for a percentage, points-per-1000 for a rate, else the unit."""
        return change_unit(self.unit)

    def as_json(self) -> dict[str, Any]:
        """The published shape: exactly JSON_KEYS, decimals as strings."""
        return {key: getattr(self, key) for key in JSON_KEYS}


def scorecard_line(
    measure: MeasureState, area: str, period: str | None, value: str | None, baseline: str | None,
    revised_at: str | None, revised_by: str | None,
) -> ScorecardLine | None:  # fmt: skip
    """What a line shows, or None when the measure is retired or the line has no figures to show."""
    measure = measure.for_area(area)
    if measure.retired or (period is None and baseline is None):
        return None
    if value is not None and baseline is not None:
        change, percent, direction, assessment = line_change(value, baseline, measure.polarity, measure.unit)
    else:
        change = percent = direction = assessment = None
    return ScorecardLine(
        measure.measure, area, measure.title, measure.unit, measure.polarity, measure.priority, period, value,
        measure.baseline_period, baseline, change, percent, direction, assessment, revised_at, revised_by,
    )  # fmt: skip


def sort_lines(lines: Iterable[ScorecardLine]) -> list[ScorecardLine]:
    return sorted(lines, key=lambda line: (line.measure, line.area))


def fold_scorecard(events: Iterable[RecordedEvent]) -> list[ScorecardLine]:
    """The scorecard after `events` (in position order), folded in memory: the same fold as the
    persisted projection, fed the same stored rows."""
    events = list(events)
    by_position = {event.position: event for event in events}
    # RecordedEvent data is already in its type's current schema (schema version 0 all round), and its
    # actor is known: the metadata column carries the position to look the event up by.
    rows = [
        (e.position, e.stream, e.version, e.type, 0, json.dumps(e.data), e.position, e.recorded_at, None, None)
        for e in events
    ]
    model = ScorecardModel()
    versions = dict.fromkeys(_KINDS, 0)
    model.apply_rows(
        rows, Decoding(json.JSONDecoder().scan_once, versions, lambda row, data: data, lambda p: by_position[p].actor)
    )
    lines = []
    for line in model.shown_lines():
        measure = model.measures.get(line.measure)
        event = by_position.get(line.revised)
        shown = measure and scorecard_line(
            measure,
            line.area,
            line.latest,
            line.value,
            line.baseline,
            event and event.recorded_at,
            event and event.actor,
        )
        if shown:
            lines.append(shown)
    return sort_lines(lines)
