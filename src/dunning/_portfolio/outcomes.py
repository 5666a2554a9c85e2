"""Outcomes of real decisions: what happened to each account after it was decided, per arm.

Theory of operation
-------------------

1. **Entry.** Each loan enters at its earliest decision in the input (of one `experiment`
   when given); its arm is the decision's `arm` (``"all"`` for decisions made without a
   split). Its state at entry is its events up to that instant, folded: days past due (the
   oldest unpaid item past its due date, in the borrower's local calendar), its bucket
   (`bucket_of`) and the overdue amount.
2. **Windows.** For each window *w* (days) the state at entry + *w* gives the bucket then;
   an account delinquent at entry is *cured at w* when it is current then. A window is
   counted for a loan only when the data reach its end (`until`, default the last event in
   the input), so young accounts never count as uncured.
3. **Over the longest observed window:** payments (amount recovered, and its share of the
   overdue amount at entry), promises to pay made after entry whose date has passed (kept
   when payments from the promise to the end of the promised day cover it), contact
   attempts, complaints opened and disputes raised.
4. **Groups.** The figures are summed per arm, for all accounts and per segment: each key of
   `by` (``product``, ``bucket`` = bucket at entry, or any decision field such as
   ``status``, ``step``, ``chosen_rule``, ``rule_set.version``) splits the accounts by its
   value. Rates carry intervals and each challenger arm a test against the champion
   (`_stats` holds the table of which interval and which test).

The same function reads the simulator's decisions and events (`compare`), so simulated and
real reports have one shape.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from .._base.errors import InputError
from .._base.money import ZERO
from .._base.time import aware, iso_utc, local_date
from .._decide.decision import Decision
from .._state.account import AccountState
from .._state.events import Event
from .._state.facts import bucket_of
from .feeds import group_by_loan, read_jsonl
from .metrics import BUCKETS
from .outcome_report import GroupFigures, LoanOutcome, OutcomeReport, build_report

__all__ = ["GroupFigures", "LoanOutcome", "OutcomeReport", "outcomes", "read_decisions"]

DecisionSource = str | Path | Iterable[Decision | str | Mapping[str, Any]] | Any


def read_decisions(source: DecisionSource, experiment: str | None = None) -> Iterator[Decision]:
    """Decisions from an AuditStore, a JSON Lines path, or an iterable of decisions/JSON
    (from an audit store, only those of `experiment` when given)."""
    if hasattr(source, "records") and hasattr(source, "verify"):
        records = source.records() if experiment is None else source.records(experiment=experiment)
        for record in records:
            yield Decision.from_json(record.decision_json)
        return
    if isinstance(source, str | Path):
        with open(source, encoding="utf-8") as fh:
            for n, line in enumerate(fh, start=1):
                if line.strip():
                    try:
                        yield Decision.from_json(line)
                    except InputError as exc:
                        raise InputError(f"{source}:{n}: {exc}") from None
        return
    for item in source:
        if isinstance(item, Decision):
            yield item
        elif isinstance(item, str | bytes):
            yield Decision.from_json(item)
        else:
            yield Decision.model_validate(item)


def outcomes(
    decisions: DecisionSource,
    events: str | Path | Iterable[Event | Mapping[str, Any]],
    windows: tuple[int, ...] = (30, 60, 90),
    *,
    by: tuple[str, ...] = ("product", "bucket"),
    champion: str | None = None,
    experiment: str | None = None,
    until: datetime | str | None = None,
    min_sample: int = 30,
) -> OutcomeReport:
    """Outcomes per arm and segment of the accounts in `decisions`, from their `events`.

    `decisions`: an AuditStore, a decisions JSON Lines path, or Decision objects; `events`: a
    JSON Lines path or events. `champion` is the arm the others are tested against (default
    "A", else "champion", else the first arm by name). See the module doc for the figures.
    """
    wins = _windows(windows)
    entries: dict[str, Decision] = {}
    for d in read_decisions(decisions, experiment):
        if experiment is not None and d.experiment != experiment:
            continue
        seen = entries.get(d.loan_id)
        if seen is None or (d.as_of, d.id) < (seen.as_of, seen.id):
            entries[d.loan_id] = d
    stream = read_jsonl(events) if isinstance(events, str | Path) else events
    by_loan = group_by_loan(stream)
    end = aware(until, what="until") if until is not None else _last(by_loan)
    rows = []
    missing = []
    for loan_id in sorted(entries):
        evs = by_loan.get(loan_id)
        if not evs:
            missing.append(loan_id)
            continue
        rows.append(loan_outcome(entries[loan_id], evs, wins, by, end))
    arms = sorted({r.arm for r in rows})
    chosen = champion or next((a for a in ("A", "champion") if a in arms), arms[0] if arms else "")
    if champion is not None and champion not in arms:
        raise InputError(
            f"outcomes champion: expected one of the arms {', '.join(arms) or '(none)'},"
            f" found {champion!r}"
        )
    params = {
        "windows": ",".join(map(str, wins)),
        "by": ",".join(by),
        "until": "" if end is None else iso_utc(end),
        "min_sample": str(min_sample),
        "experiment": experiment or "",
        "decisions": str(len(entries)),
    }
    rule_sets: dict[str, set[tuple[str, str, str]]] = {}
    for d in entries.values():
        ref = d.rule_set
        rule_sets.setdefault(d.arm or "all", set()).add((ref.id, ref.version, ref.sha256))
    report = build_report(rows, wins, by, chosen, min_sample, params, rule_sets)
    if missing:
        report.warnings.insert(
            0,
            f"{len(missing)} decided loan(s) have no events and are left out (first:"
            f" {missing[0]!r})",
        )
    return report


def _windows(windows: Iterable[int]) -> tuple[int, ...]:
    wins = tuple(windows)
    if not wins or any(not isinstance(w, int) or isinstance(w, bool) or w < 1 for w in wins):
        raise InputError(f"outcome windows: expected whole days >= 1, found {wins!r:.80}")
    return tuple(sorted(set(wins)))


def _last(by_loan: Mapping[str, list[Event]]) -> datetime | None:
    return max((e.at for evs in by_loan.values() for e in evs), default=None)


def _position(state: AccountState, at: datetime) -> tuple[int, Decimal]:
    """(days past due, overdue amount) at instant `at`, in the borrower's calendar."""
    today = local_date(at, state.timezone)
    items = state.ledger.overdue_items(today)
    dpd = (today - items[0].due_date).days if items else 0
    return dpd, sum((i.unpaid for i in items), ZERO)


