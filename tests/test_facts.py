"""Facts at an instant: days past due, buckets, windows, promises, plans, limitation, flags."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest

from dunning._base.time import aware
from dunning._rules.schema import Limitation, Step
from dunning._state.account import AccountState
from dunning._state.facts import FactContext, bucket_of, compute_facts

MONEY_TYPES = {"loan_opened", "installment_due", "payment_received", "promise_to_pay",
               "fee_charged", "repayment_plan_agreed"}  # fmt: skip


def ev(type_: str, event_id: str, at: str, **fields: Any) -> dict[str, Any]:
    """An event of loan L1 (borrower B1, Shanghai) at local time `at`."""
    out: dict[str, Any] = {"type": type_, "event_id": event_id, "loan_id": "L1"}
    if type_ in MONEY_TYPES:
        out["currency"] = "CNY"
    return {**out, "at": f"{at}+08:00", **fields}


OPEN = ev("loan_opened", "open", "2025-01-01T09:00:00", borrower_id="B1", principal="3000.00",
          timezone="Asia/Shanghai")  # fmt: skip


def due(event_id: str, day: str, amount: str = "1000.00") -> dict[str, Any]:
    return ev("installment_due", event_id, f"{day}T00:00:00", due_date=day, principal=amount)


def pay(event_id: str, at: str, amount: str) -> dict[str, Any]:
    return ev("payment_received", event_id, at, amount=amount)


def contact(event_id: str, at: str, channel: str = "phone", **kw: Any) -> dict[str, Any]:
    fields = {"borrower_id": "B1", "channel": channel, "outcome": "no_answer", **kw}
    return ev("contact_attempted", event_id, at, **fields)


def facts(events: list[dict[str, Any]], as_of: str, ctx: FactContext | None = None) -> Any:
    state = AccountState.from_events([OPEN, *events])
    return compute_facts(state, aware(f"{as_of}+08:00"), ctx or FactContext())


def test_days_past_due_of_the_design_example() -> None:
    """Due 2025-02-01 and unpaid on 2025-03-05: 32 days past due, bucket M2."""
    f = facts([due("d1", "2025-02-01")], "2025-03-05T10:00:00")
    assert (32, "M2", Decimal("1000.00")) == (f["dpd"], f["bucket"], f["overdue_amount"])


def test_days_past_due_counts_local_dates() -> None:
    """At 00:30 Shanghai time on 2 Feb (still 1 Feb in UTC) the loan is already 1 day late."""
    state = AccountState.from_events([OPEN, due("d1", "2025-02-01")])
    f = compute_facts(state, aware("2025-02-01T16:30:00+00:00"), FactContext())
    assert f["dpd"] == 1


@pytest.mark.parametrize(
    ("dpd", "bucket"),
    [(0, "M0"), (1, "M1"), (30, "M1"), (31, "M2"), (60, "M2"), (61, "M3"), (90, "M3"),
     (91, "M4"), (120, "M4"), (121, "M5"), (150, "M5"), (151, "M6"), (180, "M6"),
     (181, "M7+"), (4000, "M7+")],
)  # fmt: skip
def test_bucket_boundaries(dpd: int, bucket: str) -> None:
    """M0 current, M1 1-30 ... M6 151-180, M7+ beyond."""
    assert bucket == bucket_of(dpd)


def test_overpayment_becomes_credit_that_settles_the_next_installment() -> None:
    """1500 against a 1000 installment leaves 500 credit; the next installment uses it."""
    f = facts([due("d1", "2025-02-01"), pay("p1", "2025-02-01T10:00:00", "1500.00")],
              "2025-02-02T10:00:00")  # fmt: skip
    assert (Decimal("500.00"), 0) == (f["credit_amount"], f["dpd"])
    f = facts([due("d1", "2025-02-01"), pay("p1", "2025-02-01T10:00:00", "1500.00"),
               due("d2", "2025-03-01")], "2025-03-05T10:00:00")  # fmt: skip
    expected = (Decimal("0.00"), Decimal("500.00"), 4, Decimal("1500.00"))
    assert expected == (f["credit_amount"], f["overdue_amount"], f["dpd"], f["outstanding_amount"])


def test_fees_are_paid_before_interest_and_principal() -> None:
    """A 60 payment on an item with fee 50, interest 20, principal 100 pays the fee and 10."""
    item = ev("installment_due", "d1", "2025-02-01T00:00:00", due_date="2025-02-01",
              principal="100.00", interest="20.00", fees="50.00")  # fmt: skip
    state = AccountState.from_events([OPEN, item, pay("p1", "2025-02-02T10:00:00", "60.00")])
    b = state.ledger.balances[0]
    expected = (Decimal("50.00"), Decimal("10.00"), Decimal("0"))
    assert expected == (b.paid_fees, b.paid_interest, b.paid_principal)


WINDOW_EVENTS = [
    contact("c1", "2025-03-03T23:59:00"),  # outside 7 local days ending 10 March
    contact("c2", "2025-03-04T00:01:00"),  # first minute of the window
    contact("c3", "2025-03-09T11:00:00", "sms"),
    contact("c4", "2025-03-10T09:00:00", direction="inbound", outcome="right_party"),
    contact("c5", "2025-03-10T09:30:00", outcome="right_party"),
]
NAMES = frozenset({"attempts_7d.phone", "attempts_7d.any", "attempts_7d.sms",
                   "attempts_24h.any", "conversations_7d.phone", "conversations_1d.any",
                   "attempts_1h.phone"})  # fmt: skip


def test_rolling_windows() -> None:
    """Days windows count local dates (today included); hours windows are exact; inbound calls
    are conversations but not attempts."""
    f = facts(WINDOW_EVENTS, "2025-03-10T10:00:00", FactContext(names=NAMES))
    expected = {"attempts_7d.phone": 2, "attempts_7d.any": 3, "attempts_7d.sms": 1,
                "attempts_24h.any": 2, "conversations_7d.phone": 2, "conversations_1d.any": 2,
                "attempts_1h.phone": 1}  # fmt: skip
    assert expected == {k: f[k] for k in NAMES}


def test_days_since_conversation() -> None:
    """The last right-party contact was this morning: 0 days."""
    assert facts(WINDOW_EVENTS, "2025-03-10T10:00:00")["days_since_conversation"] == 0


@pytest.mark.parametrize(
    ("payments", "as_of", "status"),
    [
        ([], "2025-03-15T10:00:00", "active"),  # promised date not reached
        ([], "2025-03-16T10:00:00", "broken"),  # day after the promised date
        ([pay("p1", "2025-03-15T23:00:00", "500.00")], "2025-03-20T10:00:00", "kept"),
        ([pay("p1", "2025-03-16T08:00:00", "500.00")], "2025-03-20T10:00:00", "broken"),
        ([pay("p0", "2025-03-09T10:00:00", "500.00")], "2025-03-20T10:00:00", "broken"),
        ([pay("p1", "2025-03-12T10:00:00", "300.00"), pay("p2", "2025-03-13T10:00:00", "200.00")],
         "2025-03-20T10:00:00", "kept"),
        ([pay("p1", "2025-03-12T10:00:00", "500.00"),
          ev("payment_reversed", "r1", "2025-03-13T10:00:00", payment_event_id="p1")],
         "2025-03-20T10:00:00", "broken"),
    ],
)  # fmt: skip
def test_promise_status(payments: list[dict[str, Any]], as_of: str, status: str) -> None:
    """A promise of 500 made on 10 March for 15 March: kept only by payments between the two
    that were not reversed; broken from the 16th."""
    promise = ev("promise_to_pay", "pr", "2025-03-10T10:00:00", amount="500.00",
                 promised_date="2025-03-15")  # fmt: skip
    f = facts([due("d1", "2025-02-01"), promise, *payments], as_of)
    assert status == f["promise_status"]
    assert (status == "kept", status == "broken") == (f["promises_kept"], f["promises_broken"])


PLAN = ev("repayment_plan_agreed", "plan", "2025-03-01T10:00:00", installments=[
    {"due_date": "2025-03-10", "amount": "400.00"},
    {"due_date": "2025-04-10", "amount": "400.00"},
])  # fmt: skip


@pytest.mark.parametrize(
    ("extra", "as_of", "status", "missed"),
    [
        ([], "2025-03-10T10:00:00", "active", 0),
        ([], "2025-03-11T10:00:00", "broken", 1),
        ([pay("p1", "2025-03-09T10:00:00", "400.00")], "2025-04-11T10:00:00", "broken", 1),
        ([pay("p1", "2025-03-09T10:00:00", "400.00")], "2025-04-10T10:00:00", "active", 0),
        ([pay("p1", "2025-03-09T10:00:00", "800.00")], "2025-03-11T10:00:00", "completed", 0),
        ([ev("repayment_plan_cancelled", "x", "2025-03-05T10:00:00")], "2025-03-11T10:00:00",
         "cancelled", 0),
    ],
)  # fmt: skip
def test_plan_status(extra: list[dict[str, Any]], as_of: str, status: str, missed: int) -> None:
    """A two-installment plan of 400 each: broken when payments fall behind its dues."""
    f = facts([due("d1", "2025-02-01"), PLAN, *extra], as_of)
    assert (status, missed) == (f["plan_status"], f["plan_installments_missed"])


LETTER = Step(id="lawyer_letter", label="Lawyer's letter", kind="letter", level=5,
              written_demand=True)  # fmt: skip
SUIT = Step(id="litigation", label="Litigation", kind="legal", level=9)


@pytest.mark.parametrize(
    ("limitation", "extra", "barred", "days"),
    [
        (Limitation(), [], False, 1),  # bar 2028-02-01, as_of 2028-01-31
        (Limitation(period="P2Y"), [], True, -364),
        (Limitation(restart_on=("payment",)), [pay("p1", "2026-06-01T10:00:00", "1.00")],
         False, 487),  # restarted: bar 2029-06-01
        (Limitation(restart_on=("written_demand",)),
         [ev("step_taken", "s1", "2027-01-01T10:00:00", step="lawyer_letter")], False, 701),
        (Limitation(restart_on=("legal_action",)),
         [ev("step_taken", "s1", "2027-01-01T10:00:00", step="lawyer_letter")], False, 1),
        (Limitation(restart_on=("written_demand",), long_stop="P3Y6M"),
         [ev("step_taken", "s1", "2027-01-01T10:00:00", step="lawyer_letter")], False, 183),
    ],
)  # fmt: skip
def test_limitation(
    limitation: Limitation, extra: list[dict[str, Any]], barred: bool, days: int
) -> None:
    """Three years from the unpaid due date of 1 Feb 2025, restarted by the configured events
    (a lawyer's letter is a written demand, not legal action), capped by the long stop."""
    ctx = FactContext(limitation=limitation, steps={"lawyer_letter": LETTER, "litigation": SUIT})
    f = facts([due("d1", "2025-02-01"), *extra], "2028-01-31T10:00:00", ctx)
    assert (barred, days) == (f["time_barred"], f["days_to_time_bar"])


def test_nothing_due_means_no_time_bar() -> None:
    """Before anything is overdue, days_to_time_bar is null and nothing is barred."""
    f = facts([], "2025-02-01T10:00:00")
    assert (f["time_barred"], f["days_to_time_bar"]) == (False, None)


def test_step_families_and_ladder_level() -> None:
    """Steps taken feed days_since_step, step_count, step_done and the ladder level."""
    steps = [ev("step_taken", "s1", "2025-03-01T10:00:00", step="lawyer_letter"),
             ev("step_taken", "s2", "2025-03-05T10:00:00", step="lawyer_letter")]  # fmt: skip
    names = frozenset({"days_since_step.lawyer_letter", "step_count.lawyer_letter",
                       "step_done.lawyer_letter", "step_done.litigation",
                       "days_since_step.litigation"})  # fmt: skip
    ctx = FactContext(steps={"lawyer_letter": LETTER, "litigation": SUIT}, names=names)
    f = facts(steps, "2025-03-10T10:00:00", ctx)
    expected = {"days_since_step.lawyer_letter": 5, "step_count.lawyer_letter": 2,
                "step_done.lawyer_letter": True, "step_done.litigation": False,
                "days_since_step.litigation": None}  # fmt: skip
    assert expected == {k: f[k] for k in names}
    assert f["ladder_level"] == 5


def test_cease_and_consent() -> None:
    """Ceasing phone leaves sms open; consent withdrawn for e-mail is per channel; ceasing
    everything makes the borrower uncontactable."""
    names = frozenset(f"{p}.{c}" for p in ("cease_requested", "consent_withdrawn")
                      for c in ("phone", "sms", "email", "any"))  # fmt: skip
    cease = ev("cease_contact_requested", "x1", "2025-03-01T10:00:00", borrower_id="B1",
               channels=["phone"])  # fmt: skip
    optout = ev("consent_changed", "x2", "2025-03-02T10:00:00", borrower_id="B1",
                channel="email", granted=False)  # fmt: skip
    f = facts([cease, optout], "2025-03-10T10:00:00", FactContext(names=names))
    assert {k for k in names if f[k]} == {"cease_requested.phone", "consent_withdrawn.email"}
    assert f["contactable"] is True
    all_off = ev("cease_contact_requested", "x3", "2025-03-03T10:00:00", borrower_id="B1")
    f = facts([cease, all_off], "2025-03-10T10:00:00", FactContext(names=names))
    assert (
        f["cease_requested.sms"], f["cease_requested.any"], f["contactable"],
    ) == (True, True, False)  # fmt: skip


def test_flags() -> None:
    """Dispute, bankruptcy, breathing space (until its end date) and settlement flags."""
    events = [
        ev("dispute_raised", "f1", "2025-03-01T10:00:00"),
        ev("bankruptcy_filed", "f2", "2025-03-02T10:00:00", borrower_id="B1"),
        ev("breathing_space_started", "f3", "2025-03-03T10:00:00", borrower_id="B1",
           ends_on="2025-03-20"),
    ]  # fmt: skip
    f = facts(events, "2025-03-20T10:00:00")
    assert (f["dispute_open"], f["bankruptcy_stay"], f["breathing_space"]) == (True, True, True)
    f = facts(events, "2025-03-21T10:00:00")
    assert f["breathing_space"] is False
    closed = [ev("bankruptcy_closed", "f4", "2025-03-05T10:00:00", borrower_id="B1",
                 outcome="discharged")]  # fmt: skip
    f = facts([*events, *closed], "2025-03-21T10:00:00")
    assert (f["bankruptcy_stay"], f["bankruptcy_discharged"]) == (False, True)


def test_settled_when_everything_is_repaid() -> None:
    """Three installments of 1000 repaid in full: settled, nothing outstanding."""
    events = [due("d1", "2025-02-01"), due("d2", "2025-03-01"), due("d3", "2025-04-01"),
              pay("p1", "2025-04-01T10:00:00", "3000.00")]  # fmt: skip
    f = facts(events, "2025-04-02T10:00:00")
    assert (True, Decimal("0.00")) == (f["settled"], f["outstanding_amount"])
    assert facts(events[:2], "2025-04-02T10:00:00")["settled"] is False


def test_state_facts_reads_a_rule_set() -> None:
    """state.facts(as_of, rules) takes limitation, steps and fact names from a RuleSet."""
    rules = SimpleNamespace(
        document=SimpleNamespace(limitation=Limitation(period="P1Y")),
        steps={"lawyer_letter": LETTER},
        fact_names=frozenset({"step_done.lawyer_letter", "dpd"}),
    )
    state = AccountState.from_events([OPEN, due("d1", "2025-02-01")])
    f = state.facts("2026-02-01T10:00:00+08:00", rules)
    assert (f["time_barred"], f["step_done.lawyer_letter"]) == (True, False)
