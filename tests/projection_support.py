"""Givens for the projection tests: domain events appended directly, as any writer could have.

The projections must fold whatever the log holds, so these bypass the command handlers.
"""

from __future__ import annotations

from typing import Any

from events import EventStore, Metadata, NewEvent

AREA = "west-midlands"
BASELINE = "2018-07/2019-06"
Y2021 = "2021-01/2021-12"


def measure(
    measure: str = "homicide", polarity: str = "lower-is-better", baseline: str = BASELINE, **extra: Any
) -> NewEvent:
    data = {
        "measure": measure,
        "title": measure.replace("-", " ").capitalize(),
        "priority": "homicide" if measure == "homicide" else "neighbourhood-crime",
        "unit": "count",
        "polarity": polarity,
        "baseline_period": baseline,
        **extra,
    }
    return NewEvent("MeasureDefined", data)


def amended(measure: str, reason: str = "definition changed", **fields: Any) -> NewEvent:
    return NewEvent("MeasureAmended", {"measure": measure, "reason": reason, **fields})


def retired(measure: str, reason: str = "no longer collected") -> NewEvent:
    return NewEvent("MeasureRetired", {"measure": measure, "reason": reason})


def recorded(measure: str, period: str, value: str, area: str = AREA, **extra: Any) -> NewEvent:
    return NewEvent("FigureRecorded", {"measure": measure, "area": area, "period": period, "value": value, **extra})


def revised(
    measure: str,
    period: str,
    value: str,
    previous: str,
    kind: str = "revision",
    reason: str = "late returns",
    area: str = AREA,
) -> NewEvent:
    return NewEvent(
        "FigureRevised",
        {
            "measure": measure,
            "area": area,
            "period": period,
            "value": value,
            "previous_value": previous,
            "kind": kind,
            "reason": reason,
        },
    )


def withdrawn(measure: str, period: str, reason: str = "recorded in error", area: str = AREA) -> NewEvent:
    return NewEvent("FigureWithdrawn", {"measure": measure, "area": area, "period": period, "reason": reason})


def opened(edition: str = "2022-02", area: str = AREA) -> NewEvent:
    return NewEvent(
        "EditionOpened",
        {
            "edition": edition,
            "area": area,
            "title": f"Statement {edition}",
            "authors": [{"name": "Harry Barton", "job_title": "Head of Strategy"}],
            "lead_contact": {"name": "Stuart Gardner"},
            "sections": [{"section": "force-statement", "title": "Force statement"}],
        },
    )


def written(number: int, text: str, edition: str = "2022-02", section: str = "force-statement") -> NewEvent:
    return NewEvent("ParagraphWritten", {"edition": edition, "number": number, "section": section, "text": text})


def rewritten(number: int, text: str, reason: str = "clearer", edition: str = "2022-02") -> NewEvent:
    return NewEvent("ParagraphRevised", {"edition": edition, "number": number, "text": text, "reason": reason})


def removed(number: int, reason: str = "duplicated", edition: str = "2022-02") -> NewEvent:
    return NewEvent("ParagraphRemoved", {"edition": edition, "number": number, "reason": reason})


def approved(store: EventStore, edition: str = "2022-02", revision: int = 1, reason: str = "") -> NewEvent:
    """An approval freezing the edition at the log's current head."""
    head = store.head()
    return NewEvent(
        "EditionApproved",
        {"edition": edition, "revision": revision, "position": head.position, "head_hash": head.hash, "reason": reason},
    )


def append(store: EventStore, *events: NewEvent, actor: str = "analyst@wmp", stream: str | None = None) -> int:
    """Append `events` in one go; the last position."""
    name = stream or f"test-{store.head().position + 1}"
    return store.append(
        name, list(events), expected_version=None, metadata=Metadata(actor=actor, source="test")
    ).last_position
