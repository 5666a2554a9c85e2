"""dunning: debt collection by declarative rules.

Rules propose the next collection step, compliance limits dispose, and every decision is
auditable. The public surface is this module (plus `dunning.events` for the event models
and `dunning.testing` for hypothesis strategies and invariants); everything in a module
whose name starts with an underscore is private.
"""

from . import events
from ._audit import AuditStore
from ._chain import DecisionStore, VerifyReport
from ._decision import Block, Decision, Match
from ._engine import Engine
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
from ._lint import Finding, lint
from ._loader import load_rules, loads_rules
from ._replay import replay
from ._ruleset import RuleSet
from ._state import AccountState

__version__ = "0.1.0"

__all__ = [
    "AccountState",
    "AuditError",
    "AuditStore",
    "Block",
    "ConditionError",
    "ConflictingEventError",
    "CurrencyMismatchError",
    "Decision",
    "DecisionStore",
    "DunningError",
    "Engine",
    "EngineError",
    "EventError",
    "Finding",
    "ForeignEventError",
    "InputError",
    "InvalidEventError",
    "Match",
    "ReplayMismatch",
    "RuleFileError",
    "RuleSet",
    "SequenceError",
    "StoreError",
    "VerifyReport",
    "__version__",
    "events",
    "lint",
    "load_rules",
    "loads_rules",
    "replay",
]

# Public objects say they live in `dunning` (as httpx does), so reprs, docs and tracebacks
# point users at the import they should write, not at a private module.
for _name in __all__:
    if _name not in {"__version__", "events"}:
        globals()[_name].__module__ = "dunning"
del _name
