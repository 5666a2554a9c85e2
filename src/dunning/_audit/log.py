"""The audit log, whatever database holds it: records, the Merkle tree over them, proofs.

Theory of operation. Records are numbered 1, 2, 3, ... (`seq`) in the order they were
appended. Record `seq` is leaf `seq - 1` of an RFC 9162 Merkle tree whose leaf data is the
decision's canonical JSON (RFC 8785), exactly the bytes `decision.to_json()` writes::

    leaf(n)  = sha256(0x00 || decision_json(n))          leaf and node hashes are
    node     = sha256(0x01 || left || right)              domain-separated as in the RFC

Every other column of a record (`decision_id`, `loan_id`, `as_of`, `rule_set_sha256`) is read
off the decision, and `seq` is the leaf's position, so the leaf covers the whole record; a
decision names its inputs by `input_digest`, so inputs kept with `keep_inputs=True` are under
the same proof. A signed checkpoint (`checkpoint.Checkpoint`) commits to the size and root of
the tree and to the digest of the rule sets the records use (`registry_digest`): records
changed, removed, reordered or forged under it no longer give its root, records cut off the
end make the store smaller than it, and an inclusion or consistency proof can be checked
with the checkpoint and the bank's public key alone.

Why no hash chain any more: a chain without a key proves nothing to someone who can rewrite
the file (re-chain, then fix the head), and once a signed root exists the chain only repeats
what the tree says, while costing an O(n) walk for every question the tree answers in
O(log n) (is this record in? is this store an extension of last month's?).

`MerkleLog` is the part a store needs to build the tree as it appends, and to answer proofs
from the nodes it keeps (any `node_at(level, index)` lookup: a SQL table, a dict). SQLite is
one store (`AuditStore`); a PostgreSQL store keeps the same nodes and gives the same roots.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .._base.canonical import canonical_bytes
from .._base.errors import InputError
from .._base.time import aware, iso_utc
from .._decide.borrower_decision import BorrowerDecision
from .._decide.decision import Decision
from . import merkle
from .borrower import read_decision
from .checkpoint import (
    Checkpoint,
    ConsistencyProof,
    InclusionProof,
    sign_checkpoint,
)

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

__all__ = [
    "MerkleLog",
    "NodeGetter",
    "Receipt",
    "StoredRecord",
    "VerifyReport",
    "as_of_key",
    "leaf_hash_of",
    "registry_digest",
]

NodeGetter = Callable[[int, int], bytes]


def as_of_key(at: datetime) -> str:
    """Fixed-width UTC text of an instant, so text order is time order (range queries)."""
    u = at.astimezone(UTC)
    return f"{u.year:04d}-{u:%m-%dT%H:%M:%S}.{u.microsecond:06d}Z"


def leaf_hash_of(decision_json: str | bytes) -> bytes:
    """The Merkle leaf hash of a record: sha256(0x00 || the decision's canonical JSON)."""
    data = decision_json.encode("utf-8") if isinstance(decision_json, str) else decision_json
    return merkle.leaf_hash(data)


def registry_digest(rule_set_sha256s: Iterable[str]) -> str:
    """The digest a checkpoint signs for the rule sets: sha256 of the canonical JSON of the
    sorted list of their sha256s (each rule set's text is bound by its own sha256)."""
    return hashlib.sha256(canonical_bytes(sorted(set(rule_set_sha256s)))).hexdigest()


def timestamp_text(at: datetime | str) -> str:
    """The checkpoint's timestamp: the caller's instant in UTC ISO-8601 with a 'Z'."""
    if isinstance(at, str):
        return iso_utc(aware(datetime.fromisoformat(at), what="timestamp"))
    return iso_utc(aware(at, what="timestamp"))


class MerkleLog:
    """The tree of a log as it grows: append leaf hashes, read the root, sign, prove.

    `node_at(level, index)` returns a node the store kept (every node `append` returned);
    `size` is how many leaves the store holds. Not thread-safe: appends are serialised by
    the store, as a log's appends must be.
    """

    def __init__(self, node_at: NodeGetter, size: int = 0) -> None:
        self.node_at = node_at
        self.frontier = merkle.Frontier.from_nodes(size, node_at)

    @property
    def size(self) -> int:
        return self.frontier.size

    def append(self, decision_json: str | bytes) -> list[tuple[int, int, bytes]]:
        """Add one record's leaf; the nodes `(level, index, hash)` to keep, leaf first."""
        return self.frontier.append(leaf_hash_of(decision_json))

    def root(self, size: int | None = None) -> bytes:
        """The root of the whole tree, or of its first `size` leaves (a past tree)."""
        if size is None or size == self.size:
            return self.frontier.root()
        self._check_size(size, "size")
        return merkle.subtree_hash(0, size, self.node_at)

    def checkpoint(
        self, signer: Ed25519PrivateKey, timestamp: datetime | str, rule_sets: Iterable[str]
    ) -> Checkpoint:
        """A signed tree head for the current size; `rule_sets` are the sha256s of the rule
        sets the records use (the checkpoint signs their `registry_digest`)."""
        digest = registry_digest(rule_sets)
        return sign_checkpoint(
            self.size, self.frontier.root(), timestamp_text(timestamp), digest, signer
        )

    def prove(self, index: int, size: int | None = None) -> InclusionProof:
        """The inclusion proof of leaf `index` (seq - 1) in the tree of `size` leaves."""
        size = self.size if size is None else self._check_size(size, "size")
        path = merkle.inclusion_path_from_nodes(index, size, self.node_at)
        return InclusionProof.from_hashes(index, size, path)

    def consistency(self, old_size: int, new_size: int | None = None) -> ConsistencyProof:
        """The proof that the tree of `new_size` leaves extends the tree of `old_size`."""
        new = self.size if new_size is None else self._check_size(new_size, "new_size")
        self._check_size(old_size, "old_size", upto=new)
        path = merkle.consistency_path_from_nodes(old_size, new, self.node_at)
        return ConsistencyProof.from_hashes(old_size, new, path)

    def _check_size(self, size: int, what: str, upto: int | None = None) -> int:
        top = self.size if upto is None else upto
        if not isinstance(size, int) or isinstance(size, bool) or not 0 <= size <= top:
            raise InputError(f"{what}: expected a tree size from 0 to {top}, found {size!r}")
        return size


@dataclass(frozen=True)
class Receipt:
    """What `append` returns: where the record went, its leaf hash, and the new root."""

    seq: int
    hash: str
    decision_id: str
    root_hash: str = ""


@dataclass(frozen=True)
class StoredRecord:
    """One audit record as stored (`decision_json` is the decision's canonical JSON); every
    record a store returns was re-checked against its leaf hash on the way out."""

    seq: int
    decision_id: str
    loan_id: str
    as_of: str
    rule_set_sha256: str
    decision_json: str

    @property
    def decision(self) -> Decision | BorrowerDecision:
        """The recorded Decision (or BorrowerDecision: `loan_id` is then ``borrower:<id>``)."""
        return read_decision(self.decision_json)

    @property
    def leaf_hash(self) -> str:
        return leaf_hash_of(self.decision_json).hex()

    def to_export(self) -> dict[str, Any]:
        """The JSON Lines form: seq and the decision as a JSON object (the leaf's content)."""
        return {"kind": "record", "seq": self.seq, "decision": json.loads(self.decision_json)}


@dataclass(frozen=True)
class VerifyReport:
    """The result of checking a store: ok, how many records, and every problem found.

    `first_bad_seq` is the earliest record named in a problem (None when the problem is not
    about one record: the schema, the meta row, a checkpoint's root); `problem` is the first
    problem, `problems` all of them (at most `VerifyReport.LIMIT`).
    """

    ok: bool
    records: int
    first_bad_seq: int | None = None
    problem: str | None = None
    problems: tuple[str, ...] = field(default=(), repr=False)
    LIMIT = 100

    def __str__(self) -> str:
        if self.ok:
            return f"ok: {self.records} records verified"
        lines = [f"FAILED: {len(self.problems)} problem(s) in {self.records} records"]
        lines += [f"  - {p}" for p in self.problems]
        return "\n".join(lines)
