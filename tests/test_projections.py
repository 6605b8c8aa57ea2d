"""The projections as projections: kept current incrementally they equal a rebuild from zero, which
equals the in-memory fold, which equals an obviously-correct recomputation, at every position.

Hypothesis writes random logs (measures defined, amended, retired; figures recorded, revised,
withdrawn; paragraphs; edition approvals), appended in random chunks, caught up in random batch
sizes at random moments by the same or by new `Projections` (a new process continues from
storage), with snapshots and pages made tiny so they are exercised. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import tempfile
import uuid
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Iterator

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import inspect, text

from events import EventStore, Metadata, NewEvent
from events.database import make_engine, upgrade
from events.domain.comparisons import change_of
from events.domain.periods import Period
from events.projections import ProjectionError, Projections, fold_scorecard
from events.projections import scorecard as scorecard_module
from events.projections.tables import HISTORY_INDEXES, metadata
from events.subscription import StoredFormatTooNew, load_checkpoint

from .conftest import POSTGRES_URL, FakeClock, _libpq, require_postgres
from .projection_support import BASELINE, Y2021, append, measure, recorded, withdrawn
from .support import registry

MEASURES = ("homicide", "robbery")
AREAS = ("west-midlands", "coventry")
# Few enough that lines often have a baseline and a latest figure; of mixed lengths and forms:
# twelve months, a year in days (365 and 366: ties with the months form), one month, two months.
PERIODS = (
    "2018-07/2019-06",
    "2020-01/2020-12",
    "2021-01/2021-12",
    "2021-01-01/2021-12-31",
    "2020-01-01/2020-12-31",
    "2021-12/2021-12",
    "2019-06/2019-06",
    "2021-11/2021-12",
)
BASELINES = ("2018-07/2019-06", "2019-06/2019-06", "2020-01/2020-12")
VALUES = ("0", "1", "2.5", "10", "46", "52", "-3")
EDITIONS = ("2022-01", "2022-02")
TEXTS = ("One.", "Two {{value:homicide:2021-01/2021-12}}.", "Three.")
HASH = "0" * 64


# -- random logs ----------------------------------------------------------------------------------


def _event(type_: str, **data) -> NewEvent:
    return NewEvent(type_, {key: value for key, value in data.items() if value is not None})


# Weighted by repetition: mostly figures; now and then a measure, paragraph or approval event.
KINDS = (
    ("recorded",) * 8
    + ("revised",) * 4
    + ("withdrawn",) * 2
    + (
        "defined",
        "amended",
        "retired",
        "opened",
        "written",
        "rewritten",
        "removed",
        "approved",
    )
)


@st.composite
def an_event(draw) -> NewEvent:
    kind = draw(st.sampled_from(KINDS))
    measure = draw(st.sampled_from(MEASURES))
    area = draw(st.sampled_from(AREAS[:1] * 3 + AREAS))
    period = draw(st.sampled_from(PERIODS + BASELINES[:1] * 2))
    value = draw(st.sampled_from(VALUES))
    edition, number, text = draw(st.sampled_from(EDITIONS)), draw(st.integers(1, 3)), draw(st.sampled_from(TEXTS))
    polarity = draw(st.sampled_from(("lower-is-better", "higher-is-better")))
    if kind == "recorded":
        return _event("FigureRecorded", measure=measure, area=area, period=period, value=value)
    if kind == "revised":
        return _event(
            "FigureRevised",
            measure=measure,
            area=area,
            period=period,
            value=value,
            previous_value="1",
            kind=draw(st.sampled_from(("revision", "correction"))),
            reason="why",
        )
    if kind == "withdrawn":
        return _event("FigureWithdrawn", measure=measure, area=area, period=period, reason="why")
    if kind == "defined":
        return _event(
            "MeasureDefined",
            measure=measure,
            title=measure.title(),
            priority="local",
            unit="count",
            polarity=polarity,
            baseline_period=draw(st.sampled_from(BASELINES)),
        )
    if kind == "amended":
        return _event(
            "MeasureAmended",
            measure=measure,
            reason="why",
            baseline_period=draw(st.none() | st.sampled_from(BASELINES)),
            title=draw(st.none() | st.sampled_from(("A", "B"))),
            polarity=draw(st.none() | st.just(polarity)),
        )
    if kind == "retired":
        return _event("MeasureRetired", measure=measure, reason="why")
    if kind == "opened":
        return _event(
            "EditionOpened",
            edition=edition,
            area=area,
            title="T",
            authors=[{"name": "N"}],
            lead_contact={"name": "C"},
            sections=[{"section": "s", "title": "S"}],
        )
    if kind == "written":
        return _event("ParagraphWritten", edition=edition, number=number, section="s", text=text)
    if kind == "rewritten":
        return _event("ParagraphRevised", edition=edition, number=number, text=text, reason="why")
    if kind == "removed":
        return _event("ParagraphRemoved", edition=edition, number=number, reason="why")
    return _event(
        "EditionApproved",
        edition=edition,
        revision=draw(st.integers(1, 2)),
        position=draw(st.integers(0, 40)),
        head_hash=HASH,
    )


definitions = st.lists(
    st.builds(
        lambda m, pol: _event(
            "MeasureDefined",
            measure=m,
            title=m.title(),
            priority="local",
            unit="count",
            polarity=pol,
            baseline_period=BASELINE,
        ),
        st.sampled_from(MEASURES),
        st.sampled_from(("lower-is-better", "higher-is-better")),
    ),
    min_size=1,
    max_size=2,
)
events_strategy = st.builds(
    lambda first, rest: first + rest, definitions, st.lists(an_event(), min_size=3, max_size=40)
)


# -- an obviously-correct scorecard, recomputed from scratch at every position -----------------------


def naive_scorecards(events) -> list[list[tuple]]:
    """The scorecard after each prefix of `events` (index 0: empty), as comparable tuples."""
    measures: dict[str, dict] = {}
    figures: dict[tuple[str, str, str], str] = {}
    shown: dict[tuple[str, str], tuple] = {}  # what each line shows, for "last revised"
    revised: dict[tuple[str, str], tuple[str, str]] = {}
    out = [[]]
    for event in events:
        data = event.data
        if event.type == "MeasureDefined":
            measures[data["measure"]] = {**data, "retired": False}
        elif event.type == "MeasureAmended" and data["measure"] in measures:
            measures[data["measure"]].update({k: v for k, v in data.items() if k != "reason" and v is not None})
        elif event.type == "MeasureRetired" and data["measure"] in measures:
            measures[data["measure"]]["retired"] = True
        elif event.type in ("FigureRecorded", "FigureRevised"):
            figures[(data["measure"], data["area"], data["period"])] = data["value"]
        elif event.type == "FigureWithdrawn":
            figures.pop((data["measure"], data["area"], data["period"]), None)
        lines = []
        for key in sorted({(fm, fa) for fm, fa, _ in figures} | set(shown)):
            state = (None, None, None)
            definition = measures.get(key[0])
            if definition is not None:
                baseline = Period.parse(definition["baseline_period"])
                candidates = [
                    (Period.parse(period).end, Period.parse(period).start, period)
                    for (fm, fa, period) in figures
                    if (fm, fa) == key
                    and period != definition["baseline_period"]
                    and Period.parse(period).same_length(baseline)
                ]
                latest = max(candidates)[2] if candidates else None
                state = (latest, figures.get((*key, latest)), figures.get((*key, definition["baseline_period"])))
            if shown.get(key, (None, None, None)) != state:
                shown[key] = state
                revised[key] = (event.recorded_at, event.actor)
            if definition is None or definition["retired"] or (state[0] is None and state[2] is None):
                continue
            latest, value, base = state
            change = percent = direction = assessment = None
            if value is not None and base is not None:
                comparison = change_of(value, base)
                change, percent, direction = (
                    Decimal(value) - Decimal(base),
                    comparison.change_percent,
                    comparison.direction,
                )
                better = "reduction" if definition["polarity"] == "lower-is-better" else "increase"
                assessment = (
                    "no change" if direction == "no change" else "improving" if direction == better else "worsening"
                )
            lines.append(
                (
                    *key,
                    definition["title"],
                    definition["polarity"],
                    definition["baseline_period"],
                    latest,
                    value,
                    base,
                    change,
                    percent,
                    direction,
                    assessment,
                    *revised[key],
                )
            )
        out.append(lines)
    return out


def comparable(lines) -> list[tuple]:
    return [
        (
            line.measure,
            line.area,
            line.title,
            line.polarity,
            line.baseline_period,
            line.period,
            line.value,
            line.baseline_value,
            None if line.change is None else Decimal(line.change),
            line.change_percent,
            line.direction,
            line.assessment,
            line.revised_at,
            line.revised_by,
        )
        for line in lines
    ]


def naive_figure_history(events) -> list[tuple]:
    history, current = [], {}
    for event in events:
        if event.type in ("FigureRecorded", "FigureRevised", "FigureWithdrawn"):
            data = event.data
            key = (data["measure"], data["area"], data["period"])
            value = data.get("value") if event.type != "FigureWithdrawn" else None
            kind = {"FigureRecorded": "recorded", "FigureWithdrawn": "withdrawn"}.get(event.type) or data["kind"]
            history.append(
                (
                    event.position,
                    *key,
                    value,
                    current.get(key),
                    kind,
                    data.get("reason"),
                    event.actor,
                    event.recorded_at,
                )
            )
            current[key] = value
    return history


def naive_figures_at(events, position: int) -> dict:
    figures = {}
    for event in events[:position]:
        if event.type in ("FigureRecorded", "FigureRevised"):
            figures[(event.data["measure"], event.data["area"], event.data["period"])] = event.data["value"]
        elif event.type == "FigureWithdrawn":
            figures[(event.data["measure"], event.data["area"], event.data["period"])] = None
    return figures


# -- stores, fresh for every example --------------------------------------------------------------


@contextmanager
def fresh_store(kind: str) -> Iterator[tuple[EventStore, FakeClock]]:
    clock = FakeClock()
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as directory:
            engine = make_engine(f"sqlite:///{Path(directory) / 'store.db'}")
            upgrade(engine)
            try:
                yield EventStore(engine, registry, clock=clock), clock
            finally:
                engine.dispose()
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_libpq(POSTGRES_URL), autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
    engine = make_engine(f"{POSTGRES_URL}?options=-csearch_path%3D{schema}")
    try:
        upgrade(engine)
        yield EventStore(engine, registry, clock=clock), clock
    finally:
        engine.dispose()
        with psycopg.connect(_libpq(POSTGRES_URL), autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")


@contextmanager
def tiny_snapshots_and_pages(snapshot_min: int, check: int, page: int):
    names = ("SNAPSHOT_MIN", "SNAPSHOT_FACTOR", "SNAPSHOT_CHECK", "PAGE_VERSIONS")
    saved = [getattr(scorecard_module, name) for name in names]
    for name, value in zip(names, (snapshot_min, 1, check, page), strict=True):
        setattr(scorecard_module, name, value)
    try:
        yield
    finally:
        for name, value in zip(names, saved, strict=True):
            setattr(scorecard_module, name, value)


def everything(projections: Projections, head: int, pairs: list[tuple[int, int]]) -> dict:
    """Every answer the projections give about this log, for comparing two ways of building them."""
    return {
        "scorecards": [comparable(projections.scorecard_lines(at=position)) for position in range(head + 1)],
        "history": [projections.history_of(measure) for measure in MEASURES],
        "triangles": [
            projections.triangle(measure, area, columns).as_json()
            for measure in MEASURES
            for area in AREAS
            for columns in ("editions", "times")
        ],
        "paragraphs": [
            projections.paragraphs(edition, at=position) for edition in EDITIONS for position in range(0, head + 1, 3)
        ],
        "diffs": [projections.diff(start, end) for start, end in pairs],
    }


def check_a_random_log(kind: str, data) -> None:
    log = data.draw(events_strategy, label="events")
    snapshot_min = data.draw(st.integers(1, 6), label="snapshot every (versions)")
    check = data.draw(st.integers(1, 5), label="rows between snapshot checks")
    page = data.draw(st.integers(1, 4), label="versions per page")
    with fresh_store(kind) as (store, clock), tiny_snapshots_and_pages(snapshot_min, check, page):
        projections = Projections(store, batch_size=data.draw(st.integers(1, 7), label="batch size"))
        written = 0
        while written < len(log):
            size = data.draw(st.integers(1, 6), label="append size")
            chunk = log[written : written + size]
            if chunk[0].type == "EditionApproved":  # approvals name the head they freeze at
                chunk[0] = NewEvent(
                    "EditionApproved",
                    {**chunk[0].data, "position": min(chunk[0].data["position"], store.head().position)},
                )
            clock.advance(hours=data.draw(st.integers(0, 2), label="hours between appends"))
            store.append("log", chunk, expected_version=None, metadata=Metadata(actor=f"actor-{written % 3}"))
            written += len(chunk)
            plan = data.draw(st.sampled_from(("wait", "same", "new", "until")), label="catch-up")
            if plan == "new":  # another process, continuing from storage
                projections = Projections(store, batch_size=data.draw(st.integers(1, 7), label="batch size"))
            if plan in ("same", "new"):
                projections.catch_up()
            elif plan == "until":
                projections.catch_up(
                    until=data.draw(st.integers(projections.checkpoint(), store.head().position), label="until")
                )
        projections.catch_up()

        events = list(store.read_all())
        head = len(events)
        pairs = data.draw(
            st.lists(st.tuples(st.integers(0, head), st.integers(0, head)).map(sorted), max_size=4), label="diffs"
        )
        incremental = everything(projections, head, pairs)

        # the same as a rebuild from zero
        rebuilt = Projections(store, batch_size=data.draw(st.integers(1, 50), label="rebuild batch size"))
        rebuilt.rebuild()
        assert everything(rebuilt, head, pairs) == incremental

        # the same as the in-memory fold and as recomputing from scratch, at every position
        naive = naive_scorecards(events)
        for position in range(head + 1):
            assert incremental["scorecards"][position] == naive[position], f"position {position}"
            assert comparable(fold_scorecard(events[:position])) == naive[position], f"fold at {position}"

        history = [
            (
                c.position,
                c.measure,
                c.area,
                c.period,
                c.value,
                c.previous_value,
                c.kind,
                c.reason,
                c.actor,
                c.recorded_at,
            )
            for changes in incremental["history"]
            for c in changes
        ]
        assert sorted(history) == naive_figure_history(events)
        for (start, end), diff in zip(pairs, incremental["diffs"]):
            before, after = naive_figures_at(events, start), naive_figures_at(events, end)
            differing = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
            assert sorted((f.measure, f.area, f.period) for f in diff.figures) == differing
            assert all(
                (f.old_value, f.new_value) == (before.get(k), after.get(k))
                for f in diff.figures
                for k in [(f.measure, f.area, f.period)]
            )


SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@settings(max_examples=100, **SETTINGS)
@given(st.data())
def test_incremental_equals_rebuild_equals_fold_on_sqlite(data):
    check_a_random_log("sqlite", data)


@pytest.mark.postgres
@settings(max_examples=15, **SETTINGS)
@given(st.data())
def test_incremental_equals_rebuild_equals_fold_on_postgresql(data):
    require_postgres()
    check_a_random_log("postgresql", data)


# -- the machinery ---------------------------------------------------------------------------------


def test_the_migration_creates_exactly_the_tables_the_projections_use(engine):
    with engine.connect() as connection:
        context = MigrationContext.configure(connection)
        differences = [d for d in compare_metadata(context, metadata) if d[0] != "remove_table" and not _elsewhere(d)]
    assert differences == []


def _elsewhere(difference) -> bool:
    """Differences about other modules' tables (the log, the calendar) are not this test's business."""
    table = getattr(difference[1], "table", None) if len(difference) > 1 else None
    name = getattr(table, "name", None) or (difference[2] if difference[0].endswith("_column") else None)
    return name is not None and name not in metadata.tables


def test_catching_up_when_current_changes_nothing(store):
    append(store, measure("homicide"), recorded("homicide", BASELINE, "52"))
    projections = Projections(store)
    assert projections.catch_up() == 2
    assert projections.catch_up() == 2 and projections.checkpoint() == 2
    with store.engine.connect() as connection:
        checkpoints = {s.name: load_checkpoint(connection, s.name, s.version) for s in projections.subscriptions}
    assert checkpoints == {"scorecard": 2, "history": 2}


def test_a_rebuild_restores_the_history_indexes_it_set_aside(store):
    append(store, measure("homicide"), recorded("homicide", BASELINE, "52"))
    Projections(store).rebuild()
    indexes = {
        index["name"]
        for table in ("figure_versions", "paragraph_versions")
        for index in inspect(store.engine).get_indexes(table)
    }
    assert {index.name for index in HISTORY_INDEXES} <= indexes


def test_continuing_from_storage_needs_history_caught_up_first(store):
    append(store, measure("homicide"), recorded("homicide", BASELINE, "52"), recorded("homicide", Y2021, "46"))
    Projections(store).catch_up()
    append(store, recorded("homicide", "2020-01/2020-12", "49"))
    append(store, withdrawn("homicide", Y2021))  # needs the line's figures as they stood before it: from history
    scorecard_only = Projections(store).subscriptions[1]
    with pytest.raises(ProjectionError, match="history projection is behind"):
        scorecard_only.catch_up()


def test_a_rebuild_after_a_failed_batch_gives_the_same_scorecard(store, monkeypatch):
    append(store, measure("homicide"), recorded("homicide", BASELINE, "52"))
    projections = Projections(store)
    projections.catch_up()
    append(store, recorded("homicide", Y2021, "46"))
    original = scorecard_module.ScorecardProjection._flush

    def fail_once(self, *args):
        monkeypatch.setattr(scorecard_module.ScorecardProjection, "_flush", original)
        raise RuntimeError("the disk filled up")

    monkeypatch.setattr(scorecard_module.ScorecardProjection, "_flush", fail_once)
    with pytest.raises(RuntimeError):
        projections.catch_up()
    projections.catch_up()  # the same object again: it must not trust what it folded before the failure
    assert [(line.value, line.change_percent) for line in projections.scorecard_lines()] == [("46", -12)]


def test_times_in_the_log_are_utc_text_so_moments_compare_as_text(store, clock):
    clock.now = datetime(2026, 3, 29, 0, 30, tzinfo=timezone.utc)  # the night the clocks go forward
    append(store, measure("homicide"), recorded("homicide", BASELINE, "52"))
    clock.now += timedelta(hours=1)
    append(store, recorded("homicide", Y2021, "46"))
    projections = Projections(store)
    projections.catch_up()
    assert projections.scorecard_lines(at="2026-03-29T01:00:00+01:00") == []  # 00:00 UTC: nothing yet
    assert projections.scorecard_lines(at="2026-03-29T01:45:00+01:00")[0].value is None  # 00:45 UTC: the baseline only
    assert projections.scorecard_lines(at="2026-03-29T02:45:00+01:00")[0].value == "46"


def test_two_processes_catching_up_at_once_take_turns_and_agree(store, database_url):
    import threading

    append(store, measure("homicide"), measure("robbery"))
    for year in range(2000, 2040):
        append(
            store,
            recorded("homicide", f"{year}-01/{year}-12", str(year)),
            recorded("robbery", f"{year}-01/{year}-12", str(year)),
        )
    engines = [make_engine(database_url) for _ in range(2)]
    errors = []

    def catch_up(engine):
        try:
            Projections(EventStore(engine, registry), batch_size=3).catch_up()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=catch_up, args=(engine,)) for engine in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for engine in engines:
        engine.dispose()
    assert errors == []
    projections = Projections(store)
    assert projections.checkpoint() == store.head().position
    assert [(line.measure, line.value) for line in projections.scorecard_lines()] == [
        ("homicide", "2039"),
        ("robbery", "2039"),
    ]
    assert len(projections.history_of("homicide")) == 40


def test_running_projections_follow_new_events_until_stopped(store):
    import threading
    import time

    append(store, measure("homicide"), recorded("homicide", BASELINE, "52"))
    projections = Projections(store)
    stop = threading.Event()
    follower = threading.Thread(target=projections.run, args=(stop, 0.05))
    follower.start()
    try:
        append(store, recorded("homicide", Y2021, "46"))
        deadline = time.monotonic() + 10
        while projections.checkpoint() < store.head().position and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [(line.value, line.change_percent) for line in projections.scorecard_lines()] == [("46", -12)]
    finally:
        stop.set()
        follower.join(timeout=10)
    assert not follower.is_alive()


def _stored_as(store: EventStore, name: str, version: int) -> None:
    with store.engine.begin() as connection:
        connection.execute(text("UPDATE checkpoints SET version = :v WHERE name = :n"), {"v": version, "n": name})


def test_a_projection_stored_in_an_older_format_is_never_read_and_is_rebuilt_by_the_next_catch_up(store):
    append(store, measure("homicide"), recorded("homicide", BASELINE, "52"), recorded("homicide", Y2021, "46"))
    projections = Projections(store)
    projections.catch_up()
    # What an older program left: its rows in its own format, its checkpoint at its own version.
    with store.engine.begin() as connection:
        connection.execute(text("DELETE FROM scorecard_lines"))
        connection.execute(text("INSERT INTO scorecard_lines (line_id, measure, area) VALUES (1, 'old', 'format')"))
    _stored_as(store, projections.scorecard.name, projections.scorecard.version - 1)

    restarted = Projections(store)
    assert restarted.checkpoint() == 0 and restarted.scorecard_lines() == []
    with pytest.raises(ProjectionError, match="behind"):
        restarted.scorecard_lines(at=3)
    assert restarted.catch_up() == 3
    assert [(line.measure, line.value) for line in restarted.scorecard_lines()] == [("homicide", "46")]
    with store.engine.connect() as connection:
        assert connection.execute(text("SELECT version FROM checkpoints WHERE name = 'scorecard'")).scalar() == projections.scorecard.version


def test_a_projection_stored_in_a_newer_format_is_refused_not_overwritten(store):
    append(store, measure("homicide"), recorded("homicide", BASELINE, "52"))
    projections = Projections(store)
    projections.catch_up()
    append(store, recorded("homicide", Y2021, "46"))
    _stored_as(store, "history", projections.history.version + 1)
    with pytest.raises(StoredFormatTooNew, match="'history' is stored in format version 2, newer than this program's 1"):
        Projections(store).catch_up()
    assert Projections(store).checkpoint() == 0  # and never read as if it were this program's format
