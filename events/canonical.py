"""RFC 8785 (JSON Canonicalization Scheme) bytes, fast.

The `rfc8785` package is the reference; it is correct but pure Python. For the JSON our
event schemas allow (objects, arrays, strings, booleans, null, integers inside the I-JSON
safe range), RFC 8785 output equals what the standard library's C encoder writes with sorted
keys, no whitespace and no ASCII escaping. Where it might not (floats, integers beyond
2^53 - 1, characters whose UTF-16 order differs from their code point order, lone
surrogates) we hand the value to `rfc8785`, which either canonicalizes or refuses it.
"""

from __future__ import annotations

import json
import re
from typing import Any

import rfc8785

_encode = json.JSONEncoder(
    ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
).encode

# A number token (it follows ':', '[' or ',') with a fraction, an exponent or 16+ digits, or any
# character at or above U+E000 (sorting by UTF-16 code units differs from code points only
# there). A match inside a string is a false alarm that merely takes the slow path.
_NEEDS_REFERENCE = re.compile(r"[:\[,]-?(?:\d+[.eE]|\d{16})|^-?(?:\d+[.eE]|\d{16})|[\ue000-\U0010ffff]")


class CanonicalizationError(ValueError):
    """A value has no RFC 8785 form (NaN, an unsafe integer, a lone surrogate, ...)."""


def canonical_text(value: Any) -> str:
    """The RFC 8785 form of `value` as text."""
    try:
        text = _encode(value)
    except (TypeError, ValueError) as exc:
        raise CanonicalizationError(str(exc)) from exc
    if _NEEDS_REFERENCE.search(text) is None:
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            pass
        else:
            return text
    return _reference(value).decode("utf-8")


def canonical_bytes(value: Any) -> bytes:
    """The RFC 8785 form of `value` as UTF-8 bytes."""
    try:
        text = _encode(value)
    except (TypeError, ValueError) as exc:
        raise CanonicalizationError(str(exc)) from exc
    if _NEEDS_REFERENCE.search(text) is None:
        try:
            return text.encode("utf-8")
        except UnicodeEncodeError:
            pass
    return _reference(value)


def canonical_string(value: str) -> str:
    """The RFC 8785 form of one JSON string (quotes included)."""
    return _encode(value)


def _reference(value: Any) -> bytes:
    try:
        return rfc8785.dumps(value)
    except Exception as exc:  # the package raises its own hierarchy, and TypeError
        raise CanonicalizationError(str(exc)) from exc
