"""An event dumped from a frozen instance of its type's schema (`NewEvent.of`) is not validated again
by the store: the model validated it when it was built. Every other event is, whoever made it, and
still refuses naming the event."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ConfigDict, field_validator

from events import EventRegistry, EventStore, InvalidEvent, NewEvent

checked: list[int] = []


class Tally(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    count: int

    @field_validator("count")
    @classmethod
    def counted(cls, value: int) -> int:
        checked.append(value)
        if value < 0:
            raise ValueError("a count is 0 or more")
        return value


class LooseTally(BaseModel):  # not frozen: a value may be assigned after validation
    model_config = ConfigDict(extra="forbid", validate_assignment=False)
    count: int


class OtherTally(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    count: str


registry = EventRegistry()
registry.event("Tallied")(Tally)
registry.event("LooselyTallied")(LooseTally)
elsewhere = EventRegistry()  # another program's registry: the same name, another schema
elsewhere.event("Tallied")(OtherTally)


@pytest.fixture
def tallies(engine, clock) -> EventStore:
    checked.clear()
    return EventStore(engine, registry, clock=clock)


@pytest.mark.parametrize("size", [1, 3])
def test_events_dumped_from_frozen_models_are_appended_without_validating_them_again(tallies, size):
    events = [NewEvent.of(Tally(count=n), registry) for n in range(size)]
    assert checked == list(range(size))  # each built once

    tallies.append_many([(f"t-{n}", [event], 0) for n, event in enumerate(events)])

    assert checked == list(range(size))
    assert [e.data for e in tallies.read_all()] == [{"count": n} for n in range(size)]


@pytest.mark.parametrize("size", [1, 3])
def test_the_same_data_as_a_plain_new_event_is_validated(tallies, size):
    tallies.append_many([(f"t-{n}", [NewEvent("Tallied", {"count": n})], 0) for n in range(size)])

    assert sorted(checked) == list(range(size))


def test_a_plain_invalid_event_among_model_events_is_refused_naming_it_and_nothing_is_written(tallies):
    events = [
        NewEvent.of(Tally(count=1), registry),
        NewEvent("Tallied", {"count": -1}),
        NewEvent.of(Tally(count=2), registry),
    ]

    with pytest.raises(InvalidEvent) as invalid:
        tallies.append("t", events, expected_version=0)

    assert invalid.value.index == 1
    assert tallies.head().position == 0


def test_a_model_event_with_its_data_replaced_is_validated_again(tallies):
    event = NewEvent.of(Tally(count=1), registry)._replace(data={"count": -5})

    with pytest.raises(InvalidEvent):
        tallies.append("t", [event], expected_version=0)
    with pytest.raises(InvalidEvent):
        tallies.append_many([("t", [event], 0), ("u", [NewEvent.of(Tally(count=2), registry)], 0)])
    assert tallies.head().position == 0


@pytest.mark.filterwarnings("ignore:Pydantic serializer warnings")
def test_a_model_that_is_not_frozen_is_validated_again(tallies):
    loose = LooseTally(count=1)
    loose.count = "many"  # assigned, never validated

    with pytest.raises(InvalidEvent):
        tallies.append("t", [NewEvent.of(loose, registry)], expected_version=0)
    assert tallies.head().position == 0


def test_a_store_whose_registry_declares_another_schema_for_the_type_validates_against_its_own(engine, clock):
    other = EventStore(engine, elsewhere, clock=clock)
    event = NewEvent.of(Tally(count=1), registry)  # an int where the store's schema says text

    with pytest.raises(InvalidEvent):
        other.append("t", [event], expected_version=0)
    with pytest.raises(InvalidEvent):
        other.append_many([("t", [event], 0), ("u", [NewEvent("Tallied", {"count": "2"})], 0)])
    assert other.head().position == 0
