"""Helpers for the gate tests: rule sets from YAML text and hand-built account states.

`ruleset(text)` uses the loader (`_loader.loads_rules`) when it is present; before it landed it
built an equivalent RuleSet-like object from the schema and the condition compiler, which is
still the fallback so these tests do not depend on the loader's other checks.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import yaml

from dunning._rules import schema as _schema
from dunning._rules.condition import Env, compile_condition
from dunning._rules.ir import Expr

STEPS_YAML = """\
steps:
  - {id: sms_reminder, label: SMS reminder, channel: sms, kind: reminder, level: 1}
  - {id: phone_collection, label: Collection call, channel: phone, kind: contact, level: 3,
     cooldown: 4h}
  - {id: overdue_letter, label: Overdue letter, channel: letter, kind: letter, level: 4}
  - {id: visit_notice, label: Visit notice, channel: letter, kind: letter, level: 5}
  - {id: field_visit, label: Field visit, channel: visit, kind: contact, level: 6}
  - {id: lawyer_letter, label: Lawyer letter, channel: letter, kind: legal, level: 7}
  - {id: litigation, label: Litigation, channel: none, kind: legal, level: 9}
"""


def rule_text(
    body: str, *, tz: str = "Asia/Shanghai", currency: str = "CNY", head: str = ""
) -> str:
    """A complete rule file: header, the standard step catalog, then `body` (limits, flags)."""
    return (
        f"dunning: 1\nid: gate_test\nversion: '1'\njurisdiction: CN\ncurrency: {currency}\n"
        f"timezone: {tz}\n{textwrap.dedent(head)}{STEPS_YAML}{textwrap.dedent(body)}"
    )


@dataclass(frozen=True)
class HandRuleSet:
    """The attributes of a RuleSet the gate reads."""

    document: _schema.RuleFile
    steps: Mapping[str, _schema.Step]
    limit_exprs: Mapping[str, Expr]
    flag_exprs: Mapping[str, Expr]


def ruleset(text: str) -> Any:
    """A rule set from YAML text: the loader's when it is importable, else a hand-built one."""
    try:
        from dunning._rules.loader import loads_rules
    except ImportError:
        return hand_ruleset(text)
    return loads_rules(text)


def hand_ruleset(text: str | dict[str, Any]) -> HandRuleSet:
    """A RuleSet-like object from YAML text or an already parsed document."""
    data = yaml.safe_load(text) if isinstance(text, str) else text
    doc = _schema.RuleFile.model_validate(data)
    env = Env(step_ids=frozenset(s.id for s in doc.steps), currency=doc.currency)
    limit_exprs: dict[str, Expr] = {}
    for lim in doc.limits:
        cond = (
            getattr(lim, "when", None)
            if lim.kind == "block_while"
            else getattr(lim, "while_", None)
        )
        if cond:
            limit_exprs[lim.id] = compile_condition(cond, env)
    flag_exprs = {f.id: compile_condition(f.when, env) for f in doc.flags if f.enabled}
    steps = {s.id: s for s in doc.steps if s.enabled}
    return HandRuleSet(doc, steps, limit_exprs, flag_exprs)


# -- hand-built states ------------------------------------------------------------------------


@dataclass(frozen=True)
class C:
    """A contact as the state records it."""

    at: datetime
    channel: str = "phone"
    direction: str = "outbound"
    outcome: str = "no_answer"
    consented: bool = False
    loan_id: str | None = "L1"
    contact_point: str | None = None
    event_id: str = "c"


@dataclass(frozen=True)
class S:
    """A step taken."""

    at: datetime
    step: str
    event_id: str = "s"
    channel: str | None = None


@dataclass(frozen=True)
class P:
    """A payment, promise (at) or plan (agreed_at)."""

    at: datetime
    reversed: bool = False

    @property
    def agreed_at(self) -> datetime:
        return self.at


@dataclass(frozen=True)
class State:
    """The attributes of an AccountState the gate reads."""

    timezone: str = "Asia/Shanghai"
    loan_id: str = "L1"
    currency: str = "CNY"
    contacts: tuple[C, ...] = ()
    steps_taken: tuple[S, ...] = ()
    plans: tuple[P, ...] = ()
    promises: tuple[P, ...] = ()
    payments: tuple[P, ...] = ()


def facts(**values: Any) -> dict[str, Any]:
    """Facts with every flag-like scalar false unless given."""
    base: dict[str, Any] = {
        "dispute_open": False,
        "bankruptcy_stay": False,
        "bankruptcy_discharged": False,
        "deceased": False,
        "vulnerable": False,
        "hardship": False,
        "attorney_represented": False,
        "breathing_space": False,
        "time_barred": False,
        "days_to_time_bar": None,
        "overdue_amount": Decimal("0.00"),
        "outstanding_amount": Decimal("0.00"),
        "plan_status": "none",
        "dpd": 0,
    }
    base.update(values)
    return base


__all__ = ["C", "P", "S", "State", "facts", "field", "rule_text", "ruleset"]
