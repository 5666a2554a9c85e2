"""Engine.decide: facts -> rules -> gate -> Decision, identically with either backend."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dunning
from dunning._base.errors import InputError
from dunning._decide.decision import Decision
from dunning._decide.engine import Engine, preference_order
from dunning._rules.loader import loads_rules
from dunning._state.account import AccountState
from dunning.testing import as_of_times, loan_histories

HEAD = """dunning: 1
id: engine_test
version: "1"
jurisdiction: CN
currency: CNY
timezone: Asia/Shanghai
steps:
  - {id: sms_reminder, label: SMS, channel: sms, kind: reminder, level: 1}
  - {id: phone_collection, label: Call, channel: phone, kind: contact, level: 2}
  - {id: repayment_plan_offer, label: Plan, channel: phone, kind: negotiation, level: 2}
  - {id: overdue_letter, label: Letter, channel: letter, kind: letter, level: 4}
  - {id: lawyer_letter, label: Lawyer, channel: letter, kind: legal, level: 6}
rules:
"""


def rule(rid: str, when: str, step: str, priority: int = 0) -> str:
    cond = when.replace("'", "''")
    return (
        f"  - {{id: {rid}, when: '{cond}', step: {step}, priority: {priority},"
        f" reason: {{en: because {rid}, zh: 原因}}, source: policy {rid}}}\n"
    )


RULES = loads_rules(
    HEAD
    + rule("sms", "dpd >= 1 and dpd <= 15", "sms_reminder", 10)
    + rule("call", "dpd > 15 and not dispute_open", "phone_collection", 20)
    + rule("plan", "hardship and dpd >= 1", "repayment_plan_offer", 20)
    + rule("letter", "dpd > 30 and overdue_amount >= 1000", "overdue_letter", 20)
    + rule("lawyer", "days_since_step.overdue_letter >= 14", "lawyer_letter", 5)
)
AT = "2025-01-01T09:00:00+08:00"
EVENTS: list[dict[str, Any]] = [
    {"type": "loan_opened", "event_id": "e1", "loan_id": "L1", "borrower_id": "B1", "at": AT,
     "principal": "12000.00", "currency": "CNY", "timezone": "Asia/Shanghai",
     "product": "personal_loan"},
    {"type": "installment_due", "event_id": "e2", "loan_id": "L1",
     "at": "2025-02-01T00:00:00+08:00", "due_date": "2025-02-01", "principal": "1000.00",
     "interest": "60.00", "currency": "CNY"},
    {"type": "payment_received", "event_id": "e3", "loan_id": "L1",
     "at": "2025-02-10T12:00:00+08:00", "amount": "500.00", "currency": "CNY"},
]  # fmt: skip
LATE_PAYMENT = {
    "type": "payment_received", "event_id": "e4", "loan_id": "L1",
    "at": "2025-03-10T12:00:00+08:00", "amount": "560.00", "currency": "CNY",
}  # fmt: skip


def test_a_decision_records_every_match_with_the_facts_it_read() -> None:
    """47 days past due with 560.00 overdue: only `call` holds (`letter` needs 1000); the
    decision names the rule that chose and what every matching rule saw."""
    d = Engine(RULES).decide(EVENTS, "2025-03-20T10:00:00+08:00")
    assert ("act", "phone_collection", "call") == (d.status, d.step, d.chosen_rule)
    assert ["call"] == [m.rule_id for m in d.matched]
    assert {"dispute_open": False, "dpd": 47} == d.matched[0].facts
    assert {"en": "because call", "zh": "原因"} == d.matched[0].reason
    assert ("engine_test", "1", RULES.sha256) == (d.rule_set.id, d.rule_set.version,
                                                  d.rule_set.sha256)  # fmt: skip
    assert dunning.__version__ == d.engine_version
    assert d.id == d.with_id().id != ""


def test_money_facts_are_traced_as_canonical_decimal_strings() -> None:
    """A matched rule reading money records it as the currency's decimal string."""
    rules = loads_rules(HEAD + rule("big", "overdue_amount > 100", "overdue_letter"))
    d = Engine(rules).decide(EVENTS, "2025-03-20T10:00:00+08:00")
    assert {"overdue_amount": "560.00"} == d.matched[0].facts


