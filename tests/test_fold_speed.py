"""The fold's unvalidated constructors build exactly what the validating models build.

The fold makes its records (due items, payments, contacts, item balances, the ledger) with
`_state.ledger.maker`, from values that are validated event fields already. These tests
fold generated histories both ways, with the makers and with the models' own validating
constructors swapped in, and find the same states: equal, the same JSON, the same records
field for field (values, types, fields set).
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given

from dunning import AccountState
from dunning._state import fold, ledger
from dunning._state.ledger import DueItem, ItemBalance, Ledger
from dunning._state.records import Contact, Payment
from dunning.events import Event
from dunning.testing import loan_histories

_VALIDATING = {
    (fold, "_DUE_ITEM"): DueItem,
    (fold, "_PAYMENT"): Payment,
    (fold, "_CONTACT"): Contact,
    (ledger, "_ITEM_BALANCE"): ItemBalance,
    (ledger, "_LEDGER"): Ledger,
}


def _reference(events: list[Event]) -> AccountState:
    with pytest.MonkeyPatch.context() as m:
        for (module, name), cls in _VALIDATING.items():
            m.setattr(module, name, cls)
        return AccountState.from_events(events)


def _same_model(a: Any, b: Any) -> None:
    assert type(a) is type(b)
    assert a == b
    assert list(a.__dict__) == list(b.__dict__)
    assert a.__pydantic_fields_set__ == b.__pydantic_fields_set__
    for key, value in a.__dict__.items():
        other = b.__dict__[key]
        assert (key, type(value)) == (key, type(other))
        if hasattr(value, "__pydantic_fields_set__"):
            _same_model(value, other)
        elif isinstance(value, tuple):
            for x, y in zip(value, other, strict=True):
                if hasattr(x, "__pydantic_fields_set__"):
                    _same_model(x, y)


@given(loan_histories(max_months=8, max_events=6))
def test_a_fold_with_the_makers_equals_the_fold_with_the_validating_models(
    events: list[Event],
) -> None:
    """Same state, same snapshot JSON, same records (their ledger, payments, contacts)."""
    fast = AccountState.from_events(events)
    slow = _reference(events)
    assert fast == slow
    assert fast.to_json() == slow.to_json()
    _same_model(fast.ledger, slow.ledger)
    for name in ("payments", "contacts"):
        for x, y in zip(getattr(fast, name), getattr(slow, name), strict=True):
            _same_model(x, y)


@given(loan_histories(max_months=8, max_events=6))
def test_a_state_moved_forward_equals_one_folded_at_once(events: list[Event]) -> None:
    """A snapshot continued with the rest of its events (the batch's path, the due ids
    carried over) equals the state folded from all of them."""
    half = max(1, len(events) // 2)
    first = AccountState.from_events(events[:half])
    assert first.apply(events[half:]) == _reference(events)
