"""Scenario: Li Wei's personal loan, followed day by day through the spring of 2025."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

import pytest

from dunning._base.time import local_at
from dunning._state.account import AccountState


def ev(type_: str, event_id: str, at: str, **fields: Any) -> dict[str, Any]:
    """An event of loan L-li at Shanghai local time `at`, money in CNY."""
    out: dict[str, Any] = {"type": type_, "event_id": event_id, "loan_id": "L-li"}
    if type_ in {
        "loan_opened",
        "installment_due",
        "payment_received",
        "promise_to_pay",
        "fee_charged",
    }:
        out["currency"] = "CNY"
    return {**out, "at": f"{at}+08:00", **fields}


def due(event_id: str, day: str) -> dict[str, Any]:
    return ev("installment_due", event_id, f"{day}T00:00:00", due_date=day,
              principal="1000.00", interest="30.00")  # fmt: skip


HISTORY = [
    ev("loan_opened", "open", "2025-01-05T10:00:00", borrower_id="B-li", principal="6000.00",
       timezone="Asia/Shanghai"),
    due("due-02", "2025-02-05"),
    ev("payment_received", "pay-1", "2025-02-05T14:00:00", amount="1030.00"),
    due("due-03", "2025-03-05"),
    ev("payment_received", "pay-2", "2025-03-10T09:00:00", amount="500.00"),
    ev("fee_charged", "fee-1", "2025-03-15T10:00:00", amount="50.00", due_date="2025-03-15"),
    ev("payment_received", "pay-3", "2025-03-20T11:00:00", amount="580.00"),
    ev("payment_reversed", "bounce", "2025-03-25T09:00:00", payment_event_id="pay-3",
       reason="insufficient funds"),
    ev("promise_to_pay", "promise", "2025-04-02T15:00:00", amount="1610.00",
       promised_date="2025-04-10"),
    due("due-04", "2025-04-05"),
    ev("payment_received", "pay-4", "2025-04-08T18:00:00", amount="300.00"),
    due("due-05", "2025-05-05"),
]  # fmt: skip


def facts_on(day: str) -> dict[str, Any]:
    """The facts at 20:00 Shanghai time on `day`, from the events known by then."""
    as_of = local_at(date.fromisoformat(day), time(20, 0), "Asia/Shanghai")
    known = [e for e in HISTORY if datetime.fromisoformat(e["at"]) <= as_of]
    return dict(AccountState.from_events(known).facts(as_of))


# day, dpd, bucket, overdue, outstanding, promise status
DAYS = [
    ("2025-02-04", 0, "M0", "0.00", "6000.00", "none"),  # nothing due yet
    ("2025-02-05", 0, "M0", "0.00", "5000.00", "none"),  # first installment paid on time
    ("2025-03-05", 0, "M0", "0.00", "5030.00", "none"),  # March due today: not yet late
    ("2025-03-06", 1, "M1", "1030.00", "5030.00", "none"),  # a day late
    ("2025-03-10", 5, "M1", "530.00", "4530.00", "none"),  # partial payment of 500
    ("2025-03-15", 10, "M1", "530.00", "4580.00", "none"),  # late fee charged, due today
    ("2025-03-16", 11, "M1", "580.00", "4580.00", "none"),  # ... and overdue tomorrow
    ("2025-03-20", 0, "M0", "0.00", "4000.00", "none"),  # 580 clears March and the fee
    ("2025-03-25", 20, "M1", "580.00", "4580.00", "none"),  # the 580 bounced: late again
    ("2025-04-02", 28, "M1", "580.00", "4580.00", "active"),  # promise 1610 by 10 April
    ("2025-04-05", 31, "M2", "580.00", "4610.00", "active"),  # April due; into M2
    ("2025-04-08", 34, "M2", "1310.00", "4310.00", "active"),  # 300 paid; April now late
    ("2025-04-10", 36, "M2", "1310.00", "4310.00", "active"),  # promised date: still active
    ("2025-04-11", 37, "M2", "1310.00", "4310.00", "broken"),  # promise broken
    ("2025-05-06", 62, "M3", "2340.00", "4340.00", "broken"),  # May missed too: M3
]


@pytest.mark.parametrize(("day", "dpd", "bucket", "overdue", "outstanding", "promise"), DAYS)
def test_li_wei_day_by_day(
    day: str, dpd: int, bucket: str, overdue: str, outstanding: str, promise: str
) -> None:
    """Li Wei borrows 6000 CNY in January, repaid 1030 a month on the 5th.

    February is paid on the day. March is paid late and in part (500 on the 10th), a 50 late
    fee is charged on the 15th, and a payment of 580 on the 20th clears everything — until it
    bounces on the 25th and the account is 20 days late again. On 2 April Li Wei promises
    1610 by 10 April but pays only 300 on the 8th: the promise is broken on the 11th, and by
    6 May, with May unpaid too, the loan is 62 days past due (bucket M3).
    """
    facts = facts_on(day)
    expected = (dpd, bucket, Decimal(overdue), Decimal(outstanding), promise)
    actual = (
        facts["dpd"], facts["bucket"], facts["overdue_amount"], facts["outstanding_amount"],
        facts["promise_status"],
    )  # fmt: skip
    assert expected == actual


def test_the_bounce_is_undone_exactly() -> None:
    """After the bounce, the ledger is what it was before the 580 payment arrived."""
    before = [e for e in HISTORY if e["at"] < "2025-03-20"]
    bounced = [e for e in HISTORY if e["at"] < "2025-03-26"]
    assert AccountState.from_events(before).ledger == AccountState.from_events(bounced).ledger


def test_waterfall_of_the_partial_march_payment() -> None:
    """On 10 March the 500 pays March's interest (30) first, then 470 of its principal."""
    state = AccountState.from_events([e for e in HISTORY if e["at"] < "2025-03-11"])
    march = next(b for b in state.ledger.balances if b.item.item_id == "due-03")
    expected = (Decimal("0"), Decimal("30.00"), Decimal("470.00"), Decimal("530.00"))
    assert expected == (march.paid_fees, march.paid_interest, march.paid_principal, march.unpaid)


def test_counts_at_the_end() -> None:
    """On 6 May: three installments overdue, one promise broken, last payment 28 days ago."""
    facts = facts_on("2025-05-06")
    expected = {"installments_overdue": 3, "promises_broken": 1, "promises_kept": 0,
                "days_since_last_payment": 28, "credit_amount": Decimal("0.00")}  # fmt: skip
    assert expected == {k: facts[k] for k in expected}
