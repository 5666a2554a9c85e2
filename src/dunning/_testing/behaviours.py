"""Borrower behaviours for `testing.loan_histories(behaviours=...)`.

Theory of operation: a behavioural history starts like every generated history (loan_opened,
the monthly schedule), gets the bank's own activity (outbound contacts at all hours on every
channel, steps of the ladder), and then the borrower's side from one behaviour drawn from the
mix. Each behaviour is one builder in `BUILDERS`; it adds only events dated after the opening,
so the history stays valid (`AccountState.from_events` folds it). Money is paid against the
installment totals; "on time" and "late" are read on the loan's local calendar.

===================  =========================================================================
behaviour            what the history shows
===================  =========================================================================
pays_on_time         every installment paid in full on its due date or up to 5 days before
pays_late            every installment paid in full 1-59 days late, oldest first; late fees
partial_payer        10-90% of installments (the first always, later ones 3 times in 4)
promises_and_breaks  1-3 promises, each made on a right-party call; the first is broken (no
                     payment by the promised date), later ones kept or broken
silent               no payment, no promise; the bank's calls and letters reach nobody
disputes             a dispute raised after the first due date, sometimes resolved
hardship_plan        hardship declared, a repayment plan 1-20 days later, some plan installments
                     paid; sometimes hardship ends or the plan is cancelled
bankruptcy           a bankruptcy filing, open, dismissed or discharged (then sometimes closed)
ceases_contact       a cease-contact request for some channels (or any)
deceased             the borrower's death
===================  =========================================================================

`respect_stops` then drops the bank's outbound contacts that a death or a cease request rules
out, as real data would not show them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_DOWN, Decimal
from difflib import get_close_matches

from hypothesis import strategies as st

from .._base.errors import InputError
from .._base.money import MINOR_UNITS
from .._base.time import add_months, local_at, local_date
from .._state.events import (
    OUTCOMES,
    BankruptcyClosed,
    BankruptcyFiled,
    BorrowerDeceased,
    CeaseContactRequested,
    ContactAttempted,
    DisputeRaised,
    DisputeResolved,
    Event,
    FeeCharged,
    HardshipDeclared,
    HardshipEnded,
    InstallmentDue,
    LoanClosed,
    LoanOpened,
    PaymentReceived,
    PlanInstallment,
    PromiseToPay,
    RepaymentPlanAgreed,
    RepaymentPlanCancelled,
)

__all__ = ["BEHAVIOURS", "Loan", "build", "check_behaviours", "contact_outcomes", "respect_stops"]


@dataclass(frozen=True)
class Loan:
    """What a behaviour builds on: the opening, the schedule, the history's end, the id source."""

    opened: LoanOpened
    schedule: tuple[InstallmentDue, ...]
    end: datetime
    ids: Callable[[], str]

    @property
    def tz(self) -> str:
        return self.opened.timezone

    @property
    def first_due(self) -> datetime:
        return self.schedule[0].at if self.schedule else self.opened.at + timedelta(minutes=1)


Builder = Callable[[st.DrawFn, Loan], list[Event]]
_DAY = 24 * 60


