"""The batch's speed paths give back exactly what the slow paths did.

The spill keeps validated events in a compact private form (`_spill_codec`) instead of
pickling the models; these tests tell the story that an event comes back from the spill
equal field for field (same values, same types, same zone objects' offsets, same fields
set), so folding and deciding cannot tell the difference.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from hypothesis import given

from dunning._portfolio.feeds import read_jsonl
from dunning._portfolio.spill import pack as _pack
from dunning._portfolio.spill import unpack as _unpack
from dunning.events import Event, parse_event
from dunning.testing import loan_histories

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "portfolio.jsonl"


def _same(event: Event, back: Event) -> None:
    assert event == back
    assert type(event) is type(back)
    assert event.model_dump_json() == back.model_dump_json()
    assert list(event.__dict__) == list(back.__dict__)
    assert event.__pydantic_extra__ == back.__pydantic_extra__
    assert event.__pydantic_fields_set__ == back.__pydantic_fields_set__
    for key, value in event.__dict__.items():
        assert (key, type(value)) == (key, type(back.__dict__[key]))
        if isinstance(value, datetime):
            assert type(value.tzinfo) is type(back.__dict__[key].tzinfo)


def test_every_example_event_comes_back_from_the_spill_unchanged() -> None:
    """The example portfolio (13 event types, nested plan installments) round-trips."""
    events = list(read_jsonl(EXAMPLES))
    assert 13 <= len({e.type for e in events})
    for event in events:
        _same(event, _unpack(_pack(event)))


def test_the_compact_form_is_used_for_plain_events() -> None:
    """A plain event takes the marshal form; one it cannot represent falls back to pickle."""
    due = parse_event(
        {
            "type": "installment_due",
            "event_id": "d1",
            "loan_id": "L1",
            "at": "2024-01-01T00:00:00+08:00",
            "due_date": "2024-01-01",
            "principal": "500.000",
            "interest": "0",
            "currency": "CNY",
        }
    )
    assert b"M" == _pack(due)[:1]
    _same(due, _unpack(_pack(due)))
    zoned = due.model_copy(update={"at": datetime(2024, 1, 1, tzinfo=ZoneInfo("Asia/Shanghai"))})
    assert b"P" == _pack(zoned)[:1]
    _same(zoned, _unpack(_pack(zoned)))


@given(loan_histories(max_months=6, max_events=8))
def test_generated_histories_come_back_from_the_spill_unchanged(events: list[Event]) -> None:
    """Any generated history round-trips event by event."""
    for event in events:
        _same(event, _unpack(_pack(event)))
