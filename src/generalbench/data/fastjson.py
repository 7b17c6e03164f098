"""JSON decoding through orjson where it gives exactly what the standard library gives.

Decoding annotation files and prediction lines is a large share of `generalbench score` (one
call per prediction line); orjson decodes the same text several times faster. The standard
library stays the reference: whatever orjson refuses (NaN/Infinity literals, numbers that
overflow to infinity, lone surrogate escapes, nesting deeper than 1024) is decoded again by the
caller's `fallback`, which then returns or raises exactly what it always did. The one case
where orjson silently differs (integers outside 64 bits become floats) is kept away by
`may_differ`: any run of 19+ digits sends the text to the fallback. Duplicate keys keep the
last value in both. Without orjson installed every call is the fallback.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

try:
    import orjson as _orjson
except ImportError:  # pragma: no cover - orjson is a core dependency; json still works
    _orjson = None

_DIGITS_ONLY = bytes(0x30 if 0x30 <= b <= 0x39 else 0x78 for b in range(256))
"""A byte table: every digit becomes "0", every other byte "x"."""
_LONG_RUN = b"0" * 19
"""An integer literal beyond 64 bits has 19+ digits (2**63 has 19): orjson reads it as a float,
json as an int."""

AVAILABLE = _orjson is not None


def may_differ(text: str | bytes) -> bool:
    """True when orjson could decode `text` to something other than json would (so use json):
    a run of 19+ digits anywhere. Found with a byte translation and one substring search
    (~2 ns a byte; a regex takes ten times that on digit-heavy annotation files)."""
    if _orjson is None:
        return True
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    return data.translate(_DIGITS_ONLY).find(_LONG_RUN) >= 0


def loads(text: str | bytes, fallback: Callable[[Any], Any], checked: bool = False) -> Any:
    """`fallback(text)`'s value, computed by orjson when that is safe. `checked`: the caller
    has already found `may_differ(text)` false (for a whole file at once)."""
    if _orjson is not None and (checked or not may_differ(text)):
        try:
            return _orjson.loads(text)
        except _orjson.JSONDecodeError:
            pass  # the fallback decodes it the standard way or raises its own error
    return fallback(text)


_DIGIT_E = bytes(0x30 if 0x30 <= b <= 0x39 else 0x65 if b == 0x65 else 0x78 for b in range(256))
"""A byte table: every digit becomes "0", "e" stays, every other byte becomes "x"."""


def _not_like_repr(out: bytes) -> bool:
    """Whether orjson's number text may differ from `float.__repr__` (which json writes):
    exponent forms ("1e-7" against "1e-07", a digit then "e") and fixed forms of magnitudes
    below 1e-4 ("0.00001" against "1e-05"); between those, both write the shortest round-trip
    digits in fixed notation. (A string holding such text is declined too: harmless.)"""
    return b"0.0000" in out or (b"e" in out and out.translate(_DIGIT_E).find(b"0e") >= 0)


def dumps(value: Any) -> str | None:
    """`json.dumps(value, ensure_ascii=False)` computed by orjson (several times faster on
    lists of numbers: boxes, tracks), or None where that cannot be shown equal (then use json).

    orjson writes compact separators, so ", " and ": " are put back: exact when no string holds
    "," or ":" (with no escape in the text, every '"' delimits a string, so the strings are the
    odd pieces between quotes). A null is a None or a NaN / infinity (orjson writes those as
    null, json does not): nulls exactly as many as the list's None items, or else a round
    trip, shows there is none. Text with an escape, a non-ASCII character (json and orjson
    escape differently) or a number form of _not_like_repr is declined."""
    if _orjson is None:
        return None
    try:
        out = _orjson.dumps(value)
    except TypeError:  # orjson.JSONEncodeError: big ints, non-str keys, other types, depth
        return None
    if not out.isascii() or b"\\" in out or _not_like_repr(out):
        return None
    if b'"' in out:
        strings = b"".join(out.split(b'"')[1::2])
        if b"," in strings or b":" in strings:
            return None
    spaced = out.replace(b",", b", ").replace(b":", b": ")
    if (b"null" in out and not (type(value) is list and out.count(b"null") == value.count(None))
            and _orjson.loads(spaced) != value):
        return None
    return spaced.decode()
