"""Reading the streams a decision rests on, folded into state, with the version to append at."""

from __future__ import annotations

from typing import Callable, Iterable, TypeVar

from events import EventStore
from events.domain.figures import figure_stream
from events.domain.measures import measure_stream
from events.domain.rules import figures as figure_rules
from events.domain.rules import measures as measure_rules
from events.domain.rules.figures import Figure
from events.domain.rules.measures import Measure

S = TypeVar("S")


def load(store: EventStore, stream: str, fold: Callable[..., S], as_of_position: int | None = None) -> tuple[S, int]:
    events = store.read_stream(stream, as_of_position=as_of_position)
    return fold((event.type, event.data) for event in events), (events[-1].version if events else 0)


def load_many(
    store: EventStore, streams: Iterable[str], fold: Callable[..., S], as_of_position: int | None = None
) -> dict[str, tuple[S, int]]:
    """Each stream's state and version, read in as few queries as the store allows."""
    read = store.read_streams(streams, as_of_position=as_of_position)
    return {
        stream: (fold((event.type, event.data) for event in events), events[-1].version if events else 0)
        for stream, events in read.items()
    }


def load_measures(
    store: EventStore, measures: Iterable[str], as_of_position: int | None = None
) -> dict[str, tuple[Measure | None, int]]:
    names = list(dict.fromkeys(measures))
    loaded = load_many(store, [measure_stream(m) for m in names], measure_rules.fold, as_of_position)
    return {m: loaded[measure_stream(m)] for m in names}


def load_figures(
    store: EventStore, keys: Iterable[tuple[str, str, str]], as_of_position: int | None = None
) -> dict[tuple[str, str, str], tuple[Figure | None, int]]:
    keys = list(dict.fromkeys(keys))
    loaded = load_many(store, [figure_stream(*key) for key in keys], figure_rules.fold, as_of_position)
    return {key: loaded[figure_stream(*key)] for key in keys}


def all_measures(store: EventStore, as_of_position: int | None = None) -> list[Measure]:
    """Every measure ever defined, retired ones included, by id."""
    read = store.read_prefix("measure-", as_of_position=as_of_position)
    measures = [measure_rules.fold((e.type, e.data) for e in events) for events in read.values()]
    return sorted((m for m in measures if m is not None), key=lambda m: m.measure)
