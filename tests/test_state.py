"""AccountState: folding, incremental apply, duplicates, JSON round trip and bad input."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from dunning import (
    ConflictingEventError,
    CurrencyMismatchError,
    EventError,
    ForeignEventError,
    InputError,
    InvalidEventError,
    SequenceError,
)
from dunning._state.account import AccountState

OPEN: dict[str, Any] = {
    "type": "loan_opened", "event_id": "e1", "loan_id": "L1", "borrower_id": "B1",
    "at": "2025-01-01T09:00:00+08:00", "principal": "12000.00", "currency": "CNY",
    "timezone": "Asia/Shanghai", "product": "personal_loan",
}  # fmt: skip


def ev(type_: str, event_id: str, at: str, **fields: Any) -> dict[str, Any]:
    """A loan-L1 event dict at local time `at` (Asia/Shanghai) with CNY money."""
    out: dict[str, Any] = {"type": type_, "event_id": event_id, "at": f"{at}+08:00"}
    out.setdefault("loan_id", "L1")
    if type_ in {"installment_due", "payment_received", "promise_to_pay", "fee_charged"}:
        out["currency"] = "CNY"
    return {**out, **fields}


DUE = ev("installment_due", "d1", "2025-02-01T00:00:00", due_date="2025-02-01",
         principal="1000.00", interest="60.00")  # fmt: skip
PAY = ev("payment_received", "p1", "2025-02-10T12:00:00", amount="500.00")


def test_the_design_example_folds() -> None:
    """The wire example of DESIGN.md folds to a state with the loan's identity and money."""
    state = AccountState.from_events([OPEN, DUE, PAY])
    assert (
        state.loan_id, state.borrower_id, state.currency, state.timezone,
    ) == ("L1", "B1", "CNY", "Asia/Shanghai")  # fmt: skip
    assert Decimal("560.00") == state.ledger.unpaid
    assert Decimal("500.00") == state.ledger.payments_total
    assert state.events[0].event_id == "e1"
    assert PAY["event_id"] == state.payments[0].event_id
    assert "<AccountState loan=L1 borrower=B1 CNY events=3" in repr(state)


def test_input_order_does_not_matter() -> None:
    """Events are ordered by (at, event_id), whatever the list order."""
    assert AccountState.from_events([OPEN, DUE, PAY]) == AccountState.from_events([PAY, DUE, OPEN])


def test_apply_with_a_late_event_equals_a_full_fold() -> None:
    """A payment arriving after a later contact is folded in its place in time."""
    contact = ev("contact_attempted", "c1", "2025-02-20T10:00:00", borrower_id="B1",
                 channel="phone", outcome="no_answer")  # fmt: skip
    whole = AccountState.from_events([OPEN, DUE, PAY, contact])
    assert whole == AccountState.from_events([OPEN, DUE, contact]).apply([PAY])
    assert whole == AccountState.from_events([OPEN]).apply([contact]).apply([PAY, DUE])


def test_identical_duplicates_are_ignored() -> None:
    """The same payment delivered twice is counted once, in one list or across applies."""
    once = AccountState.from_events([OPEN, DUE, PAY])
    assert once == AccountState.from_events([OPEN, DUE, PAY, dict(PAY)])
    assert once is once.apply([PAY])


def test_conflicting_duplicate_names_the_event_and_field() -> None:
    """A second p1 with another amount is rejected, naming p1 and `amount`."""
    with pytest.raises(ConflictingEventError) as info:
        AccountState.from_events([OPEN, DUE, PAY, {**PAY, "amount": "600.00"}])
    assert (info.value.event_id, info.value.field) == ("p1", "amount")
    assert "event 'p1', field 'amount'" in str(info.value)


def test_json_round_trip() -> None:
    """A snapshot written with to_json reads back equal and keeps folding the same way."""
    state = AccountState.from_events([OPEN, DUE, PAY])
    back = AccountState.from_json(state.to_json())
    assert state == back
    later = ev("payment_received", "p2", "2025-03-01T08:00:00", amount="560.00")
    assert state.apply([later]) == back.apply([later])