def test_nothing_matched_says_so() -> None:
    """Before anything is due no rule holds: status none, no step, no matches."""
    d = Engine(RULES).decide(EVENTS[:1], "2025-01-02T10:00:00+08:00")
    assert ("none", None, ()) == (d.status, d.step, d.matched)


def test_events_after_as_of_are_left_out() -> None:
    """Deciding from the full list as of an earlier moment equals deciding from the events
    known then, so any past decision can be re-made at its own moment."""
    engine = Engine(RULES)
    then = "2025-03-05T10:00:00+08:00"
    assert (
        engine.decide(EVENTS, then).to_json()
        == engine.decide([*EVENTS, LATE_PAYMENT], then).to_json()
    )


def test_a_state_newer_than_as_of_is_cut_at_as_of() -> None:
    """A snapshot holding events later than as_of decides exactly as the event list cut at
    as_of: same decision, same input digest."""
    state = AccountState.from_events(EVENTS)
    then = "2025-02-09T00:00:00+08:00"
    engine = Engine(RULES)
    assert engine.decide(state, then).to_json() == engine.decide(EVENTS, then).to_json()


def test_state_and_events_give_the_same_decision_and_digest() -> None:
    """A state carries its events: deciding from it or from the list is the same input."""
    engine = Engine(RULES)
    state = AccountState.from_events(list(reversed(EVENTS)))
    as_of = datetime(2025, 3, 20, 2, 0, tzinfo=UTC)
    assert engine.decide(EVENTS, as_of).to_json() == engine.decide(state, as_of).to_json()
    other = engine.decide(EVENTS, as_of + timedelta(seconds=1))
    assert other.input_digest != engine.decide(EVENTS, as_of).input_digest


def test_unknown_backend_names_the_allowed_values() -> None:
    """A typo in the backend is an InputError listing python and durable."""
    with pytest.raises(InputError, match="expected one of 'python', 'durable', found 'durabel'"):
        Engine(RULES, backend="durabel")


def test_bad_as_of_and_bad_input_are_input_errors() -> None:
    """A naive as_of, or something that is neither a state nor events, is refused clearly."""
    with pytest.raises(InputError, match="timezone-aware"):
        Engine(RULES).decide(EVENTS, "2025-03-20T10:00:00")
    with pytest.raises(InputError, match="AccountState or an iterable of events"):
        Engine(RULES).decide({"type": "loan_opened"}, AT)


def test_candidates_are_ranked_priority_level_step_rule() -> None:
    """Ties on priority go to the higher ladder level, then the smaller step id, then the
    smaller rule id; the first allowed candidate wins."""
    rules = loads_rules(
        HEAD
        + rule("z_call", "dpd >= 1", "phone_collection", 20)
        + rule("a_call", "dpd >= 1", "phone_collection", 20)
        + rule("plan", "dpd >= 1", "repayment_plan_offer", 20)
        + rule("letter", "dpd >= 1", "overdue_letter", 20)
        + rule("sms", "dpd >= 1", "sms_reminder", 90)
    )
    assert ["sms", "letter", "a_call", "z_call", "plan"] == [
        rules.rules[i].id for i in preference_order(rules)
    ]
    d = Engine(rules).decide(EVENTS, "2025-03-20T10:00:00+08:00")
    assert ["sms", "letter", "a_call", "z_call", "plan"] == [m.rule_id for m in d.matched]
    assert "sms" == d.chosen_rule


