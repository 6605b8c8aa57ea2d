"""Event types are declared in code: a name, a schema (a pydantic model) and a version.

A type whose schema changes gets a new version and an upcaster from the previous one, so
events written long ago stay readable in today's shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, TypeVar

from pydantic import BaseModel, ValidationError

from .errors import InvalidEvent, UnknownEventType

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]
M = TypeVar("M", bound=type[BaseModel])


@dataclass(frozen=True)
class EventType:
    name: str
    version: int
    model: type[BaseModel]
    # upcasters[n] turns data of schema version n into version n + 1.
    upcasters: dict[int, Upcaster] = field(default_factory=dict)

    def upcast(self, schema_version: int, data: dict[str, Any]) -> dict[str, Any]:
        for version in range(schema_version, self.version):
            data = self.upcasters[version](data)
        return data


class EventRegistry:
    """The event types one application may write and read."""

    def __init__(self) -> None:
        self._types: dict[str, EventType] = {}
        self._by_model: dict[type[BaseModel], EventType] = {}

    def event(self, name: str, version: int = 1, upcasters: dict[int, Upcaster] | None = None) -> Callable[[M], M]:
        """Class decorator declaring a pydantic model as the schema of event type `name`."""

        def declare(model: M) -> M:
            self.declare(EventType(name, version, model, dict(upcasters or {})))
            return model

        return declare

    def declare(self, event_type: EventType) -> None:
        if event_type.name in self._types:
            raise ValueError(f"event type {event_type.name!r} is declared twice")
        missing = [v for v in range(1, event_type.version) if v not in event_type.upcasters]
        if missing:
            raise ValueError(f"event type {event_type.name!r} v{event_type.version} lacks upcasters from versions {missing}")
        self._types[event_type.name] = event_type
        self._by_model[event_type.model] = event_type

    def include(self, other: "EventRegistry") -> None:
        for event_type in other._types.values():
            self.declare(event_type)

    def __contains__(self, name: str) -> bool:
        return name in self._types

    def __iter__(self):
        return iter(self._types.values())

    def get(self, name: str) -> EventType:
        try:
            return self._types[name]
        except KeyError:
            raise UnknownEventType(name, list(self._types)) from None

    def for_model(self, model: type[BaseModel]) -> EventType:
        try:
            return self._by_model[model]
        except KeyError:
            raise UnknownEventType(model.__name__, list(self._types)) from None

    def validate(self, name: str, data: Any, index: int | None = None) -> EventType:
        event_type = self.get(name)
        try:
            event_type.model.__pydantic_validator__.validate_python(data)
        except ValidationError as exc:
            problems = [(".".join(str(p) for p in err["loc"]) or "data", err["msg"]) for err in exc.errors()]
            raise InvalidEvent(name, problems, index) from None
        return event_type

    def upcast(self, name: str, schema_version: int, data: dict[str, Any]) -> dict[str, Any]:
        event_type = self._types.get(name)
        if event_type is None or schema_version >= event_type.version:
            return data
        return event_type.upcast(schema_version, data)
