"""RFC 8785 (JSON Canonicalization Scheme) bytes, fast.

The `rfc8785` package is the reference; it is correct but pure Python (about 40,000 events/s).
msgspec's JSON encoder with sorted keys writes exactly the RFC 8785 form of the JSON the event
schemas allow (objects with text keys, arrays, strings, booleans, null, integers within the
I-JSON safe range): no whitespace, UTF-8 without escaping beyond `"`, `\\` and control
characters, the same short escapes and lowercase `\\u00xx`. Where the two might differ the
text goes to `rfc8785`, which either canonicalizes or refuses it:

- a number with a fraction or an exponent (RFC 8785 formats floats as ECMAScript does), or with
  16 or more digits (RFC 8785 refuses integers beyond 2^53 - 1);
- any character at or above U+E000: RFC 8785 sorts keys by UTF-16 code units, which differs from
  code point order only there;
- `null`, which is also what msgspec writes for NaN and infinities: those values are refused.

What is canonicalized is the JSON value msgspec writes, so values it has a standard JSON form
for (datetimes, UUIDs, enum members, ...) are written in that form whichever path they take.
"""

from __future__ import annotations

import math
import re
from typing import Any, Iterable

import msgspec
import rfc8785

try:
    from _json import encode_basestring as _quote
except ImportError:  # pragma: no cover - CPython always has the C accelerator
    from json.encoder import encode_basestring as _quote

_encoder = msgspec.json.Encoder(order="sorted")
_encode = _encoder.encode
_encode_lines = _encoder.encode_lines

# With every digit made "0" and every "e" or "E" made ".", a number with a fraction or an
# exponent shows as "0.", a long integer as sixteen zeros. A match inside a string is a false
# alarm that merely takes the slow path.
_MARK_NUMBERS = bytes.maketrans(b"123456789eE", b"000000000..")
_SIXTEEN_DIGITS = b"0" * 16
# UTF-8 lead bytes of characters at or above U+E000.
_HIGH_CHARACTER = re.compile(rb"[\xee-\xf4]")

_FAILURES = (TypeError, ValueError, RecursionError, msgspec.EncodeError)


class CanonicalizationError(ValueError):
    """A value has no RFC 8785 form (NaN, an unsafe integer, a lone surrogate, ...)."""


def _may_differ(encoded: bytes) -> bool:
    """Whether msgspec's `encoded` text holds a number or a character RFC 8785 might write otherwise."""
    if not encoded.isascii() and _HIGH_CHARACTER.search(encoded) is not None:
        return True
    marked = encoded.translate(_MARK_NUMBERS)
    return b"0." in marked or _SIXTEEN_DIGITS in marked


def _plain(encoded: bytes) -> bool:
    """Whether msgspec's `encoded` text is already the RFC 8785 form, without a second look."""
    return b"null" not in encoded and not _may_differ(encoded)


_SCALARS = (str, int, bool, type(None))


def _has_non_finite(value: Any) -> bool:
    """Whether a NaN or an infinity hides in `value` (msgspec would have written it as null)."""
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is dict:
            stack.extend(item.values())
        elif kind is list or kind is tuple:
            stack.extend(item)
        elif isinstance(item, float):
            if not math.isfinite(item):
                return True
        elif kind not in _SCALARS:  # anything msgspec encodes by converting it first (dataclasses, ...)
            stack.append(msgspec.to_builtins(item))
    return False


def _encoded(value: Any) -> bytes:
    try:
        return _encode(value)
    except _FAILURES as exc:
        raise CanonicalizationError(str(exc) or type(exc).__name__) from exc


def _second_look(value: Any, encoded: bytes) -> bytes:
    """The RFC 8785 form of a value whose encoding `_plain` did not vouch for."""
    if b"null" in encoded and _has_non_finite(value):
        raise CanonicalizationError(f"NaN and infinities have no JSON form, found one in {value!r}"[:300])
    if _may_differ(encoded):
        return _reference(msgspec.json.decode(encoded))
    return encoded  # only nulls, and none of them was a NaN


def canonical_bytes(value: Any) -> bytes:
    """The RFC 8785 form of `value` as UTF-8 bytes."""
    encoded = _encoded(value)
    return encoded if _plain(encoded) else _second_look(value, encoded)


def canonical_text(value: Any) -> str:
    """The RFC 8785 form of `value` as text."""
    return canonical_bytes(value).decode("utf-8")


def canonical_lines(values: Iterable[Any]) -> list[bytes]:
    """`canonical_bytes` of each value, encoded and checked as one buffer.

    msgspec writes the values as JSON lines in one call; a raw newline never occurs inside JSON
    text, so splitting at newlines gives each value's text.
    """
    values = values if isinstance(values, list) else list(values)
    if len(values) == 1:
        return [canonical_bytes(values[0])]
    try:
        buffer = _encode_lines(values)
    except _FAILURES:
        return [canonical_bytes(value) for value in values]  # raises for the first bad value
    lines = buffer.split(b"\n")
    lines.pop()  # after the last newline
    if _plain(buffer):
        return lines
    return [line if _plain(line) else _second_look(value, line) for line, value in zip(lines, values)]


def canonical_string(value: str) -> str:
    """The RFC 8785 form of one JSON string (quotes included)."""
    return _quote(value)


def _reference(value: Any) -> bytes:
    try:
        return rfc8785.dumps(value)
    except Exception as exc:  # the package raises its own hierarchy, and TypeError
        raise CanonicalizationError(str(exc)) from exc
