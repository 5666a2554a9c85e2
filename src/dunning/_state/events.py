"""Events: the facts of a loan's life, as frozen pydantic models in one union on ``type``.

Everything the library knows about an account comes from these events. They are validated
strictly (times only as aware ISO-8601 text, dates as ISO dates, both between 1900 and
2200; amounts only as plain decimal text or integers, positive, at most `MAX_AMOUNT` and exact
to the currency's minor unit; ids bounded in length and charset) and may be given as models
or as plain JSON-shaped dicts anywhere the API takes an event. Unknown fields are ignored
(and counted) unless ``strict=True``; a near-miss of a known field is an error
(`_state.field_policy`).

Borrower-level events (contacts, cease requests, consent, bankruptcy, death, vulnerability)
may omit ``loan_id``: they are accepted by every loan of the same borrower.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal, TypeAlias

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    model_validator,
)

from .._base.money import fits
from .._base.time import is_zone
from .event_base import CHANNELS as CHANNELS
from .event_base import CONTACT_CHANNELS as CONTACT_CHANNELS
from .event_base import OUTCOMES as OUTCOMES
from .event_base import Amount as Amount
from .event_base import Channel as Channel
from .event_base import ChannelOrAny as ChannelOrAny
from .event_base import Currency as Currency
from .event_base import Day as Day
from .event_base import Id as Id
from .event_base import NonEmpty as NonEmpty
from .event_base import NonNegAmount as NonNegAmount
from .event_base import Outcome as Outcome
from .event_base import _BorrowerEvent as _BorrowerEvent
from .event_base import _Event as _Event
from .event_base import _LoanEvent as _LoanEvent
from .event_base import _MoneyCheck as _MoneyCheck
from .pauses import CollectionsPaused as CollectionsPaused
from .pauses import CollectionsResumed as CollectionsResumed

__all__ = [
    "CHANNELS",
    "CONTACT_CHANNELS",
    "EVENT_CLASSES",
    "EVENT_TYPES",
    "OUTCOMES",
    "Event",
]


class LoanOpened(_MoneyCheck, _LoanEvent):
    type: Literal["loan_opened"] = "loan_opened"
    borrower_id: Id
    principal: Amount
    currency: Currency
    timezone: NonEmpty
    product: NonEmpty = "personal_loan"
    jurisdiction: NonEmpty | None = None

    @model_validator(mode="after")
    def _zone(self) -> LoanOpened:

        if not is_zone(self.timezone):
            raise ValueError(
                f"timezone {self.timezone!r} is not an IANA zone such as 'Asia/Shanghai'"
            )
        return self


class InstallmentDue(_MoneyCheck, _LoanEvent):
    type: Literal["installment_due"] = "installment_due"
    borrower_id: Id | None = None  # shared vocabulary: checked, see _LoanEvent
    due_date: Day
    principal: NonNegAmount = Decimal(0)
    interest: NonNegAmount = Decimal(0)
    fees: NonNegAmount = Decimal(0)
    currency: Currency
    installment_id: Id | None = None  # defaults to the event_id

    @model_validator(mode="after")
    def _not_empty(self) -> InstallmentDue:
        if self.principal + self.interest + self.fees <= 0:
            raise ValueError("an installment must charge a positive principal, interest or fees")
        return self


class FeeCharged(_MoneyCheck, _LoanEvent):
    """A fee (late fee, collection cost) due on `due_date` (default: the event's local date)."""

    type: Literal["fee_charged"] = "fee_charged"
    borrower_id: Id | None = None  # shared vocabulary: checked, see _LoanEvent
    amount: Amount
    currency: Currency
    kind: NonEmpty = "late_fee"
    due_date: Day | None = None


class InterestCharged(_MoneyCheck, _LoanEvent):
    """Interest (e.g. penalty interest) due on `due_date` (default: the event's local date)."""

    type: Literal["interest_charged"] = "interest_charged"
    borrower_id: Id | None = None  # shared vocabulary: checked, see _LoanEvent
    amount: Amount
    currency: Currency
    due_date: Day | None = None


class PaymentReceived(_MoneyCheck, _LoanEvent):
    type: Literal["payment_received"] = "payment_received"
    borrower_id: Id | None = None  # shared vocabulary: checked, see _LoanEvent
    amount: Amount
    currency: Currency
    method: NonEmpty | None = None


class PaymentReversed(_LoanEvent):
    """A payment bounced or was charged back: its effect is undone exactly."""

    type: Literal["payment_reversed"] = "payment_reversed"
    borrower_id: Id | None = None  # shared vocabulary: checked, see _LoanEvent
    payment_event_id: Id
    reason: NonEmpty | None = None


class ContactAttempted(_BorrowerEvent):
    type: Literal["contact_attempted"] = "contact_attempted"
    channel: Channel
    direction: Literal["outbound", "inbound"] = "outbound"
    outcome: Outcome
    consented: bool = False  # made with the borrower's direct prior consent (excluded from caps)
    contact_point: NonEmpty | None = None  # phone number / address id, for per-contact-point caps
    agency: NonEmpty | None = None  # set when an outside agency made the contact


class PromiseToPay(_MoneyCheck, _LoanEvent):
    type: Literal["promise_to_pay"] = "promise_to_pay"
    borrower_id: Id | None = None  # shared vocabulary: checked, see _LoanEvent
    amount: Amount
    currency: Currency
    promised_date: Day


class DisputeRaised(_LoanEvent):
    type: Literal["dispute_raised"] = "dispute_raised"
    borrower_id: Id | None = None  # shared vocabulary: checked, see _LoanEvent
    written: bool = True
    reason: NonEmpty | None = None


class DisputeResolved(_LoanEvent):
    type: Literal["dispute_resolved"] = "dispute_resolved"
    borrower_id: Id | None = None  # shared vocabulary: checked, see _LoanEvent
    outcome: Literal["verified", "upheld", "withdrawn"] = "verified"


class HardshipDeclared(_LoanEvent):
    type: Literal["hardship_declared"] = "hardship_declared"
    borrower_id: Id | None = None  # shared vocabulary: checked, see _LoanEvent
    reason: NonEmpty | None = None


class HardshipEnded(_LoanEvent):
    type: Literal["hardship_ended"] = "hardship_ended"
    borrower_id: Id | None = None  # shared vocabulary: checked, see _LoanEvent


class PlanInstallment(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    due_date: Day
    amount: Amount


class RepaymentPlanAgreed(_MoneyCheck, _LoanEvent):
    """A repayment plan (installments, extension, interest relief) replacing the arrears."""

    type: Literal["repayment_plan_agreed"] = "repayment_plan_agreed"
    borrower_id: Id | None = None  # shared vocabulary: checked, see _LoanEvent
    kind: Literal["installments", "extension", "interest_relief", "settlement"] = "installments"
    currency: Currency
    installments: tuple[PlanInstallment, ...] = Field(min_length=1, max_length=600)

    @model_validator(mode="after")
    def _plan_amounts(self) -> RepaymentPlanAgreed:
        for p in self.installments:
            if not fits(p.amount, self.currency):
                raise ValueError(f"plan installment amount {p.amount} does not fit {self.currency}")
        dates = [p.due_date for p in self.installments]
        if dates != sorted(dates):
            raise ValueError("plan installments must be in due-date order")
        return self


class RepaymentPlanRefused(_LoanEvent):
    """The borrower turned down the repayment plan offered (negotiation failed)."""

    type: Literal["repayment_plan_refused"] = "repayment_plan_refused"
    borrower_id: Id | None = None  # shared vocabulary: checked, see _LoanEvent
    reason: NonEmpty | None = None


class RepaymentPlanCancelled(_LoanEvent):
    type: Literal["repayment_plan_cancelled"] = "repayment_plan_cancelled"
    borrower_id: Id | None = None  # shared vocabulary: checked, see _LoanEvent
    reason: NonEmpty | None = None


class CeaseContactRequested(_BorrowerEvent):
    type: Literal["cease_contact_requested"] = "cease_contact_requested"
    channels: tuple[ChannelOrAny, ...] = ("any",)
    written: bool = True


class ConsentChanged(_BorrowerEvent):
    """Consent to be contacted on a channel given (granted) or withdrawn (e.g. e-mail opt-out)."""

    type: Literal["consent_changed"] = "consent_changed"
    channel: ChannelOrAny
    granted: bool


class BankruptcyFiled(_BorrowerEvent):
    type: Literal["bankruptcy_filed"] = "bankruptcy_filed"
    case_number: NonEmpty | None = None


class BankruptcyClosed(_BorrowerEvent):
    """The stay ends: case dismissed (collection may resume) or discharged (debt extinguished)."""

    type: Literal["bankruptcy_closed"] = "bankruptcy_closed"
    outcome: Literal["dismissed", "discharged"]


class BorrowerDeceased(_BorrowerEvent):
    type: Literal["borrower_deceased"] = "borrower_deceased"


class VulnerabilityFlagged(_BorrowerEvent):
    type: Literal["vulnerability_flagged"] = "vulnerability_flagged"
    active: bool = True
    reason: NonEmpty | None = None


class AttorneyRetained(_BorrowerEvent):
    type: Literal["attorney_retained"] = "attorney_retained"
    active: bool = True  # False: the attorney withdrew


class ComplaintOpened(_LoanEvent):
    type: Literal["complaint_opened"] = "complaint_opened"
    borrower_id: Id | None = None  # shared vocabulary: checked, see _LoanEvent
    ombudsman: bool = False


class ComplaintResolved(_LoanEvent):
    type: Literal["complaint_resolved"] = "complaint_resolved"
    borrower_id: Id | None = None  # shared vocabulary: checked, see _LoanEvent


class BreathingSpaceStarted(_BorrowerEvent):
    """A statutory moratorium (UK Debt Respite Scheme). Standard: `ends_on` is its last day;
    without it, it lasts the rule set's `breathing_space.standard` (60 days). Mental-health
    crisis: `ends_on` (or a later `breathing_space_ended`) is the day the crisis TREATMENT
    ends; the moratorium goes on `breathing_space.after_crisis_treatment` (30 days) more."""

    type: Literal["breathing_space_started"] = "breathing_space_started"
    kind: Literal["standard", "mental_health_crisis"] = "standard"
    ends_on: Day | None = None


class BreathingSpaceEnded(_BorrowerEvent):
    """A standard moratorium cancelled early, or (mental-health crisis) the crisis treatment
    ended: that moratorium then goes on for the rule set's after-treatment period."""

    type: Literal["breathing_space_ended"] = "breathing_space_ended"


class DebtAcknowledged(_LoanEvent):
    """The borrower acknowledged the debt (restarts the limitation period where the law says).

    `written`: signed by the borrower. Only a written acknowledgement counts where the law
    asks for writing (Limitation Act 1980 s.30) or the rule set names
    ``written_acknowledgement`` (e.g. 民法典 §192: the obligor's agreement to perform after
    expiry, which the bank must be able to prove)."""

    type: Literal["debt_acknowledged"] = "debt_acknowledged"
    borrower_id: Id | None = None  # shared vocabulary: checked, see _LoanEvent
    written: bool = True


class StepTaken(_LoanEvent):
    """The bank carried out a collection step (a letter sent, a lawsuit filed, ...)."""

    type: Literal["step_taken"] = "step_taken"
    borrower_id: Id | None = None  # shared vocabulary: checked, see _LoanEvent
    step: NonEmpty
    channel: ChannelOrAny | None = None
    decision_id: Id | None = None
    installments: int | None = Field(default=None, ge=1, le=600)  # a plan offer's term


class LoanWrittenOff(_LoanEvent):
    type: Literal["loan_written_off"] = "loan_written_off"
    borrower_id: Id | None = None  # shared vocabulary: checked, see _LoanEvent


class LoanClosed(_LoanEvent):
    type: Literal["loan_closed"] = "loan_closed"
    borrower_id: Id | None = None  # shared vocabulary: checked, see _LoanEvent
    reason: Literal["repaid", "settled", "sold", "discharged", "other"] = "repaid"


Event: TypeAlias = Annotated[
    LoanOpened
    | InstallmentDue
    | FeeCharged
    | InterestCharged
    | PaymentReceived
    | PaymentReversed
    | ContactAttempted
    | PromiseToPay
    | DisputeRaised
    | DisputeResolved
    | HardshipDeclared
    | HardshipEnded
    | RepaymentPlanAgreed
    | RepaymentPlanRefused
    | RepaymentPlanCancelled
    | CeaseContactRequested
    | ConsentChanged
    | BankruptcyFiled
    | BankruptcyClosed
    | BorrowerDeceased
    | VulnerabilityFlagged
    | AttorneyRetained
    | ComplaintOpened
    | ComplaintResolved
    | BreathingSpaceStarted
    | BreathingSpaceEnded
    | DebtAcknowledged
    | StepTaken
    | CollectionsPaused
    | CollectionsResumed
    | LoanWrittenOff
    | LoanClosed,
    Field(discriminator="type"),
]

_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)


def _all_event_classes() -> list[type[_Event]]:
    out: list[type[_Event]] = []
    stack: list[type[_Event]] = [_Event]
    while stack:
        cls = stack.pop()
        for sub in cls.__subclasses__():
            stack.append(sub)
            if "type" in sub.model_fields:
                out.append(sub)
    return out


EVENT_CLASSES: dict[str, type[_Event]] = {
    c.model_fields["type"].default: c for c in _all_event_classes()
}
EVENT_TYPES: tuple[str, ...] = tuple(sorted(EVENT_CLASSES))
