"""Facts: the values rules read, computed from an AccountState at an instant `as_of`.

Every scalar of `catalog.SCALARS` is always computed; family facts (``attempts_7d.phone``,
``days_since_step.lawyer_letter``, ...) only when named in `FactContext.names`. All calendar
questions are asked in the borrower's zone: ``today`` below is `as_of`'s local date there.

Theory of operation, fact group by group:

=====================  ====================================================================
group                  meaning
=====================  ====================================================================
days past due          ``today - due_date`` of the oldest item still unpaid whose due date
                       is before today (0 when none); the bucket follows from it
overdue / outstanding  unpaid amount of items due before today / principal not repaid
                       (lent, or charged when more) plus unpaid interest and fees
promises               latest promise: kept when non-reversed payments from its ``at``
                       through ``promised_date`` total its amount; broken when
                       ``promised_date < today`` and not kept; else active
plans                  latest plan: cancelled; completed (paid since agreement >= total);
                       broken (paid since agreement < sum of plan items due before today);
                       else active
limitation             clock starts at the due date picked by ``starts_from`` among the
                       overdue items; a ``restart_on`` event restarts it only while the
                       period still runs (after expiry a payment or demand does not revive
                       the claim); a ``revive_on`` event after expiry removes the defence
                       and starts a new period; every end is capped by first start +
                       ``long_stop`` (see `limitation_clock`)
windows  ``_<N>d``     contacts whose local date is one of the last N dates (today included)
windows  ``_<N>h``     contacts with ``as_of - N hours < at <= as_of``
=====================  ====================================================================

Events later than `as_of` are left out: a snapshot holding them (a schedule loaded in
advance) is first cut at `as_of` (`AccountState.until`), so the facts equal those of the event
list cut at `as_of`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from .._base.money import ZERO, quantize
from .._base.time import aware, local_date
from . import catalog as _catalog
from .context import FactContext as FactContext
from .context import LimitationTerms as LimitationTerms
from .context import StepTerms as StepTerms
from .context import context_for as context_for
from .events import CONTACT_CHANNELS
from .limitation import limitation_clock as limitation_clock
from .limitation import limitation_facts
from .pauses import pause_facts
from .protection import MoratoriumTerms as MoratoriumTerms
from .protection import protection_facts

if TYPE_CHECKING:
    from .account import AccountState
    from .fold import Payment, Plan, Promise

__all__ = [
    "FactContext",
    "LimitationTerms",
    "MoratoriumTerms",
    "StepTerms",
    "bucket_of",
    "compute_facts",
    "context_for",
    "limitation_clock",
    "promise_status",
]

# (lowest dpd, bucket), highest first: the first row whose bound dpd reaches wins.
_BUCKETS: tuple[tuple[int, str], ...] = (
    (181, "M7+"), (151, "M6"), (121, "M5"), (91, "M4"), (61, "M3"), (31, "M2"), (1, "M1"),
    (0, "M0"),
)  # fmt: skip


def compute_facts(state: AccountState, as_of: datetime, ctx: FactContext) -> dict[str, Any]:
    """Every scalar fact, plus the families named in `ctx.names`, at `as_of`."""
    as_of = aware(as_of)
    if state.last_event_at > as_of:  # events later than as_of are left out (module doc)
        state = state.until(as_of)
    today = local_date(as_of, state.timezone)
    overdue = [b for b in _unpaid(state) if b[0] < today]
    facts: dict[str, Any] = {}
    facts.update(_money_facts(state, today, overdue))
    facts.update(_pause_facts(state, as_of, today, overdue, facts["dpd"]))
    facts.update(_promise_facts(state, today))
    facts.update(_plan_facts(state, today))
    facts.update(_flag_facts(state, today, facts["outstanding_amount"]))
    facts.update(limitation_facts(state, today, ctx, overdue))
    facts.update(protection_facts(state, today, ctx.moratorium, facts["dpd"]))
    facts.update(_contact_facts(state, today, ctx))
    specs = _family_specs(ctx.names)
    if specs:
        _family_facts(state, as_of, today, specs, facts)
    return facts


def _family_facts(
    state: AccountState,
    as_of: datetime,
    today: date,
    specs: tuple[tuple[str, str, tuple[Any, ...]], ...],
    facts: dict[str, Any],
) -> None:
    """Add the family facts of `specs` (those not already set) to `facts`."""
    steps = _steps_index(state)
    tz = state.timezone
    for name, family, args in specs:
        if name in facts:
            continue
        if family == "days_since_step":
            hit = steps.get(args[0])
            facts[name] = None if hit is None else (today - local_date(hit[1], tz)).days
        elif family == "step_done":
            facts[name] = args[0] in steps
        elif family == "step_count":
            facts[name] = steps[args[0]][0] if args[0] in steps else 0
        else:
            facts[name] = _FAMILIES[family](state, as_of, today, *args)


def _derived(state: AccountState) -> dict[str, Any]:
    """The state's cache of values derived from it alone (empty for a hand-built state)."""
    cache: dict[str, Any] | None = getattr(state, "_derived", None)
    return {} if cache is None else cache


