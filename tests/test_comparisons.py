"""Comparisons as forces state them: percentages change in percentage points, named comparisons
(baseline, the previous period, a year earlier), and each edition's number style."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from events.domain.comparisons import NumberStyle, change_of, comparison, comparison_period, percent_change
from events.domain.errors import InvalidValue, NothingToChange
from events.projections import Projections
from service.handlers import editions

from .given import ANALYST, AREA, BASELINE, a_figure, a_measure, an_edition

E = "2022-02"
SATISFACTION = dict(unit="percent", polarity="higher-is-better", priority="victim-satisfaction")


def scorecard(store):
    projections = Projections(store)
    projections.catch_up()
    return projections.scorecard_lines()


def rendered(store, text):
    editions.write_paragraph(store, E, 1, section="force-statement", text=text, metadata=ANALYST)
    view = editions.view_edition(store, E)
    return view.rendered(text), [str(p) for p in view.problems() if p.kind == "binding"]


# -- 1. percentages change in percentage points -----------------------------------------------------


def test_a_percentage_measure_changes_in_percentage_points_on_the_scorecard_never_in_percent(store):
    a_measure(store, "satisfaction", **SATISFACTION)
    a_figure(store, "satisfaction", BASELINE, "64.7")
    a_figure(store, "satisfaction", "2021-01/2021-12", "75.0")
    (line,) = scorecard(store)
    assert (line.change, line.change_unit, line.change_percent) == ("10.3", "percentage-points", None)
    assert line.assessment == "improving"


def test_a_rate_changes_in_points_per_1000_and_a_count_in_percent(store):
    assert change_of("4.2", "4.6", "rate-per-1000").percent() is None
    assert change_of("1.5", "1.0", "percentage-points").percent() is None
    assert change_of("46", "52", "count").percent() == -12
    assert NumberStyle().signed(Decimal("-0.4"), "rate-per-1000") == "-0.4 points per 1,000"
    assert NumberStyle().size(Decimal("1"), "percent") == "1 percentage point"


def test_a_bound_percent_of_a_percentage_is_refused_with_the_binding_to_use_instead(store):
    a_measure(store, "satisfaction", **SATISFACTION)
    a_figure(store, "satisfaction", BASELINE, "64.7")
    a_figure(store, "satisfaction", "2021-01/2021-12", "75.0")
    an_edition(store)
    with pytest.raises(InvalidValue, match=r"change is in percentage points.*\{\{difference:satisfaction:2021-01/2021-12\}\}"):
        rendered(store, "Satisfaction rose by {{percent:satisfaction:2021-01/2021-12}}.")
    text, problems = rendered(
        store, "Satisfaction is {{direction:satisfaction:2021-01/2021-12}} by {{difference:satisfaction:2021-01/2021-12}}."
    )
    assert text == "Satisfaction is increase by 10.3 percentage points."
    assert problems == []


def test_percentage_points_is_a_unit_of_its_own(store):
    a_measure(store, "satisfaction-gap", unit="percentage-points", polarity="lower-is-better")
    a_figure(store, "satisfaction-gap", BASELINE, "6.5")
    a_figure(store, "satisfaction-gap", "2021-01/2021-12", "4.0")
    (line,) = scorecard(store)
    assert (line.unit, line.change, line.change_unit, line.change_percent) == ("percentage-points", "-2.5", "percentage-points", None)


# -- 2. named comparisons ---------------------------------------------------------------------------


def test_the_previous_period_and_a_year_earlier_have_the_latest_periods_length():
    assert comparison_period("previous", "2022-01/2022-12", BASELINE) == "2021-01/2021-12"
    assert comparison_period("previous", "2022-10/2022-12", BASELINE) == "2022-07/2022-09"
    assert comparison_period("year-earlier", "2022-10/2022-12", BASELINE) == "2021-10/2021-12"
    assert comparison_period("previous", "2022-02-01/2022-02-07", BASELINE) == "2022-01-25/2022-01-31"
    assert comparison_period("baseline", BASELINE, BASELINE) is None  # the baseline is not compared with itself
    assert comparison("previous", "2022-01/2022-12", BASELINE).label == "the previous 12 months (January to December 2021)"


@given(st.integers(2000, 2030), st.integers(1, 12), st.sampled_from([1, 3, 6, 12]))
def test_a_previous_period_ends_the_day_before_and_is_as_long(year, month, months):
    from events.domain.periods import Period

    start = f"{year:04d}-{month:02d}"
    end_index = year * 12 + month - 1 + months - 1
    period = f"{start}/{end_index // 12:04d}-{end_index % 12 + 1:02d}"
    previous = Period.parse(comparison_period("previous", period, BASELINE))
    current = Period.parse(period)
    assert previous.months == current.months
    assert (current.start - previous.end).days == 1


def test_bindings_name_their_comparison_and_read_its_figure_change_and_period(store):
    a_measure(store, "burglary")
    a_figure(store, "burglary", BASELINE, "28675")
    a_figure(store, "burglary", "2021-01/2021-12", "17000")
    a_figure(store, "burglary", "2022-01/2022-12", "18093")
    an_edition(store)
    text, problems = rendered(
        store,
        "{{value:burglary:2022-01/2022-12}} burglaries, {{change@previous:burglary:2022-01/2022-12}} "
        "({{percent@previous:burglary:2022-01/2022-12}}) on {{period@previous:burglary:2022-01/2022-12}} "
        "({{value@previous:burglary:2022-01/2022-12}}), a {{percent:burglary:2022-01/2022-12}} "
        "{{direction:burglary:2022-01/2022-12}} on the baseline.",
    )
    assert text == (
        "18,093 burglaries, 1,093 (6%) on January to December 2021 (17,000), a 37% reduction on the baseline."
    )
    assert problems == []


def test_on_the_previous_12_months_binds_every_number_and_its_length_is_no_typed_number(store):
    a_measure(store, "burglary")
    a_figure(store, "burglary", "2021-01/2021-12", "17000")
    a_figure(store, "burglary", "2022-01/2022-12", "18093")
    an_edition(store)
    text = "+{{change@previous:burglary:2022-01/2022-12}}, +{{percent@previous:burglary:2022-01/2022-12}} on the previous 12 months"
    editions.write_paragraph(store, E, 1, section="force-statement", text=text, metadata=ANALYST)
    view = editions.view_edition(store, E)
    assert view.rendered(text) == "+1,093, +6% on the previous 12 months"
    assert [str(p) for p in view.problems() if p.kind in ("literal", "binding")] == []
    # A count typed beside it is still flagged.
    editions.revise_paragraph(store, E, 1, text=text + ", 1,093 more", reason="typed", metadata=ANALYST)
    assert [p.kind for p in editions.view_edition(store, E).problems() if p.kind == "literal"] == ["literal"]


def test_a_comparison_without_its_figure_is_a_problem_naming_the_missing_figure(store):
    a_measure(store, "burglary")
    a_figure(store, "burglary", "2022-01/2022-12", "18093")
    an_edition(store)
    _, problems = rendered(store, "{{percent@year-earlier:burglary:2022-01/2022-12}}")
    assert problems == [
        "paragraph 1: {{percent@year-earlier:burglary:2022-01/2022-12}}: no year-earlier figure "
        f"burglary/{AREA}/2021-01/2021-12 is recorded"
    ]


# -- 3. the edition's number style ----------------------------------------------------------------


def test_an_edition_prints_one_decimal_percents_and_bare_counts_when_it_chooses_so(store):
    a_measure(store, "burglary")
    a_figure(store, "burglary", BASELINE, "28675")
    a_figure(store, "burglary", "2020-10/2021-09", "19018")
    an_edition(store)
    text = "{{value:burglary:2020-10/2021-09}}, a {{percent:burglary:2020-10/2021-09}} {{direction:burglary:2020-10/2021-09}}"
    assert rendered(store, text)[0] == "19,018, a 34% reduction"  # the seed's style by default
    editions.choose_style(store, E, percent_places=1, separators=False, reason=None, metadata=ANALYST)
    assert editions.view_edition(store, E).rendered(text) == "19018, a 33.7% reduction"
    with pytest.raises(NothingToChange):
        editions.choose_style(store, E, percent_places=1, separators=False, reason=None, metadata=ANALYST)
    with pytest.raises(InvalidValue, match="percent_places: expected a whole number of decimal places from 0 to 3"):
        editions.choose_style(store, E, percent_places=7, separators=False, reason=None, metadata=ANALYST)


@given(st.integers(-10**6, 10**6), st.integers(1, 10**6), st.integers(0, 3))
def test_percent_change_at_any_places_is_the_exact_ratio_rounded_half_away_from_zero(change, baseline, places):
    from decimal import ROUND_HALF_UP, localcontext

    with localcontext() as ctx:
        ctx.prec = 60
        exact = Decimal(change) * 100 / Decimal(baseline)
        expected = exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    assert Decimal(percent_change(Decimal(change), Decimal(baseline), places)) == expected


def test_the_published_scorecard_shows_the_previous_period_with_its_label(store):
    from events.projections.model import ScorecardLine
    from service.handlers.editions_published import compared_with

    line = ScorecardLine(
        "burglary", AREA, "Burglary", "count", "lower-is-better", "neighbourhood-crime", "2022-01/2022-12", "18093",
        BASELINE, "28675", "-10582", -37, "reduction", "improving", None, None,
    )  # fmt: skip
    series = (("2021-01/2021-12", "17000"), ("2022-01/2022-12", "18093"))
    (previous,) = compared_with(line, series)
    assert (previous.comparison, previous.label, previous.change, previous.change_percent, previous.assessment) == (
        "previous", "the previous 12 months (January to December 2021)", "1093", 6, "worsening",
    )  # fmt: skip
