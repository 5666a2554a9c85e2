"""The simulator: synthetic borrowers react to the steps a rule set decides, day by day.

Theory of operation
-------------------

The portfolio (behaviours drawn by `mix`, each loan seeded by ``f"{seed}:{loan_id}"`` so it
behaves the same whatever else is in the portfolio) is generated in `sim_models`, which
holds the behaviour table. This module is the day loop; each loan's days draw from their
own ``random.Random`` seeded with ``f"{seed}:{loan_id}:days"``.

Each simulated day, at ``decide_hour`` local time:

1. events that fell due since yesterday (instalments, promised and plan payments, dispute
   resolutions) are released and folded into the state;
2. the engine decides at that instant;
3. when the decision is ``act`` (now) or ``defer`` to a time before the next day's decision,
   the step happens then — a lawful hour, since the gate chose it: a ``step_taken`` event,
   and for steps with a contact channel a ``contact_attempted`` whose outcome the behaviour
   models; a borrower who is reached reacts (one draw against the row's probabilities, in
   the order of the table's columns): pays, promises (kept or broken), disputes, or declares
   hardship; a hardship borrower offered a plan agrees to it and keeps or breaks it.

Randomness lives only here (the simulator), never in the core; the same seed gives the same
events and decisions, byte for byte.
"""

from __future__ import annotations

import hashlib
import heapq
import random
from collections.abc import Callable, Mapping
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from .._base.money import ZERO, quantize
from .._base.time import local_at, local_date
from .._decide.engine import Engine
from .._rules.loader import load_rules
from .._state.account import AccountState
from .._state.events import Event
from .._state.facts import bucket_of
from .feeds import dumps_event
from .metrics import ArmMetrics
from .sim_models import _OUTCOMES as _OUTCOMES
from .sim_models import BEHAVIOURS as BEHAVIOURS
from .sim_models import DEFAULT_MIX as DEFAULT_MIX
from .sim_models import Behaviour as Behaviour
from .sim_models import LoanSpec as LoanSpec
from .sim_models import SimConfig as SimConfig
from .sim_models import _add_months as _add_months
from .sim_models import _event as _event
from .sim_models import _generate_loan as _generate_loan
from .sim_models import _Ids as _Ids
from .sim_models import generate_portfolio as generate_portfolio
from .sim_models import loan_ids as loan_ids

__all__ = [
    "BEHAVIOURS",
    "DEFAULT_MIX",
    "ArmMetrics",
    "Behaviour",
    "LoanSpec",
    "SimConfig",
    "generate_portfolio",
    "simulate",
]


# --- the day loop ----------------------------------------------------------------------------

Decide = Callable[[AccountState, datetime], Any]


