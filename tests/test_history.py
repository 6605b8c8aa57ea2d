"""Revision history and revision triangles, on SQLite and PostgreSQL.

Given figures recorded, revised, corrected and withdrawn by different people at different times,
then every value of a figure is listed with when, who, why and which kind of change; and the
revision triangle sets each reference period's estimates side by side, edition by edition.
"""

from __future__ import annotations

import csv
import io

import pytest

from events.projections import Projections

from .projection_support import (
    BASELINE,
    Y2021,
    append,
    approved,
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


def caught_up(projections: Projections) -> Projections:
    projections.catch_up()
    return projections


@pytest.fixture
def revised_homicides(store, clock):
    """Homicide figures: 2021 recorded, revised (late returns), corrected, then withdrawn and re-recorded."""
    append(store, measure("homicide"), recorded("homicide", BASELINE, "52"), actor="ana")
    clock.advance(days=1)
    append(store, recorded("homicide", Y2021, "44", source="Home Office", note="provisional"), actor="ana")
    clock.advance(days=30)
    append(store, revised("homicide", Y2021, "45", "44", reason="late returns"), actor="ben")
    clock.advance(days=30)
    append(
        store, revised("homicide", Y2021, "46", "45", kind="correction", reason="one case double-counted"), actor="cai"
    )
    clock.advance(days=1)
    append(store, withdrawn("homicide", Y2021, reason="wrong period"), actor="cai")
    clock.advance(days=1)
    append(
        store,
        recorded("homicide", Y2021, "46"),
        recorded("homicide", "2021-01/2021-12", "3", area="coventry"),
        actor="cai",
    )


def test_every_value_of_a_figure_is_listed_with_when_who_why_and_kind(projections, revised_homicides):
    history = caught_up(projections).history_of("homicide", area="west-midlands", period=Y2021)

    assert [(c.value, c.previous_value, c.kind, c.reason, c.actor, c.recorded_at) for c in history] == [
        ("44", None, "recorded", None, "ana", "2026-01-06T09:00:00.000000Z"),
        ("45", "44", "revision", "late returns", "ben", "2026-02-05T09:00:00.000000Z"),
        ("46", "45", "correction", "one case double-counted", "cai", "2026-03-07T09:00:00.000000Z"),
        (None, "46", "withdrawn", "wrong period", "cai", "2026-03-08T09:00:00.000000Z"),
        ("46", None, "recorded", None, "cai", "2026-03-09T09:00:00.000000Z"),
    ]
    assert (history[0].source, history[0].note) == ("Home Office", "provisional")
    assert [c.position for c in history] == sorted(c.position for c in history)


def test_history_covers_every_area_and_period_of_a_measure_unless_narrowed(projections, revised_homicides):
    history = caught_up(projections).history_of("homicide")
    assert {(c.area, c.period) for c in history} == {
        ("west-midlands", BASELINE),
        ("west-midlands", Y2021),
        ("coventry", Y2021),
    }
    assert {c.area for c in projections.history_of("homicide", area="coventry")} == {"coventry"}
    assert projections.history_of("burglary") == []


def test_history_as_of_a_past_moment_stops_there(projections, revised_homicides):
    history = caught_up(projections).history_of("homicide", period=Y2021, area="west-midlands", at="2026-02-06")
    assert [c.value for c in history] == ["44", "45"]


@pytest.fixture
def two_editions(store, clock):
    """Edition 2022-01 approved with the first estimates; revisions; 2022-02 approved; another revision."""
    append(store, measure("robbery"), opened("2022-01"), opened("2022-02"))
    append(store, recorded("robbery", Y2020, "8000"), recorded("robbery", Y2021, "7500"))
    clock.advance(days=1)
    append(store, approved(store, "2022-01"))
    clock.advance(days=1)
    append(
        store,
        revised("robbery", Y2020, "8040", "8000"),
        revised("robbery", Y2021, "7509", "7500"),
        recorded("robbery", BASELINE, "8945"),
    )
    clock.advance(days=1)
    append(store, approved(store, "2022-02"))
    clock.advance(days=1)
    append(store, revised("robbery", Y2021, "7519", "7509"))


def test_the_revision_triangle_has_a_row_per_period_and_a_column_per_edition(projections, two_editions):
    triangle = caught_up(projections).triangle("robbery", "west-midlands")

    assert triangle.columns == "editions"
    assert [v.label for v in triangle.vintages] == ["2022-01 r1", "2022-02 r1"]
    assert [(row.period, row.cells, row.revision) for row in triangle.rows] == [
        (BASELINE, (None, "8945"), None),  # first published in the second edition: no revision yet
        (Y2020, ("8000", "8040"), "40"),
        (Y2021, ("7500", "7509"), "9"),  # the revision after the last edition is not in any edition
    ]
    assert (triangle.mean_revision, triangle.mean_absolute_revision, triangle.revised_periods) == ("24.50", "24.50", 2)


def test_mean_revision_keeps_its_sign_and_mean_absolute_revision_does_not(store, clock, projections):
    append(store, measure("robbery"), recorded("robbery", Y2020, "100"), recorded("robbery", Y2021, "100"))
    clock.advance(days=1)
    append(store, revised("robbery", Y2020, "103", "100"), revised("robbery", Y2021, "98", "100"))
    triangle = caught_up(projections).triangle("robbery", "west-midlands", columns="times")
    assert (triangle.mean_revision, triangle.mean_absolute_revision) == ("0.50", "2.50")


def test_without_editions_the_triangles_columns_are_the_times_figures_changed(store, clock, projections):
    append(store, measure("robbery"), recorded("robbery", Y2021, "7500"))
    clock.advance(days=2)
    append(store, revised("robbery", Y2021, "7509", "7500"))

    triangle = caught_up(projections).triangle("robbery", "west-midlands")

    assert triangle.columns == "times"
    assert [v.label for v in triangle.vintages] == ["2026-01-05T09:00:00.000000Z", "2026-01-07T09:00:00.000000Z"]
    assert triangle.rows[0].cells == ("7500", "7509")


def test_a_withdrawn_figure_leaves_its_cell_empty(store, clock, projections):
    append(store, measure("robbery"), recorded("robbery", Y2021, "7500"))
    clock.advance(days=1)
    append(store, withdrawn("robbery", Y2021))
    triangle = caught_up(projections).triangle("robbery", "west-midlands", columns="times")
    assert triangle.rows[0].cells == ("7500", None)


def test_the_triangle_exports_as_csv_with_the_means_below(projections, two_editions):
    text = caught_up(projections).triangle("robbery", "west-midlands").to_csv()

    assert list(csv.reader(io.StringIO(text))) == [
        ["period", "2022-01 r1", "2022-02 r1", "revision"],
        [BASELINE, "", "8945", ""],
        [Y2020, "8000", "8040", "40"],
        [Y2021, "7500", "7509", "9"],
        ["mean revision", "", "", "24.50"],
        ["mean absolute revision", "", "", "24.50"],
    ]


def test_the_triangle_as_of_an_earlier_moment_has_only_the_editions_approved_by_then(projections, two_editions, store):
    caught_up(projections)
    first_approval = next(c.position for c in projections.history_of("robbery")) + 1  # after the first figures
    triangle = projections.triangle("robbery", "west-midlands", columns="editions", at=first_approval + 1)
    assert [v.label for v in triangle.vintages] == ["2022-01 r1"]


def test_an_edition_of_another_area_is_not_a_column(store, clock, projections):
    append(store, measure("robbery"), opened("2022-02", area="coventry"), recorded("robbery", Y2021, "7500"))
    append(store, approved(store, "2022-02"))
    assert caught_up(projections).triangle("robbery", "west-midlands").columns == "times"


def test_paragraphs_as_of_any_moment(store, clock, projections):
    append(
        store,
        opened(),
        written(1, "Homicide fell by {{percent:homicide:2021-01/2021-12}}."),
        written(2, "Burglary fell."),
    )
    middle = store.head().position
    clock.advance(days=1)
    append(store, rewritten(1, "Homicides fell by {{percent:homicide:2021-01/2021-12}}.", reason="plural"), removed(2))

    caught_up(projections)

    assert [(p.number, p.text) for p in projections.paragraphs("2022-02", at=middle)] == [
        (1, "Homicide fell by {{percent:homicide:2021-01/2021-12}}."),
        (2, "Burglary fell."),
    ]
    now = projections.paragraphs("2022-02")
    assert [(p.number, p.section, p.text) for p in now] == [
        (1, "force-statement", "Homicides fell by {{percent:homicide:2021-01/2021-12}}.")
    ]
