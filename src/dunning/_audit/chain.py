"""The hash chain of audit records: what a record is, how it is hashed, how a chain is checked.

Theory of operation. Records are numbered 1, 2, 3, ... (`seq`) in the order they were
appended, and each carries the hash of the one before it::

    hash(n)  = sha256( prev_hash(n) || header(n) || "\\n" || decision_json(n) )
    prev(n)  = hash(n - 1),   prev(1) = GENESIS (64 zeros)
    header(n)= canonical JSON of {"as_of", "decision_id", "loan_id", "rule_set_sha256", "seq"}

`prev_hash` is its 64 ASCII hex digits, `decision_json` the decision's canonical JSON as UTF-8
bytes, `as_of` the fixed-width UTC key of `as_of_key`. Every stored column except the two
hashes is inside `hash`, so altering any byte of a record breaks that record's hash; removing
or reordering records breaks the `prev` link of the first record out of place; and the store
keeps the head (last seq and hash) apart, so records cut off the end are noticed too. Anyone
holding a head hash (printed in a report, sent to another system) can later prove that the
store still leads to it: the chain cannot be rewritten without changing every later hash.

A bank that keeps records in its own database implements `DecisionStore` and uses
`record_hash` to compute the same chain; `ChainCheck` then verifies it the same way.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from .._base.errors import InputError
from .._decide.borrower_decision import BorrowerDecision
from .._decide.decision import Decision, canonical_dumps
from .borrower import read_decision, record_key
from .registry import RuleSetLike

__all__ = [
    "GENESIS",
    "ChainCheck",
    "DecisionStore",
    "RawRow",
    "Receipt",
    "StoredRecord",
    "VerifyReport",
    "as_of_key",
    "record_hash",
]

GENESIS = "0" * 64


def as_of_key(at: datetime) -> str:
    """Fixed-width UTC text of an instant, so text order is time order (range queries)."""
    u = at.astimezone(UTC)
    return f"{u.year:04d}-{u:%m-%dT%H:%M:%S}.{u.microsecond:06d}Z"


def record_hash(
    prev_hash: str,
    *,
    seq: int,
    decision_id: str,
    loan_id: str,
    as_of: str,
    rule_set_sha256: str,
    decision_json: bytes,
) -> str:
    """The chain hash of one record (see the module docstring for the exact bytes)."""
    import hashlib

    header = canonical_dumps(
        {
            "as_of": as_of,
            "decision_id": decision_id,
            "loan_id": loan_id,
            "rule_set_sha256": rule_set_sha256,
            "seq": seq,
        }
    )
    h = hashlib.sha256(prev_hash.encode("ascii"))
    h.update(header.encode("utf-8") + b"\n")
    h.update(decision_json)
    return h.hexdigest()


@dataclass(frozen=True)
class Receipt:
    """What `append` returns: where the record went and the chain hash it got."""

    seq: int
    hash: str
    decision_id: str


@dataclass(frozen=True)
class StoredRecord:
    """One audit record as stored (`decision_json` is the decision's canonical JSON)."""

    seq: int
    decision_id: str
    loan_id: str
    as_of: str
    rule_set_sha256: str
    prev_hash: str
    hash: str
    decision_json: str

    @property
    def decision(self) -> Decision | BorrowerDecision:
        """The recorded Decision (or BorrowerDecision: `loan_id` is then ``borrower:<id>``)."""
        return read_decision(self.decision_json)

    def to_export(self) -> dict[str, Any]:
        """The JSON Lines form: the record's columns and the decision as a JSON object."""
        return {
            "kind": "record",
            "seq": self.seq,
            "decision_id": self.decision_id,
            "loan_id": self.loan_id,
            "as_of": self.as_of,
            "rule_set_sha256": self.rule_set_sha256,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
            "decision": json.loads(self.decision_json),
        }


@dataclass(frozen=True)
class VerifyReport:
    """The result of walking a chain: ok, how many records, and the first one that is wrong."""

    ok: bool
    records: int
    first_bad_seq: int | None = None
    problem: str | None = None


class DecisionStore(Protocol):
    """What an audit store offers; `AuditStore` (SQLite) is the one dunning ships.

    A bank backing this with its own database keeps the columns of `StoredRecord`, computes
    `hash` with `record_hash`, serialises appends (one writer at a time extends the chain) and
    commits each record in one transaction together with its rule set.
    """

    def append(self, decision: Decision | BorrowerDecision, rules: RuleSetLike) -> Receipt: ...

    def records(
        self,
        *,
        loan_id: str | None = None,
        start: datetime | str | None = None,
        end: datetime | str | None = None,
    ) -> Iterator[StoredRecord]: ...

    def verify(self) -> VerifyReport: ...

    def get_rule_set(self, sha256: str) -> str: ...


@dataclass(frozen=True)
class RawRow:
    """A record as read for verification: bytes, because a tampered column may not be text."""

    seq: int
    decision_id: bytes
    loan_id: bytes
    as_of: bytes
    rule_set_sha256: bytes
    prev_hash: bytes
    hash: bytes
    decision_json: bytes


_TEXT = ("decision_id", "loan_id", "as_of", "rule_set_sha256", "prev_hash", "hash")


class ChainCheck:
    """Walk records in seq order and keep the first problem.

    `rule_sets` maps each stored rule set's sha256 to None (intact) or the problem found
    with it; a referenced sha256 absent from the map is a missing rule set.
    """

    def __init__(self, rule_sets: Mapping[str, str | None]) -> None:
        self.rule_sets = rule_sets
        self.used: set[str] = set()
        self.expected_seq = 1
        self.prev = GENESIS
        self.first_bad: int | None = None
        self.problem: str | None = None

    def feed(self, row: RawRow) -> bool:
        """Check one record; False once a problem has been found (stop feeding)."""
        if self.problem is None:
            problem = self._check(row)
            if problem is not None:
                self.first_bad, self.problem = problem
            else:
                self.prev = row.hash.decode("ascii")
                self.expected_seq += 1
        return self.problem is None

    def _check(self, row: RawRow) -> tuple[int, str] | None:
        seq = row.seq
        if seq != self.expected_seq:
            return self.expected_seq, (
                f"record {self.expected_seq} is missing (the next record is {seq})"
            )
        try:
            cols = {name: getattr(row, name).decode("utf-8") for name in _TEXT}
        except UnicodeDecodeError as exc:
            return seq, f"record {seq} was altered: a column is not UTF-8 text ({exc.reason})"
        if cols["prev_hash"] != self.prev:
            return seq, (
                f"record {seq} does not link to record {seq - 1} (prev_hash differs):"
                " a record was removed, inserted or reordered here"
            )
        computed = record_hash(
            self.prev,
            seq=seq,
            decision_id=cols["decision_id"],
            loan_id=cols["loan_id"],
            as_of=cols["as_of"],
            rule_set_sha256=cols["rule_set_sha256"],
            decision_json=row.decision_json,
        )
        if computed != cols["hash"]:
            return seq, f"record {seq} was altered: its content no longer matches its hash"
        problem = _content_problem(cols, row.decision_json) or self._rule_set_problem(cols)
        return None if problem is None else (seq, f"record {seq}: {problem}")

    def _rule_set_problem(self, cols: Mapping[str, str]) -> str | None:
        sha = cols["rule_set_sha256"]
        self.used.add(sha)
        if sha not in self.rule_sets:
            return f"its rule set {sha} is missing from the store"
        return self.rule_sets[sha]

    def finish(self, head_seq: int, head_hash: str) -> VerifyReport:
        """The report, after checking the last record is the head the store remembers."""
        count = self.expected_seq - 1
        if self.problem is not None:
            return VerifyReport(False, count, self.first_bad, self.problem)
        if head_seq > count:
            return VerifyReport(
                False, count, count + 1,
                f"records {count + 1}..{head_seq} are missing: the store's head is record"
                f" {head_seq} but the chain ends at {count}",
            )  # fmt: skip
        if head_seq < count or head_hash != self.prev:
            bad = head_seq + 1 if head_seq < count else count
            return VerifyReport(
                False, count, bad, f"record {bad} does not match the store's head {head_seq}"
            )
        for sha in sorted(self.rule_sets):
            if sha not in self.used and self.rule_sets[sha] is not None:
                return VerifyReport(False, count, None, self.rule_sets[sha])
        return VerifyReport(True, count)


def _content_problem(cols: Mapping[str, str], raw: bytes) -> str | None:
    """The decision must read back, be canonical, and agree with the record's columns."""
    try:
        text = raw.decode("utf-8")
        decision = read_decision(text)
    except (UnicodeDecodeError, InputError) as exc:
        return f"decision_json does not read back as a decision: {exc}"
    if decision.to_json() != text:
        return "decision_json is not in canonical form"
    expected = {
        "decision_id": decision.id,
        "loan_id": record_key(decision),
        "as_of": as_of_key(decision.as_of),
        "rule_set_sha256": decision.rule_set.sha256,
    }
    for name, value in expected.items():
        if cols[name] != value:
            return f"column {name} is {cols[name]!r} but the decision says {value!r}"
    return None
