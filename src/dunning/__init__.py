"""dunning: debt collection by declarative rules.

Rules propose the next collection step, compliance limits dispose, and every decision is
auditable. The public surface is this module (plus `dunning.events` for the event models
and `dunning.testing` for hypothesis strategies and invariants); everything in a module
whose name starts with an underscore is private.
"""

from . import events
from ._audit.checkpoint import (
    Checkpoint,
    ConsistencyProof,
    InclusionProof,
    verify_consistency,
    verify_inclusion,
)
from ._audit.interface import DecisionStore
from ._audit.log import MerkleLog, Receipt, StoredRecord, VerifyReport
from ._audit.replay import replay
from ._audit.store import AuditStore
from ._base.errors import (
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
    RuleSetNotInForce,
    SequenceError,
    StoreError,
)
from ._base.version import __version__
from ._decide.borrower_decision import BorrowerDecision
from ._decide.decision import Block, Decision, Match
from ._decide.engine import Engine
from ._decide.feed import FeedDecisions
from ._decide.split import Split
from ._decide.transitions import transitions
from ._rules.lint import Finding, lint
from ._rules.loader import load_rules, loads_rules
from ._rules.ruleset import RuleSet
from ._state.account import AccountState
from ._state.intake import Reject, SetAside, group_by_loan

__all__ = [
    "AccountState",
    "AuditError",
    "AuditStore",
    "Block",
    "BorrowerDecision",
    "Checkpoint",
    "ConditionError",
    "ConflictingEventError",
    "ConsistencyProof",
    "CurrencyMismatchError",
    "Decision",
    "DecisionStore",
    "DunningError",
    "Engine",
    "EngineError",
    "EventError",
    "FeedDecisions",
    "Finding",
    "ForeignEventError",
    "InclusionProof",
    "InputError",
    "InvalidEventError",
    "Match",
    "MerkleLog",
    "Receipt",
    "Reject",
    "ReplayMismatch",
    "RuleFileError",
    "RuleSet",
    "RuleSetNotInForce",
    "SequenceError",
    "SetAside",
    "Split",
    "StoreError",
    "StoredRecord",
    "VerifyReport",
    "__version__",
    "events",
    "group_by_loan",
    "lint",
    "load_rules",
    "loads_rules",
    "replay",
    "transitions",
    "verify_consistency",
    "verify_inclusion",
]

# Public objects say they live in `dunning` (as httpx does), so reprs, docs and tracebacks
# point users at the import they should write, not at a private module.
for _name in __all__:
    if _name not in {"__version__", "events"}:
        globals()[_name].__module__ = "dunning"
del _name
