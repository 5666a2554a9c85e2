"""The interface every audit store offers (`dunning.DecisionStore`), whatever holds it.

`AuditStore` (SQLite) is the one dunning ships; a store on another database implements the
same methods and builds the same tree with `MerkleLog` (see docs/audit.md, "Your own
database").
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from .._decide.decision import Decision
from .checkpoint import Checkpoint, ConsistencyProof, InclusionProof
from .log import Receipt, StoredRecord, VerifyReport
from .registry import RuleSetLike
from .replay import ReplayReport

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

__all__ = ["DecisionStore"]


class DecisionStore(Protocol):
    """What an audit store offers; `AuditStore` (SQLite) is the one dunning ships.

    A store backed by another database keeps the same records and the nodes `MerkleLog`
    returns, serialises appends, and commits a record, its nodes and its rule set in one
    transaction; its checkpoints and proofs then verify with `verify_inclusion` and
    `verify_consistency` exactly as the SQLite store's do.
    """

    def append(self, decision: Decision, rules: RuleSetLike, inputs: Any = None) -> Receipt: ...

    def records(
        self,
        *,
        loan_id: str | None = None,
        start: datetime | str | None = None,
        end: datetime | str | None = None,
    ) -> Iterator[StoredRecord]: ...

    def verify(
        self, *, against: Checkpoint | None = None, public_key: Any = None
    ) -> VerifyReport: ...

    def get_rule_set(self, sha256: str) -> str: ...

    def checkpoint(self, signer: Ed25519PrivateKey, timestamp: datetime | str) -> Checkpoint: ...

    def prove(self, decision_id: str, *, size: int | None = None) -> InclusionProof: ...

    def consistency(self, old_size: int, new_size: int | None = None) -> ConsistencyProof: ...

    def replay_all(
        self,
        events_for: Callable[[str], Any] | None = None,
        start: datetime | str | None = None,
        end: datetime | str | None = None,
        *,
        loan_id: str | None = None,
    ) -> ReplayReport: ...