def _at(draw: st.DrawFn, lo: datetime, hi: datetime) -> datetime:
    """An instant in ``[lo, hi]`` to the minute (``lo`` when the range is empty)."""
    return lo + timedelta(
        minutes=draw(st.integers(0, max(0, int((hi - lo).total_seconds() // 60))))
    )


def _local(draw: st.DrawFn, loan: Loan, day: date) -> datetime:
    """Some wall-clock minute of local date `day` in the loan's zone."""
    m = draw(st.integers(0, _DAY - 1))
    return local_at(day, time(m // 60, m % 60), loan.tz)


def _quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-MINOR_UNITS[currency])


def _total(i: InstallmentDue) -> Decimal:
    return i.principal + i.interest + i.fees


def _pay(loan: Loan, at: datetime, amount: Decimal) -> PaymentReceived:
    o = loan.opened
    return PaymentReceived(
        event_id=loan.ids(), loan_id=o.loan_id, at=at, amount=amount, currency=o.currency
    )


# --- the builders (one per behaviour; the module table says what each shows) ----------------


def _pays_on_time(draw: st.DrawFn, loan: Loan) -> list[Event]:
    out: list[Event] = []
    for i in loan.schedule:
        day = i.due_date - timedelta(days=draw(st.integers(0, 5)))
        out.append(_pay(loan, _local(draw, loan, day), _total(i)))
    return out


def _pays_late(draw: st.DrawFn, loan: Loan) -> list[Event]:
    """Oldest first: each payment comes after the previous one, as a catching-up payer pays."""
    o, out = loan.opened, list[Event]()
    paid = o.at
    for i in loan.schedule:
        late = i.due_date + timedelta(days=draw(st.integers(1, 59)))
        if draw(st.integers(0, 3)) == 0:
            fee = draw(st.integers(10, 50))
            out.append(FeeCharged(event_id=loan.ids(), loan_id=o.loan_id, at=local_at(
                i.due_date + timedelta(days=1), time(1, 0), loan.tz), amount=Decimal(fee),
                currency=o.currency))  # fmt: skip
        paid = max(_local(draw, loan, late), paid + timedelta(minutes=1))
        out.append(_pay(loan, paid, _total(i)))
    return out


def _partial_payer(draw: st.DrawFn, loan: Loan) -> list[Event]:
    out: list[Event] = []
    quantum = _quantum(loan.opened.currency)
    for k, i in enumerate(loan.schedule):
        if k and draw(st.integers(0, 3)) == 0:
            continue  # a month with nothing paid
        share = Decimal(draw(st.integers(10, 90))) / 100
        amount = max(quantum, (_total(i) * share).quantize(quantum, rounding=ROUND_DOWN))
        day = i.due_date + timedelta(days=draw(st.integers(0, 25)))
        out.append(_pay(loan, _local(draw, loan, day), amount))
    return out


def _promises_and_breaks(draw: st.DrawFn, loan: Loan) -> list[Event]:
    """Promise windows do not overlap, so a kept promise's payment never keeps another one."""
    o, out = loan.opened, list[Event]()
    cursor = loan.first_due
    amount = _total(loan.schedule[0]) if loan.schedule else Decimal(100)
    for n in range(draw(st.integers(1, 3))):
        if n and cursor > loan.end - timedelta(days=20):
            break
        at = cursor + timedelta(minutes=draw(st.integers(1, 10 * _DAY)))
        promised = local_date(at, loan.tz) + timedelta(days=draw(st.integers(1, 14)))
        out.append(ContactAttempted(
            event_id=loan.ids(), loan_id=o.loan_id, borrower_id=o.borrower_id, at=at,
            channel="phone", direction=draw(st.sampled_from(["outbound", "inbound"])),
            outcome="right_party"))  # fmt: skip
        out.append(PromiseToPay(
            event_id=loan.ids(), loan_id=o.loan_id, at=at, amount=amount, currency=o.currency,
            promised_date=promised))  # fmt: skip
        if n and draw(st.booleans()):  # kept: paid in full by the evening of the promised day
            evening = local_at(promised, time(20, 0), loan.tz)
            out.append(_pay(loan, _at(draw, at + timedelta(minutes=1), evening), amount))
        cursor = local_at(promised + timedelta(days=1), time(0, 0), loan.tz)
    return out


def _silent(draw: st.DrawFn, loan: Loan) -> list[Event]:
    return []  # the borrower's silence is in `contact_outcomes`: nobody answers the bank


def _disputes(draw: st.DrawFn, loan: Loan) -> list[Event]:
    loan_id = loan.opened.loan_id
    raised = _at(draw, loan.first_due, loan.end)
    out: list[Event] = [DisputeRaised(
        event_id=loan.ids(), loan_id=loan_id, at=raised, written=draw(st.booleans()),
        reason=draw(st.sampled_from([None, "amount", "not my loan"])))]  # fmt: skip
    if draw(st.booleans()):
        out.append(DisputeResolved(
            event_id=loan.ids(), loan_id=loan_id,
            at=raised + timedelta(minutes=draw(st.integers(1, 60 * _DAY))),
            outcome=draw(st.sampled_from(["verified", "upheld", "withdrawn"]))))  # fmt: skip
    return out


def _hardship_plan(draw: st.DrawFn, loan: Loan) -> list[Event]:
    o = loan.opened
    declared = _at(draw, loan.first_due, loan.end - timedelta(days=30))
    agreed = declared + timedelta(minutes=draw(st.integers(_DAY, 20 * _DAY)))
    first = local_date(agreed, loan.tz) + timedelta(days=draw(st.integers(1, 30)))
    low = 100 * 10 ** MINOR_UNITS[o.currency]
    items = tuple(
        PlanInstallment(
            due_date=add_months(first, k),
            amount=Decimal(draw(st.integers(low, 30 * low))).scaleb(-MINOR_UNITS[o.currency]),
        )
        for k in range(draw(st.integers(1, 6)))
    )
    out: list[Event] = [
        HardshipDeclared(event_id=loan.ids(), loan_id=o.loan_id, at=declared),
        RepaymentPlanAgreed(
            event_id=loan.ids(), loan_id=o.loan_id, at=agreed, currency=o.currency,
            kind=draw(st.sampled_from(["installments", "extension", "interest_relief"])),
            installments=items),
    ]  # fmt: skip
    kept = draw(st.integers(0, len(items)))
    out += [_pay(loan, _local(draw, loan, p.due_date), p.amount) for p in items[:kept]]
    if kept < len(items) and draw(st.booleans()):  # a missed plan installment ends the plan
        missed = items[kept].due_date + timedelta(days=draw(st.integers(10, 40)))
        out.append(RepaymentPlanCancelled(
            event_id=loan.ids(), loan_id=o.loan_id, at=_local(draw, loan, missed)))  # fmt: skip
    if draw(st.booleans()):
        ended = agreed + timedelta(minutes=draw(st.integers(30 * _DAY, 180 * _DAY)))
        out.append(HardshipEnded(event_id=loan.ids(), loan_id=o.loan_id, at=ended))
    return out


def _bankruptcy(draw: st.DrawFn, loan: Loan) -> list[Event]:
    o = loan.opened
    filed = _at(draw, loan.first_due, loan.end)
    out: list[Event] = [BankruptcyFiled(
        event_id=loan.ids(), loan_id=draw(st.sampled_from([o.loan_id, None])),
        borrower_id=o.borrower_id, at=filed,
        case_number=draw(st.sampled_from([None, "BK-1"])))]  # fmt: skip
    outcome = draw(st.sampled_from(["open", "dismissed", "discharged"]))
    if outcome == "open":
        return out
    closed = filed + timedelta(minutes=draw(st.integers(30 * _DAY, 400 * _DAY)))
    out.append(BankruptcyClosed(
        event_id=loan.ids(), borrower_id=o.borrower_id, at=closed, outcome=outcome))  # fmt: skip
    if outcome == "discharged" and draw(st.booleans()):
        at = closed + timedelta(minutes=draw(st.integers(1, 30 * _DAY)))
        out.append(LoanClosed(event_id=loan.ids(), loan_id=o.loan_id, at=at, reason="discharged"))
    return out


_CEASABLE = ("phone", "sms", "email", "letter", "app", "visit", "any")


def _ceases_contact(draw: st.DrawFn, loan: Loan) -> list[Event]:
    o = loan.opened
    channels = draw(st.lists(st.sampled_from(_CEASABLE), min_size=1, max_size=3, unique=True))
    return [CeaseContactRequested(
        event_id=loan.ids(), loan_id=draw(st.sampled_from([o.loan_id, None])),
        borrower_id=o.borrower_id, at=_at(draw, o.at + timedelta(minutes=1), loan.end),
        channels=tuple(sorted(channels)), written=draw(st.booleans()))]  # fmt: skip


def _deceased(draw: st.DrawFn, loan: Loan) -> list[Event]:
    o = loan.opened
    return [BorrowerDeceased(
        event_id=loan.ids(), loan_id=draw(st.sampled_from([o.loan_id, None])),
        borrower_id=o.borrower_id,
        at=_at(draw, o.at + timedelta(minutes=1), loan.end))]  # fmt: skip


BUILDERS: dict[str, Builder] = {
    "pays_on_time": _pays_on_time,
    "pays_late": _pays_late,
    "partial_payer": _partial_payer,
    "promises_and_breaks": _promises_and_breaks,
    "silent": _silent,
    "disputes": _disputes,
    "hardship_plan": _hardship_plan,
    "bankruptcy": _bankruptcy,
    "ceases_contact": _ceases_contact,
    "deceased": _deceased,
}
BEHAVIOURS: tuple[str, ...] = tuple(BUILDERS)
# Outcomes of the bank's own contacts: a silent borrower is never reached.
_UNANSWERED = ("no_answer", "voicemail", "bounced", "wrong_number", "delivered")


def contact_outcomes(behaviour: str) -> tuple[str, ...]:
    """The outcomes the bank's outbound contacts may have for a borrower who behaves so."""
    return _UNANSWERED if behaviour == "silent" else OUTCOMES


def check_behaviours(behaviours: Iterable[str] | None) -> tuple[str, ...] | None:
    """The named behaviours in table order (None: not narrowed); InputError for unknown names."""
    if behaviours is None:
        return None
    if isinstance(behaviours, str):
        behaviours = (behaviours,)
    wanted = list(behaviours)
    for name in wanted:
        if name not in BUILDERS:
            guess = get_close_matches(str(name), BEHAVIOURS, n=1)
            hint = f"; did you mean {guess[0]!r}?" if guess else ""
            raise InputError(
                f"behaviours: unknown behaviour {name!r}; expected some of"
                f" {', '.join(BEHAVIOURS)}{hint}"
            )
    if not wanted:
        raise InputError(
            f"behaviours: expected at least one behaviour, found none; choose from"
            f" {', '.join(BEHAVIOURS)} (or pass None for the unnarrowed histories)"
        )
    return tuple(b for b in BEHAVIOURS if b in wanted)


def build(draw: st.DrawFn, loan: Loan, behaviour: str) -> list[Event]:
    """The borrower's side of the history for `behaviour` (module table)."""
    return BUILDERS[behaviour](draw, loan)


def respect_stops(events: Sequence[Event]) -> list[Event]:
    """`events` without the outbound contacts made after the borrower's death or a cease."""
    dead = min((e.at for e in events if isinstance(e, BorrowerDeceased)), default=None)
    ceases = [(e.at, set(e.channels)) for e in events if isinstance(e, CeaseContactRequested)]

    def stopped(c: ContactAttempted) -> bool:
        if c.direction != "outbound":
            return False
        if dead is not None and c.at >= dead:
            return True
        return any(c.at >= at and ({"any", c.channel} & chans) for at, chans in ceases)

    return [e for e in events if not (isinstance(e, ContactAttempted) and stopped(e))]
