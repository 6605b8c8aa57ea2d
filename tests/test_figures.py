"""Figures: recorded once per measure, area and period; revised with a reason and a kind; withdrawn."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events import WrongExpectedVersion
from events.domain.errors import (
    FigureAlreadyRecorded,
    FigureIsWithdrawn,
    InvalidValue,
    MeasureIsRetired,
    NothingToChange,
    UnknownFigure,
    UnknownMeasure,
)
from events.domain.rules import figures as rules
from service.handlers.figures import record_figure, revise_figure, withdraw_figure
from service.handlers.loading import load
from service.handlers.measures import retire_measure

from .given import ANALYST, AREA, BASELINE, Y2021, a_figure, a_measure, types_of

STREAM = f"figure-homicide/{AREA}/{Y2021}"


def test_a_figure_is_recorded_in_its_own_stream_with_source_and_note(store):
    a_measure(store, "homicide")
    record_figure(store, "homicide", AREA, Y2021, "46", ANALYST, source="PRC", note="calendar 2021")

    (event,) = store.read_stream(STREAM)
    assert event.type == "FigureRecorded"
    assert event.data == {
        "measure": "homicide", "area": AREA, "period": Y2021, "value": "46", "source": "PRC", "note": "calendar 2021"
    }


def test_a_figure_for_an_undefined_or_retired_measure_is_refused(store):
    with pytest.raises(UnknownMeasure, match="'homicide' is not defined: define it first"):
        record_figure(store, "homicide", AREA, Y2021, "46", ANALYST)
    a_measure(store, "homicide")
    retire_measure(store, "homicide", "replaced", ANALYST)
    with pytest.raises(MeasureIsRetired, match="recording a figure for it is refused"):
        record_figure(store, "homicide", AREA, Y2021, "46", ANALYST)
    assert store.read_stream(STREAM) == []


def test_recording_a_figure_that_exists_is_refused_and_points_to_revising_it(store):
    a_measure(store, "homicide")
    a_figure(store, "homicide", Y2021, "46")
    with pytest.raises(FigureAlreadyRecorded) as refused:
        record_figure(store, "homicide", AREA, Y2021, "47", ANALYST)
    assert str(refused.value) == (
        f"figure homicide/{AREA}/{Y2021} is already recorded as 46: to change it to 47, revise it with a reason "
        "and a kind (revision for late data, correction for an error)"
    )


def test_a_revision_records_the_new_and_previous_value_its_kind_and_reason(store):
    a_measure(store, "homicide")
    a_figure(store, "homicide", Y2021, "46")
    revise_figure(store, "homicide", AREA, Y2021, "47", "correction", "one case reclassified", ANALYST)

    event = store.read_stream(STREAM)[-1]
    assert event.type == "FigureRevised"
    assert {k: event.data[k] for k in ("value", "previous_value", "kind", "reason")} == {
        "value": "47", "previous_value": "46", "kind": "correction", "reason": "one case reclassified"
    }


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_a_revision_without_a_reason_is_refused(store, reason):
    a_measure(store, "homicide")
    a_figure(store, "homicide", Y2021, "46")
    with pytest.raises(InvalidValue) as refused:
        revise_figure(store, "homicide", AREA, Y2021, "47", "revision", reason, ANALYST)
    assert str(refused.value).startswith(f"reason: expected a reason for revising homicide/{AREA}/{Y2021} from 46 to 47")
    assert types_of(store, STREAM) == ["FigureRecorded"]


def test_a_revision_is_either_a_revision_or_a_correction(store):
    a_measure(store, "homicide")
    a_figure(store, "homicide", Y2021, "46")
    with pytest.raises(InvalidValue, match="kind: expected one of revision, correction, found 'fix'"):
        revise_figure(store, "homicide", AREA, Y2021, "47", "fix", "typo", ANALYST)


@pytest.mark.parametrize("same", ["46", "46.0", "46.00"])
def test_revising_to_the_same_value_is_refused(store, same):
    a_measure(store, "homicide")
    a_figure(store, "homicide", Y2021, "46")
    with pytest.raises(NothingToChange, match="already 46: nothing to revise"):
        revise_figure(store, "homicide", AREA, Y2021, same, "revision", "late data", ANALYST)


def test_revising_a_figure_never_recorded_is_refused(store):
    a_measure(store, "homicide")
    with pytest.raises(UnknownFigure, match="record it first"):
        revise_figure(store, "homicide", AREA, Y2021, "47", "revision", "late data", ANALYST)


def test_revising_or_withdrawing_a_figure_of_another_area_names_the_areas_that_have_it(store):
    a_measure(store, "homicide")
    a_figure(store, "homicide", Y2021, "46", area="west-midlands")
    a_figure(store, "homicide", Y2021, "3", area="walsall")
    a_figure(store, "homicide", "2020-01/2020-12", "40", area="coventry")  # another period: not a hint
    hint = "recorded for area walsall, west-midlands: name the area"
    with pytest.raises(UnknownFigure, match=hint):
        revise_figure(store, "homicide", "force", Y2021, "47", "revision", "late data", ANALYST)
    with pytest.raises(UnknownFigure, match=hint):
        withdraw_figure(store, "homicide", "force", Y2021, "recorded in error", ANALYST)
    with pytest.raises(UnknownFigure, match=r"record it first$"):  # no other area has it: no hint
        revise_figure(store, "homicide", "force", "2019-01/2019-12", "47", "revision", "late data", ANALYST)


def test_a_withdrawal_needs_a_reason_and_a_withdrawn_figure_is_recorded_again_not_revised(store):
    a_measure(store, "homicide")
    a_figure(store, "homicide", Y2021, "46")
    with pytest.raises(InvalidValue, match="reason: expected a reason for withdrawing"):
        withdraw_figure(store, "homicide", AREA, Y2021, "", ANALYST)
    withdraw_figure(store, "homicide", AREA, Y2021, "published in error", ANALYST)

    with pytest.raises(FigureIsWithdrawn, match="record it again instead of revising it"):
        revise_figure(store, "homicide", AREA, Y2021, "47", "revision", "late", ANALYST)
    with pytest.raises(NothingToChange):
        withdraw_figure(store, "homicide", AREA, Y2021, "again", ANALYST)
    record_figure(store, "homicide", AREA, Y2021, "45", ANALYST)
    assert types_of(store, STREAM) == ["FigureRecorded", "FigureWithdrawn", "FigureRecorded"]
    assert load(store, STREAM, rules.fold)[0].value == "45"


def test_the_seeds_10_comma_space_579_is_refused_as_a_value_with_what_to_write_instead(store):
    a_measure(store, "vru-children-supported")
    with pytest.raises(InvalidValue) as refused:
        record_figure(store, "vru-children-supported", AREA, "2021-04/2021-12", "10, 579", ANALYST)
    assert str(refused.value) == (
        "value: expected an exact decimal such as 46 or 12.5, found '10, 579' "
        "(write 10579: no thousands separators or spaces)"
    )


@pytest.mark.parametrize("value", ["", "46.", ".5", "+46", "4.6e1", "NaN", "1/2", "12%", "£12", "046"])
def test_values_are_exact_decimals_written_plainly(store, value):
    a_measure(store, "homicide")
    with pytest.raises(InvalidValue, match="value: expected an exact decimal"):
        record_figure(store, "homicide", AREA, Y2021, value, ANALYST)


def test_values_keep_their_written_precision(store):
    a_measure(store, "satisfaction", unit="percent", polarity="higher-is-better")
    record_figure(store, "satisfaction", AREA, "2021-12/2021-12", "79.50", ANALYST)
    assert store.read_stream(f"figure-satisfaction/{AREA}/2021-12/2021-12")[0].data["value"] == "79.50"


@pytest.mark.parametrize(
    "period, expected",
    [
        ("2021-12/2021-01", "period: expected a period that ends on or after its start, found '2021-12/2021-01'"),
        ("2021-13/2021-12", "period: expected a period of real dates, found '2021-13/2021-12' (month must be in 1..12)"),
        ("2021", "period: expected a period such as 2021-01/2021-12 (months) or 2021-01-01/2021-12-31 (days), found '2021'"),
        ("Jan-Dec 2021", "period: expected a period such as 2021-01/2021-12"),
    ],
)
def test_a_malformed_or_backwards_period_is_refused(store, period, expected):
    a_measure(store, "homicide")
    with pytest.raises(InvalidValue) as refused:
        record_figure(store, "homicide", AREA, period, "46", ANALYST)
    assert str(refused.value).startswith(expected)


def test_areas_keep_figures_apart(store):
    a_measure(store, "homicide")
    a_figure(store, "homicide", Y2021, "46", area=AREA)
    a_figure(store, "homicide", Y2021, "7", area="coventry")
    assert load(store, f"figure-homicide/coventry/{Y2021}", rules.fold)[0].value == "7"


class RetiresTheMeasureWhileDeciding:
    """A store through which, just after the figure's stream is read, someone retires its measure."""

    def __init__(self, store):
        self._store = store
        self.fired = False

    def __getattr__(self, name):
        return getattr(self._store, name)

    def read_stream(self, stream, *args, **kwargs):
        events = self._store.read_stream(stream, *args, **kwargs)
        if stream.startswith("figure-") and not self.fired:
            self.fired = True
            retire_measure(self._store, "homicide", "retired meanwhile", ANALYST)
        return events


