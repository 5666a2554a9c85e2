"""canonical.py against the rfc8785 package (byte for byte) and RFC 8785."""

from __future__ import annotations

import enum
import json
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from dunning._base.canonical import (
    CanonicalizationError,
    canonical_bytes,
    canonical_bytes_reference,
)

MAX = 2**53 - 1

# Valid Unicode scalar values only (no lone surrogates), biased towards the
# interesting areas: C0 controls, DEL, U+2028, U+E000..U+FFFF and astral
# characters, where UTF-16 order differs from code point order.
_ASCII_SPECIAL = ["\x00", "\x08", "\t", "\n", "\x0b", "\x0c", "\r", "\x1f", '"', "\\", "/", "\x7f"]
_HIGH_SPECIAL = [
    "\u2028",
    "\u2029",
    "\ue000",
    "\uf8ff",
    "\ufb33",
    "\uffff",
    "\U00010000",
    "\U0001f600",
    "\U0010ffff",
]
_special = st.sampled_from([*_ASCII_SPECIAL, *_HIGH_SPECIAL, "é", "€", "ß"])
# codec="utf-8" excludes the surrogate code points, which are not valid text.
_char = st.one_of(_special, st.characters(codec="utf-8"))
text = st.text(_char, max_size=12)
bmp_text = st.text(st.characters(codec="utf-8", max_codepoint=0xFFFF), max_size=12)

scalars = st.one_of(st.none(), st.booleans(), st.integers(-MAX, MAX), text)


def json_values(keys: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    return st.recursive(
        scalars,
        lambda children: st.one_of(
            st.lists(children, max_size=5), st.dictionaries(keys, children, max_size=6)
        ),
        max_leaves=30,
    )


def _json_dumps(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@settings(max_examples=600, deadline=None)
@given(json_values(text))
def test_matches_rfc8785(obj: Any) -> None:
    expected = rfc8785.dumps(obj)
    assert canonical_bytes(obj) == expected
    assert canonical_bytes_reference(obj) == expected


@settings(max_examples=300, deadline=None)
@given(json_values(bmp_text))
def test_json_dumps_equals_jcs_without_astral_keys(obj: Any) -> None:
    """The claim behind the fast path: for BMP-only keys json.dumps with
    sort_keys/ensure_ascii=False is already JCS (escapes included)."""
    assert _json_dumps(obj) == canonical_bytes(obj) == rfc8785.dumps(obj)


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["a", "\ue000", "\uffff", "\U0001f600", "\U00010000", "z\U0001f600"]),
        scalars,
    )
)
def test_astral_key_order(obj: dict[str, Any]) -> None:
    assert canonical_bytes(obj) == rfc8785.dumps(obj)


def test_utf16_order_differs_from_code_point_order() -> None:
    obj = {"\ue000": 1, "\U0001f600": 2}
    # UTF-16: U+1F600 is D83D DE00, which sorts before E000.
    assert canonical_bytes(obj) == '{"\U0001f600":2,"\ue000":1}'.encode()
    assert _json_dumps(obj) == '{"\ue000":1,"\U0001f600":2}'.encode()  # the json.dumps pitfall


def test_rfc8785_sorting_example() -> None:
    """The property-sorting example of RFC 8785 §3.2.3."""
    obj = {
        "\u20ac": "Euro Sign",
        "\r": "Carriage Return",
        "\ufb33": "Hebrew Letter Dalet With Dagesh",
        "1": "One",
        "\U0001f600": "Emoji: Grinning Face",
        "\u0080": "Control",
        "\u00f6": "Latin Small Letter O With Diaeresis",
    }
    order = [
        json.loads(b'"' + k + b'"')
        for k in (rb"\r", b"1", rb"\u0080", rb"\u00f6", rb"\u20ac", rb"\ud83d\ude00")
    ]
    order.append("\ufb33")
    assert list(json.loads(canonical_bytes(obj))) == order


def test_string_escapes() -> None:
    s = "".join(chr(c) for c in range(0x20)) + '"\\/\x7f\u2028é\U0001f600'
    expected = (
        '"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\b\\t\\n\\u000b\\f\\r\\u000e\\u000f'
        "\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017\\u0018\\u0019\\u001a\\u001b\\u001c\\u001d"
        '\\u001e\\u001f\\"\\\\/\x7f\u2028é\U0001f600"'
    ).encode()
    assert canonical_bytes(s) == expected == rfc8785.dumps(s)


def test_scalars() -> None:
    assert canonical_bytes(None) == b"null"
    assert canonical_bytes(True) == b"true"
    assert canonical_bytes(False) == b"false"
    assert canonical_bytes([0, -1, MAX, -MAX]) == b"[0,-1,9007199254740991,-9007199254740991]"
    assert canonical_bytes({"b": [], "a": {}}) == b'{"a":{},"b":[]}'
    assert canonical_bytes(("x", 1)) == b'["x",1]'  # tuples serialise as arrays


def test_int_and_str_subclasses() -> None:
    class Colour(enum.IntEnum):
        RED = 1

    class Kind(enum.StrEnum):
        STEP = "step"

    obj = {"c": Colour.RED, "k": Kind.STEP}
    assert canonical_bytes(obj) == canonical_bytes_reference(obj) == b'{"c":1,"k":"step"}'


@pytest.mark.parametrize(
    ("value", "match"),
    [
        (1.0, "float"),
        ({"a": [0.5]}, "float"),
        (float("nan"), "float"),
        ({1: "a"}, "key"),
        ({True: "a"}, "key"),
        ({None: "a"}, "key"),
        (2**53, "safe range"),
        (-(2**53), "safe range"),
        ({"x": {1, 2}}, "set"),
        (b"bytes", "bytes"),
        ("\ud800", "surrogate"),
        ({"\udfff": 1}, "surrogate"),
        ({"\udfff": 1, "\U0001f600": 2}, "surrogate"),  # reference path
    ],
)
def test_rejects(value: object, match: str) -> None:
    with pytest.raises(CanonicalizationError, match=match):
        canonical_bytes(value)
    with pytest.raises(CanonicalizationError, match=match):
        canonical_bytes_reference(value)


def test_rejects_circular() -> None:
    loop: list[object] = []
    loop.append(loop)
    with pytest.raises(CanonicalizationError, match="circular"):
        canonical_bytes(loop)


def test_error_is_value_error() -> None:
    assert issubclass(CanonicalizationError, ValueError)
