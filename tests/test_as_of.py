"""As of any moment: the scorecard at a past time or log position, and what changed between two.

Given a log written over several days, then the projections answer as the log stood at any
recorded_at time or position (not by replaying from zero: from snapshots and line versions), and
`diff` lists every figure and paragraph that differs between two moments, with the events between.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from events.projections import ProjectionError, Projections, parse_moment
from events.projections import scorecard as scorecard_module

from .projection_support import (
    BASELINE,
    Y2021,
    append,
    measure,
    opened,
    recorded,
    removed,
    revised,
    rewritten,
    withdrawn,
    written,
)

Y2020 = "2020-01/2020-12"


@pytest.fixture
def projections(store):
    return Projections(store)


@pytest.fixture
def three_days(store, clock, projections):
    """Day 1 (5 Jan): homicide defined, baseline 52, 2021 at 44. Day 2: revised to 46 (ben).
    Day 3: 2021 withdrawn, 2020 recorded at 49, a paragraph written. Positions noted per day."""
    ends = {}
    append(
        store, measure("homicide"), recorded("homicide", BASELINE, "52"), recorded("homicide", Y2021, "44"), actor="ana"
    )
    ends["day 1"] = store.head().position
    clock.advance(days=1)
    append(store, revised("homicide", Y2021, "46", "44", reason="late returns"), actor="ben")
    ends["day 2"] = store.head().position
    clock.advance(days=1)
    append(store, withdrawn("homicide", Y2021, reason="not yet final"), recorded("homicide", Y2020, "49"), actor="cai")
    append(store, opened(), written(1, "Homicide is down."), actor="cai")
    ends["day 3"] = store.head().position
    projections.catch_up()
    return ends


def values(lines) -> list[tuple]:
    return [(line.measure, line.period, line.value, line.change_percent) for line in lines]


def test_the_scorecard_as_of_a_past_time_is_what_it_was_then(projections, three_days):
    assert values(projections.scorecard_lines(at="2026-01-05T12:00:00Z")) == [("homicide", Y2021, "44", -15)]
    assert values(projections.scorecard_lines(at="2026-01-06T09:00:00Z")) == [("homicide", Y2021, "46", -12)]
    assert values(projections.scorecard_lines(at="2026-01-07T09:00:00.000000Z")) == [("homicide", Y2020, "49", -6)]
    assert values(projections.scorecard_lines()) == [("homicide", Y2020, "49", -6)]


def test_a_moment_before_the_first_event_has_an_empty_scorecard(projections, three_days):
    assert projections.scorecard_lines(at="2026-01-01T00:00:00Z") == []
    assert projections.scorecard_lines(at=0) == []


def test_the_scorecard_as_of_a_position_even_inside_one_append(projections, three_days):
    day1 = three_days["day 1"]
    assert values(projections.scorecard_lines(at=day1 - 1)) == [("homicide", None, None, None)]
    assert values(projections.scorecard_lines(at=day1)) == [("homicide", Y2021, "44", -15)]
    withdrawal = three_days["day 2"] + 1
    assert projections.scorecard_lines(at=withdrawal)[0].baseline_value == "52"
    assert projections.scorecard_lines(at=withdrawal)[0].period is None


def test_a_date_alone_means_the_end_of_that_day_and_a_time_without_zone_is_utc():
    assert parse_moment("2026-01-06") == datetime(2026, 1, 6, 23, 59, 59, 999999, tzinfo=timezone.utc)
    assert parse_moment("2026-01-06T09:30") == datetime(2026, 1, 6, 9, 30, tzinfo=timezone.utc)
    assert parse_moment("2026-06-01T10:30+01:00") == datetime(2026, 6, 1, 9, 30, tzinfo=timezone.utc)
    with pytest.raises(ProjectionError, match="expected a log position"):
        parse_moment("yesterday")


def test_a_position_beyond_the_log_is_refused(projections, three_days):
    with pytest.raises(ProjectionError, match="has not happened yet"):
        projections.scorecard_lines(at=three_days["day 3"] + 1)


def test_a_projection_behind_the_log_says_so_rather_than_answer_from_the_past(store, projections, three_days):
    append(store, recorded("homicide", "2022-01/2022-12", "40"))
    with pytest.raises(ProjectionError, match="catch them up first"):
        projections.scorecard_lines(at=store.head().position)


def test_as_of_reads_start_from_the_last_snapshot_and_agree_everywhere(store, clock, monkeypatch):
    monkeypatch.setattr(scorecard_module, "SNAPSHOT_MIN", 3)
    monkeypatch.setattr(scorecard_module, "SNAPSHOT_FACTOR", 1)
    append(store, measure("homicide"), measure("robbery", baseline="2000-07/2001-06"))
    expected = {}
    projections = Projections(store, batch_size=4)
    for year in range(2010, 2022):
        clock.advance(hours=1)
        append(store, recorded("homicide", f"{year}-01/{year}-12", str(year - 1900)),
               recorded("robbery", f"{year}-07/{year + 1}-06", str(3000 - year)))  # fmt: skip
        expected[store.head().position] = [
            (f"{year}-01/{year}-12", str(year - 1900)),
            (f"{year}-07/{year + 1}-06", str(3000 - year)),
        ]
    projections.catch_up()

    with store.engine.connect() as connection:
        snapshots = connection.exec_driver_sql("SELECT count(*) FROM scorecard_snapshots").scalar()
    assert snapshots >= 3
    for position, lines in expected.items():
        assert [(line.period, line.value) for line in projections.scorecard_lines(at=position)] == lines


def test_diff_lists_every_figure_and_paragraph_that_changed_with_old_and_new(projections, three_days):
    diff = projections.diff("2026-01-05T12:00:00Z", "2026-01-07T12:00:00Z")

    assert (diff.from_position, diff.to_position) == (three_days["day 1"], three_days["day 3"])
    assert [(f.period, f.old_value, f.new_value) for f in diff.figures] == [(Y2020, None, "49"), (Y2021, "44", None)]
    trail = diff.figures[1].changes
    assert [(c.value, c.previous_value, c.kind, c.actor, c.reason) for c in trail] == [
        ("46", "44", "revision", "ben", "late returns"),
        (None, "46", "withdrawn", "cai", "not yet final"),
    ]
    assert trail[0].recorded_at == "2026-01-06T09:00:00.000000Z"
    assert [(p.edition, p.number, p.old_text, p.new_text) for p in diff.paragraphs] == [
        ("2022-02", 1, None, "Homicide is down.")
    ]


def test_diff_between_positions_and_with_nothing_changed(projections, three_days):
    day1, day2 = three_days["day 1"], three_days["day 2"]
    assert [(f.old_value, f.new_value) for f in projections.diff(str(day1), str(day2)).figures] == [("44", "46")]
    nothing = projections.diff(day2, day2)
    assert nothing.figures == () and nothing.paragraphs == ()


def test_a_figure_changed_and_changed_back_is_not_a_difference(store, projections):
    append(store, measure("homicide"), recorded("homicide", Y2021, "46"))
    start = store.head().position
    append(store, revised("homicide", Y2021, "47", "46"))
    append(store, revised("homicide", Y2021, "46", "47", kind="correction", reason="the first was right"))
    projections.catch_up()
    assert projections.diff(start, store.head().position).figures == ()


def test_paragraph_revisions_and_removals_show_in_a_diff(store, projections):
    append(store, opened(), written(1, "One."), written(2, "Two."))
    start = store.head().position
    append(store, rewritten(1, "One, revised.", reason="typo"), removed(2))
    projections.catch_up()

    diff = projections.diff(start, store.head().position)

    assert [(p.number, p.old_text, p.new_text, p.changes[-1].kind, p.changes[-1].reason) for p in diff.paragraphs] == [
        (1, "One.", "One, revised.", "revised", "typo"),
        (2, "Two.", None, "removed", "duplicated"),
    ]


def test_diff_from_a_later_moment_than_to_is_refused(projections, three_days):
    with pytest.raises(ProjectionError, match="later than --to"):
        projections.diff(three_days["day 2"], three_days["day 1"])