def test_a_figure_recorded_while_its_measure_is_being_retired_conflicts_instead_of_slipping_in(store):
    a_measure(store, "homicide")
    with pytest.raises(WrongExpectedVersion) as conflict:
        record_figure(RetiresTheMeasureWhileDeciding(store), "homicide", AREA, Y2021, "46", ANALYST)
    assert conflict.value.stream == "measure-homicide"
    assert store.read_stream(STREAM) == []


values_text = st.decimals(min_value=-10**6, max_value=10**6, places=2, allow_nan=False, allow_infinity=False).map(
    lambda d: format(d.normalize(), "f") if d != 0 else "0"
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=st.lists(values_text, min_size=1, max_size=6))
def test_a_figure_is_its_last_recorded_value_and_each_revision_names_the_one_before(store, history):
    """Property: recording then revising through any values leaves the figure at the last value
    that differs from its predecessor, with each revision's previous_value the value it replaced."""
    year = 1930 + store.head().position % 90  # a year that is over
    period = f"{year:04d}-01/{year:04d}-12"
    area = f"a{store.head().position}"
    if store.stream_version("measure-homicide") == 0:
        a_measure(store, "homicide")
    record_figure(store, "homicide", area, period, history[0], ANALYST)
    current = history[0]
    for value in history[1:]:
        try:
            revise_figure(store, "homicide", area, period, value, "revision", "late data", ANALYST)
            current = value
        except NothingToChange:
            assert Decimal(value) == Decimal(current)
    events = store.read_stream(f"figure-homicide/{area}/{period}")
    assert load(store, f"figure-homicide/{area}/{period}", rules.fold)[0].value == current
    for before, after in zip(events, events[1:]):
        assert after.data["previous_value"] == before.data["value"]
