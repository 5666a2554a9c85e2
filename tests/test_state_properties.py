"""Properties of the fold on generated loan histories (dunning.testing.loan_histories)."""

from __future__ import annotations

from datetime import date, timedelta
from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st

from dunning._state.account import AccountState
from dunning._state.facts import FactContext, compute_facts
from dunning.events import Event, PaymentReceived, PaymentReversed
from dunning.testing import amounts, as_of_times, loan_histories

# Small histories keep the suite fast; the `slow` profile draws many more of them.
HISTORIES = loan_histories(max_months=9, max_events=6)
MONEY_FACTS = ("dpd", "overdue_amount", "outstanding_amount", "credit_amount",
               "installments_overdue", "bucket", "settled")  # fmt: skip


def _valid_split(events: list[Event], mask: list[bool]) -> tuple[list[Event], list[Event]]:
    """Split by `mask`, keeping in the first part what it needs to fold on its own.

    The first part keeps loan_opened; a reversal (or a plan cancellation) goes to the second
    part when its payment (or plan) did (on its own it would be a SequenceError).
    """
    a = [e for e, keep in zip(events, mask, strict=True) if keep or e.type == "loan_opened"]
    ids = {e.event_id for e in a}
    has_plan = any(e.type == "repayment_plan_agreed" for e in a)
    a = [
        e
        for e in a
        if not (isinstance(e, PaymentReversed) and e.payment_event_id not in ids)
        and (e.type != "repayment_plan_cancelled" or has_plan)
    ]
    kept = {e.event_id for e in a}
    return a, [e for e in events if e.event_id not in kept]


@given(HISTORIES, st.data())
def test_apply_equals_folding_everything(events: list[Event], data: st.DataObject) -> None:
    """from_events(a + b) == from_events(a).apply(b) for any split, late events included."""
    mask = data.draw(st.lists(st.booleans(), min_size=len(events), max_size=len(events)))
    a, b = _valid_split(events, mask)
    assert AccountState.from_events(a + b) == AccountState.from_events(a).apply(b)


@given(HISTORIES, st.data())
def test_apply_in_several_batches(events: list[Event], data: st.DataObject) -> None:
    """Feeding a history in time-ordered batches gives the state of the whole history."""
    cuts = sorted(data.draw(st.lists(st.integers(1, len(events)), max_size=4)))
    bounds = [*cuts, len(events)]
    state = AccountState.from_events(events[: bounds[0]])
    for lo, hi in pairwise(bounds):
        state = state.apply(events[lo:hi])
    assert AccountState.from_events(events) == state


@given(HISTORIES.flatmap(lambda ev: st.tuples(st.just(ev), st.permutations(ev))))
def test_input_order_does_not_matter(pair: tuple[list[Event], list[Event]]) -> None:
    """Any permutation of the input list folds to the same state."""
    events, shuffled = pair
    assert AccountState.from_events(events) == AccountState.from_events(shuffled)


@given(HISTORIES, st.data())
def test_identical_duplicates_change_nothing(events: list[Event], data: st.DataObject) -> None:
    """Repeating any events (a redelivered feed) leaves the state unchanged."""
    again = data.draw(st.lists(st.sampled_from(events), max_size=10))
    state = AccountState.from_events(events)
    assert state == AccountState.from_events(events + again)
    assert state == state.apply(again)


@given(HISTORIES)
def test_money_is_conserved(events: list[Event]) -> None:
    """allocated + unpaid == charged, payments == allocated + credit, nothing negative."""
    ledger = AccountState.from_events(events).ledger
    assert ledger.charged == ledger.allocated + ledger.unpaid
    assert ledger.payments_total == ledger.allocated + ledger.credit
    assert min(ledger.unpaid, ledger.credit, ledger.allocated) >= 0
    assert all(b.unpaid >= 0 for b in ledger.balances)
    # Credit only exists when every charged item is paid.
    assert ledger.credit == 0 or ledger.unpaid == 0


@given(HISTORIES, st.data())
def test_reversal_right_after_a_payment_restores_the_money(
    events: list[Event], data: st.DataObject
) -> None:
    """A payment followed by its reversal leaves ledger, dpd and amounts as they were."""
    before = AccountState.from_events(events)
    last = before.last_event_at
    pay = PaymentReceived(
        event_id="zz-pay", loan_id=before.loan_id, at=last + timedelta(minutes=1),
        amount=data.draw(amounts(before.currency, 1, 50_000)), currency=before.currency,
    )  # fmt: skip
    back = PaymentReversed(
        event_id="zz-rev", loan_id=before.loan_id, at=last + timedelta(minutes=2),
        payment_event_id="zz-pay",
    )  # fmt: skip
    after = before.apply([pay, back])
    as_of = data.draw(as_of_times([back]))
    assert before.ledger == after.ledger
    facts_before = compute_facts(before, as_of, FactContext())
    facts_after = compute_facts(after, as_of, FactContext())
    assert [facts_before[k] for k in MONEY_FACTS] == [facts_after[k] for k in MONEY_FACTS]


@given(HISTORIES)
def test_json_round_trip(events: list[Event]) -> None:
    """to_json / from_json gives an equal state."""
    state = AccountState.from_events(events)
    assert state == AccountState.from_json(state.to_json())


@given(HISTORIES, st.data())
def test_every_scalar_fact_is_computed_with_its_type(
    events: list[Event], data: st.DataObject
) -> None:
    """facts() holds every catalog scalar, money quantized, ints not bools, enums in range."""
    from decimal import Decimal

    from dunning._state.catalog import SCALARS

    state = AccountState.from_events(events)
    facts = state.facts(data.draw(as_of_times(events)))
    assert sorted(SCALARS) == sorted(facts)
    for name, spec in SCALARS.items():
        value = facts[name]
        if value is None:
            assert spec.nullable, name
        elif spec.type == "money":
            assert isinstance(value, Decimal) and value.as_tuple().exponent == -2, name
        elif spec.type == "int":
            assert type(value) is int, name
        elif spec.type == "bool":
            assert type(value) is bool, name
        elif spec.type == "date":
            assert type(value) is date, name
        else:
            assert value in spec.values, name
    assert (facts["dpd"] > 0) == (facts["overdue_amount"] > 0)
