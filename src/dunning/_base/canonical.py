"""Canonical JSON (RFC 8785, JCS) for the float-free subset dunning uses.

Supported values: ``dict`` (``str`` keys), ``list``/``tuple``, ``str``,
``int`` (within +-(2**53 - 1)), ``bool``, ``None``.  Floats are rejected on
purpose: the library's policy is that money travels as decimal strings, and a
float reaching the audit log is a bug we want to surface, not serialise.

Where JCS differs from ``json.dumps(sort_keys=True, separators=(",", ":"),
ensure_ascii=False)``:

* Key order.  JCS sorts by UTF-16 code units, Python by code points.  The two
  agree unless a key contains an astral (> U+FFFF) character: its UTF-16
  surrogates (D800-DFFF) sort *before* U+E000-U+FFFF, its code point after.
* Nothing else for this subset.  Both emit the same string escapes (the
  seven short forms, ``\\u00xx`` lower-case for other C0 controls, and
  everything else -- U+007F, U+2028, non-ASCII -- as literal UTF-8), and both
  print ints in plain decimal.  ``json.dumps`` is however *laxer*: it accepts
  floats, non-string keys (coerced to strings!), unsafe big ints, and lone
  surrogates (which fail only at ``.encode()``).

So the fast path below validates the tree in Python, then lets the C encoder
in ``json`` produce the bytes when no key needs UTF-16 ordering.
"""

from __future__ import annotations

import json
from typing import Any

from .errors import InputError

__all__ = [
    "CanonicalizationError",
    "canonical_bytes",
    "canonical_bytes_reference",
    "canonical_text",
]

# JCS numbers are IEEE-754 doubles; ints beyond 2**53 would be read back
# rounded by JavaScript and other double-based parsers.  rfc8785 rejects
# them too, so we stay byte-compatible with it.
_MAX_SAFE_INT = 2**53 - 1

# The C-accelerated ensure_ascii=False string escaper used by json.dumps.
# Its escape set is exactly JCS's (see module docstring; tested against
# rfc8785 with hypothesis).
_escape = json.encoder.encode_basestring

_dumps_kwargs: dict[str, Any] = {
    "sort_keys": True,
    "separators": (",", ":"),
    "ensure_ascii": False,
    "allow_nan": False,
    "check_circular": False,  # _validate has already walked the whole tree
}


class CanonicalizationError(InputError):
    """A value outside the canonical JSON subset (float, non-str key, big int, ...)."""


def _utf16_key(key: str) -> bytes:
    # Big-endian UTF-16 bytes compare lexicographically exactly like the
    # sequence of UTF-16 code units, which is the RFC 8785 §3.2.3 order.
    return key.encode("utf-16-be")


def _check_int(value: int) -> None:
    if not -_MAX_SAFE_INT <= value <= _MAX_SAFE_INT:
        raise CanonicalizationError(f"integer {value} outside the JSON safe range +-(2**53-1)")


def _validate(v: object) -> bool:
    """Reject anything outside the subset; return True if some key contains
    an astral character (i.e. json's code-point sort would be wrong).

    Recursive on purpose: a circular structure then ends in RecursionError
    (turned into CanonicalizationError by the callers) instead of looping;
    an explicit stack measured no faster.
    """
    # Checked in order of frequency in decision records.
    if isinstance(v, str) or v is None or isinstance(v, bool):
        return False
    if isinstance(v, int):
        _check_int(v)
        return False
    astral = False
    if isinstance(v, dict):
        for k, item in v.items():
            if not isinstance(k, str):
                raise CanonicalizationError(f"object key {k!r} is not a string")
            # Non-ASCII keys are rare; only they can hold astral chars.
            if not astral and not k.isascii() and max(k) > "\uffff":
                astral = True
            if _validate(item):
                astral = True
        return astral
    if isinstance(v, (list, tuple)):
        for item in v:
            if _validate(item):
                astral = True
        return astral
    if isinstance(v, float):
        raise CanonicalizationError(f"float {v!r} not allowed: use a decimal string for money")
    raise CanonicalizationError(f"type {type(v).__name__} is not JSON-serialisable")


def _validate_top(obj: object) -> bool:
    try:
        return _validate(obj)
    except RecursionError as exc:
        raise CanonicalizationError("value is circular or nested too deeply") from exc


def _encode(obj: object, out: list[str]) -> None:
    """Straightforward JCS writer; used when UTF-16 key order matters and as
    the reference for the fast path.  Assumes _validate has run."""
    if isinstance(obj, str):
        out.append(_escape(obj))
    elif obj is None:
        out.append("null")
    elif obj is True:
        out.append("true")
    elif obj is False:
        out.append("false")
    elif isinstance(obj, int):
        # int.__repr__, not str(): IntEnum members would print their name.
        out.append(int.__repr__(obj))
    elif isinstance(obj, dict):
        out.append("{")
        for i, key in enumerate(sorted(obj, key=_utf16_key)):
            if i:
                out.append(",")
            out.append(_escape(key))
            out.append(":")
            _encode(obj[key], out)
        out.append("}")
    elif isinstance(obj, (list, tuple)):
        out.append("[")
        for i, item in enumerate(obj):
            if i:
                out.append(",")
            _encode(item, out)
        out.append("]")
    else:  # unreachable after _validate; keeps the writer safe on its own
        raise CanonicalizationError(f"type {type(obj).__name__} is not JSON-serialisable")


def _to_utf8(text: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:  # lone surrogate in a str
        raise CanonicalizationError("string contains a lone surrogate (not valid Unicode)") from exc


def _jcs(obj: object) -> bytes:
    out: list[str] = []
    try:
        _encode(obj, out)
    except UnicodeEncodeError as exc:  # lone surrogate in a key being sorted
        raise CanonicalizationError("key contains a lone surrogate") from exc
    return _to_utf8("".join(out))


def canonical_bytes_reference(obj: object) -> bytes:
    """JCS bytes without the json.dumps fast path (for tests/diagnosis)."""
    _validate_top(obj)
    return _jcs(obj)


def canonical_bytes(obj: object) -> bytes:
    """RFC 8785 canonical UTF-8 bytes of ``obj``.

    Raises CanonicalizationError for floats, non-str keys, ints beyond
    2**53-1, unsupported types and invalid Unicode.
    """
    if _validate_top(obj):
        return _jcs(obj)
    return _to_utf8(json.dumps(obj, **_dumps_kwargs))


def canonical_text(obj: object) -> str:
    """`canonical_bytes(obj)` as text: decision JSON, records and checkpoints are written so."""
    return canonical_bytes(obj).decode("utf-8")
