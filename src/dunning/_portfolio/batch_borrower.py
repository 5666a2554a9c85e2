"""The nightly batch at borrower level (`run_batch(..., by="borrower")`), and the night's
transitions file.

Theory of operation
-------------------

By borrower, the batch visits *borrowers* in borrower id order, in chunks, instead of loans:
a borrower's loans are the stored snapshots with that borrower id plus the loans opened
today, each advanced with its new events exactly as the per-loan batch does, and decided
together by `engine.decide_borrower(states, as_of)`. The chunk's snapshots and one
``batch_loans`` row per borrower, keyed ``borrower:<id>`` (the audit store's key for a
borrower decision), are written in one transaction, so resuming, idempotent output and
auditing work as for loans (`batch`). A chunk never splits a borrower. A borrower with a
loan set aside (a bad record, events that do not fold) waits whole: none of its loans is
decided or moved on, and a re-run with the corrected input decides it.

Transitions (`write_transitions`). When asked, the batch writes the night's transitions as
JSON Lines: for every decision of this batch (key order), `dunning.transitions(previous,
current)` where `previous` is the same key's decision in the latest earlier batch of the
store (by as_of; None when the key is new). The file is derived from the store alone, so a
re-run writes the same bytes; it is written whole, then renamed.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from .._audit.borrower import BORROWER_KEY, read_decision
from .._base.errors import EventError, InputError
from .._decide.transitions import transitions
from .._state.account import AccountState
from .._state.events import Event
from .snapshots import SnapshotStore
from .spill_store import events_of

__all__ = ["BorrowerJob", "write_transitions"]

# Pending borrowers of one source, in borrower id order (the snapshots' borrower index).
_PENDING = """
SELECT DISTINCT l.borrower_id FROM {table} AS l
WHERE l.borrower_id > :after AND NOT EXISTS (
    SELECT 1 FROM main.batch_loans b
    WHERE b.batch_id = :batch AND b.loan_id = :prefix || l.borrower_id
)
ORDER BY l.borrower_id LIMIT :chunk
"""
_COUNT = """
SELECT COUNT(*) FROM (
    SELECT borrower_id FROM main.snapshots UNION SELECT borrower_id FROM spill.new_loans
) AS l
WHERE NOT EXISTS (
    SELECT 1 FROM main.batch_loans b WHERE b.batch_id = ? AND b.loan_id = ? || l.borrower_id
)
"""
_LOANS = """
SELECT loan_id FROM main.snapshots WHERE borrower_id = :b
UNION SELECT loan_id FROM spill.new_loans WHERE borrower_id = :b
ORDER BY loan_id
"""
_NEW_EVENTS = """
SELECT body FROM spill.events WHERE borrower_level = 0 AND loan_id = ?
UNION ALL
SELECT body FROM spill.events WHERE borrower_level = 1 AND borrower_id = ?
"""


@dataclass
class BorrowerJob:
    """Decide every pending borrower of a batch (see the module docstring)."""

    db: SnapshotStore
    batch_id: str
    engine: Any
    as_of: datetime
    statuses: Counter[str]
    audit: Any  # (decided) -> None, or None
    intake: Any  # the run's set-aside loans and rejects (`spill_intake.Intake`)
    fold_reject: Any  # (error, loan id, events) -> Reject

    def run(self, chunk: int, progress: Any) -> None:
        c = self.db.conn
        todo = int(c.execute(_COUNT, (self.batch_id, BORROWER_KEY)).fetchone()[0])
        done, after = 0, ""
        while True:
            borrowers = self._pending(after, chunk)
            if not borrowers:
                return
            decided = self._chunk(borrowers)
            if self.audit is not None:
                self.audit(decided)
            done += len(borrowers)
            after = borrowers[-1]
            if progress is not None:
                progress(done, todo)

    def _pending(self, after: str, chunk: int) -> list[str]:
        args = {"after": after, "batch": self.batch_id, "chunk": chunk, "prefix": BORROWER_KEY}
        found: set[str] = set()
        for table in ("spill.new_loans", "main.snapshots"):
            found.update(
                str(r[0]) for r in self.db.conn.execute(_PENDING.format(table=table), args)
            )
        return sorted(found)[:chunk]

    def _chunk(self, borrowers: list[str]) -> list[tuple[str, Any, Any]]:
        decided: list[tuple[str, Any, Any]] = []
        with self.db.transaction() as c:
            for borrower in borrowers:
                loans = [str(r[0]) for r in c.execute(_LOANS, {"b": borrower}).fetchall()]
                if any(loan in self.intake.aside for loan in loans):
                    self.intake.aside.update(loans)  # the borrower waits with its bad loan
                    continue
                advanced = []
                try:
                    for loan_id in loans:
                        rows = c.execute(_NEW_EVENTS, (loan_id, borrower)).fetchall()
                        fresh: list[Event] = events_of(rows)
                        old = self.db.get(loan_id)  # checked: a damaged snapshot raises
                        current = loan_id
                        advanced.append((_advance(old, fresh), old is None or bool(fresh)))
                    states = [state for state, _changed in advanced]
                    decision = self.engine.decide_borrower(states, self.as_of)
                except (EventError, InputError) as err:
                    self.intake.reject(self.fold_reject(err, current, fresh))
                    self.intake.aside.update(loans)
                    continue
                for state, changed in advanced:
                    if changed:
                        self.db.put(state)
                key = BORROWER_KEY + borrower
                self.db.record_decision(self.batch_id, key, decision.to_json())
                self.statuses[decision.status] += 1
                decided.append((key, decision, None))  # no per-loan inputs (see store)
        return decided


def _advance(old: AccountState | None, fresh: list[Event]) -> AccountState:
    if old is None:
        return AccountState.from_events(fresh)
    return old.apply(fresh) if fresh else old


def write_transitions(db: SnapshotStore, batch_id: str, out: str | Path) -> int:
    """The night's transitions as JSON Lines (module docstring); returns how many."""
    current = db.batch(batch_id)
    if current is None:  # pragma: no cover - run_batch registers it first
        return 0
    row = db.conn.execute(
        "SELECT batch_id FROM batches WHERE as_of < ? AND batch_id != ? AND status = 'done'"
        " ORDER BY as_of DESC, batch_id DESC LIMIT 1",
        (current.as_of, batch_id),
    ).fetchone()
    previous_batch = None if row is None else str(row[0])
    count = 0
    tmp = Path(f"{out}.tmp")
    with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
        for key, text in db.iter_keyed_decisions_json(batch_id):
            before = None
            if previous_batch is not None:
                hit = db.conn.execute(
                    "SELECT decision FROM batch_loans WHERE batch_id = ? AND loan_id = ?",
                    (previous_batch, key),
                ).fetchone()
                before = None if hit is None else read_decision(str(hit[0]))
            now = read_decision(text)
            if before is not None and type(before) is not type(now):
                before = None  # the previous night decided by the other level
            for t in transitions(before, now):
                fh.write(t.to_json() + "\n")
                count += 1
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, out)
    return count
