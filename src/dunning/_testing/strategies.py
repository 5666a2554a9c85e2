"""The strategies behind `dunning.testing`: values, single events, loan histories, states.

`testing` is the public face (its docstring is the guide); this module holds the history
skeleton (opening, monthly schedule) and the unnarrowed mix of events (payments and their
reversals, contacts, promises, steps, disputes, fees, plans). Narrowing by behaviour is in
`behaviours`. With no narrowing argument, `loan_histories` draws exactly what it drew before
narrowing existed, so stored counterexamples and the invariants' examples stay the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from .._base.errors import InputError
from .._base.money import MINOR_UNITS
from .._base.time import add_months, is_zone, local_at, local_date
from .._state.account import AccountState
from .._state.events import (
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
from .behaviours import Loan, build, check_behaviours, contact_outcomes, respect_stops

__all__ = [
    "STEP_IDS",
    "account_states",
    "amounts",
    "check_place",
    "contact_attempts",
    "instants",
    "loan_histories",
    "names",
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
    loan_id: str,
    borrower_id: str,
    start: datetime,
    end: datetime,
    event_id: str = "c1",
    *,
    directions: Sequence[str] = ("outbound", "outbound", "inbound"),
    outcomes: Sequence[str] = OUTCOMES,
) -> st.SearchStrategy[ContactAttempted]:
    """One contact attempt on any channel, at any hour, in `directions` with `outcomes`.

    Its loan id is this loan's, none (a borrower-level contact) or another loan's.
    """
    return st.builds(
        ContactAttempted,
        event_id=st.just(event_id),
        loan_id=st.sampled_from([loan_id, None, f"{loan_id}-other"]),
        borrower_id=st.just(borrower_id),
        at=instants(start, end),
        channel=st.sampled_from(CONTACT_CHANNELS),
        direction=st.sampled_from(list(directions)),
        outcome=st.sampled_from(list(outcomes)),
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

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix
        self.n = 0

    def __call__(self) -> str:
        self.n += 1
        return f"{self.prefix}e{self.n:04d}"


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


def check_place(currency: str, timezone: str) -> None:
    """InputError (before any draw) for a currency or zone the events would refuse."""
    if currency not in MINOR_UNITS:
        raise InputError(
            f"currency: expected an ISO-4217 code dunning knows (such as CNY, USD, GBP),"
            f" found {currency!r}"
        )
    if not is_zone(timezone):
        raise InputError(
            f"timezone: expected an IANA zone such as 'Asia/Shanghai', found {timezone!r}"
        )


def names(value: str | Sequence[str] | None, what: str) -> tuple[str, ...] | None:
    """A narrowing argument as a tuple (one name or several), None when not narrowed."""
    if value is None:
        return None
    names = (value,) if isinstance(value, str) else tuple(value)
    if not names:
        raise InputError(f"{what}: expected at least one name, found none (pass None for any)")
    return names


def loan_histories(
    currency: str = "CNY",
    timezone: str = "Asia/Shanghai",
    loan_id: str = "L1",
    borrower_id: str = "B1",
    max_months: int = 12,
    max_events: int = 12,
    *,
    product: str | Sequence[str] | None = None,
    behaviours: Sequence[str] | None = None,
    id_prefix: str = "",
) -> st.SearchStrategy[list[Event]]:
    """A valid history of one loan, in time order (shuffle it yourself to test ordering).

    `max_months` bounds the installment schedule; `max_events` bounds each kind of
    free-floating event (payments, contacts, promises, steps). `product` narrows
    ``loan_opened.product`` (one name or several to choose from; default ``personal_loan``).

    `behaviours` (names from `BEHAVIOURS`) narrows the borrower: each history follows one
    behaviour of the mix (pays on time, pays late, partial payer, promises and breaks them,
    silent, disputes, hardship plan, bankruptcy, ceases contact, deceased), with at least
    one installment when `max_months` allows. Without it the history mixes every kind of
    event at random. `id_prefix` prefixes every event id (`portfolios` uses the loan id).
    """
    check_place(currency, timezone)
    return _histories(
        currency, timezone, loan_id, borrower_id, max_months, max_events,
        names(product, "product"), check_behaviours(behaviours), id_prefix,
    )  # fmt: skip


@st.composite
def _histories(
    draw: st.DrawFn,
    currency: str,
    timezone: str,
    loan_id: str,
    borrower_id: str,
    max_months: int,
    max_events: int,
    products: tuple[str, ...] | None,
    behaviours: tuple[str, ...] | None,
    id_prefix: str,
) -> list[Event]:
    ids = _Ids(id_prefix)
    day = draw(st.dates(date(2022, 1, 1), date(2025, 12, 31)))
    opened_at = local_at(day, time(draw(st.integers(0, 23)), draw(st.integers(0, 59))), timezone)
    narrowed = {} if products is None else {"product": draw(st.sampled_from(products))}
    opened = LoanOpened(
        event_id=f"{id_prefix}e0000", loan_id=loan_id, borrower_id=borrower_id, at=opened_at,
        principal=draw(amounts(currency, 1_000, 100_000)), currency=currency,
        timezone=timezone, **narrowed,
    )  # fmt: skip
    months = draw(st.integers(min(1, max_months) if behaviours else 0, max_months))
    schedule = _schedule(ids, opened, months, Decimal(draw(st.integers(0, 20))) / 1000)
    end = (schedule[-1].at if schedule else opened_at) + timedelta(days=60)
    start = opened_at + timedelta(minutes=1)

    def some(strategy: st.SearchStrategy[Any]) -> list[Any]:
        # One strategy per kind and history (cheap); each drawn event gets a fresh id.
        drawn = draw(st.lists(strategy, max_size=max_events))
        return [e.model_copy(update={"event_id": ids()}) for e in drawn]

    events: list[Event] = [opened, *schedule]
    if behaviours is not None:
        # The bank's own activity, then the borrower's side (see `behaviours`).
        behaviour = draw(st.sampled_from(behaviours))
        events += some(contact_attempts(loan_id, borrower_id, start, end, directions=(
            "outbound",), outcomes=contact_outcomes(behaviour)))  # fmt: skip
        events += some(step_events(loan_id, start, end))
        events += build(draw, Loan(opened, tuple(schedule), end, ids), behaviour)
        return sorted(respect_stops(events), key=lambda e: (e.at, e.event_id))
    high = int(max((i.principal + i.interest for i in schedule), default=Decimal(1000))) * 2
    pays = some(payments(loan_id, currency, start, end, max(high, 2)))
    events += [*pays, *_reversals(draw, ids, pays, loan_id)]
    events += some(contact_attempts(loan_id, borrower_id, start, end))
    events += some(promises(loan_id, currency, timezone, start, end))
    events += some(step_events(loan_id, start, end))
    events += _episodes(draw, ids, opened, end)
    return sorted(events, key=lambda e: (e.at, e.event_id))


def account_states(
    currency: str = "CNY",
    timezone: str = "Asia/Shanghai",
    loan_id: str = "L1",
    borrower_id: str = "B1",
    max_months: int = 12,
    max_events: int = 12,
    *,
    product: str | Sequence[str] | None = None,
    behaviours: Sequence[str] | None = None,
) -> st.SearchStrategy[AccountState]:
    """The `AccountState` folded from a `loan_histories` draw (same arguments, same narrowing).

    ``state.events`` holds the history, so ``as_of_times(state.events)`` gives a decision time.
    """
    histories = loan_histories(
        currency, timezone, loan_id, borrower_id, max_months, max_events,
        product=product, behaviours=behaviours,
    )  # fmt: skip
    return histories.map(AccountState.from_events)
