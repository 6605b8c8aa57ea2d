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
from itertools import repeat
from typing import Any, Iterable

import rfc8785

try:
    from _json import make_encoder as _make_c_encoder
    from _json import encode_basestring as _quote
except ImportError:  # pragma: no cover - CPython always has the C accelerator
    _make_c_encoder = None

_encoder = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)

if _make_c_encoder is not None:
    # The encoder JSONEncoder.encode builds on every call, built once. No circular-reference
    # markers (a shared markers dict would not be thread-safe): a cycle ends in RecursionError.
    _c_encode = _make_c_encoder(None, _encoder.default, _quote, None, ":", ",", True, False, False)
    _join = "".join

    def _encode(value: Any) -> str:
        return _join(_c_encode(value, 0))

    def _encode_all(values: list) -> list[str]:
        return list(map(_join, map(_c_encode, values, repeat(0))))

else:  # pragma: no cover
    _encode = _encoder.encode
    _quote = json.encoder.encode_basestring

    def _encode_all(values: list) -> list[str]:
        return list(map(_encode, values))

# A number token (it follows ':', '[' or ',') with a fraction, an exponent or 16+ digits, or any
# character at or above U+E000 (sorting by UTF-16 code units differs from code points only
# there). A match inside a string is a false alarm that merely takes the slow path.
_NEEDS_REFERENCE = re.compile(r"[:\[,]-?(?:\d+[.eE]|\d{16})|^-?(?:\d+[.eE]|\d{16})|[\ue000-\U0010ffff]")
# The same test for ASCII text that does not start with a number: only the first branch can
# match, and a pattern that starts with a character set is scanned several times faster.
_ASCII_NEEDS_REFERENCE = re.compile(r"[:\[,]-?(?:\d+[.eE]|\d{16})")
_NUMBER_START = frozenset("-0123456789")
# A cheaper, coarser alarm for many texts at once: with every digit made "0" and every "e" or
# "E" made ".", a fraction or an exponent shows as "0.", a long integer as sixteen zeros.
_MARK_NUMBERS = bytes.maketrans(b"123456789eE", b"000000000..")
_SIXTEEN_DIGITS = b"0" * 16

_FAILURES = (TypeError, ValueError, RecursionError)


class CanonicalizationError(ValueError):
    """A value has no RFC 8785 form (NaN, an unsafe integer, a lone surrogate, ...)."""


def _fast_path_holds(text: str) -> bool:
    """Whether the encoder's `text` is already the RFC 8785 form (see the module docstring)."""
    if text.isascii() and text[:1] not in _NUMBER_START:
        # ASCII text is valid UTF-8 and has no character whose UTF-16 order differs.
        return _ASCII_NEEDS_REFERENCE.search(text) is None
    if _NEEDS_REFERENCE.search(text) is not None:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return False
    return True


def canonical_text(value: Any) -> str:
    """The RFC 8785 form of `value` as text."""
    try:
        text = _encode(value)
    except _FAILURES as exc:
        raise CanonicalizationError(str(exc) or type(exc).__name__) from exc
    if _fast_path_holds(text):
        return text
    return _reference(value).decode("utf-8")


def canonical_bytes(value: Any) -> bytes:
    """The RFC 8785 form of `value` as UTF-8 bytes."""
    try:
        text = _encode(value)
    except _FAILURES as exc:
        raise CanonicalizationError(str(exc) or type(exc).__name__) from exc
    if _fast_path_holds(text):
        return text.encode("utf-8")
    return _reference(value)


def canonical_texts(values: Iterable[Any]) -> list[str]:
    """`canonical_text` of each value, checking the lot in one pass when it is plain ASCII."""
    values = list(values)
    if len(values) == 1:
        return [canonical_text(values[0])]
    try:
        texts = _encode_all(values)
    except _FAILURES:
        return [canonical_text(value) for value in values]  # raises for the first bad value
    # "," before each text makes a leading number look like any other number token; no match
    # can span two texts because a comma is not a digit.
    joined = "," + ",".join(texts)
    if joined.isascii():
        marked = joined.encode("ascii").translate(_MARK_NUMBERS)
        if b"0." not in marked and _SIXTEEN_DIGITS not in marked:
            return texts
        if _ASCII_NEEDS_REFERENCE.search(joined) is None:
            return texts
    return [text if _fast_path_holds(text) else _reference(value).decode("utf-8") for text, value in zip(texts, values)]


def canonical_string(value: str) -> str:
    """The RFC 8785 form of one JSON string (quotes included)."""
    return _quote(value)


def _reference(value: Any) -> bytes:
    try:
        return rfc8785.dumps(value)
    except Exception as exc:  # the package raises its own hierarchy, and TypeError
        raise CanonicalizationError(str(exc)) from exc
