"""Borrower decisions in the audit trail: replay, and how a store keys and reads them.

`replay_borrower(decision, events, rules)` re-makes a `BorrowerDecision` with
`Engine(rules).decide_borrower(events, decision.as_of)` and compares it the way `replay`
compares a `Decision`: fields in causal order — rule set, inputs, the loans (each loan's own
decision field by field, then its outcomes), flags, the contact, the status — the first
difference raising `ReplayMismatch` with its dotted path (``loans[1].decision.matched[0]``).

In an audit store a borrower decision is one record like a decision; its `loan_id` column
holds `record_key(decision)`, ``borrower:<borrower id>`` (a record is about all of that
borrower's loans), so `records(loan_id="borrower:B1")` lists them and `replay_all` asks
`events_for("borrower:B1")` for all of the borrower's events. `read_decision` reads either
kind back from its canonical JSON (a borrower decision says ``"kind":"borrower"``).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, cast

from .._base.errors import InputError, ReplayMismatch
from .._decide.borrower_decision import BorrowerDecision
from .._decide.decision import Decision
from .._decide.engine import Engine
from .diff import diff_json as _diff
from .diff import mismatch
from .registry import RuleSetLike

if TYPE_CHECKING:
    from .._rules.ruleset import RuleSet

__all__ = ["BORROWER_KEY", "read_decision", "record_key", "replay_borrower"]

BORROWER_KEY = "borrower:"

# The comparison order for borrower decisions; fields not listed follow in model order.
CAUSAL_ORDER = (
    "rule_set",
    "input_digest",
    "borrower_id",
    "as_of",
    "timezone",
    "loans",
    "flags",
    "contact",
    "status",
)
NOT_COMPARED = frozenset({"id", "engine_version"})


def record_key(decision: Decision | BorrowerDecision) -> str:
    """The `loan_id` column of a record: the loan, or ``borrower:<id>`` for a borrower."""
    if isinstance(decision, BorrowerDecision):
        return BORROWER_KEY + decision.borrower_id
    return decision.loan_id


def read_decision(text: str | bytes) -> Decision | BorrowerDecision:
    """A Decision or a BorrowerDecision from its canonical JSON (by its `kind`)."""
    try:
        kind = json.loads(text).get("kind") if text else None
    except (ValueError, AttributeError):
        kind = None
    if kind == "borrower":
        return BorrowerDecision.from_json(text)
    return Decision.from_json(text)


def replay_borrower(
    decision: BorrowerDecision, events: Any, rules: RuleSetLike, *, backend: str | None = None
) -> BorrowerDecision:
    """Re-decide `decision` from the borrower's `events`; the re-made one, or ReplayMismatch."""
    if not isinstance(decision, BorrowerDecision):
        raise InputError(
            f"replay: expected a dunning BorrowerDecision, found {type(decision).__name__}"
        )
    where = f"replay of borrower decision {decision.id[:12]} (borrower {decision.borrower_id!r})"
    if decision.rule_set.sha256 != rules.sha256:
        raise ReplayMismatch(
            f"{where}: rule_set.sha256 differs: the decision was made with"
            f" {decision.rule_set.id!r} {decision.rule_set.sha256}, replayed with"
            f" {rules.id!r} {rules.sha256}; fetch the recorded rule set from the audit store",
            field="rule_set.sha256",
            expected=decision.rule_set.sha256,
            actual=rules.sha256,
        )
    if backend is None:
        backend = decision.loans[0].decision.backend if decision.loans else "python"
    engine = Engine(cast("RuleSet", rules), backend=backend)
    remade = engine.decide_borrower(events, decision.as_of)
    diff = _first_difference(decision, remade)
    if diff is not None:
        raise mismatch(where, diff)
    return remade


def _first_difference(
    expected: BorrowerDecision, actual: BorrowerDecision
) -> tuple[str, Any, Any] | None:
    e, a = expected.model_dump(mode="json"), actual.model_dump(mode="json")
    names = [*CAUSAL_ORDER, *(n for n in e if n not in CAUSAL_ORDER)]
    for name in names:
        if name in NOT_COMPARED:
            continue
        diff = _diff(name, e.get(name), a.get(name))
        if diff is not None:
            return diff
    return None