def test_from_json_rejects_other_text() -> None:
    """Text that is not a snapshot is an InputError naming the field."""
    with pytest.raises(InputError, match="account state JSON: field loan_id"):
        AccountState.from_json('{"borrower_id": "B1"}')


def test_borrower_level_events_of_another_loan_are_accepted() -> None:
    """A contact recorded on the borrower's other loan (or on none) counts for this loan too."""
    other = ev("contact_attempted", "c1", "2025-02-20T10:00:00", loan_id="L9",
               borrower_id="B1", channel="sms", outcome="delivered")  # fmt: skip
    bare = {k: v for k, v in other.items() if k != "loan_id"} | {"event_id": "c2"}
    state = AccountState.from_events([OPEN, other, bare])
    assert [(c.event_id, c.loan_id) for c in state.contacts] == [("c1", "L9"), ("c2", None)]


def _error(events: list[dict[str, Any]]) -> EventError:
    with pytest.raises(EventError) as info:
        AccountState.from_events(events)
    return info.value


@pytest.mark.parametrize(
    ("events", "cls", "event_id", "field", "words"),
    [
        pytest.param(
            [OPEN, {**PAY, "currency": "USD"}], CurrencyMismatchError, "p1", "currency",
            "expected the loan's currency CNY, found USD", id="mixed-currency",
        ),
        pytest.param(
            [OPEN, {**PAY, "loan_id": "L2"}], ForeignEventError, "p1", "loan_id",
            "belongs to loan 'L2', expected 'L1'", id="other-loan",
        ),
        pytest.param(
            [OPEN, ev("borrower_deceased", "x1", "2025-02-01T00:00:00", borrower_id="B2")],
            ForeignEventError, "x1", "borrower_id", "borrower 'B2', expected 'B1'",
            id="other-borrower",
        ),
        pytest.param(
            [OPEN, {**DUE, "at": "2024-12-01T00:00:00+08:00"}], SequenceError, "d1", "at",
            "the loan was not opened yet", id="installment-before-opening",
        ),
        pytest.param(
            [OPEN, ev("payment_reversed", "r1", "2025-02-12T09:00:00", payment_event_id="p9")],
            SequenceError, "r1", "payment_event_id", "'p9' is not known", id="unknown-payment",
        ),
        pytest.param(
            [OPEN, {**OPEN, "event_id": "e2", "at": "2025-01-02T09:00:00+08:00"}],
            SequenceError, "e2", "type", "already opened", id="opened-twice",
        ),
        pytest.param(
            [OPEN, {**PAY, "at": "2025-02-10T12:00:00"}], InvalidEventError, "p1", "at",
            "timezone-aware", id="naive-datetime",
        ),
        pytest.param(
            [OPEN, {**PAY, "amount": "-1.00"}], InvalidEventError, "p1", "amount",
            "greater than 0", id="negative-amount",
        ),
        pytest.param(
            [OPEN, {**PAY, "type": "payment_made"}], InvalidEventError, "p1", "type",
            "unknown event type 'payment_made'", id="unknown-type",
        ),
        pytest.param(
            [OPEN, {**PAY, "amont": "x"}], InvalidEventError, "p1", "amont",
            "did you mean 'amount'", id="near-miss-field",
        ),
    ],
)  # fmt: skip
def test_bad_input_names_event_and_field(
    events: list[dict[str, Any]], cls: type[EventError], event_id: str, field: str, words: str
) -> None:
    """Every refused event raises its own error class naming the event id and the field."""
    err = _error(events)
    assert cls is type(err)
    assert (event_id, field) == (err.event_id, err.field)
    assert f"event {event_id!r}, field {field!r}" in str(err)
    assert words in str(err)


def test_reversing_twice_is_refused() -> None:
    """A payment bounces once; a second reversal of it is a SequenceError."""
    r1 = ev("payment_reversed", "r1", "2025-02-12T09:00:00", payment_event_id="p1")
    r2 = ev("payment_reversed", "r2", "2025-02-13T09:00:00", payment_event_id="p1")
    with pytest.raises(SequenceError, match="already reversed"):
        AccountState.from_events([OPEN, PAY, r1, r2])


