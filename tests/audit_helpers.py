"""Shared helpers for the audit tests: hand-built decisions and a tiny stand-in for a RuleSet
(id, version, sha256, canonical_json), so the store can be tested without the loader.

Imported by writer subprocesses (crash, concurrency tests), so it stays light: no hypothesis
here (the Decision strategy lives in test_decision.py).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from dunning._decide.decision import Block, Decision, FlagNote, Match, RuleSetRef


@dataclass(frozen=True)
class StandInRules:
    """The four things the audit code needs from a RuleSet, and nothing else."""

    id: str = "cn-bank-retail"
    version: str = "1"
    body: str = "ladder"

    def canonical_json(self) -> str:
        return json.dumps(
            {"id": self.id, "version": self.version, "body": self.body},
            sort_keys=True,
            separators=(",", ":"),
        )

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.canonical_json().encode("utf-8")).hexdigest()

    def ref(self) -> RuleSetRef:
        return RuleSetRef(id=self.id, version=self.version, sha256=self.sha256)


RULES = StandInRules()
OTHER_RULES = StandInRules(version="2", body="gentler ladder")
BASE = datetime(2025, 3, 3, 10, 0, tzinfo=timezone(timedelta(hours=8)))


def make_decision(i: int = 0, *, loan_id: str = "L1", rules: StandInRules = RULES) -> Decision:
    """A realistic decision, different for every `i` (dpd and as_of move with it)."""
    dpd = 30 + i
    return Decision(
        loan_id=loan_id,
        borrower_id="B1",
        as_of=BASE + timedelta(hours=i),
        timezone="Asia/Shanghai",
        status="defer" if i % 3 == 0 else "act",
        step="phone_collection",
        not_before=BASE + timedelta(hours=i, minutes=30) if i % 3 == 0 else None,
        chosen_rule="call_after_30",
        matched=(
            Match(
                rule_id="call_after_30",
                step="phone_collection",
                priority=50,
                level=2,
                facts={"dpd": dpd, "overdue_amount": Decimal("1060.00"), "dispute_open": False},
                source="rules/cn-bank-retail.yaml:41",
                reason={"en": "30+ days past due", "zh": "逾期30天以上"},
            ),
        ),
        blocked=(
            Block(
                step="field_visit",
                limit_id="visit_notice_first",
                kind="requires",
                reason="a visit needs notice 3 days ahead",
                citation="银保监发〔2020〕号 第十条",
                until=None,
            ),
        ),
        flags=("time_bar_near",) if i % 2 else (),
        flag_notes=(FlagNote(id="time_bar_near", text="limitation period ends soon"),)
        if i % 2
        else (),
        rule_set=rules.ref(),
        engine_version="0.1.0",
        input_digest=hashlib.sha256(f"events-{loan_id}-{i}".encode()).hexdigest(),
    )


# -- real decisions with their inputs (keep_inputs stores, the tamper suite, the CLI) ---------

CN_RULES_PATH = "rules/cn-bank-retail.yaml"


def loan_events(loan_id: str, n: int) -> list[dict[str, object]]:
    """A CNY loan with monthly dues and one partial payment: events that decide differently
    as the days pass."""
    events: list[dict[str, object]] = [
        {"type": "loan_opened", "event_id": f"{loan_id}-o", "loan_id": loan_id,
         "borrower_id": f"B{loan_id}", "at": "2025-01-01T09:00:00+08:00",
         "principal": "12000.00", "currency": "CNY", "timezone": "Asia/Shanghai"},
    ]  # fmt: skip
    for m in range(2, 2 + n):
        events.append(
            {"type": "installment_due", "event_id": f"{loan_id}-d{m}", "loan_id": loan_id,
             "at": f"2025-{m:02d}-01T00:00:00+08:00", "due_date": f"2025-{m:02d}-01",
             "principal": "1000.00", "interest": "60.00", "currency": "CNY"}
        )  # fmt: skip
    events.append(
        {"type": "payment_received", "event_id": f"{loan_id}-p", "loan_id": loan_id,
         "at": "2025-03-10T12:00:00+08:00", "amount": "300.00", "currency": "CNY"}
    )  # fmt: skip
    return events


AS_OFS = ("2025-03-05T10:00:00+08:00", "2025-04-02T10:00:00+08:00", "2025-05-20T10:00:00+08:00")


def real_decisions(loans: int = 3) -> list[tuple[Decision, list[dict[str, object]]]]:
    """(decision, the events it was made from) for `loans` loans at each of AS_OFS, in
    as_of order then loan order: a store of them interleaves the loans."""
    import dunning

    rules = dunning.load_rules(CN_RULES_PATH)
    engine = dunning.Engine(rules)
    out = []
    for as_of in AS_OFS:
        for k in range(1, loans + 1):
            events = loan_events(f"L{k}", 4)
            out.append((engine.decide(events, as_of), events))
    return out
