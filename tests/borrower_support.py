"""A day-by-day simulator of one borrower with several loans, for the borrower scenarios.

Theory of operation. Each loan is opened with its whole repayment schedule loaded at once
(future-dated dues, as core banking sends them). Every simulated day at 10:00 local time the
bank asks `engine.decide_borrower(events, as_of)` for the borrower. When the decision's
contact may be taken now (status ``act``) the bank makes ONE contact a minute later: a
borrower-level `contact_attempted` (no loan id; outcome ``no_answer`` on the phone,
``delivered`` otherwise) and a `step_taken` with the decision id on every loan the contact
covers. Each loan's own step (``act``) is taken on that loan alone. A `script` adds the
borrower's and the bank's other events for a day (payments, a dispute, a cease, a pause
recorded late) at 12:00 or whenever they say. Events are plain dicts, as a feed sends them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import dunning

TZ = ZoneInfo("Asia/Shanghai")
START = date(2025, 3, 1)  # day 0


def at(day: int, hh: int = 10, mm: int = 0) -> str:
    """ISO text of local time hh:mm on simulated day `day`."""
    return datetime.combine(START + timedelta(days=day), time(hh, mm), tzinfo=TZ).isoformat()


def loan(loan_id: str, principal: str, first_due: date, n: int = 12, borrower: str = "B1"
         ) -> list[dict[str, Any]]:  # fmt: skip
    """A loan opened 30 days before `first_due` with `n` monthly dues loaded up front."""
    amount = (Decimal(principal) / n).quantize(Decimal("0.01"))
    opened = datetime.combine(first_due - timedelta(days=30), time(9), tzinfo=TZ)
    events: list[dict[str, Any]] = [
        {"type": "loan_opened", "event_id": f"{loan_id}-open", "loan_id": loan_id,
         "borrower_id": borrower, "at": opened.isoformat(), "principal": principal,
         "currency": "CNY", "timezone": "Asia/Shanghai"},
    ]  # fmt: skip
    for k in range(n):
        due = _add_months(first_due, k)
        events.append(
            {"type": "installment_due", "event_id": f"{loan_id}-due{k}", "loan_id": loan_id,
             "at": opened.isoformat(), "due_date": due.isoformat(), "principal": str(amount),
             "currency": "CNY"}
        )  # fmt: skip
    return events


def _add_months(d: date, k: int) -> date:
    m = d.month - 1 + k
    return date(d.year + m // 12, m % 12 + 1, min(d.day, 28))


@dataclass
class Story:
    """The events so far and the daily borrower decisions."""

    events: list[dict[str, Any]]
    decisions: dict[int, dunning.BorrowerDecision] = field(default_factory=dict)
    contacts: list[tuple[int, str, tuple[str, ...]]] = field(default_factory=list)
    own_steps: list[tuple[int, str, str]] = field(default_factory=list)  # (day, loan, step)
    seq: int = 0

    def eid(self, kind: str, day: int) -> str:
        self.seq += 1
        return f"{kind}-{day}-{self.seq}"


Script = Callable[[int, Story], list[dict[str, Any]]]


def run(engine: dunning.Engine, events: list[dict[str, Any]], days: int,
        script: Script | None = None, borrower: str = "B1") -> Story:  # fmt: skip
    """Simulate `days` days (0 .. days-1); see the module docstring."""
    story = Story(list(events))
    for day in range(days):
        decision = engine.decide_borrower(story.events, at(day))
        story.decisions[day] = decision
        c = decision.contact
        if c is not None and c.status == "act":
            channel = engine.rules.steps[c.step].channel
            if channel not in ("none", "any"):
                story.events.append(
                    {"type": "contact_attempted", "event_id": story.eid("contact", day),
                     "borrower_id": borrower, "at": at(day, 10, 1), "channel": channel,
                     "outcome": "no_answer" if channel == "phone" else "delivered"}
                )  # fmt: skip
            for loan_id in c.covers:
                story.events.append(_step(story, day, loan_id, c.step, decision.id))
            story.contacts.append((day, c.step, c.covers))
        for line in decision.loans:
            if line.step.status == "act" and line.step.step is not None:
                story.events.append(_step(story, day, line.loan_id, line.step.step, decision.id))
                story.own_steps.append((day, line.loan_id, line.step.step))
        if script is not None:
            story.events += script(day, story)
    return story


def _step(story: Story, day: int, loan_id: str, step: str, decision_id: str) -> dict[str, Any]:
    return {"type": "step_taken", "event_id": story.eid(f"step-{loan_id}", day),
            "loan_id": loan_id, "at": at(day, 10, 2), "step": step,
            "decision_id": decision_id}  # fmt: skip
