"""The batch's speed paths give back exactly what the slow paths did.

The spill keeps validated events in a compact private form (`_portfolio.spill`) instead of
pickling the models; these tests tell the story that an event comes back from the spill
equal field for field (same values, same types, same zone objects' offsets, same fields
set), so folding and deciding cannot tell the difference.
"""

from __future__ import annotations

import marshal
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dunning import AccountState, Engine, load_rules
from dunning._decide.digest import events_wire
from dunning._portfolio import spill_intake
from dunning._portfolio.batch import run_batch
from dunning._portfolio.feeds import read_jsonl
from dunning._portfolio.snapshot_check import encode
from dunning._portfolio.spill import pack as _pack
from dunning._portfolio.spill import pack_records, record, unpack_records
from dunning._portfolio.spill import unpack as _unpack
from dunning.events import Event, parse_event
from dunning.testing import account_states, as_of_times, loan_histories

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "portfolio.jsonl"
RULES = Path(__file__).resolve().parents[1] / "rules" / "cn-bank-retail.yaml"
AS_OF = "2025-03-01T10:00:00+08:00"


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
    assert type(marshal.loads(record(due))) is tuple
    _same(due, _unpack(_pack(due)))
    zoned = due.model_copy(update={"at": datetime(2024, 1, 1, tzinfo=ZoneInfo("Asia/Shanghai"))})
    assert type(marshal.loads(record(zoned))) is bytes  # its pickle
    _same(zoned, _unpack(_pack(zoned)))


@given(loan_histories(max_months=6, max_events=8))
def test_generated_histories_come_back_from_the_spill_unchanged(events: list[Event]) -> None:
    """Any generated history round-trips event by event."""
    for event in events:
        _same(event, _unpack(_pack(event)))


def test_a_blob_of_many_events_comes_back_in_order() -> None:
    """The batch packs a loan's stretch of events into one blob; it reads back in order."""
    events = list(read_jsonl(EXAMPLES))
    back = unpack_records(pack_records([record(e) for e in events]))
    assert len(back) == len(events)
    for event, again in zip(events, back, strict=True):
        _same(event, again)


@pytest.mark.parametrize("by", ["loan", "borrower"])
def test_the_batch_decides_the_same_whatever_the_stretch_of_the_feed_held_in_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, by: str
) -> None:
    """The spill gathers `_RUN` events at a time per loan and per borrower before writing
    them: one event at a time, a few, or the whole feed at once, the decisions and the
    dead letters (a bad line, an event of a loan never opened) are the same bytes."""
    lines = EXAMPLES.read_text(encoding="utf-8").splitlines()
    feed = tmp_path / "feed.jsonl"
    bad = '{"type": "payment_received", "event_id": "bad1", "loan_id": "L-1001", "amount": "x"}'
    stray = (
        '{"type": "payment_received", "event_id": "s1", "loan_id": "NOPE",'
        ' "at": "2025-02-01T10:00:00+08:00", "amount": "1.00", "currency": "CNY"}'
    )
    feed.write_text("\n".join([*reversed(lines), bad, stray]) + "\n", encoding="utf-8")
    outputs = []
    for run in (1, 3, 50_000):
        monkeypatch.setattr(spill_intake, "_RUN", run)
        out = tmp_path / f"d{run}.jsonl"
        summary = run_batch(feed, store=tmp_path / f"s{run}.db", rules=RULES, as_of=AS_OF,
                            out=out, batch_id="n1", by=by)  # fmt: skip
        assert summary.rejected_lines >= 2
        rejects = Path(f"{out}.rejects.jsonl").read_text(encoding="utf-8")
        rejects = rejects.replace(str(tmp_path / f"s{run}.db"), "<store>")
        outputs.append((out.read_bytes(), rejects, summary.set_aside, summary.statuses))
    assert outputs[0] == outputs[1] == outputs[2]
    assert outputs[0][0].count(b"\n") >= 3


ENGINE = Engine(load_rules(RULES))


@given(st.data())
def test_a_new_snapshot_gives_its_decision_the_events_json_of_its_text(
    data: st.DataObject,
) -> None:
    """Night 1 encodes a new snapshot before deciding it: the state then keeps its events'
    JSON cut from the snapshot text, the very bytes the digest would write, and the
    decision is the same, byte for byte, as the one made from a state that never was
    encoded."""
    state: AccountState = data.draw(account_states(max_months=8))
    as_of = data.draw(as_of_times(state.events))
    fresh = state.model_copy()  # an empty cache of derived values
    encode(state)
    assert state._derived["events_wire"] == events_wire(state.events)
    assert "events_wire" not in fresh._derived
    assert ENGINE.decide(state, as_of).to_json() == ENGINE.decide(fresh, as_of).to_json()
