"""Event types used only by the store's tests."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from events import EventRegistry, NewEvent
from events.domain import registry as domain_registry

registry = EventRegistry()
registry.include(domain_registry)


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid")


@registry.event("ThingCounted")
class ThingCounted(_Event):
    thing: str
    count: int
    tags: list[str] = []
    detail: dict[str, Any] | None = None
    flag: bool | None = None


def counted(thing: str = "widget", count: int = 1, **extra: Any) -> NewEvent:
    return NewEvent("ThingCounted", {"thing": thing, "count": count, **extra})
