"""Events: the facts of a loan's life, as frozen pydantic models in one union on ``type``.

Everything the library knows about an account comes from these events. They are validated
strictly (unknown fields and types are errors; times must be aware; amounts positive and
exact to the currency's minor unit; floats are refused for money) and may be given as models
or as plain JSON-shaped dicts anywhere the API takes an event.

Borrower-level events (contacts, cease requests, consent, bankruptcy, death, vulnerability)
may omit ``loan_id``: they are accepted by every loan of the same borrower.

Public face: the models live in the state stage (`dunning._state.events`); this module
re-exports them, so `dunning.events.LoanOpened` and friends are the names to use.
"""

from ._state.events import (
    CHANNELS,
    CONTACT_CHANNELS,
    EVENT_CLASSES,
    EVENT_TYPES,
    OUTCOMES,
    AttorneyRetained,
    BankruptcyClosed,
    BankruptcyFiled,
    BorrowerDeceased,
    BreathingSpaceEnded,
    BreathingSpaceStarted,
    CeaseContactRequested,
    CollectionsPaused,
    CollectionsResumed,
    ComplaintOpened,
    ComplaintResolved,
    ConsentChanged,
    ContactAttempted,
    DebtAcknowledged,
    DisputeRaised,
    DisputeResolved,
    Event,
    FeeCharged,
    HardshipDeclared,
    HardshipEnded,
    InstallmentDue,
    InterestCharged,
    LoanClosed,
    LoanOpened,
    LoanWrittenOff,
    PaymentReceived,
    PaymentReversed,
    PlanInstallment,
    PromiseToPay,
    RepaymentPlanAgreed,
    RepaymentPlanCancelled,
    StepTaken,
    VulnerabilityFlagged,
)
from ._state.parse import event_json_schema, event_to_dict, parse_event, parse_events

__all__ = [
    "CHANNELS",
    "CONTACT_CHANNELS",
    "EVENT_CLASSES",
    "EVENT_TYPES",
    "OUTCOMES",
    "AttorneyRetained",
    "BankruptcyClosed",
    "BankruptcyFiled",
    "BorrowerDeceased",
    "BreathingSpaceEnded",
    "BreathingSpaceStarted",
    "CeaseContactRequested",
    "CollectionsPaused",
    "CollectionsResumed",
    "ComplaintOpened",
    "ComplaintResolved",
    "ConsentChanged",
    "ContactAttempted",
    "DebtAcknowledged",
    "DisputeRaised",
    "DisputeResolved",
    "Event",
    "FeeCharged",
    "HardshipDeclared",
    "HardshipEnded",
    "InstallmentDue",
    "InterestCharged",
    "LoanClosed",
    "LoanOpened",
    "LoanWrittenOff",
    "PaymentReceived",
    "PaymentReversed",
    "PlanInstallment",
    "PromiseToPay",
    "RepaymentPlanAgreed",
    "RepaymentPlanCancelled",
    "StepTaken",
    "VulnerabilityFlagged",
    "event_json_schema",
    "event_to_dict",
    "parse_event",
    "parse_events",
]
