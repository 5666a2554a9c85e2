"""A scripted borrower for the lawful-by-construction stories (tests/test_scenario_lawful*.py).

A `Story` opens one loan in a market and collects the events of the borrower's life, day by
day, in local time; `decide(day, hh)` asks the pack for a decision at that moment. The
stories read as a compliance officer would follow a file: what happened on which date, and
what the bank may do next.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import dunning

ROOT = Path(__file__).resolve().parents[1]
PACKS = {
    "CN": ("cn-bank-retail", "CNY", "Asia/Shanghai"),
    "UK": ("uk-fca", "GBP", "Europe/London"),
    "US": ("us-regf", "USD", "America/New_York"),
}
_RULES: dict[str, dunning.RuleSet] = {}


def rules(market: str) -> dunning.RuleSet:
    if market not in _RULES:
        _RULES[market] = dunning.load_rules(ROOT / "rules" / f"{PACKS[market][0]}.yaml")
    return _RULES[market]


@dataclass
class Story:
    market: str
    events: list[dict[str, Any]] = field(default_factory=list)
    n: int = 0

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(PACKS[self.market][2])

    @property
    def currency(self) -> str:
        return PACKS[self.market][1]

    def at(self, day: date, hh: int = 10, mm: int = 0) -> str:
        return datetime.combine(day, time(hh, mm), tzinfo=self.tz).isoformat()

    def add(self, type_: str, day: date, hh: int = 10, **fields: Any) -> Story:
        self.n += 1
        event = {"type": type_, "event_id": f"e{self.n:03d}", "at": self.at(day, hh), **fields}
        if type_ not in ("contact_attempted",) or "loan_id" not in fields:
            event.setdefault("loan_id", "L1")
        if type_ in ("contact_attempted", "breathing_space_started", "breathing_space_ended",
                     "cease_contact_requested"):  # fmt: skip
            event.setdefault("borrower_id", "B1")
        self.events.append(event)
        return self

    def open(self, day: date, principal: str = "12000.00") -> Story:
        return self.add("loan_opened", day, 9, borrower_id="B1", principal=principal,
                        currency=self.currency, timezone=PACKS[self.market][2])  # fmt: skip

    def due(self, day: date, principal: str = "1000.00", interest: str = "0.00") -> Story:
        return self.add("installment_due", day, 0, due_date=day.isoformat(),
                        principal=principal, interest=interest, currency=self.currency)  # fmt: skip

    def pay(self, day: date, amount: str) -> Story:
        return self.add("payment_received", day, 12, amount=amount, currency=self.currency)

    def step(self, day: date, step: str, **fields: Any) -> Story:
        return self.add("step_taken", day, 11, step=step, **fields)

    def contact(self, day: date, channel: str, outcome: str, hh: int = 11) -> Story:
        return self.add("contact_attempted", day, hh, channel=channel, outcome=outcome)

    def decide(self, day: date, hh: int = 10, mm: int = 0, **kw: Any) -> dunning.Decision:
        return dunning.Engine(rules(self.market), **kw).decide(self.events, self.at(day, hh, mm))

    def facts(self, day: date, hh: int = 10) -> Any:
        state = dunning.AccountState.from_events(self.events)
        return state.facts(self.at(day, hh), rules(self.market))


def blocks(d: dunning.Decision, step: str) -> dict[str, Any]:
    """limit id -> Block of the blocks holding `step` back."""
    return {b.limit_id: b for b in d.blocked if b.step == step}


def money(text: str) -> Decimal:
    return Decimal(text)
