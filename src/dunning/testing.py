"""Hypothesis strategies for `dunning` events, loan histories and decision times.

Use them to test your own rule sets and services against realistic, valid input::

    from hypothesis import given, strategies as st
    from dunning.testing import as_of_times, loan_histories

    @given(loan_histories(currency="USD", timezone="America/New_York",
                          behaviours=("pays_late", "promises_and_breaks")), st.data())
    def test_my_rules(events, data):
        as_of = data.draw(as_of_times(events, dst_edges=True))
        ...

Organisation of this module:

* *values*: `amounts` (Decimal exact to the currency), `instants` (aware times at any hour);
* *single events*: `contact_attempts`, `payments`, `promises`, `step_events` — each takes the
  loan, the borrower and a time range, and returns a strategy of one event model;
* *histories*: `loan_histories` — a whole valid loan history (``loan_opened`` first, monthly
  installments, partial and late payments, reversals of earlier payments, promises, contacts
  on every channel at all hours, disputes, fees, steps and a repayment plan), narrowed by
  currency, zone, `product` and `behaviours` (names in `BEHAVIOURS`); `account_states`, the
  same folded into an `AccountState`; `portfolios`, several loans, some sharing a borrower;
* *times*: `as_of_times` — an instant at or after a history's last event, with `dst_edges`
  biased to daylight-saving changes (`dst_transitions`) and local day edges (`EDGE_TIMES`);
* *invariants*: `check_*`, `run_invariant`, `check_all`.

Every history is accepted by `AccountState.from_events` (the property tests of the library
check it), its event ids are unique, and it holds one loan of one borrower (borrower-level
contacts may carry no loan id or another loan's id, as real feeds do). Bad narrowing
arguments (an unknown currency, zone or behaviour) raise `InputError` when the strategy is
built, not while drawing.
"""

from ._testing.behaviours import BEHAVIOURS
from ._testing.invariants import (
    INVARIANTS,
    InvariantViolation,
    check_all,
    check_cites_a_rule,
    check_deterministic,
    check_monotonic_escalation,
    check_no_contact_on_ceased,
    check_no_limit_broken,
    check_no_step_when_settled,
    check_prerequisites_respected,
    run_invariant,
)
from ._testing.portfolios import portfolios
from ._testing.strategies import (
    STEP_IDS,
    account_states,
    amounts,
    contact_attempts,
    instants,
    loan_histories,
    payments,
    promises,
    step_events,
)
from ._testing.times import EDGE_TIMES, as_of_times, dst_transitions

__all__ = [
    "BEHAVIOURS",
    "EDGE_TIMES",
    "INVARIANTS",
    "STEP_IDS",
    "InvariantViolation",
    "account_states",
    "amounts",
    "as_of_times",
    "check_all",
    "check_cites_a_rule",
    "check_deterministic",
    "check_monotonic_escalation",
    "check_no_contact_on_ceased",
    "check_no_limit_broken",
    "check_no_step_when_settled",
    "check_prerequisites_respected",
    "contact_attempts",
    "dst_transitions",
    "instants",
    "loan_histories",
    "payments",
    "portfolios",
    "promises",
    "run_invariant",
    "step_events",
]