def simulate(
    rules: Any,
    config: SimConfig,
    *,
    engine: Any = None,
    arm_of: Callable[[str], bool] | None = None,
    on_events: Callable[[str, list[Event]], None] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ArmMetrics:
    """Simulate every loan of `config` under `rules` (RuleSet or path); the arm's metrics.

    `arm_of(loan_id)` selects the loans to simulate (default: all). `on_events(loan_id,
    events)` receives each loan's full event history at the end (e.g. to write it out).
    """
    ruleset, engine = _engine_for(rules, engine)
    metrics = ArmMetrics()
    digest = hashlib.sha256()
    for n, spec in enumerate(generate_portfolio(config), start=1):
        if arm_of is None or arm_of(spec.loan_id):
            run = _LoanRun(spec, config, ruleset, engine, metrics, digest)
            state = run.run()
            if on_events is not None:
                on_events(spec.loan_id, list(state.events))
        if progress is not None:
            progress(n, config.accounts)
    metrics.digest = digest.hexdigest()
    return metrics


def _engine_for(rules: Any, engine: Any) -> tuple[Any, Any]:

    ruleset = rules if hasattr(rules, "sha256") else load_rules(rules)
    if engine is None:
        engine = Engine(ruleset)
    return ruleset, engine


class _LoanRun:
    """One loan through the simulated days (see the module's theory of operation)."""

    def __init__(
        self, spec: LoanSpec, config: SimConfig, rules: Any, engine: Any, m: ArmMetrics, h: Any
    ) -> None:
        self.spec, self.config, self.rules, self.engine, self.m, self.h = (
            spec, config, rules, engine, m, h,
        )  # fmt: skip
        self.rng = random.Random(f"{config.seed}:{spec.loan_id}:days")
        self.who = config.behaviours[spec.behaviour]
        self.ids = _Ids(spec.loan_id, "s")
        self.seq = 0  # tie-breaker for the pending heap: first scheduled, first released
        self.silent = False
        self.pending: list[tuple[datetime, int, str, dict[str, Any]]] = []
        for e in spec.future_dues:
            self._later(e.at, "event", {"event": e})
        self.state = AccountState.from_events(spec.history)

    def _later(self, at: datetime, kind: str, args: dict[str, Any]) -> None:
        self.seq += 1
        heapq.heappush(self.pending, (at, self.seq, kind, args))

    def run(self) -> AccountState:
        tz = self.config.timezone
        self.m.accounts += 1
        first = self.config.start
        start_bucket = self._bucket(first)
        self.m.start_buckets[start_bucket] += 1
        observed = start_bucket
        for k in range(self.config.days):
            today = first + timedelta(days=k)
            as_of = local_at(today, time(self.config.decide_hour), tz)
            self._release(as_of)
            if k and k % 30 == 0:
                now = self._bucket(today)
                self.m.transitions[(observed, now)] += 1
                observed = now
            self._day(as_of, local_at(today + timedelta(days=1), time(self.config.decide_hour), tz))
        end = first + timedelta(days=self.config.days)
        self._release(local_at(end, time(0), tz))
        end_bucket = self._bucket(end)
        self.m.transitions[(observed, end_bucket)] += 1
        self.m.end_buckets[end_bucket] += 1
        if start_bucket != "M0":
            self.m.delinquent_at_start += 1
            self.m.cured += end_bucket == "M0"
        for e in self.state.events:
            self.h.update(dumps_event(e).encode("utf-8") + b"\n")
        return self.state

    def _bucket(self, today: date) -> str:
        overdue = self.state.ledger.overdue_items(today)
        return bucket_of((today - overdue[0].due_date).days if overdue else 0)

    def _release(self, until: datetime) -> None:
        """Fold in what fell due before `until`, resolving payment amounts at that moment."""
        while self.pending and self.pending[0][0] < until:
            at, _n, kind, args = heapq.heappop(self.pending)
            event = _RELEASE[kind](self, at, args)
            if event is not None:
                self._add(event)

    def _add(self, event: Event) -> None:
        self.state = self.state.apply([event])
        if event.type == "payment_received":
            self.m.collected += event.amount

    def _day(self, as_of: datetime, next_as_of: datetime) -> None:
        decision = self.engine.decide(self.state, as_of)
        self.m.decisions += 1
        self.m.statuses[decision.status] += 1
        for limit in sorted({b.limit_id for b in decision.blocked}):
            self.m.limits_hit[limit] += 1
        self.h.update(decision.to_json().encode("utf-8") + b"\n")
        at = decision.not_before or as_of
        if decision.step is None or decision.status == "blocked" or at >= next_as_of:
            return
        self._take(decision.step, at, decision.id)

    def _take(self, step_id: str, at: datetime, decision_id: str) -> None:
        step = self.rules.steps.get(step_id)
        channel = getattr(step, "channel", "none")
        fields: dict[str, Any] = {"step": step_id, "decision_id": decision_id or None}
        if channel in _OUTCOMES:
            fields["channel"] = channel
        self._add(_event(self.ids, "step_taken", at, **fields))
        self.m.steps[step_id] += 1
        if getattr(step, "kind", "") == "legal":
            self.m.legal_steps[step_id] += 1
        if channel in _OUTCOMES:
            self._contact(channel, at, getattr(step, "kind", "") == "negotiation")

    def _contact(self, channel: str, at: datetime, offer: bool) -> None:
        reached_outcome, missed = _OUTCOMES[channel]
        reached = not self.silent and self.rng.random() >= self.who.unreachable
        outcome = reached_outcome if reached else self.rng.choice(missed)
        self._add(_event(self.ids, "contact_attempted", at + timedelta(minutes=1),
                         borrower_id=self.state.borrower_id, channel=channel,
                         outcome=outcome))  # fmt: skip
        self.m.contacts += 1
        if not reached:
            return
        self.m.reached += 1
        if offer and self.state.hardship:
            self._agree_plan(at + timedelta(minutes=30))
        else:
            self._react(at + timedelta(minutes=30))
        if self.rng.random() < self.who.goes_silent:
            self.silent = True

    def _react(self, at: datetime) -> None:
        """One draw against the behaviour's probabilities, in the table's column order."""
        w, r = self.who, self.rng.random()
        today = local_date(at, self.state.timezone)
        if r < w.pays:
            self._later(at + timedelta(days=self.rng.randint(0, 4)), "pay_overdue", {})
        elif r < w.pays + w.promises:
            amount = self._overdue(today)
            if amount > 0:
                by = today + timedelta(days=self.rng.randint(2, 7))
                self._add(_event(self.ids, "promise_to_pay", at, amount=str(amount),
                                 currency=self.state.currency,
                                 promised_date=by.isoformat()))  # fmt: skip
                if self.rng.random() < w.keeps_promise:
                    self._later(local_at(by, time(12), self.state.timezone), "pay_overdue", {})
        elif r < w.pays + w.promises + w.disputes and not self.state.dispute_open:
            self._add(_event(self.ids, "dispute_raised", at, written=True))
            self._later(at + timedelta(days=20), "resolve_dispute", {})
        elif r < w.pays + w.promises + w.disputes + w.hardship and not self.state.hardship:
            self._add(_event(self.ids, "hardship_declared", at))

    def _agree_plan(self, at: datetime) -> None:
        today = local_date(at, self.state.timezone)
        owed = self._overdue(today)
        if owed <= 0 or any(p.cancelled_at is None for p in self.state.plans):
            return
        cur = self.state.currency
        part = quantize(owed / 3, cur)
        amounts = [part, part, owed - 2 * part]
        dues = [today + timedelta(days=30 * (i + 1)) for i in range(3)]
        pairs = list(zip(dues, amounts, strict=True))
        plan = [{"due_date": d.isoformat(), "amount": str(a)} for d, a in pairs]
        self._add(_event(self.ids, "repayment_plan_agreed", at, currency=cur, installments=plan))
        for d, a in pairs:
            if self.rng.random() < self.who.keeps_plan:
                self._later(local_at(d, time(12), self.state.timezone), "pay", {"amount": a})

    def _overdue(self, today: date) -> Decimal:
        items = self.state.ledger.overdue_items(today + timedelta(days=1))
        return quantize(sum((b.unpaid for b in items), ZERO), self.state.currency)


def _release_event(run: _LoanRun, at: datetime, args: dict[str, Any]) -> Event | None:
    event: Event = args["event"]
    current = run._overdue(local_date(at, run.state.timezone)) == 0
    # A current borrower pays a new installment on the day, with the behaviour's probability.
    if event.type == "installment_due" and current and run.rng.random() < run.who.pays_regular:
        amount = event.principal + event.interest
        run._later(at + timedelta(hours=12), "pay", {"amount": amount})
    return event


def _release_pay(run: _LoanRun, at: datetime, args: dict[str, Any]) -> Event | None:
    return _event(run.ids, "payment_received", at, amount=str(args["amount"]),
                  currency=run.state.currency)  # fmt: skip


def _release_pay_overdue(run: _LoanRun, at: datetime, args: dict[str, Any]) -> Event | None:
    amount = run._overdue(local_date(at, run.state.timezone))
    if amount <= 0:
        return None
    return _release_pay(run, at, {"amount": amount})


def _release_resolve(run: _LoanRun, at: datetime, args: dict[str, Any]) -> Event | None:
    if not run.state.dispute_open:
        return None
    return _event(run.ids, "dispute_resolved", at, outcome="verified")


_RELEASE: Mapping[str, Callable[[_LoanRun, datetime, dict[str, Any]], Event | None]] = {
    "event": _release_event,
    "pay": _release_pay,
    "pay_overdue": _release_pay_overdue,
    "resolve_dispute": _release_resolve,
}