def _unpaid(state: AccountState) -> tuple[tuple[date, Decimal, bool], ...]:
    """(due date, unpaid amount, is an installment) of each unpaid ledger item, in waterfall
    order — depends on the state alone, so it is cached on it."""
    cache = _derived(state)
    hit: tuple[tuple[date, Decimal, bool], ...] | None = cache.get("unpaid")
    if hit is None:
        items = []
        for b in state.ledger.balances:
            it = b.item  # `b.unpaid` spelled out: three property calls fewer per item
            left = (it.principal + it.interest + it.fees) - (
                b.paid_fees + b.paid_interest + b.paid_principal
            )
            if left > 0:
                items.append((it.due_date, left, it.kind == "installment"))
        hit = cache["unpaid"] = tuple(items)
    return hit


def bucket_of(dpd: int) -> str:
    """The delinquency bucket of a days-past-due count (table `_BUCKETS`)."""
    return next(bucket for low, bucket in _BUCKETS if dpd >= low)


def _days(today: date, at: datetime | None, tz: str) -> int | None:
    return None if at is None else (today - local_date(at, tz)).days


def _live(payments: tuple[Payment, ...]) -> list[Payment]:
    return [p for p in payments if not p.reversed]


def _money_facts(
    state: AccountState, today: date, overdue: list[tuple[date, Decimal, bool]]
) -> dict[str, Any]:
    ledger, cur, tz = state.ledger, state.currency, state.timezone
    dpd = (today - overdue[0][0]).days if overdue else 0
    principal_base = max(state.principal, ledger.charged_principal)
    outstanding = (
        principal_base - ledger.paid_principal
        + ledger.charged_interest - ledger.paid_interest
        + ledger.charged_fees - ledger.paid_fees
    )  # fmt: skip
    live = _live(state.payments)
    return {
        "dpd": dpd,
        "bucket": bucket_of(dpd),
        "overdue_amount": quantize(sum((b[1] for b in overdue), ZERO), cur),
        "outstanding_amount": quantize(outstanding, cur),
        "credit_amount": quantize(ledger.credit, cur),
        "principal": quantize(state.principal, cur),
        "installments_overdue": sum(1 for b in overdue if b[2]),
        "days_since_last_payment": _days(today, live[-1].at if live else None, tz),
        "days_since_opened": _days(today, state.opened_at, tz),
    }


def _pause_facts(
    state: AccountState,
    as_of: datetime,
    today: date,
    overdue: list[tuple[date, Decimal, bool]],
    dpd: int,
) -> dict[str, Any]:
    pauses = getattr(state, "pauses", ())
    if not pauses:
        return {"paused": False, "paused_days": 0, "dpd_net": dpd}
    oldest = overdue[0][0] if overdue else None  # the due date dpd counts from
    paused, days = pause_facts(pauses, as_of, today, oldest, state.timezone)
    return {"paused": paused, "paused_days": days, "dpd_net": dpd - days}


def promise_status(promise: Promise, payments: tuple[Payment, ...], today: date, tz: str) -> str:
    """kept / broken / active for one promise (see the module table)."""
    paid = sum(
        (
            p.amount
            for p in _live(payments)
            if p.at >= promise.at and local_date(p.at, tz) <= promise.promised_date
        ),
        ZERO,
    )
    if paid >= promise.amount:
        return "kept"
    return "broken" if promise.promised_date < today else "active"


def _promise_facts(state: AccountState, today: date) -> dict[str, Any]:
    statuses = [promise_status(p, state.payments, today, state.timezone) for p in state.promises]
    return {
        "promise_status": statuses[-1] if statuses else "none",
        "promises_kept": statuses.count("kept"),
        "promises_broken": statuses.count("broken"),
    }


def _plan_facts(state: AccountState, today: date) -> dict[str, Any]:
    if not state.plans:
        return {"plan_status": "none", "plan_installments_missed": 0}
    plan: Plan = state.plans[-1]
    if plan.cancelled_at is not None:
        return {"plan_status": "cancelled", "plan_installments_missed": 0}
    paid = sum((p.amount for p in _live(state.payments) if p.at >= plan.agreed_at), ZERO)
    if paid >= plan.total:
        return {"plan_status": "completed", "plan_installments_missed": 0}
    missed, cumulative = 0, ZERO
    for item in plan.installments:
        cumulative += item.amount
        if item.due_date < today and cumulative > paid:
            missed += 1
    return {"plan_status": "broken" if missed else "active", "plan_installments_missed": missed}


