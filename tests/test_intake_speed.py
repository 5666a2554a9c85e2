"""The intake's one-pass reading gives exactly the events (and rejects) of the reference path.

`_state.parse.fast_event` reads and validates a JSON line in one pass of pydantic-core; when
that pass fails for any reason the line goes the reference way (`loads_event`, the field
policy, `parse_event`), which words the error. These tests tell the story that a line gives
the same event either way, field for field, and that a feed of good and bad lines gives the
same events and the same rejects with or without the one-pass reading.
"""

from __future__ import annotations

import io
import json
from collections import Counter
from datetime import datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dunning._state import intake
from dunning._state.intake import Reject, read_lines
from dunning._state.parse import fast_event, loads_event, parse_event
from dunning.events import Event, event_to_dict
from dunning.testing import loan_histories


def _same(event: Event, back: Event) -> None:
    assert event == back
    assert type(event) is type(back)
    assert event.model_dump_json() == back.model_dump_json()
    assert list(event.__dict__) == list(back.__dict__)
    assert event.__pydantic_fields_set__ == back.__pydantic_fields_set__
    for key, value in event.__dict__.items():
        assert (key, type(value)) == (key, type(back.__dict__[key]))
        if isinstance(value, datetime):
            assert value.utcoffset() == back.__dict__[key].utcoffset()


def _reference(text: str) -> Event:
    return parse_event(loads_event(text))


_ODD = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=12),
    st.sampled_from(["1e999", "NaN", "-0", "1_000.00", "500.0", "500", "9" * 40, "2025-13-45",
                     "2025-03-01", "2025-03-01T10:00:00", "2025-03-01T10:00:00Z", "\x00"]),
    st.lists(st.integers(), max_size=2),
)  # fmt: skip


@st.composite
def lines(draw: st.DrawFn) -> list[str]:
    """The JSON lines of a generated history, some of them mutated (a field dropped, given
    an odd value, an unknown field added, written with spaces, or cut short)."""
    out = []
    for event in draw(loan_histories(max_months=4, max_events=3)):
        wire: dict[str, Any] = event_to_dict(event)
        how = draw(st.sampled_from(["keep", "keep", "drop", "odd", "add", "spaced", "cut"]))
        key = draw(st.sampled_from(sorted(wire)))
        if how == "drop":
            wire.pop(key)
        elif how == "odd":
            wire[key] = draw(_ODD)
        elif how == "add":
            wire[draw(st.sampled_from(["note", "loan_idd", "extra"]))] = 1
        text = json.dumps(wire, indent=1 if how == "spaced" else None).replace("\n", " ")
        out.append(text[: len(text) // 2] if how == "cut" else text)
    return out


@given(loan_histories(max_months=6, max_events=6))
def test_every_generated_event_reads_the_same_in_one_pass(events: list[Event]) -> None:
    """A valid line gives, in one pass, the event the reference path gives."""
    for event in events:
        text = json.dumps(event_to_dict(event))
        fast = fast_event(text)
        assert fast is not None
        _same(_reference(text), fast)
        assert event == fast  # (its fields set is what its wire form names)


@given(lines())
def test_a_line_the_one_pass_takes_is_one_the_reference_takes_the_same(texts: list[str]) -> None:
    """Whatever the line, the one pass either declines it or gives the reference's event."""
    for text in texts:
        fast = fast_event(text)
        if fast is not None:
            _same(_reference(text), fast)


def _read(texts: list[str], monkeypatch: pytest.MonkeyPatch, one_pass: bool) -> Any:
    with monkeypatch.context() as m:
        if not one_pass:
            m.setattr(intake, "fast_event", lambda text: None)
        ignored: Counter[str] = Counter()
        data = io.BytesIO("\n".join(texts).encode())
        return list(read_lines(data, "feed.jsonl", ignored=ignored)), ignored


@given(lines())
def test_a_feed_gives_the_same_events_and_rejects_with_the_one_pass(texts: list[str]) -> None:
    """Read with and without the one pass: the same events, the same rejects (same errors,
    same lines), the same unknown fields counted."""
    with pytest.MonkeyPatch.context() as mp:
        fast, fast_ignored = _read(texts, mp, True)
        slow, slow_ignored = _read(texts, mp, False)
    assert fast_ignored == slow_ignored
    assert len(fast) == len(slow)
    for a, b in zip(fast, slow, strict=True):
        assert type(a) is type(b)
        if isinstance(a, Reject):
            assert a == b
        else:
            _same(b, a)


def test_the_one_pass_declines_what_it_cannot_take_and_the_error_is_unchanged() -> None:
    """Unknown fields, bad JSON and bad values fall to the reference path, which words the
    error exactly as before."""
    good = {"type": "payment_received", "event_id": "p1", "loan_id": "L1",
            "at": "2025-03-01T10:00:00+08:00", "amount": "5.00", "currency": "CNY"}  # fmt: skip
    assert fast_event(json.dumps(good)) is not None
    for bad in ({**good, "note": "x"}, {**good, "amount": "5e2"}, {**good, "at": "2025-03-01"}):
        assert fast_event(json.dumps(bad)) is None
    assert fast_event(json.dumps(good)[:-1]) is None
    (reject,), _ = _read([json.dumps({**good, "amount": "5e2"})], pytest.MonkeyPatch(), True)
    assert isinstance(reject, Reject)
    assert reject.error == (
        "event 'p1', field 'amount': expected plain decimal text such as '500.00' (digits, one"
        " optional point; no exponent, sign, spaces or underscores) (found '5e2')"
    )
