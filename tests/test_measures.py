"""Measures: defined once, amended with a reason, retired with a reason."""

from __future__ import annotations

import pytest

from events import WrongExpectedVersion
from events.domain.errors import InvalidValue, MeasureAlreadyDefined, MeasureIsRetired, NothingToChange, UnknownMeasure
from events.domain.rules import measures as rules
from service.handlers.loading import all_measures, load
from service.handlers.measures import amend_measure, define_measure, retire_measure

from .given import ANALYST, HOMICIDE, a_measure, types_of


def test_defining_a_measure_records_its_details_and_who_defined_it(store):
    define_measure(store, "homicide", HOMICIDE, ANALYST)

    (event,) = store.read_stream("measure-homicide")
    assert event.type == "MeasureDefined"
    assert event.data == {"measure": "homicide", **HOMICIDE}
    assert event.metadata["actor"] == "analyst@wmp"


def test_defining_an_existing_measure_is_refused_and_points_to_amending_it(store):
    a_measure(store, "homicide")
    with pytest.raises(MeasureAlreadyDefined, match="already defined: amend it"):
        define_measure(store, "homicide", HOMICIDE, ANALYST)
    assert types_of(store, "measure-homicide") == ["MeasureDefined"]


@pytest.mark.parametrize(
    "field, value, expected",
    [
        ("priority", "murder", "priority: expected one of homicide, serious-violence"),
        ("unit", "people", "unit: expected one of count, rate-per-1000, percent, money, percentage-points, found 'people'"),
        ("polarity", "down", "polarity: expected one of lower-is-better, higher-is-better"),
        ("baseline_period", "2019-06/2018-07", "baseline_period: expected a period that ends on or after its start"),
        ("baseline_period", "the last 12 months", "baseline_period: expected a period such as 2021-01/2021-12"),
        ("title", " ", "title: expected some text"),
    ],
)
def test_a_definition_with_a_bad_detail_is_refused_naming_the_detail(store, field, value, expected):
    with pytest.raises(InvalidValue) as refused:
        define_measure(store, "homicide", {**HOMICIDE, field: value}, ANALYST)
    assert str(refused.value).startswith(expected)
    assert refused.value.field == field
    assert store.head().position == 0


def test_a_measure_id_is_a_slug(store):
    with pytest.raises(InvalidValue, match="measure: expected an id of lower-case letters"):
        define_measure(store, "Knife Crime", HOMICIDE, ANALYST)


def test_amending_records_only_the_details_that_change_with_the_reason(store):
    a_measure(store, "homicide")
    amend_measure(store, "homicide", "Home Office renamed it", {"title": "Murder and other homicide", "unit": "count"}, ANALYST)

    event = store.read_stream("measure-homicide")[-1]
    assert event.type == "MeasureAmended"
    changed = {key: value for key, value in event.data.items() if value is not None}
    assert changed == {"measure": "homicide", "reason": "Home Office renamed it", "title": "Murder and other homicide"}
    state, version = load(store, "measure-homicide", rules.fold)
    assert (state.title, version) == ("Murder and other homicide", 2)


def test_amending_needs_a_reason_and_a_change(store):
    a_measure(store, "homicide")
    with pytest.raises(InvalidValue, match="reason: expected a reason for amending measure homicide"):
        amend_measure(store, "homicide", "", {"title": "Murder"}, ANALYST)
    with pytest.raises(NothingToChange):
        amend_measure(store, "homicide", "no change", {"unit": "count"}, ANALYST)
    with pytest.raises(UnknownMeasure, match="define it first"):
        amend_measure(store, "robbery", "why", {"title": "Robbery"}, ANALYST)


def test_a_retired_measure_cannot_be_amended_or_retired_again(store):
    a_measure(store, "homicide")
    with pytest.raises(InvalidValue, match="reason"):
        retire_measure(store, "homicide", None, ANALYST)
    retire_measure(store, "homicide", "replaced by homicide-recorded", ANALYST)

    with pytest.raises(MeasureIsRetired, match="was retired \\(replaced by homicide-recorded\\): amending it is refused"):
        amend_measure(store, "homicide", "why", {"title": "Murder"}, ANALYST)
    with pytest.raises(NothingToChange, match="already retired"):
        retire_measure(store, "homicide", "again", ANALYST)
    assert types_of(store, "measure-homicide") == ["MeasureDefined", "MeasureRetired"]


def test_two_people_deciding_on_the_same_version_of_a_measure_conflict_rather_than_clobber(store):
    a_measure(store, "homicide")
    seen, version = load(store, "measure-homicide", rules.fold)
    amend_measure(store, "homicide", "first writer", {"title": "Homicide (first)"}, ANALYST)

    decided = rules.amend(seen, "homicide", "second writer", {"title": "Homicide (second)"})
    from events import NewEvent

    with pytest.raises(WrongExpectedVersion):
        store.append("measure-homicide", [NewEvent.of(decided, store.registry)], version, metadata=ANALYST)
    assert load(store, "measure-homicide", rules.fold)[0].title == "Homicide (first)"


def test_all_measures_lists_every_measure_with_retired_ones_marked(store):
    a_measure(store, "robbery", priority="neighbourhood-crime")
    a_measure(store, "homicide")
    retire_measure(store, "robbery", "merged", ANALYST)
    assert [(m.measure, m.retired) for m in all_measures(store)] == [("homicide", False), ("robbery", True)]