def _segment(decision: Decision, product: str, bucket: str, key: str) -> str:
    if key == "product":
        return product
    if key == "bucket":
        return bucket
    value: Any = decision
    for part in key.split("."):
        if not hasattr(value, part):
            raise InputError(
                f"outcomes segment {key!r}: expected product, bucket or a decision field"
                " (status, step, chosen_rule, rule_set.version, ...), found no such field"
            )
        value = getattr(value, part)
    if isinstance(value, tuple | list):
        return ",".join(map(str, value)) or "-"
    return "-" if value is None else str(value)


def loan_outcome(
    decision: Decision,
    events: list[Event],
    windows: tuple[int, ...],
    by: tuple[str, ...],
    until: datetime | None,
) -> LoanOutcome:
    """One loan's outcome after `decision` (see the module's theory of operation)."""
    t0 = decision.as_of
    ordered = sorted(events, key=lambda e: (e.at, e.event_id))
    head = [e for e in ordered if e.at <= t0]
    if not head:
        raise InputError(
            f"outcomes: loan {decision.loan_id!r} has no events at or before its decision at"
            f" {iso_utc(t0)}; expected its loan_opened first"
        )
    state = AccountState.from_events(head)
    dpd, overdue = _position(state, t0)
    entry_bucket = bucket_of(dpd)
    observed = [w for w in windows if until is None or t0 + timedelta(days=w) <= until]
    buckets: dict[int, str] = {}
    done = len(head)
    for w in observed:
        cut = t0 + timedelta(days=w)
        fresh = []
        while done < len(ordered) and ordered[done].at <= cut:
            fresh.append(ordered[done])
            done += 1
        if fresh:
            state = state.apply(fresh)
        buckets[w] = bucket_of(_position(state, cut)[0])
    last = observed[-1] if observed else 0
    end = t0 + timedelta(days=last) if observed else (until or t0)
    after = [e for e in ordered if t0 < e.at <= end]
    if not observed and after:
        state = state.apply(after)
    recovered = sum((p.amount for p in state.payments if not p.reversed and t0 < p.at <= end), ZERO)
    promises = kept = 0
    end_day = local_date(end, state.timezone)
    for p in state.promises:
        if not t0 < p.at <= end or p.promised_date >= end_day:
            continue  # made before entry, or not yet due at the end of the window
        promises += 1
        paid = sum(
            (q.amount for q in state.payments if not q.reversed and q.at >= p.at
             and local_date(q.at, state.timezone) <= p.promised_date),
            ZERO,
        )  # fmt: skip
        kept += paid >= p.amount
    kinds = Counter(e.type for e in after)
    product = next(
        (str(getattr(e, "product", "-")) for e in ordered if e.type == "loan_opened"), "-"
    )
    return LoanOutcome(
        loan_id=decision.loan_id,
        arm=decision.arm or "all",
        segments={k: _segment(decision, product, entry_bucket, k) for k in by},
        entry_bucket=entry_bucket,
        delinquent=dpd > 0,
        buckets=buckets,
        overdue=overdue,
        recovered=recovered,
        promises=promises,
        promises_kept=kept,
        contacts=sum(1 for c in state.contacts if t0 < c.at <= end),
        complaints=kinds["complaint_opened"],
        disputes=kinds["dispute_raised"],
    )


BUCKET_DAYS: Mapping[str, str] = {
    "M0": "current",
    "M1": "1–30",
    "M2": "31–60",
    "M3": "61–90",
    "M4": "91–120",
    "M5": "121–150",
    "M6": "151–180",
    "M7+": "181+",
}
assert tuple(BUCKET_DAYS) == BUCKETS
