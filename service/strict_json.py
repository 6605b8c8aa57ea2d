"""JSON as RFC 8259 defines it, read the same way from a file and from a request body.

Python's `json` accepts more than JSON: NaN and Infinity, the last of two equal keys, numbers
beyond any float (1e400 becomes inf), and nesting until the interpreter's recursion gives out.
Each is refused here with a message saying what was found, so no such value reaches a command
or an error message that has to echo it.
"""

from __future__ import annotations

import json
import math
from typing import Any, Callable

# Deeper than any document the service reads (an edition's body is 4 levels; an import row 2).
MAX_DEPTH = 32


class JSONRefused(ValueError):
    """Valid to Python's json module perhaps, but not JSON we accept: the message says why."""


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise JSONRefused(f"expected each key once in an object, found {key!r} twice")
        result[key] = value
    return result


def _constant(name: str) -> Any:
    raise JSONRefused(f"expected a JSON number, found {name} (JSON has no NaN or Infinity)")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JSONRefused(f"expected a number within a 64-bit float's range, found {text}")
    return value


def _depth_problem(data: Any) -> str | None:
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, (list, dict)):
            if depth > MAX_DEPTH:
                return f"expected JSON nested at most {MAX_DEPTH} levels deep, found deeper nesting"
            stack.extend((item, depth + 1) for item in (value.values() if isinstance(value, dict) else value))
    return None


def loads(text: str | bytes, *, parse_float: Callable[[str], Any] | None = None, parse_int: Callable[[str], Any] | None = None) -> Any:
    """Parse `text` as strict JSON; raises json.JSONDecodeError for bad syntax, JSONRefused for the rest."""
    try:
        data = json.loads(
            text,
            object_pairs_hook=_pairs,
            parse_constant=_constant,
            parse_float=parse_float or _finite_float,
            parse_int=parse_int,
        )
    except RecursionError:
        raise JSONRefused(f"expected JSON nested at most {MAX_DEPTH} levels deep, found deeper nesting") from None
    except ValueError as exc:
        if isinstance(exc, (JSONRefused, json.JSONDecodeError)):
            raise
        raise JSONRefused(f"expected JSON, found {exc}") from None  # e.g. an integer of more than 4,300 digits
    problem = _depth_problem(data)
    if problem is not None:
        raise JSONRefused(problem)
    return data
