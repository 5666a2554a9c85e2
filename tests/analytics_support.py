"""A generated portfolio decided under a Split, then given outcomes with a planted effect.

Each loan is one of the simulator's generated loans (opened months ago, 1–3 installments
missed, so 1–90 days past due on the decision day), decided on that day by a `Split`. Its
later events are drawn from its own seeded random stream, the same whatever its arm:

* it cures (pays everything overdue on a day within the first 25) with probability
  `base` (0.40), plus `effect` when it is in `effect_arm` and in bucket `effect_bucket`;
* an uncured loan promises half of what it owes, and keeps the promise half the time;
* one contact attempt a week for four weeks, and a complaint (2%) or a dispute (3%).

No further installments fall due, so a cured loan stays current in every window.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from dunning import AccountState, Split, loads_rules
from dunning.simulation import SimConfig, generate_portfolio

ROOT = Path(__file__).resolve().parents[1]
PACK = ROOT / "rules" / "cn-bank-retail.yaml"
START = date(2025, 3, 1)
AS_OF = datetime.fromisoformat("2025-03-01T10:00:00+08:00")


def challenger_pack(version: str = "2026.1-b") -> Any:
    text = PACK.read_text(encoding="utf-8").replace('version: "2026.1"', f'version: "{version}"')
    return loads_rules(text, path=f"cn-{version}.yaml")


def _bucket(state: AccountState) -> str:
    items = state.ledger.overdue_items(START)
    dpd = (START - items[0].due_date).days if items else 0
    return "M0" if dpd == 0 else "M1" if dpd <= 30 else "M2" if dpd <= 60 else "M3"


def planted(
    split: Split,
    accounts: int,
    *,
    seed: int = 11,
    base: float = 0.40,
    effect: float = 0.0,
    effect_arm: str = "B",
    effect_bucket: str = "M2",
) -> tuple[list[Any], list[Any]]:
    """(decisions, events): every loan decided at AS_OF, then its outcome events."""
    decisions: list[Any] = []
    events: list[Any] = []
    config = SimConfig(accounts=accounts, seed=seed, start=START)
    for spec in generate_portfolio(config):
        state = AccountState.from_events(spec.history)
        d = split.decide(state, AS_OF)
        decisions.append(d)
        events.extend(spec.history)
        rng = random.Random(f"outcome:{seed}:{spec.loan_id}")
        owed = sum((i.unpaid for i in state.ledger.overdue_items(START + timedelta(1))),
                   Decimal(0))  # fmt: skip
        p = base + (effect if d.arm == effect_arm and _bucket(state) == effect_bucket else 0)
        n = 0

        def add(kind: str, day: float, loan: str = spec.loan_id, **fields: Any) -> None:
            nonlocal n
            n += 1
            at = AS_OF + timedelta(days=day)
            events.append({"type": kind, "event_id": f"{loan}-o{n:03d}", "loan_id": loan,
                           "at": at.isoformat(), **fields})  # fmt: skip

        for week in range(4):
            add("contact_attempted", 7 * week + 1, borrower_id=state.borrower_id,
                channel="phone", outcome=rng.choice(["right_party", "no_answer"]))  # fmt: skip
        cures = rng.random() < p
        if cures:
            add("payment_received", rng.randint(1, 25) + 0.2, amount=str(owed), currency="CNY")
        elif owed > 0:
            half = (owed / 2).quantize(Decimal("0.01"))
            by = START + timedelta(days=rng.randint(5, 20))
            add("promise_to_pay", 2.1, amount=str(half), currency="CNY",
                promised_date=by.isoformat())  # fmt: skip
            if rng.random() < 0.5:
                add("payment_received", (by - START).days - 0.1, amount=str(half),
                    currency="CNY")  # fmt: skip
        if rng.random() < 0.02:
            add("complaint_opened", 3.3)
        if rng.random() < 0.03:
            add("dispute_raised", 4.4, written=True)
    # the data reach 100 days after the decision day: every window (30, 60, 90) is observed
    last = AS_OF + timedelta(days=100)
    first = decisions[0].loan_id
    events.append({"type": "contact_attempted", "event_id": f"{first}-end", "loan_id": first,
                   "borrower_id": f"B{first}", "at": last.isoformat(), "channel": "sms",
                   "outcome": "delivered"})  # fmt: skip
    return decisions, events
