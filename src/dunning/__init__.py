"""dunning: debt collection by declarative rules.

Rules propose the next collection step, compliance limits dispose, and every decision is
auditable. See README.md and docs/ for the tour.
"""

from ._errors import (
    AuditError,
    ConditionError,
    ConflictingEventError,
    CurrencyMismatchError,
    DunningError,
    EngineError,
    EventError,
    ForeignEventError,
    InputError,
    InvalidEventError,
    ReplayMismatch,
    RuleFileError,
    SequenceError,
    StoreError,
)

__version__ = "0.1.0"

__all__ = [
    "AuditError",
    "ConditionError",
    "ConflictingEventError",
    "CurrencyMismatchError",
    "DunningError",
    "EngineError",
    "EventError",
    "ForeignEventError",
    "InputError",
    "InvalidEventError",
    "ReplayMismatch",
    "RuleFileError",
    "SequenceError",
    "StoreError",
    "__version__",
]
