"""Events about to be appended, checked and made canonical: each one's type and data validated
against the registry (a batch of one plain type in one pydantic call), its data as canonical JSON.

An event `NewEvent.of` dumped from an instance of the very schema the registry declares for its
type (a `ModelEvent`) was validated when that instance was built, and is not validated again;
every other event (a plain NewEvent: data from a file, a test, another program) is."""

from __future__ import annotations

from typing import Any, Callable, Sequence

from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic_core import SchemaValidator, core_schema

from .canonical import CanonicalizationError, canonical_lines, canonical_text
from .records import ModelEvent, NewEvent
from .types import EventRegistry


# Validators per event schema, of one event's data and of a list of them (a batch of one type
# is validated in one call).
_VALIDATORS: dict[type, tuple[Callable[[Any], Any], Callable[[list], Any]]] = {}


def _validators(model: type[BaseModel]) -> tuple[Callable[[Any], Any], Callable[[list], Any]]:
    """Validators of one event's data and of a list of them, raising exactly where `model`'s own
    validator (and TypeAdapter(list[model])) would.

    A plain model (no model validators, no post-init, no custom __init__, no definitions)
    is its fields' schema wrapped in "build an instance": validating the fields alone, with
    the model's config, checks the same and skips building the instances nobody keeps.
    """
    found = _VALIDATORS.get(model)
    if found is None:
        schema = model.__pydantic_core_schema__
        plain = (
            schema.get("type") == "model"
            and schema.get("schema", {}).get("type") == "model-fields"
            and not schema.get("custom_init")
            and not schema.get("root_model")
            and schema.get("post_init") is None
        )
        if plain:
            fields, config = schema["schema"], schema.get("config")
            found = (
                SchemaValidator(fields, config).validate_python,
                SchemaValidator(core_schema.list_schema(fields), config).validate_python,
            )
        else:
            found = (model.__pydantic_validator__.validate_python, TypeAdapter(list[model]).validate_python)
        _VALIDATORS[model] = found
    return found


def prepare(registry: EventRegistry, events: Sequence[NewEvent]) -> tuple[list[str], list[int], list[str], list[bytes] | None]:
    """(types, schema versions, canonical data as text and, for a batch, as UTF-8 bytes) of
    events about to be appended.

    Refuses an unknown type or invalid data naming the first offending event, exactly as
    checking them one by one (validate, then canonicalise) would: the batch paths below
    only ever stand in for that loop when it would have found nothing.
    """
    if len(events) == 1:  # the commonest append, without the batch machinery
        (event,) = events
        return [event.type], [_validated_one(registry, event)], [canonical_text(event.data)], None
    types = [event.type for event in events]
    datas = [event.data for event in events]
    try:
        encoded = canonical_lines(datas)
    except CanonicalizationError:
        encoded = None
    validated = _validated_by_models(registry, events)
    schema_versions = None if encoded is None else _validated_batch(registry, types, datas, validated)
    if schema_versions is not None:
        return types, schema_versions, [line.decode() for line in encoded], encoded
    validate = registry.validate
    schema_versions = []
    texts = []
    for index, (name, data, version) in enumerate(zip(types, datas, validated)):
        schema_versions.append(validate(name, data, index).version if version is None else version)
        texts.append(canonical_text(data))
    return types, schema_versions, texts, None


def _validated_by_models(registry: EventRegistry, events: Sequence[NewEvent]) -> list[int | None]:
    """Per event, its schema version if its model validated it already (a ModelEvent of the schema
    `registry` declares for its type), else None: it is to be validated here."""
    if type(registry).validate is not EventRegistry.validate:  # a registry with checks of its own
        return [None] * len(events)
    known: dict[tuple[str, type], int | None] = {}
    versions: list[int | None] = []
    for event in events:
        if type(event) is not ModelEvent:
            versions.append(None)
            continue
        key = (event.type, event.schema)
        if key not in known:
            event_type = registry.get(event.type) if event.type in registry else None
            known[key] = event_type.version if event_type is not None and event_type.model is event.schema else None
        versions.append(known[key])
    return versions


def _validated_one(registry: EventRegistry, event: NewEvent) -> int:
    """The schema version of one valid event; refuses it as the registry's validate would."""
    if type(registry).validate is EventRegistry.validate:
        (version,) = _validated_by_models(registry, [event])
        if version is not None:
            return version
        event_type = registry.get(event.type)
        try:
            _validators(event_type.model)[0](event.data)
            return event_type.version
        except ValidationError:
            pass  # the registry's validate says what is wrong
    return registry.validate(event.type, event.data, 0).version


def _validated_batch(registry: EventRegistry, types: list[str], datas: list, validated: list[int | None]) -> list[int] | None:
    """Schema versions of a batch whose events still to validate (None in `validated`) are of one
    type, validated in one call; None to go one by one."""
    if type(registry).validate is not EventRegistry.validate:
        return None
    rest = [index for index, version in enumerate(validated) if version is None]
    if not rest:
        return validated  # type: ignore[return-value]  (no None left)
    if len(rest) < 2:
        return None
    name = types[rest[0]]
    if not isinstance(name, str) or any(types[index] != name for index in rest):
        return None
    event_type = registry.get(name)
    try:
        _validators(event_type.model)[1](datas if len(rest) == len(datas) else [datas[index] for index in rest])
    except ValidationError:
        return None  # the one-by-one pass names the first invalid event
    return [event_type.version if version is None else version for version in validated]