def test_decisions_are_byte_identical_across_processes() -> None:
    """The same input gives the same bytes in a fresh interpreter (another hash seed)."""
    script = (
        f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import test_engine as t;"
        "print(t.Engine(t.RULES).decide(t.EVENTS, '2025-03-20T10:00:00+08:00').to_json())"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True,
        env={"PYTHONHASHSEED": "123", "PATH": ""},
    )  # fmt: skip
    here = Engine(RULES).decide(EVENTS, "2025-03-20T10:00:00+08:00").to_json()
    assert here == out.stdout.strip()
    assert here == Decision.from_json(here).to_json()


def test_many_threads_decide_with_the_durable_backend() -> None:
    """8 threads x 50 decisions on one durable engine equal the sequential decisions."""
    engine = Engine(RULES, backend="durable")
    start = datetime(2025, 2, 1, 2, 0, tzinfo=UTC)
    times = [start + timedelta(days=n) for n in range(50)]
    expected = [engine.decide(EVENTS[:2], t).to_json() for t in times]
    results: dict[int, list[str]] = {}

    def work(k: int) -> None:
        results[k] = [engine.decide(EVENTS[:2], t).to_json() for t in times]

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert {k: expected for k in range(8)} == results


# -- both backends on generated rule sets and states --------------------------------------------

INT_FACTS = (
    "dpd", "installments_overdue", "days_since_last_payment", "days_to_time_bar",
    "attempts_7d.phone", "days_since_step.sms_reminder", "step_count.phone_collection",
)  # fmt: skip
MONEY_FACTS = ("overdue_amount", "outstanding_amount")
BOOL_FACTS = ("dispute_open", "hardship", "contactable", "step_done.overdue_letter")
OPS = ("==", "!=", "<", "<=", ">", ">=")
STEPS = ("sms_reminder", "phone_collection", "repayment_plan_offer", "overdue_letter",
         "lawyer_letter")  # fmt: skip

int_atom = st.one_of(
    st.builds("{} {} {}".format, st.sampled_from(INT_FACTS), st.sampled_from(OPS),
              st.integers(0, 60)),
    st.builds("{} + {} {} {}".format, st.sampled_from(INT_FACTS), st.sampled_from(INT_FACTS),
              st.sampled_from(OPS), st.integers(0, 90)),
    st.builds("{} in [{}, {}]".format, st.sampled_from(INT_FACTS), st.integers(0, 40),
              st.integers(0, 40)),
)  # fmt: skip
money_atom = st.builds(
    "{} {} {}".format, st.sampled_from(MONEY_FACTS), st.sampled_from(OPS),
    st.sampled_from(["0", "500", "999.99", "1000", "5000.5"]),
)  # fmt: skip
enum_atom = st.one_of(
    st.builds('bucket {} "{}"'.format, st.sampled_from(["==", "!="]),
              st.sampled_from(["M0", "M1", "M2", "M3"])),
    st.just('promise_status in ["none", "broken"]'),
)  # fmt: skip
condition_text = st.recursive(
    st.one_of(int_atom, money_atom, enum_atom, st.sampled_from(BOOL_FACTS)),
    lambda sub: st.one_of(
        st.builds("({} and {})".format, sub, sub),
        st.builds("({} or {})".format, sub, sub),
        st.builds("not ({})".format, sub),
    ),
    max_leaves=8,
)


@st.composite
def rule_sets(draw: st.DrawFn) -> Any:
    n = draw(st.integers(1, 6))
    text = HEAD
    for i in range(n):
        text += rule(f"r{i}", draw(condition_text), draw(st.sampled_from(STEPS)),
                     draw(st.sampled_from([0, 10, 20])))  # fmt: skip
    return loads_rules(text)


@settings(deadline=None)
@given(rule_sets(), st.data())
def test_both_backends_give_identical_decisions(rules: Any, data: st.DataObject) -> None:
    """On generated rule sets and account histories, the generated-Python and durable_rules
    evaluators produce byte-identical decisions."""
    python, durable = Engine(rules), Engine(rules, backend="durable")
    events = data.draw(loan_histories(max_months=4, max_events=4))
    as_of = data.draw(as_of_times(events, max_days=200))
    assert python.decide(events, as_of).to_json() == durable.decide(events, as_of).to_json()
