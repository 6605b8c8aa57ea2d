"""The scorecard: per measure and area, the latest figure against the baseline, on SQLite and PostgreSQL.

Given measure and figure events in the log, when the projections catch up, then the scorecard
shows these lines (and says the same after a rebuild, and from a projection continuing in a new
process).
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from events.domain import comparisons
from events.projections import Projections, ScorecardLine
from events.projections.comparison import line_change, mean

from .projection_support import BASELINE, Y2021, amended, append, measure, recorded, retired, revised, withdrawn

Y2020 = "2020-01/2020-12"


def scorecard(store, **filters) -> list[ScorecardLine]:
    projections = Projections(store)
    projections.catch_up()
    return projections.scorecard_lines(**filters)


def line_of(store, measure_id: str, area: str = "west-midlands") -> ScorecardLine:
    lines = [line for line in scorecard(store, measure=measure_id) if line.area == area]
    assert len(lines) == 1, lines
    return lines[0]


def test_the_seeds_comparisons_come_out_as_published(store):
    append(store, measure("homicide"), measure("burglary"), measure("robbery"))
    append(
        store,
        recorded("homicide", BASELINE, "52"),
        recorded("homicide", Y2021, "46"),
        recorded("burglary", BASELINE, "28675"),
        recorded("burglary", Y2021, "19018"),
        recorded("robbery", BASELINE, "8945"),
        recorded("robbery", Y2021, "7509"),
    )

    lines = {line.measure: line for line in scorecard(store)}

    homicide = lines["homicide"].as_json()
    assert homicide == {
        "measure": "homicide",
        "area": "west-midlands",
        "title": "Homicide",
        "period": Y2021,
        "value": "46",
        "unit": "count",
        "baseline_period": BASELINE,
        "baseline_value": "52",
        "change": "-6",
        "change_unit": "count",
        "change_percent": -12,
        "direction": "reduction",
        "assessment": "improving",
    }
    assert (lines["burglary"].change, lines["burglary"].change_percent) == ("-9657", -34)
    assert (lines["robbery"].change, lines["robbery"].change_percent) == ("-1436", -16)


def test_scorecard_json_has_exactly_the_published_keys_with_decimals_as_text():
    line = ScorecardLine(
        "m",
        "a",
        "M",
        "count",
        "lower-is-better",
        "local",
        Y2021,
        "1.50",
        BASELINE,
        "2",
        "-0.50",
        -25,
        "reduction",
        "improving",
        "2026-01-05T09:00:00.000000Z",
        "analyst",
    )
    assert list(line.as_json()) == [
        "measure",
        "area",
        "title",
        "period",
        "value",
        "unit",
        "baseline_period",
        "baseline_value",
        "change",
        "change_unit",
        "change_percent",
        "direction",
        "assessment",
    ]
    assert line.as_json()["value"] == "1.50" and line.as_json()["change_percent"] == -25


def test_the_latest_figure_is_the_latest_period_of_the_baselines_length(store):
    append(store, measure("burglary"))
    append(
        store,
        recorded("burglary", BASELINE, "28675"),
        recorded("burglary", Y2021, "19018"),
        recorded("burglary", Y2020, "21000"),  # recorded later, but an earlier period
        recorded("burglary", "2022-01/2022-01", "1500"),  # one month: not comparable with a year
        recorded("burglary", "2021-04/2022-03", "18500"),  # the latest twelve months
    )

    line = line_of(store, "burglary")

    assert (line.period, line.value, line.change_percent) == ("2021-04/2022-03", "18500", -35)


def test_a_period_in_days_compares_with_a_baseline_of_the_same_number_of_days(store):
    append(store, measure("knife-crime", baseline="2019-01-01/2019-01-31"))
    append(
        store,
        recorded("knife-crime", "2019-01-01/2019-01-31", "100"),
        recorded("knife-crime", "2021-03-01/2021-03-31", "90"),
    )
    assert line_of(store, "knife-crime").period == "2021-03-01/2021-03-31"


def test_without_a_baseline_figure_the_comparison_is_null(store):
    append(store, measure("homicide"), recorded("homicide", Y2021, "46"))

    line = line_of(store, "homicide")

    assert (line.value, line.baseline_value) == ("46", None)
    assert (line.change, line.change_percent, line.direction, line.assessment) == (None, None, None, None)


def test_with_only_the_baseline_recorded_there_is_no_latest_figure_yet(store):
    append(store, measure("homicide"), recorded("homicide", BASELINE, "52"))

    line = line_of(store, "homicide")

    assert (line.period, line.value, line.baseline_value, line.change) == (None, None, "52", None)


def test_a_measure_with_only_figures_of_other_lengths_has_no_line(store):
    append(store, measure("homicide"), recorded("homicide", "2021-12/2021-12", "4"))
    assert scorecard(store) == []


def test_higher_is_better_makes_an_increase_an_improvement(store):
    append(store, measure("drug-referrals", polarity="higher-is-better"))
    append(store, recorded("drug-referrals", BASELINE, "1200"), recorded("drug-referrals", Y2021, "1356"))

    line = line_of(store, "drug-referrals")

    assert (line.change, line.change_percent, line.direction, line.assessment) == ("156", 13, "increase", "improving")


def test_no_change_is_neither_improving_nor_worsening(store):
    append(store, measure("homicide"), recorded("homicide", BASELINE, "52"), recorded("homicide", Y2021, "52.0"))
    line = line_of(store, "homicide")
    assert (line.change, line.change_percent, line.direction, line.assessment) == ("0.0", 0, "no change", "no change")


def test_against_a_zero_baseline_there_is_a_direction_but_no_percentage(store):
    append(store, measure("homicide"), recorded("homicide", BASELINE, "0"), recorded("homicide", Y2021, "3"))
    line = line_of(store, "homicide")
    assert (line.change, line.change_percent, line.direction, line.assessment) == ("3", None, "increase", "worsening")


def test_rates_and_money_are_exact_decimals(store):
    append(store, measure("violence-rate"))
    append(store, recorded("violence-rate", BASELINE, "10.10"), recorded("violence-rate", Y2021, "9.595"))
    line = line_of(store, "violence-rate")
    # -0.505 / 10.10 = -5% exactly: no binary floating point gets to round it the other way
    assert (line.change, line.change_percent) == ("-0.505", -5)


def test_a_revision_changes_the_line_and_says_when_and_by_whom(store, clock):
    append(
        store, measure("homicide"), recorded("homicide", BASELINE, "52"), recorded("homicide", Y2021, "46"), actor="ana"
    )
    clock.advance(days=3)
    append(store, revised("homicide", Y2021, "47", "46", kind="correction", reason="double-counted case"), actor="ben")

    line = line_of(store, "homicide")

    assert (line.value, line.change, line.change_percent) == ("47", "-5", -10)
    assert (line.revised_by, line.revised_at) == ("ben", "2026-01-08T09:00:00.000000Z")


def test_revising_the_baseline_changes_every_comparison_against_it(store):
    append(store, measure("homicide"), recorded("homicide", BASELINE, "52"), recorded("homicide", Y2021, "46"))
    append(store, revised("homicide", BASELINE, "50", "52"))
    assert line_of(store, "homicide").change_percent == -8


def test_withdrawing_the_latest_figure_falls_back_to_the_one_before(store):
    append(
        store,
        measure("homicide"),
        recorded("homicide", BASELINE, "52"),
        recorded("homicide", Y2020, "49"),
        recorded("homicide", Y2021, "46"),
    )
    assert line_of(store, "homicide").period == Y2021

    append(store, withdrawn("homicide", Y2021))

    line = line_of(store, "homicide")  # a new Projections: continues from storage, asking history
    assert (line.period, line.value, line.change) == (Y2020, "49", "-3")


def test_withdrawing_the_baseline_leaves_the_latest_figure_without_a_comparison(store):
    append(store, measure("homicide"), recorded("homicide", BASELINE, "52"), recorded("homicide", Y2021, "46"))
    append(store, withdrawn("homicide", BASELINE))
    line = line_of(store, "homicide")
    assert (line.value, line.baseline_value, line.change) == ("46", None, None)


def test_withdrawing_every_figure_removes_the_line(store):
    append(store, measure("homicide"), recorded("homicide", Y2021, "46"))
    append(store, withdrawn("homicide", Y2021))
    assert scorecard(store) == []


def test_a_retired_measure_drops_out_of_the_scorecard(store):
    append(store, measure("homicide"), measure("robbery"))
    append(store, recorded("homicide", Y2021, "46"), recorded("robbery", Y2021, "7509"))
    append(store, retired("robbery"))
    assert [line.measure for line in scorecard(store)] == ["homicide"]


def test_a_new_baseline_period_recomputes_the_line_in_every_area(store):
    append(store, measure("robbery"))
    for area in ("coventry", "dudley"):
        append(
            store,
            recorded("robbery", BASELINE, "900", area=area),
            recorded("robbery", Y2020, "800", area=area),
            recorded("robbery", Y2021, "700", area=area),
            recorded("robbery", "2021-12/2021-12", "60", area=area),
        )

    append(store, amended("robbery", baseline_period=Y2020, reason="the force's own baseline"))

    for area in ("coventry", "dudley"):
        line = line_of(store, "robbery", area)
        assert (line.baseline_period, line.baseline_value, line.period, line.change_percent) == (
            Y2020,
            "800",
            Y2021,
            -13,
        )


def test_a_baseline_of_another_length_compares_other_figures(store):
    append(store, measure("robbery"))
    append(
        store,
        recorded("robbery", BASELINE, "900"),
        recorded("robbery", Y2021, "700"),
        recorded("robbery", "2019-06/2019-06", "80"),
        recorded("robbery", "2021-12/2021-12", "60"),
    )
    append(store, amended("robbery", baseline_period="2019-06/2019-06"))
    line = line_of(store, "robbery")
    assert (line.period, line.value, line.baseline_value, line.change_percent) == ("2021-12/2021-12", "60", "80", -25)


def test_amending_the_title_or_polarity_shows_at_once(store):
    append(store, measure("homicide"), recorded("homicide", BASELINE, "52"), recorded("homicide", Y2021, "46"))
    append(store, amended("homicide", title="Murder and other homicide", polarity="higher-is-better"))
    line = line_of(store, "homicide")
    assert (line.title, line.assessment) == ("Murder and other homicide", "worsening")


def test_figures_recorded_before_their_measure_is_defined_count_once_it_is(store):
    append(store, recorded("homicide", BASELINE, "52"), recorded("homicide", Y2021, "46"))
    assert scorecard(store) == []
    append(store, measure("homicide"))
    assert line_of(store, "homicide").change_percent == -12


def test_the_scorecard_can_be_filtered_by_area(store):
    append(store, measure("homicide"))
    append(
        store,
        recorded("homicide", Y2021, "46", area="west-midlands"),
        recorded("homicide", Y2021, "5", area="coventry"),
    )
    assert [line.area for line in scorecard(store)] == ["coventry", "west-midlands"]
    assert [line.area for line in scorecard(store, area="coventry")] == ["coventry"]


def test_the_series_for_a_trend_line_is_every_figure_of_the_baselines_length_in_period_order(store):
    append(store, measure("homicide"))
    append(
        store,
        recorded("homicide", Y2021, "46"),
        recorded("homicide", BASELINE, "52"),
        recorded("homicide", Y2020, "49"),
        recorded("homicide", "2021-12/2021-12", "4"),
    )
    projections = Projections(store)
    projections.catch_up()
    assert projections.series("homicide", "west-midlands") == [(BASELINE, "52"), (Y2020, "49"), (Y2021, "46")]


# -- the arithmetic ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "baseline", "percent"),
    [
        ("46", "52", -12),
        ("19018", "28675", -34),
        ("7509", "8945", -16),
        ("1005", "1000", 1),
        ("995", "1000", -1),
        ("1025", "1000", 3),
        ("975", "1000", -3),
        ("100.5", "100", 1),
        ("1", "3", -67),
        ("-5", "-10", 50),
    ],
)
def test_percentages_are_whole_and_rounded_half_away_from_zero(value, baseline, percent):
    assert line_change(value, baseline, "lower-is-better").change_percent == percent


@given(
    st.decimals(allow_nan=False, allow_infinity=False, places=3, min_value=-(10**9), max_value=10**9),
    st.decimals(allow_nan=False, allow_infinity=False, places=3, min_value=-(10**9), max_value=10**9),
)
def test_the_scorecard_and_the_narratives_bindings_agree_on_every_comparison(value, baseline):
    ours = line_change(str(value), str(baseline), "lower-is-better")
    theirs = comparisons.change_of(value, baseline)
    assert (Decimal(ours.change), ours.change_percent, ours.direction) == (
        theirs.change,
        theirs.change_percent,
        theirs.direction,
    )


def test_the_change_is_exact_however_many_digits():
    assert line_change("1" + "0" * 40, "1", "lower-is-better").change == "9" * 40


def test_a_mean_is_exact_and_rounded_half_away_from_zero():
    assert str(mean([Decimal("1"), Decimal("2")], 0)) == "2"
    assert str(mean([Decimal("-1"), Decimal("-2")], 0)) == "-2"
    assert str(mean([Decimal("1"), Decimal("1"), Decimal("2")], 2)) == "1.33"
