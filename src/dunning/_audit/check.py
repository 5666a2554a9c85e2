"""Checking a log from its rows, whatever database they came from (no SQL here).

`LogCheck` is fed every record in seq order (as read, without trusting types), with the
tree nodes the store kept, in the order appends created them. It re-derives everything:

* each record's decision reads back, is canonical, and its columns say what it says;
* each record's rule set is stored and intact;
* the leaf and every node the store kept equal the ones recomputed from the records (a
  stored node is what proofs are served from, so a wrong one would give wrong proofs);
* the root and size the store claims are the recomputed ones;
* against a signed checkpoint: the signature is the bank's, the store holds at least its
  size (truncation is caught even when the store's own size was edited to match), the first
  `size` records give its root (nothing under it changed, vanished, moved or was forged),
  and the rule sets those records use give its `registry_digest`.

Every problem is kept (up to `VerifyReport.LIMIT`), each naming its record when it has one.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .._base.errors import InputError
from . import merkle
from .borrower import read_decision
from .checkpoint import Checkpoint, verify_checkpoint
from .keys import public_key
from .log import VerifyReport, as_of_key, leaf_hash_of, registry_digest

__all__ = ["LogCheck", "RawRecord"]

Node = tuple[int, int, bytes]


@dataclass(frozen=True)
class RawRecord:
    """A record as read for checking: any column may hold any type after tampering."""

    seq: Any
    decision_id: Any
    loan_id: Any
    as_of: Any
    rule_set_sha256: Any
    decision_json: Any


class LogCheck:
    def __init__(
        self,
        rule_sets: Mapping[str, str | None],
        nodes: Iterator[Node],
        *,
        against: Checkpoint | None = None,
        public_key_: Any = None,
    ) -> None:
        self.rule_sets = rule_sets
        self.nodes = nodes
        self.against = against
        self.key = None if against is None else public_key(public_key_)
        self.frontier = merkle.Frontier()
        self.used: set[str] = set()
        self.used_at_checkpoint: set[str] | None = None
        self.root_at_checkpoint: bytes | None = None
        self.problems: list[str] = []
        self.first_bad: int | None = None
        self.count = 0
        self.node_trouble = False
        self.bad_leaves: set[int] = set()
        self.last_seq = 0
        if against is not None and against.size == 0:
            self.root_at_checkpoint, self.used_at_checkpoint = merkle.EMPTY_ROOT, set()

    def problem(self, text: str, seq: int | None = None) -> None:
        if seq is not None and (self.first_bad is None or seq < self.first_bad):
            self.first_bad = seq
        if len(self.problems) < VerifyReport.LIMIT:
            self.problems.append(text)

    # -- records -------------------------------------------------------------------------

    def feed(self, row: RawRecord) -> None:
        expected = self.last_seq + 1
        if not isinstance(row.seq, int) or isinstance(row.seq, bool):
            self.problem(f"record after {expected - 1}: seq is {row.seq!r}, not an integer")
            return
        if row.seq != expected:
            self.node_trouble = True  # positions no longer line up: node checks would only echo
            self.problem(
                f"records {expected}..{row.seq - 1} are missing (the next record is {row.seq})"
                if row.seq > expected
                else f"record {row.seq} appears out of order after record {expected - 1}",
                expected,
            )
        seq = self.last_seq = row.seq
        text = row.decision_json
        if isinstance(text, bytes):
            self.problem(f"record {seq}: decision_json is stored as a BLOB, not text", seq)
            text = text.decode("utf-8", "replace")
        if not isinstance(text, str):
            self.problem(f"record {seq}: decision_json is {type(text).__name__}, not text", seq)
            text = str(text)
        self._content(seq, row, text)
        created = self.frontier.append(leaf_hash_of(text.encode("utf-8", "surrogatepass")))
        self._nodes(seq, created)
        self.count += 1
        if self.against is not None and self.frontier.size == self.against.size:
            self.root_at_checkpoint = self.frontier.root()
            self.used_at_checkpoint = set(self.used)

    def _content(self, seq: int, row: RawRecord, text: str) -> None:
        try:
            decision = read_decision(text)
        except InputError as exc:
            self.problem(f"record {seq}: decision_json does not read back ({exc})", seq)
            return
        if decision.to_json() != text:
            self.problem(f"record {seq}: decision_json is not in canonical form", seq)
        expected = {
            "decision_id": decision.id,
            "loan_id": decision.loan_id,
            "as_of": as_of_key(decision.as_of),
            "rule_set_sha256": decision.rule_set.sha256,
        }
        for name, value in expected.items():
            found = getattr(row, name)
            if found != value or type(found) is not str:
                self.problem(
                    f"record {seq}: column {name} is {found!r} but the decision says {value!r}",
                    seq,
                )
        sha = decision.rule_set.sha256
        self.used.add(sha)
        if sha not in self.rule_sets:
            self.problem(f"record {seq}: its rule set {sha} is missing from the store", seq)
        elif self.rule_sets[sha] is not None:
            self.problem(f"record {seq}: {self.rule_sets[sha]}", seq)

    def _nodes(self, seq: int, created: list[Node]) -> None:
        if self.node_trouble:
            return
        for level, index, digest in created:
            stored = next(self.nodes, None)
            if stored is None:
                self.problem(
                    f"record {seq}: the tree has no node ({level}, {index}); the tree table"
                    " ends before the records do",
                    seq,
                )
                self.node_trouble = True
                return
            if stored[:2] != (level, index):
                self.problem(
                    f"record {seq}: expected tree node ({level}, {index}), found node"
                    f" {stored[:2]}: a node was removed or added",
                    seq,
                )
                self.node_trouble = True
                return
            if stored[2] != digest:
                lo, hi = index << level, (index + 1) << level
                if level and any(lo <= b < hi for b in self.bad_leaves):
                    continue  # follows from the leaf already named
                if level == 0:
                    self.bad_leaves.add(index)
                what = "its leaf hash" if level == 0 else f"tree node ({level}, {index})"
                self.problem(
                    f"record {seq}: {what} in the store differs from the one its content"
                    " gives: the record or the tree was altered",
                    seq,
                )

    # -- the end -------------------------------------------------------------------------

    def finish(self, size: Any, root: Any) -> VerifyReport:
        n = self.frontier.size
        if isinstance(size, int) and size > n and not self.node_trouble:
            self.problem(
                f"records {n + 1}..{size} are missing: the store says it holds {size} records,"
                f" but it holds {n}",
                n + 1,
            )
        elif size != n:
            self.problem(f"the store says it holds {size!r} records, but it holds {n}")
        if not self.node_trouble and next(self.nodes, None) is not None:
            self.problem(
                f"the tree holds nodes beyond its {n} records (of removed or forged records)"
            )
        if root != self.frontier.root().hex() and not self.bad_leaves:
            self.problem(
                f"the store's root {root!r} is not the root of its records"
                f" ({self.frontier.root().hex()})"
            )
        for sha in sorted(set(self.rule_sets) - self.used):
            self.problem(f"rule set {sha} is stored but no record uses it (an extra row)")
        if self.against is not None:
            self._against(self.against, n)
        if self.problems:
            return VerifyReport(False, n, self.first_bad, self.problems[0], tuple(self.problems))
        return VerifyReport(True, n)

    def _against(self, cp: Checkpoint, n: int) -> None:
        if self.key is None or not verify_checkpoint(cp, self.key):
            self.problem(
                f"checkpoint of size {cp.size}: its signature does not verify with this"
                " public key; it proves nothing about this store"
            )
            return
        if n < cp.size:
            self.problem(
                f"records {n + 1}..{cp.size} are missing: the signed checkpoint covers"
                f" {cp.size} records but the store holds {n} (cut off the end)"
            )
            return
        if self.root_at_checkpoint != cp.root:
            self.problem(
                f"the first {cp.size} records no longer give the checkpoint's root"
                f" {cp.root_hash}: a record under the checkpoint was changed, removed,"
                " reordered or forged"
            )
        used = self.used_at_checkpoint or set()
        if registry_digest(used) != cp.registry_digest:
            self.problem(
                f"the rule sets of the first {cp.size} records no longer give the"
                f" checkpoint's registry digest {cp.registry_digest}"
            )