def test_no_events_is_an_input_error() -> None:
    """An empty history cannot make a state."""
    with pytest.raises(InputError, match="loan_opened"):
        AccountState.from_events([])


def test_facts_before_the_last_event_leave_the_later_events_out() -> None:
    """Facts of a snapshot as of a moment before its last event are those of the events known
    then; before the loan was opened there is nothing to ask."""
    state = AccountState.from_events([OPEN, DUE, PAY])
    then = "2025-02-05T00:00:00+08:00"
    assert state.facts(then) == AccountState.from_events([OPEN, DUE]).facts(then)
    with pytest.raises(InputError, match="not opened yet"):
        state.facts("2024-01-01T00:00:00+08:00")


def test_facts_are_read_only() -> None:
    """state.facts returns a read-only mapping."""
    facts = AccountState.from_events([OPEN, DUE]).facts("2025-03-05T10:00:00+08:00")
    assert facts["dpd"] == 32
    with pytest.raises(TypeError):
        facts["dpd"] = 0  # type: ignore[index]


def test_sample_portfolio_tells_its_stories() -> None:
    """examples/portfolio.jsonl at 2025-06-30 10:00 Shanghai: one loan per delinquency story."""
    from dunning._cli.demo import portfolio_states

    as_of = "2025-06-30T10:00:00+08:00"
    seen = {}
    for loan, state in portfolio_states().items():
        f = state.facts(as_of)
        lawyer = any(s.step == "lawyer_letter" for s in state.steps_taken)
        seen[loan] = (f["dpd"], f["promise_status"], f["plan_status"], f["dispute_open"],
                      f["bankruptcy_stay"], lawyer)  # fmt: skip
    expected = {
        "L-1001": (0, "none", "none", False, False, False),  # pays on time
        "L-1002": (10, "none", "none", False, False, False),  # June not yet paid
        "L-1003": (45, "broken", "none", False, False, False),  # broke a promise
        "L-1004": (95, "none", "none", False, False, False),  # silent
        "L-1005": (86, "none", "none", True, False, False),  # disputes the debt
        "L-1006": (107, "none", "active", False, False, False),  # hardship, on a plan
        "L-1007": (114, "none", "none", False, True, False),  # bankrupt
        "L-1008": (241, "broken", "none", False, False, True),  # lawyer's letter sent
        "L-2001": (28, "none", "none", False, False, False),  # New York, USD
    }
    assert expected == seen


def test_demo_prints_an_aligned_table() -> None:
    """run_demo prints one row per loan under a header, columns aligned."""
    import io

    from dunning._cli.demo import run_demo

    buf = io.StringIO()
    run_demo(out=buf)
    lines = buf.getvalue().splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("loan "))
    rows = lines[header + 2 : header + 2 + 9]
    assert "" == lines[header + 11].strip()  # the state table ends after nine loans
    assert all(r.index("B-") == lines[header].index("borrower") for r in rows)
    assert "L-1008  B-108     241  M7+" in buf.getvalue()


def test_a_copy_of_a_decided_state_does_not_share_its_cache() -> None:
    """`model_copy` starts with empty derived values: a copy with other events must not read
    the unpaid items or the events' JSON cached by the original."""
    import dunning

    events = [
        {"type": "loan_opened", "event_id": "o", "loan_id": "L", "borrower_id": "B",
         "at": "2025-01-01T09:00:00+08:00", "principal": "1000.00", "currency": "CNY",
         "timezone": "Asia/Shanghai"},
        {"type": "installment_due", "event_id": "d", "loan_id": "L",
         "at": "2025-02-01T00:00:00+08:00", "due_date": "2025-02-01", "principal": "100.00",
         "currency": "CNY"},
    ]  # fmt: skip
    state = dunning.AccountState.from_events(events)
    pack = Path(__file__).resolve().parent.parent / "rules" / "cn-bank-retail.yaml"
    rules = dunning.load_rules(pack)
    dunning.Engine(rules).decide(state, "2025-03-05T10:00:00+08:00")  # fills the cache
    assert state.__dict__.get("_derived")
    copy = state.model_copy()
    assert "_derived" not in copy.__dict__ or copy._derived is not state._derived
