"""Facts that protect the borrower: moratoria, negotiation, disputes and credit records.

Read from the events a state keeps (`AccountState.events`), so the fold needs no new fields.
Theory of operation, one row per fact:

==============================  ===============================================================
fact                            value at `today` (the borrower's local date)
==============================  ===============================================================
breathing_space                 the latest moratorium is in force. Standard: from its start
                                through ``ends_on``, else start + `standard` (60 days); ended
                                early by ``breathing_space_ended``. Mental-health crisis:
                                until the crisis treatment ends (``ends_on``, or the day of a
                                ``breathing_space_ended``, whichever is first) + `after_crisis_
                                treatment` (30 days); open-ended while no end is known
breathing_space_days_left       days from today to its last day (null: none, or no end known)
breathing_space_repeat          the latest is a standard one that started less than
                                `standard_once_per` (12 months) after the previous standard one
plan_refused                    a ``repayment_plan_refused`` on or after the latest
                                ``hardship_declared`` (ever, when hardship was never declared)
plan_installments               installments of the latest agreed plan (0: none)
plan_offer_installments         installments of the latest ``step_taken`` that names them (a
                                plan offer's term; null: none recorded)
days_since_dispute              days since the open dispute was raised (null: none open)
days_since_delinquency_ended    days since the last day the loan was past due (0 while past
                                due; null when never past due): a day d is past due when the
                                payments made up to d are less than the items due before d
==============================  ===============================================================
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from itertools import accumulate
from typing import TYPE_CHECKING, Any

from .._base.time import local_date, parse_duration

if TYPE_CHECKING:
    from .account import AccountState

__all__ = ["MoratoriumTerms", "protection_facts"]


@dataclass(frozen=True)
class MoratoriumTerms:
    """How long a breathing space lasts (a rule file's `breathing_space:`), as plain values."""

    standard: str = "60d"
    after_crisis_treatment: str = "30d"
    standard_once_per: str = "P12M"


def protection_facts(
    state: AccountState, today: date, terms: MoratoriumTerms, dpd: int
) -> dict[str, Any]:
    scan = _scan(state)
    out = _breathing_space(scan.spells, today, terms)
    out.update(scan.negotiation)
    raised = scan.dispute_raised
    out["days_since_dispute"] = None if raised is None else (today - raised).days
    # While past due the answer is 0 without looking at the history.
    out["days_since_delinquency_ended"] = 0 if dpd > 0 else _delinquency(state, today)
    return out


# Event types these facts never read (the frequent ones), skipped in the scan.
_PLAIN = frozenset(
    {"installment_due", "payment_received", "contact_attempted", "loan_opened",
     "payment_reversed", "promise_to_pay", "fee_charged", "interest_charged"}
)  # fmt: skip


@dataclass(frozen=True)
class _Scan:
    """What these facts read of the events, independent of `today`: one pass, cached on the
    state (a snapshot never changes)."""

    spells: tuple[tuple[str, date, date | None, date | None], ...]  # kind, start, ends_on, end
    negotiation: dict[str, Any]
    dispute_raised: date | None  # local date the open dispute was raised


def _scan(state: AccountState) -> _Scan:
    cache: dict[str, Any] | None = getattr(state, "_derived", None)
    hit: _Scan | None = None if cache is None else cache.get("protection")
    if hit is not None:
        return hit
    tz = state.timezone
    spells: list[list[Any]] = []  # [kind, first day, ends_on, day ended]
    raised = None
    refused = False
    offered: int | None = None
    for e in state.events:  # in fold order
        if e.type in _PLAIN:
            continue
        if e.type == "breathing_space_started":
            spells.append([e.kind, local_date(e.at, tz), e.ends_on, None])
        elif e.type == "breathing_space_ended" and spells and spells[-1][3] is None:
            spells[-1][3] = local_date(e.at, tz)
        elif e.type == "dispute_raised" and raised is None:
            raised = e.at
        elif e.type == "dispute_resolved":
            raised = None
        elif e.type == "hardship_declared":
            refused = False
        elif e.type == "repayment_plan_refused":
            refused = True
        elif e.type == "step_taken" and e.installments is not None:
            offered = e.installments
    hit = _Scan(
        spells=tuple((k, s, e, n) for k, s, e, n in spells),
        negotiation={
            "plan_refused": refused,
            "plan_installments": len(state.plans[-1].installments) if state.plans else 0,
            "plan_offer_installments": offered,
        },
        dispute_raised=None if raised is None else local_date(raised, tz),
    )
    if cache is not None:
        cache["protection"] = hit
    return hit


def _breathing_space(
    spells: tuple[tuple[str, date, date | None, date | None], ...],
    today: date,
    terms: MoratoriumTerms,
) -> dict[str, Any]:
    off = {"breathing_space": False, "breathing_space_days_left": None,
           "breathing_space_repeat": False}  # fmt: skip
    if not spells:
        return off
    kind, start, ends_on, ended = spells[-1]
    last: date | None
    if kind == "standard":
        if ended is not None:
            return off
        last = ends_on or parse_duration(terms.standard).add_to_date(start)
    else:  # mental-health crisis: its events speak of the treatment, which ends first
        treated = min((d for d in (ends_on, ended) if d is not None), default=None)
        last = (
            None
            if treated is None
            else parse_duration(terms.after_crisis_treatment).add_to_date(treated)
        )
    if last is not None and today > last:
        return off
    repeat = False
    if kind == "standard":
        earlier = [s[1] for s in spells[:-1] if s[0] == "standard"]
        once = parse_duration(terms.standard_once_per)
        repeat = any(once.add_to_date(d) > start for d in earlier)
    return {
        "breathing_space": True,
        "breathing_space_days_left": None if last is None else (last - today).days,
        "breathing_space_repeat": repeat,
    }


def _delinquency(state: AccountState, today: date) -> int | None:
    tz = state.timezone
    items = sorted((b.item.due_date, b.item.total) for b in state.ledger.balances)
    pays = sorted((local_date(p.at, tz), p.amount) for p in state.payments if not p.reversed)
    due_days = [d for d, _ in items]
    due_cum = list(accumulate((a for _, a in items), initial=Decimal(0)))
    pay_days = [d for d, _ in pays]
    pay_cum = list(accumulate((a for _, a in pays), initial=Decimal(0)))

    def past_due(d: date) -> bool:  # items due before d exceed payments made up to d
        return pay_cum[bisect_right(pay_days, d)] < due_cum[bisect_left(due_days, d)]

    one = timedelta(days=1)
    points = sorted({d + one for d in due_days} | set(pay_days))
    points = [p for p in points if p <= today]
    last_bad: date | None = None
    for i, p in enumerate(points):
        if past_due(p):
            last_bad = today if i == len(points) - 1 else points[i + 1] - one
    if last_bad is None:
        return None
    return (today - last_bad).days
