"""The fold: how each event changes a loan's state (used by `account.AccountState`).

Theory of operation: `fold(events, base)` takes events already in fold order (`_state.order`)
and de-duplicated, copies `base` (a previous snapshot, or nothing) into a mutable `_Fold`,
applies each event through the handler table `_HANDLERS` (or the flag table `_FLAG_EVENTS`,
in `records` with the records it builds), and returns the fields of the next snapshot.
The ledger allocation is recomputed at the end, so money is always a function of the
charges and the surviving payments.

What is checked while folding (each failure names the event id and the field):

================================  ======================================  ================
condition                         error                                   field
================================  ======================================  ================
first event is not loan_opened    SequenceError ("not opened yet")        at
second loan_opened                SequenceError                           type
loan-level event, other loan      ForeignEventError                       loan_id
loan-level event, other borrower  ForeignEventError                       borrower_id
borrower-level, other borrower    ForeignEventError                       borrower_id
money in another currency         CurrencyMismatchError                   currency
reversal of an unknown payment    SequenceError                           payment_event_id
plan cancelled without a plan     SequenceError                           type
same installment id twice         ConflictingEventError                   installment_id
================================  ======================================  ================
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .._base.errors import (
    ConflictingEventError,
    CurrencyMismatchError,
    ForeignEventError,
    SequenceError,
)
from .._base.money import ZERO
from .._base.time import local_date
from .events import (
    CONTACT_CHANNELS,
    CeaseContactRequested,
    ConsentChanged,
    ContactAttempted,
    DebtAcknowledged,
    Event,
    FeeCharged,
    InstallmentDue,
    InterestCharged,
    LoanOpened,
    PaymentReceived,
    PaymentReversed,
    PromiseToPay,
    RepaymentPlanAgreed,
    RepaymentPlanCancelled,
    StepTaken,
    _BorrowerEvent,
)
from .ledger import DueItem, ItemKind, allocate, maker
from .pauses import CollectionsPaused, CollectionsResumed, end_pauses, pause_of
from .records import _FLAG_EVENTS as _FLAG_EVENTS
from .records import FLAG_DEFAULTS, Contact, Payment, Plan, Promise, StepRecord
from .records import _Record as _Record

if TYPE_CHECKING:
    from .account import AccountState

__all__ = ["FLAG_DEFAULTS", "Contact", "Payment", "Plan", "Promise", "StepRecord", "fold"]

_HEAD = ("loan_id", "borrower_id", "currency", "timezone", "product", "jurisdiction", "principal")
_LISTS = (
    "payments", "contacts", "steps_taken", "plans", "promises", "acknowledgements", "pauses",
)  # fmt: skip
_ALL_CHANNELS = frozenset(CONTACT_CHANNELS)
# The fold's constructors of its records (`ledger.maker`: no validation of values that are
# validated event fields already); the tests swap in the validating classes to compare.
_DUE_ITEM = maker(DueItem)
_PAYMENT = maker(Payment)
_CONTACT = maker(Contact)


class _Fold:
    """The mutable working copy of a state while events are folded into it."""

    def __init__(self, base: AccountState | None) -> None:
        self.head: dict[str, Any] = {}
        self.opened_at: datetime | None = None
        self.events: list[Event] = []
        self.items: list[DueItem] = []
        self.item_ids: set[str] = set()
        self.lists: dict[str, list[Any]] = {name: [] for name in _LISTS}
        self.flags: dict[str, Any] = dict(FLAG_DEFAULTS)
        self.ceased: set[str] = set()
        self.withdrawn: set[str] = set()
        if base is not None:
            self.head = {name: getattr(base, name) for name in _HEAD}
            self.opened_at = base.opened_at
            self.events = list(base.events)
            self.items = [b.item for b in base.ledger.balances]
            self.item_ids = {i.item_id for i in self.items}
            self.lists = {name: list(getattr(base, name)) for name in _LISTS}
            self.flags = {name: getattr(base, name) for name in FLAG_DEFAULTS}
            self.ceased = set(base.ceased_channels)
            self.withdrawn = set(base.consent_withdrawn)

    def add(self, event: Event) -> None:
        # From __dict__ (every event has loan_id and borrower_id fields): a missing attribute
        # on a pydantic model costs a raised and caught AttributeError.
        fields = event.__dict__
        head = self.head
        if self.opened_at is None:
            if not isinstance(event, LoanOpened):
                raise SequenceError(
                    f"the loan was not opened yet: a {event.type} at {event.at.isoformat()}"
                    " comes before any loan_opened; expected loan_opened as the first event"
                    " (events are ordered by at, then the causal rank of their type)",
                    event_id=event.event_id,
                    field="at",
                )
        elif _borrower_level(type(event)):
            if fields["borrower_id"] != head["borrower_id"]:
                self._check_owner(event)  # raises
        elif fields["loan_id"] != head["loan_id"] or (
            fields["borrower_id"] is not None and fields["borrower_id"] != head["borrower_id"]
        ):
            self._check_owner(event)  # raises
        currency = fields.get("currency")
        if currency is not None and head and currency != head["currency"]:
            raise CurrencyMismatchError(
                f"expected the loan's currency {head['currency']}, found {currency}"
                f" on a {event.type}; convert the amount before sending the event",
                event_id=event.event_id,
                field="currency",
            )
        self.events.append(event)
        kind = fields["type"]
        handler = _HANDLERS.get(kind)
        if handler is not None:
            handler(self, event)
        else:
            self.flags.update(_FLAG_EVENTS[kind](event))

    def _check_owner(self, event: Event) -> None:
        if isinstance(event, _BorrowerEvent):
            if event.borrower_id != self.head["borrower_id"]:
                raise ForeignEventError(
                    f"belongs to borrower {event.borrower_id!r}, expected"
                    f" {self.head['borrower_id']!r} (the borrower of loan"
                    f" {self.head['loan_id']!r})",
                    event_id=event.event_id,
                    field="borrower_id",
                )
        elif event.loan_id != self.head["loan_id"]:
            raise ForeignEventError(
                f"belongs to loan {event.loan_id!r:.80}, expected {self.head['loan_id']!r};"
                " fold each loan's events into its own AccountState",
                event_id=event.event_id,
                field="loan_id",
            )
        else:
            borrower = event.__dict__.get("borrower_id")
            if borrower is not None and borrower != self.head["borrower_id"]:
                raise ForeignEventError(
                    f"names borrower {borrower!r:.80}, but loan {self.head['loan_id']!r} belongs"
                    f" to borrower {self.head['borrower_id']!r}; expected the loan's borrower"
                    " (or no borrower_id) on a loan-level event",
                    event_id=event.event_id,
                    field="borrower_id",
                )

    def freeze(self) -> dict[str, Any]:
        payments = self.lists["payments"]
        ledger = allocate(self.items, [p.amount for p in payments if not p.reversed])
        lists = {name: tuple(values) for name, values in self.lists.items()}
        return {
            **self.head,
            "opened_at": self.opened_at,
            "last_event_at": self.events[-1].at,
            "events": tuple(self.events),
            "ledger": ledger,
            **lists,
            **self.flags,
            "ceased_channels": tuple(sorted(self.ceased)),
            "consent_withdrawn": tuple(sorted(self.withdrawn)),
        }

    # --- handlers (one per event type that is not a plain flag) -----------------------------

    def opened(self, e: LoanOpened) -> None:
        if self.opened_at is not None:
            raise SequenceError(
                f"loan {e.loan_id!r} was already opened at {self.opened_at.isoformat()};"
                " expected one loan_opened per loan",
                event_id=e.event_id,
                field="type",
            )
        self.opened_at = e.at
        self.head = {name: getattr(e, name) for name in _HEAD}

    def installment(self, e: InstallmentDue) -> None:
        item_id = e.installment_id or e.event_id
        self._item(e, item_id, "installment", e.due_date, e.principal, e.interest, e.fees)

    def fee(self, e: FeeCharged) -> None:
        due = e.due_date or local_date(e.at, self.head["timezone"])
        self._item(e, e.event_id, "fee", due, ZERO, ZERO, e.amount)

    def interest(self, e: InterestCharged) -> None:
        due = e.due_date or local_date(e.at, self.head["timezone"])
        self._item(e, e.event_id, "interest", due, ZERO, e.amount, ZERO)

    def _item(self, e: Event, item_id: str, kind: ItemKind, due: date, *amounts: Decimal) -> None:
        if item_id in self.item_ids:
            raise ConflictingEventError(
                f"installment id {item_id!r} was already charged; expected each installment"
                " once (a correction needs a new id)",
                event_id=e.event_id,
                field="installment_id",
            )
        principal, interest, fees = amounts
        self.item_ids.add(item_id)
        self.items.append(
            _DUE_ITEM(
                item_id=item_id,
                event_id=e.event_id,
                at=e.at,
                kind=kind,
                due_date=due,
                principal=principal,
                interest=interest,
                fees=fees,
            )
        )

    def payment(self, e: PaymentReceived) -> None:
        self.lists["payments"].append(_PAYMENT(event_id=e.event_id, at=e.at, amount=e.amount))

    def reversal(self, e: PaymentReversed) -> None:
        payments: list[Payment] = self.lists["payments"]
        for n, p in enumerate(payments):
            if p.event_id == e.payment_event_id and not p.reversed:
                payments[n] = p.model_copy(update={"reversed": True, "reversed_by": e.event_id})
                return
        already = any(p.event_id == e.payment_event_id for p in payments)
        raise SequenceError(
            f"payment {e.payment_event_id!r} "
            + ("was already reversed" if already else "is not known before this reversal")
            + "; expected the event id of an earlier payment_received of this loan",
            event_id=e.event_id,
            field="payment_event_id",
        )

    def contact(self, e: ContactAttempted) -> None:
        self.lists["contacts"].append(
            _CONTACT(
                event_id=e.event_id,
                at=e.at,
                channel=e.channel,
                direction=e.direction,
                outcome=e.outcome,
                consented=e.consented,
                loan_id=e.loan_id,
                contact_point=e.contact_point,
            )
        )

    def promise(self, e: PromiseToPay) -> None:
        self.lists["promises"].append(
            Promise(event_id=e.event_id, at=e.at, amount=e.amount, promised_date=e.promised_date)
        )

    def plan(self, e: RepaymentPlanAgreed) -> None:
        self.lists["plans"].append(
            Plan(event_id=e.event_id, agreed_at=e.at, kind=e.kind, installments=e.installments)
        )

    def plan_cancelled(self, e: RepaymentPlanCancelled) -> None:
        plans: list[Plan] = self.lists["plans"]
        if not plans or plans[-1].cancelled_at is not None:
            raise SequenceError(
                "no repayment plan is in force to cancel; expected a repayment_plan_agreed earlier",
                event_id=e.event_id,
                field="type",
            )
        plans[-1] = plans[-1].model_copy(update={"cancelled_at": e.at})

    def step(self, e: StepTaken) -> None:
        self.lists["steps_taken"].append(
            StepRecord(event_id=e.event_id, at=e.at, step=e.step, channel=e.channel)
        )

    def acknowledged(self, e: DebtAcknowledged) -> None:
        self.lists["acknowledgements"].append(e.at)

    def paused(self, e: CollectionsPaused) -> None:
        pause = pause_of(e, self.head["loan_id"])
        if pause is not None:
            self.lists["pauses"].append(pause)

    def resumed(self, e: CollectionsResumed) -> None:
        end_pauses(self.lists["pauses"], e, self.head["loan_id"])

    def cease(self, e: CeaseContactRequested) -> None:
        self.ceased |= _ALL_CHANNELS | {"any"} if "any" in e.channels else set(e.channels)
        if self.ceased >= _ALL_CHANNELS:
            self.ceased.add("any")

    def consent(self, e: ConsentChanged) -> None:
        if e.granted:
            self.withdrawn = set() if e.channel == "any" else self.withdrawn - {e.channel, "any"}
            return
        self.withdrawn |= _ALL_CHANNELS | {"any"} if e.channel == "any" else {e.channel}
        if self.withdrawn >= _ALL_CHANNELS:
            self.withdrawn.add("any")


_HANDLERS: dict[str, Callable[[_Fold, Any], None]] = {
    "loan_opened": _Fold.opened,
    "installment_due": _Fold.installment,
    "fee_charged": _Fold.fee,
    "interest_charged": _Fold.interest,
    "payment_received": _Fold.payment,
    "payment_reversed": _Fold.reversal,
    "contact_attempted": _Fold.contact,
    "promise_to_pay": _Fold.promise,
    "repayment_plan_agreed": _Fold.plan,
    "repayment_plan_cancelled": _Fold.plan_cancelled,
    "step_taken": _Fold.step,
    "debt_acknowledged": _Fold.acknowledged,
    "repayment_plan_refused": lambda fold, event: None,  # kept in `events`; read by the facts
    "cease_contact_requested": _Fold.cease,
    "consent_changed": _Fold.consent,
    "collections_paused": _Fold.paused,
    "collections_resumed": _Fold.resumed,
}


_LEVEL: dict[type, bool] = {}


def _borrower_level(cls: type) -> bool:
    """Whether events of class `cls` are borrower-level (`_BorrowerEvent`), remembered."""
    hit = _LEVEL.get(cls)
    if hit is None:
        hit = _LEVEL[cls] = issubclass(cls, _BorrowerEvent)
    return hit


def fold(events: Iterable[Event], base: AccountState | None) -> dict[str, Any]:
    """Fold sorted `events` onto `base` (None: from nothing); the fields of the new state."""
    work = _Fold(base)
    for event in events:
        work.add(event)
    return work.freeze()
