"""Hypothesis strategies for `dunning` events, loan histories and decision times.

Use them to test your own rule sets and services against realistic, valid input::

    from hypothesis import given
    from dunning import AccountState
    from dunning.testing import as_of_times, loan_histories

    @given(loan_histories(currency="CNY", timezone="Asia/Shanghai"), st.data())
    def test_my_rules(events, data):
        as_of = data.draw(as_of_times(events))
        ...

Organisation of this module:

* *values*: `amounts` (Decimal exact to the currency), `instants` (aware times at any hour);
* *single events*: `contact_attempts`, `payments`, `promises`, `step_events` — each takes the
  loan, the borrower and a time range, and returns a strategy of one event model;
* *histories*: `loan_histories` — a whole valid loan history (``loan_opened`` first, monthly
  installments, partial and late payments, reversals of earlier payments, promises, contacts
  on every channel at all hours, disputes, fees, steps and a repayment plan);
* *times*: `as_of_times` — an instant at or after a history's last event.

Every history is accepted by `AccountState.from_events` (the property tests of the library
check it), its event ids are unique, and it holds one loan of one borrower (borrower-level
contacts may carry no loan id or another loan's id, as real feeds do).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from ._money import MINOR_UNITS
from ._time import add_months, local_at, local_date
from .events import (
    CONTACT_CHANNELS,
    OUTCOMES,
    ContactAttempted,
    DisputeRaised,
    DisputeResolved,
    Event,
    FeeCharged,
    InstallmentDue,
    LoanOpened,
    PaymentReceived,
    PaymentReversed,
    PlanInstallment,
    PromiseToPay,
    RepaymentPlanAgreed,
    RepaymentPlanCancelled,
    StepTaken,
)

__all__ = [
    "STEP_IDS",
    "amounts",
    "as_of_times",
    "contact_attempts",
    "instants",
    "loan_histories",
    "payments",
    "promises",
    "step_events",
]

# Step ids the generated step_taken events use (the ladder of DESIGN.md section 4).
STEP_IDS: tuple[str, ...] = (
    "sms_reminder", "phone_reminder", "phone_collection", "overdue_letter", "lawyer_letter",
    "agency_referral", "visit_notice", "field_visit", "payment_order", "litigation",
)  # fmt: skip


# --- values ------------------------------------------------------------------------------


def amounts(currency: str = "CNY", low: int = 1, high: int = 100_000) -> st.SearchStrategy[Decimal]:
    """Positive Decimal amounts between `low` and `high` units, exact to `currency`."""
    places = MINOR_UNITS[currency]
    scale = 10**places
    return st.integers(low * scale, high * scale).map(lambda n: Decimal(n).scaleb(-places))


def instants(start: datetime, end: datetime) -> st.SearchStrategy[datetime]:
    """Aware instants in ``[start, end]`` to the minute, at any hour of the day."""
    minutes = max(0, int((end - start).total_seconds() // 60))
    return st.integers(0, minutes).map(lambda m: start + timedelta(minutes=m))


# --- single events -----------------------------------------------------------------------


def contact_attempts(
    loan_id: str, borrower_id: str, start: datetime, end: datetime, event_id: str = "c1"
) -> st.SearchStrategy[ContactAttempted]:
    """One contact attempt on any channel, either direction, any outcome, any hour.

    Its loan id is this loan's, none (a borrower-level contact) or another loan's.
    """
    return st.builds(
        ContactAttempted,
        event_id=st.just(event_id),
        loan_id=st.sampled_from([loan_id, None, f"{loan_id}-other"]),
        borrower_id=st.just(borrower_id),
        at=instants(start, end),
        channel=st.sampled_from(CONTACT_CHANNELS),
        direction=st.sampled_from(["outbound", "outbound", "inbound"]),
        outcome=st.sampled_from(OUTCOMES),
        consented=st.booleans(),
        contact_point=st.sampled_from([None, "mobile-1", "home-1"]),
    )


def payments(
    loan_id: str, currency: str, start: datetime, end: datetime, high: int, event_id: str = "p1"
) -> st.SearchStrategy[PaymentReceived]:
    """One payment of at most `high` units (partial, full or over-payment)."""
    return st.builds(
        PaymentReceived,
        event_id=st.just(event_id),
        loan_id=st.just(loan_id),
        at=instants(start, end),
        amount=amounts(currency, 1, high),
        currency=st.just(currency),
    )


def promises(
    loan_id: str, currency: str, tz: str, start: datetime, end: datetime, event_id: str = "pr1"
) -> st.SearchStrategy[PromiseToPay]:
    """A promise to pay, made at some instant, for a local date 0-14 days later."""

    def build(args: tuple[datetime, Decimal, int]) -> PromiseToPay:
        at, amount, days = args
        return PromiseToPay(
            event_id=event_id,
            loan_id=loan_id,
            at=at,
            amount=amount,
            currency=currency,
            promised_date=local_date(at, tz) + timedelta(days=days),
        )

    return st.tuples(instants(start, end), amounts(currency, 100, 5_000), st.integers(0, 14)).map(
        build
    )


def step_events(
    loan_id: str, start: datetime, end: datetime, event_id: str = "s1"
) -> st.SearchStrategy[StepTaken]:
    """A step of the ladder (`STEP_IDS`) carried out at some instant."""
    return st.builds(
        StepTaken,
        event_id=st.just(event_id),
        loan_id=st.just(loan_id),
        at=instants(start, end),
        step=st.sampled_from(STEP_IDS),
    )


# --- histories ---------------------------------------------------------------------------


class _Ids:
    """Event ids e0000, e0001, ... in the order they are drawn (unique per history)."""

    def __init__(self) -> None:
        self.n = 0

    def __call__(self) -> str:
        self.n += 1
        return f"e{self.n:04d}"


def _schedule(ids: _Ids, opened: LoanOpened, months: int, rate: Decimal) -> list[InstallmentDue]:
    """Monthly installments after the opening date, principal split evenly (rest on the last)."""
    cur, tz = opened.currency, opened.timezone
    quantum = Decimal(1).scaleb(-MINOR_UNITS[cur])
    share = (opened.principal / months).quantize(quantum) if months else Decimal(0)
    out: list[InstallmentDue] = []
    for k in range(1, months + 1):
        due = add_months(local_date(opened.at, tz), k)
        principal = share if k < months else opened.principal - share * (months - 1)
        out.append(
            InstallmentDue(
                event_id=ids(),
                loan_id=opened.loan_id,
                at=local_at(due, time(0, 0), tz),
                due_date=due,
                principal=principal,
                interest=(opened.principal * rate).quantize(quantum),
                currency=cur,
            )
        )
    return out


def _reversals(
    draw: st.DrawFn, ids: _Ids, pays: Sequence[PaymentReceived], loan_id: str
) -> list[PaymentReversed]:
    """Some payments bounce 1 minute to 10 days after they arrived (each at most once)."""
    out: list[PaymentReversed] = []
    for p in pays:
        if draw(st.integers(0, 4)) == 0:
            delay = timedelta(minutes=draw(st.integers(1, 10 * 24 * 60)))
            out.append(
                PaymentReversed(
                    event_id=ids(), loan_id=loan_id, at=p.at + delay, payment_event_id=p.event_id
                )
            )
    return out


def _episodes(draw: st.DrawFn, ids: _Ids, opened: LoanOpened, end: datetime) -> list[Event]:
    """A dispute (maybe resolved), a fee, and a repayment plan (maybe cancelled)."""
    loan, cur, tz, start = opened.loan_id, opened.currency, opened.timezone, opened.at
    out: list[Event] = []
    if draw(st.booleans()):
        raised = draw(instants(start + timedelta(minutes=1), end))
        out.append(DisputeRaised(event_id=ids(), loan_id=loan, at=raised))
        if draw(st.booleans()):
            resolved = raised + timedelta(minutes=draw(st.integers(1, 60 * 24 * 30)))
            out.append(DisputeResolved(event_id=ids(), loan_id=loan, at=resolved))
    if draw(st.booleans()):
        at = draw(instants(start + timedelta(minutes=1), end))
        out.append(
            FeeCharged(
                event_id=ids(),
                loan_id=loan,
                at=at,
                amount=draw(amounts(cur, 10, 200)),
                currency=cur,
            )
        )
    if draw(st.booleans()):
        agreed = draw(instants(start + timedelta(minutes=1), end))
        first = local_date(agreed, tz) + timedelta(days=draw(st.integers(1, 30)))
        n = draw(st.integers(1, 6))
        items = tuple(
            PlanInstallment(due_date=add_months(first, k), amount=draw(amounts(cur, 100, 3_000)))
            for k in range(n)
        )
        out.append(
            RepaymentPlanAgreed(
                event_id=ids(), loan_id=loan, at=agreed, currency=cur, installments=items
            )
        )
        if draw(st.booleans()):
            cancelled = agreed + timedelta(minutes=draw(st.integers(1, 60 * 24 * 90)))
            out.append(RepaymentPlanCancelled(event_id=ids(), loan_id=loan, at=cancelled))
    return out


@st.composite
def loan_histories(
    draw: st.DrawFn,
    currency: str = "CNY",
    timezone: str = "Asia/Shanghai",
    loan_id: str = "L1",
    borrower_id: str = "B1",
    max_months: int = 12,
    max_events: int = 12,
) -> list[Event]:
    """A valid history of one loan, in time order (shuffle it yourself to test ordering).

    `max_months` bounds the installment schedule; `max_events` bounds each kind of
    free-floating event (payments, contacts, promises, steps).
    """
    ids = _Ids()
    day = draw(st.dates(date(2022, 1, 1), date(2025, 12, 31)))
    opened_at = local_at(day, time(draw(st.integers(0, 23)), draw(st.integers(0, 59))), timezone)
    opened = LoanOpened(
        event_id="e0000", loan_id=loan_id, borrower_id=borrower_id, at=opened_at,
        principal=draw(amounts(currency, 1_000, 100_000)), currency=currency,
        timezone=timezone,
    )  # fmt: skip
    months = draw(st.integers(0, max_months))
    schedule = _schedule(ids, opened, months, Decimal(draw(st.integers(0, 20))) / 1000)
    end = (schedule[-1].at if schedule else opened_at) + timedelta(days=60)
    start = opened_at + timedelta(minutes=1)
    high = int(max((i.principal + i.interest for i in schedule), default=Decimal(1000))) * 2

    def some(strategy: st.SearchStrategy[Any]) -> list[Any]:
        # One strategy per kind and history (cheap); each drawn event gets a fresh id.
        drawn = draw(st.lists(strategy, max_size=max_events))
        return [e.model_copy(update={"event_id": ids()}) for e in drawn]

    pays = some(payments(loan_id, currency, start, end, max(high, 2)))
    events: list[Event] = [opened, *schedule, *pays, *_reversals(draw, ids, pays, loan_id)]
    events += some(contact_attempts(loan_id, borrower_id, start, end))
    events += some(promises(loan_id, currency, timezone, start, end))
    events += some(step_events(loan_id, start, end))
    events += _episodes(draw, ids, opened, end)
    return sorted(events, key=lambda e: (e.at, e.event_id))


def as_of_times(events: Sequence[Event], max_days: int = 400) -> st.SearchStrategy[datetime]:
    """Instants at or after the last of `events`, up to `max_days` later, at any hour."""
    last = max(e.at for e in events)
    return instants(last, last + timedelta(days=max_days))


# --- invariants (defined in `_invariants`, public here) ------------------------------------

from ._invariants import (  # noqa: E402  (after the strategies: _invariants draws from them)
    INVARIANTS,
    InvariantViolation,
    check_all,
    check_cites_a_rule,
    check_deterministic,
    check_monotonic_escalation,
    check_no_contact_on_ceased,
    check_no_limit_broken,
    check_no_step_when_settled,
    check_prerequisites_respected,
    run_invariant,
)

__all__ += [
    "INVARIANTS",
    "InvariantViolation",
    "check_all",
    "check_cites_a_rule",
    "check_deterministic",
    "check_monotonic_escalation",
    "check_no_contact_on_ceased",
    "check_no_limit_broken",
    "check_no_step_when_settled",
    "check_prerequisites_respected",
    "run_invariant",
]