def _flag_facts(state: AccountState, today: date, outstanding: Decimal) -> dict[str, Any]:
    # breathing_space: `_protection` (its end follows the rule set's moratorium terms)
    charged_installment = any(b.item.kind == "installment" for b in state.ledger.balances)
    return {
        "dispute_open": state.dispute_open,
        "hardship": state.hardship,
        "bankruptcy_stay": state.bankruptcy == "open",
        "bankruptcy_discharged": state.bankruptcy == "discharged",
        "deceased": state.deceased,
        "vulnerable": state.vulnerable,
        "attorney_represented": state.attorney_represented,
        "complaint_open": state.complaint_open,
        "ombudsman_complaint_open": state.ombudsman_complaint_open,
        "closed": state.closed,
        "written_off": state.written_off,
        "settled": state.closed or (outstanding == 0 and charged_installment),
    }


def _contact_facts(state: AccountState, today: date, ctx: FactContext) -> dict[str, Any]:
    talks = [c for c in state.contacts if c.outcome == "right_party"]
    blocked = set(state.ceased_channels) | set(state.consent_withdrawn)
    levels = [ctx.steps[r.step].level for r in state.steps_taken if r.step in ctx.steps]
    return {
        "days_since_conversation": _days(today, talks[-1].at if talks else None, state.timezone),
        "contactable": "any" not in blocked and any(c not in blocked for c in CONTACT_CHANNELS),
        "ladder_level": max(levels, default=0),
    }


@lru_cache(maxsize=256)
def _family_specs(names: frozenset[str]) -> tuple[tuple[str, str, tuple[Any, ...]], ...]:
    """The family facts among `names`, parsed once: (name, family, arguments), sorted by name.
    Other names (scalars, derived facts' ids) are left out."""
    out: list[tuple[str, str, tuple[Any, ...]]] = []
    for name in sorted(names):
        m = _catalog._WINDOW.match(name)
        if m:
            out.append((name, "window", (m.group(1), int(m.group(2)), m.group(3), m.group(4))))
            continue
        m = _catalog._STEP.match(name) or _catalog._CHAN.match(name)
        if m:
            out.append((name, m.group(1), (m.group(2),)))
    return tuple(out)


def _steps_index(state: AccountState) -> dict[str, tuple[int, datetime]]:
    """step id -> (times taken, when last taken); cached on the state (depends on it alone)."""
    cache = _derived(state)
    hit: dict[str, tuple[int, datetime]] | None = cache.get("steps")
    if hit is None:
        hit = {}
        for r in state.steps_taken:  # in fold order, so the last record is the latest
            hit[r.step] = (hit[r.step][0] + 1 if r.step in hit else 1, r.at)
        cache["steps"] = hit
    return hit


def _contacts_local(state: AccountState) -> tuple[tuple[datetime, date, str, bool, bool], ...]:
    """(at, local date, channel, outbound, right party) per contact; cached on the state."""
    cache = _derived(state)
    hit: tuple[tuple[datetime, date, str, bool, bool], ...] | None = cache.get("contacts")
    if hit is None:
        tz = state.timezone
        hit = cache["contacts"] = tuple(
            (c.at, local_date(c.at, tz), c.channel, c.direction == "outbound",
             c.outcome == "right_party")
            for c in state.contacts
        )  # fmt: skip
    return hit


# family -> its value at as_of, given the parsed arguments (`_family_specs`); the step families
# (days_since_step, step_done, step_count) are read from the steps index in `_family_facts`.
_FAMILIES: dict[str, Callable[..., Any]] = {
    "window": lambda state, as_of, today, *args: _window_count(state, as_of, today, *args),
    "cease_requested": lambda state, as_of, today, channel: (
        channel in state.ceased_channels or "any" in state.ceased_channels
    ),
    "consent_withdrawn": lambda state, as_of, today, channel: channel in state.consent_withdrawn,
}


def _window_count(
    state: AccountState, as_of: datetime, today: date, kind: str, n: int, unit: str, channel: str
) -> int:
    attempts = kind == "attempts"
    days = unit == "d"
    first_day = today - timedelta(days=n - 1) if days else today
    since = as_of if days else as_of - timedelta(hours=n)
    count = 0
    for at, day, chan, outbound, right_party in _contacts_local(state):
        if channel != "any" and chan != channel:
            continue
        if not (outbound if attempts else right_party) or at > as_of:
            continue
        if (day >= first_day) if days else (since < at):
            count += 1
    return count
