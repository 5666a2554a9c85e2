"""The nightly batch: apply the day's events to the snapshots and decide every account.

Theory of operation
-------------------

1. **Spill.** The day's events (a JSON Lines path or any iterable of events, dicts or JSON
   texts, in any order) are validated and written to a private temporary SQLite database
   attached to the store connection, indexed by loan id (loan-level events) and by borrower
   id (borrower-level events, which belong to every loan of their borrower). Memory stays
   constant however large or unsorted the input is (`spill_intake`): `_RUN` events at a
   time are gathered per loan and per borrower in memory, each gathering one row per loan
   or borrower.
   The validated models are kept in a compact private form (`spill`: field values as
   marshal-able primitives, pickle for any event it cannot represent exactly; the file is
   private to this run and written by it), so they are not validated twice and come back
   equal, field for field, to what went in.
2. **Check.** A loan-level event for a loan that is neither in the store nor opened in the
   input is refused before anything is written (InvalidEventError naming the event).
3. **Decide, in loan id order, in chunks.** The loans are the union of the stored snapshots
   and the loans opened today, minus those this batch id already decided. For each: read
   its snapshot, `apply` its new events, decide at `as_of`, then in ONE transaction per
   chunk write the new snapshot and the (batch id, loan id, decision) row. A crash loses at
   most the uncommitted chunk, which a re-run redoes; nothing is decided twice because the
   decided rows are skipped, and nothing is lost because every loan without a row is taken.
4. **Output.** Decisions are kept in the store's ``batch_loans`` table, and the JSON Lines
   file is written at the end from that table (to ``out + '.tmp'``, then renamed), in loan
   id order. A re-run with the same batch id therefore rewrites the same bytes: the file is
   idempotent and always complete or absent.
5. **Audit (optional).** After a chunk commits, its decisions are appended to the audit
   store and marked ``audited``. The audit store is another file, so a crash can fall
   between the append and the mark; a resumed run therefore first takes the committed but
   unmarked decisions and appends each only if the audit store does not already hold a
   record with its loan, as_of and content id — each decision is audited exactly once.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from .._audit.borrower import read_decision
from .._audit.store import AuditStore
from .._base.errors import EventError, InputError
from .._base.time import aware, iso_utc
from .._decide.engine import Engine
from .._decide.split import Split
from .._rules.loader import load_rules
from .._state.account import AccountState
from .._state.events import Event
from .._state.intake import Reject
from .batch_borrower import BorrowerJob, write_transitions
from .feeds import dumps_event, write_rejects
from .snapshot_check import encode
from .snapshots import SnapshotRow, SnapshotStore, snapshot_row
from .spill_intake import EventSource, Intake, check_unknown_loans, spill_feed
from .spill_store import Spill

__all__ = ["BatchSummary", "run_batch"]

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class BatchSummary:
    """What a batch run did: counts only (the decisions are in `out` and the store)."""

    batch_id: str
    as_of: str
    total: int  # loans decided by this batch id, over all runs
    decided_now: int  # decided by this run
    resumed_from: int  # already decided by an earlier run of this batch id (interrupted or not)
    statuses: dict[str, int] = field(default_factory=dict)  # of the loans decided now
    out: str | None = None
    set_aside: int = 0  # loans left undecided by this run (bad records; see `rejects`)
    rejected_lines: int = 0  # records written to the dead-letter file
    rejects: str | None = None  # the dead-letter file (JSON Lines), when there were rejects
    ignored_fields: dict[str, int] = field(default_factory=dict)  # unknown field -> count


def run_batch(
    new_events: EventSource,
    *,
    store: SnapshotStore | str | Path,
    rules: Any,
    as_of: datetime | str,
    out: str | Path | None,
    audit: Any = None,
    batch_id: str,
    engine: Any = None,
    chunk: int = 500,
    progress: Progress | None = None,
    strict: bool = False,
    rejects: str | Path | None = None,
    by: str = "loan",
    transitions: str | Path | None = None,
) -> BatchSummary:
    """Apply `new_events` to the snapshots in `store` and decide every account at `as_of`.

    `rules` is a RuleSet, a rule file path or a `Split` (champion/challenger: each loan is
    decided by its arm's rule set, tagged with the experiment and arm, and audited with the
    rule set of its arm); `engine` (default `Engine(rules)`, or the split) is anything
    with `decide(state, as_of)` (and `decide_borrower` for ``by="borrower"``). `audit` is an
    AuditStore, a path to one, or None. Re-running with the same `batch_id` resumes: loans
    already decided are skipped (see module doc); once a batch id has finished, a re-run only
    writes `out` again. `by` is ``"loan"`` (one Decision per loan) or ``"borrower"`` (one
    BorrowerDecision per borrower, `batch_borrower`; not with a Split); `transitions` is a
    path for the night's transition events (JSON Lines, against the store's previous batch),
    or None.

    A loan with a bad record (or whose events do not fold) is set aside whole: not decided,
    its snapshot untouched, its rejected records written to the dead-letter file `rejects`
    (default ``<out>.rejects.jsonl``), and the batch id stays open, so a re-run with the
    corrected input decides those loans and changes nothing else (by borrower: every loan of
    its borrower waits with it). Unknown event fields are ignored and counted unless `strict`.
    """

    if chunk < 1:
        raise InputError(f"run_batch: expected chunk >= 1 (loans per transaction), found {chunk}")
    if by not in ("loan", "borrower"):
        raise InputError(f"run_batch: expected by 'loan' or 'borrower', found {by!r}")
    ruleset = rules if hasattr(rules, "sha256") else load_rules(rules)
    if by == "borrower" and isinstance(ruleset, Split):
        raise InputError(
            "run_batch: by='borrower' takes one rule set, found a Split; split by borrower"
            " is not supported yet: run each arm's borrowers with its own rule set"
        )
    if engine is None:
        engine = ruleset if isinstance(ruleset, Split) else Engine(ruleset)
    when = aware(as_of)
    owned = not isinstance(store, SnapshotStore)
    db = SnapshotStore(store) if not isinstance(store, SnapshotStore) else store
    auditor = None
    try:
        record = db.begin_batch(batch_id, iso_utc(when), ruleset.sha256)
        resumed_from = db.decided_count(batch_id)
        auditor = _open_audit(audit)
        if auditor is not None:
            _audit_pending(db, batch_id, auditor, ruleset)
        statuses: Counter[str] = Counter()
        intake = Intake(strict=strict)
        if record.status != "done":
            if by == "borrower" and db.postgres:
                raise InputError(
                    f"run_batch(by='borrower'): snapshot store {db.path!r} is on PostgreSQL,"
                    " where batches run by loan for now; expected by='loan', or a SQLite store"
                )
            spill = spill_feed(db, new_events, intake)
            try:
                check_unknown_loans(db, spill, intake)
                intake.aside |= spill.loans_of_borrowers(sorted(intake.borrowers))
                if by == "borrower":
                    audit_chunk = None
                    if auditor is not None:

                        def audit_chunk(decided: list[tuple[str, Any, Any]]) -> None:
                            _audit_chunk(db, batch_id, auditor, ruleset, decided)

                    BorrowerJob(
                        db, batch_id, engine, when, statuses, audit_chunk, intake, _fold_reject
                    ).run(chunk, progress)
                else:
                    job = _Job(
                        db, spill, batch_id, engine, when, auditor, ruleset, statuses, intake
                    )
                    job.run(chunk, progress)
            finally:
                spill.close()
            if not intake.aside and not intake.rejects:
                db.finish_batch(batch_id)
        if out is not None:
            write_decisions(db, batch_id, out)
        if transitions is not None:
            write_transitions(db, batch_id, transitions)
        dead = rejects if rejects is not None else (f"{out}.rejects.jsonl" if out else None)
        if intake.rejects and dead is not None:
            source = str(new_events) if isinstance(new_events, str | Path) else None
            write_rejects(intake.rejects, str(dead), source)
        total = db.decided_count(batch_id)
    finally:
        if auditor is not None and auditor is not audit:
            auditor.close()  # we opened it from a path
        if owned:
            db.close()
    return BatchSummary(
        batch_id=batch_id,
        as_of=iso_utc(when),
        total=total,
        decided_now=total - resumed_from,
        resumed_from=resumed_from,
        statuses=dict(sorted(statuses.items())),
        out=None if out is None else str(out),
        set_aside=len(intake.aside),
        rejected_lines=len(intake.rejects),
        rejects=None if not intake.rejects or dead is None else str(dead),
        ignored_fields=dict(sorted(intake.ignored.items())),
    )


def write_decisions(db: SnapshotStore, batch_id: str, out: str | Path) -> None:
    """The batch's decisions as JSON Lines (loan id order), written whole then renamed."""
    tmp = Path(f"{out}.tmp")
    with open(tmp, "wb") as fh:
        for line in db.iter_decisions_utf8(batch_id):
            fh.write(line)
            fh.write(b"\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, out)


# --- the decide loop -------------------------------------------------------------------------


@dataclass
class _Job:
    db: SnapshotStore
    spill: Spill
    batch_id: str
    engine: Any
    as_of: datetime
    auditor: Any
    rules: Any
    statuses: Counter[str]
    intake: Intake

    def run(self, chunk: int, progress: Progress | None) -> None:
        todo = self.spill.todo(self.batch_id)
        done, after = 0, ""
        while True:
            loans = self._pending(after, chunk)
            if not loans:
                return
            decided = self._chunk(loans)
            if self.auditor is not None:
                _audit_chunk(self.db, self.batch_id, self.auditor, self.rules, decided)
            done += len(loans)
            after = loans[-1][0]
            if progress is not None:
                progress(done, todo)

    def _pending(self, after: str, chunk: int) -> list[tuple[str, str]]:
        return self.spill.pending(self.batch_id, after, chunk)

    @property
    def keeps_inputs(self) -> bool:
        return bool(getattr(self.auditor, "keep_inputs", False))

    def _chunk(self, loans: list[tuple[str, str]]) -> list[tuple[str, Any, AccountState | None]]:
        """Decide `loans` and commit snapshots + progress rows together."""
        decided: list[tuple[str, Any, AccountState | None]] = []
        # The snapshots to write and the decisions, written at the end of the chunk's
        # transaction (one call each); rows of bytes and text, see `snapshot_row`.
        moved: list[SnapshotRow] = []
        rows: list[tuple[str, str]] = []
        with self.db.transaction():
            stored = self.db.stored_rows([loan for loan, _b in loans])
            for loan_id, borrower_id in loans:
                if loan_id in self.intake.aside:
                    continue  # a bad record: the loan waits, its snapshot untouched
                fresh: list[Event] = self.spill.new_events(loan_id, borrower_id)
                old = self.db.checked(loan_id, stored.pop(loan_id, None))  # damaged: raises
                try:
                    state = _advance(old, fresh)
                    # Encoded first: the new snapshot's text gives the decision its events'
                    # JSON for the input digest (`snapshot_check.encode`), not serialised twice.
                    encoded = encode(state) if old is None or fresh else None
                    decision = self.engine.decide(state, self.as_of)
                except (EventError, InputError) as err:
                    self.intake.reject(_fold_reject(err, loan_id, fresh))
                    continue
                if encoded is not None:  # an unchanged snapshot is not written again
                    moved.append(snapshot_row(state, encoded))
                rows.append((loan_id, decision.to_json()))
                self.statuses[decision.status] += 1
                # Held for the audit store only (the state only when it keeps inputs): 500
                # decisions or states held per chunk are garbage-collector work for nothing.
                if self.auditor is not None:
                    decided.append((loan_id, decision, state if self.keeps_inputs else None))
            self.db.put_rows(moved)
            self.db.record_decisions(self.batch_id, rows)
        return decided


def _fold_reject(err: Exception, loan_id: str, events: list[Event]) -> Reject:
    """The reject of a loan whose new events do not fold (the offending event, if named)."""
    eid = getattr(err, "event_id", None)
    hit = next((e for e in events if e.event_id == eid), None)
    text = "" if hit is None else dumps_event(hit)
    return Reject(error=str(err), text=text, event_id=eid, loan_id=loan_id)


def _advance(old: AccountState | None, fresh: list[Event]) -> AccountState:
    if old is None:
        return AccountState.from_events(fresh)
    return old.apply(fresh) if fresh else old


# --- audit -----------------------------------------------------------------------------------


def _open_audit(audit: Any) -> Any:
    if audit is None or hasattr(audit, "append"):
        return audit

    return AuditStore(audit)


def _audit_chunk(
    db: SnapshotStore, batch_id: str, auditor: Any, rules: Any, decided: list[Any]
) -> None:
    for _loan, decision, state in decided:
        _append(auditor, decision, _rules_of(rules, decision), state)
    db.mark_audited(batch_id, [row[0] for row in decided])


def _append(auditor: Any, decision: Any, rules: Any, state: Any) -> None:
    """Append to the audit store, with the state decided from when it keeps inputs."""
    if getattr(auditor, "keep_inputs", False):
        auditor.append(decision, rules, inputs=state)
    else:
        auditor.append(decision, rules)


def _audit_pending(db: SnapshotStore, batch_id: str, auditor: Any, rules: Any) -> None:
    """Append decisions an interrupted run committed but did not mark audited, once each.

    The run may have died between the audit append and the mark, so each is first looked
    up in the audit store (same loan, same as_of, same decision id) and skipped if there.
    """

    while True:
        rows = db.unaudited(batch_id, limit=500)
        if not rows:
            return
        for loan_id, text in rows:
            decision = read_decision(text)
            if not _audited(auditor, loan_id, decision.as_of, json.loads(text)["id"]):
                # The snapshot was written with the decision, in one transaction: it is the
                # state the decision was made from.
                _append(auditor, decision, _rules_of(rules, decision), db.get(loan_id))
        db.mark_audited(batch_id, [loan for loan, _t in rows])


def _rules_of(rules: Any, decision: Any) -> Any:
    """The rule set that made `decision`: the batch's, or its arm's under a Split."""
    return rules.rules_for(decision) if isinstance(rules, Split) else rules


def _audited(auditor: Any, loan_id: str, as_of: datetime, decision_id: str) -> bool:
    records = getattr(auditor, "records", None)
    if records is None:
        return False
    found = records(loan_id=loan_id, start=as_of, end=as_of + timedelta(microseconds=1))
    return any(r.decision_id == decision_id for r in found)
