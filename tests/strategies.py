"""Hypothesis strategies that follow the shape of the event schemas (pydantic models).

String constraints (patterns, periods) are ignored on purpose: canonical bytes depend on the
JSON shape and on the characters, so any text is a harder test than valid text.
"""

from __future__ import annotations

import types
import typing

from hypothesis import strategies as st
from pydantic import BaseModel

SAFE_INT = st.integers(-(2**53) + 1, 2**53 - 1)


def for_annotation(annotation) -> st.SearchStrategy:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return for_annotation(args[0])
    if origin in (typing.Union, types.UnionType):
        return st.one_of([for_annotation(arg) for arg in args])
    if origin is typing.Literal:
        return st.sampled_from(args)
    if origin is list:
        return st.lists(for_annotation(args[0]), max_size=3)
    if origin is dict:
        return st.dictionaries(st.text(), for_annotation(args[1]), max_size=3)
    if annotation is type(None):
        return st.none()
    if annotation is bool:
        return st.booleans()
    if annotation is int:
        return SAFE_INT
    if annotation is str:
        return st.text()
    if annotation is typing.Any:
        return st.none() | st.booleans() | SAFE_INT | st.text()
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return model_data(annotation)
    raise NotImplementedError(f"no strategy for {annotation!r}")


def model_data(model: type[BaseModel]) -> st.SearchStrategy[dict]:
    """JSON data of the model's shape: required fields always, optional ones sometimes."""
    required = {name: for_annotation(field.annotation) for name, field in model.model_fields.items() if field.is_required()}
    optional = {name: for_annotation(field.annotation) for name, field in model.model_fields.items() if not field.is_required()}
    return st.fixed_dictionaries(required, optional=optional)
