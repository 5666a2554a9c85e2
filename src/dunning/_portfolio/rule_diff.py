"""Rule-change impact: decide every loan with the old and the new rule set, list what changes.

Theory of operation
-------------------

For each instant (one `as_of`, or one per day from `start` to `end` at the same time of
day) every loan opened by then is decided twice, on the same events (those at or before the
instant), by the old and by the new rule set. A loan *changes* when the outcome differs:
its step, or its status (act, defer, blocked, none). For each change the report names

* the rules responsible: the chosen rule of each side when they differ, and the rules that
  matched on one side only (with their source lines), and
* the limits responsible: the limits that held a step back on one side only,

and counts changes per (old → new) pair and per day, and the loans newly blocked (no lawful
step under the new rules where the old had one) and unblocked. Evidence for a reviewer to
sign a change off; nothing is written anywhere.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from .._base.errors import InputError
from .._base.time import aware, iso_utc
from .._decide.decision import Decision
from .._decide.engine import Engine
from .._rules.loader import load_rules
from .._state.events import Event
from .feeds import group_by_loan, read_jsonl

__all__ = ["Change", "DiffReport", "diff", "outcome_label"]

MAX_DAYS = 366


def outcome_label(d: Decision) -> str:
    """'phone_call', 'phone_call (defer)', 'blocked', 'none': what a reviewer compares."""
    if d.status in ("blocked", "none"):
        return d.status
    return f"{d.step} (defer)" if d.status == "defer" else str(d.step)


@dataclass(frozen=True)
class Change:
    """One loan whose decision changes at one instant, with the rules and limits responsible."""

    loan_id: str
    as_of: str
    old: str
    new: str
    old_rule: str | None
    new_rule: str | None
    rules: tuple[str, ...]  # rule ids responsible
    sources: tuple[str, ...]  # their rule file lines, same order
    limits: tuple[str, ...]  # limit ids holding a step back on one side only

    def to_dict(self) -> dict[str, Any]:
        return {
            "loan_id": self.loan_id,
            "as_of": self.as_of,
            "old": self.old,
            "new": self.new,
            "old_rule": self.old_rule,
            "new_rule": self.new_rule,
            "rules": list(self.rules),
            "sources": list(self.sources),
            "limits": list(self.limits),
        }


@dataclass
class DiffReport:
    """Every change, the counts per (old → new) pair and per day, blocked and unblocked."""

    old: dict[str, str]  # id, version, sha256
    new: dict[str, str]
    instants: list[str]
    decided: int  # loan decisions compared (loans x instants)
    changes: list[Change]
    params: dict[str, str] = field(default_factory=dict)

    @property
    def pairs(self) -> Counter[tuple[str, str]]:
        return Counter((c.old, c.new) for c in self.changes)

    @property
    def per_day(self) -> dict[str, int]:
        counts = Counter(c.as_of for c in self.changes)
        return {t: counts[t] for t in self.instants}

    @property
    def newly_blocked(self) -> list[Change]:
        return [c for c in self.changes if c.new == "blocked"]

    @property
    def unblocked(self) -> list[Change]:
        return [c for c in self.changes if c.old == "blocked"]

    def loans(self) -> set[str]:
        return {c.loan_id for c in self.changes}

    def to_dict(self) -> dict[str, Any]:
        return {
            "old": self.old,
            "new": self.new,
            "params": dict(self.params),
            "instants": list(self.instants),
            "decided": self.decided,
            "changed": len(self.changes),
            "pairs": [
                {"old": o, "new": n, "count": k}
                for (o, n), k in sorted(self.pairs.items(), key=lambda kv: (-kv[1], kv[0]))
            ],
            "per_day": self.per_day,
            "newly_blocked": sorted({c.loan_id for c in self.newly_blocked}),
            "unblocked": sorted({c.loan_id for c in self.unblocked}),
            "changes": [c.to_dict() for c in self.changes],
        }


def _ref(rules: Any) -> dict[str, str]:
    return {"id": rules.id, "version": rules.version, "sha256": rules.sha256}


def instants(
    as_of: datetime | str | None, start: datetime | str | None, end: datetime | str | None
) -> list[datetime]:
    """One instant, or one per day from `start` to `end` (both included), same local time."""
    if as_of is not None:
        if start is not None or end is not None:
            raise InputError("diff: expected either as_of or a start/end range, found both")
        return [aware(as_of, what="as_of")]
    if start is None or end is None:
        raise InputError("diff: expected as_of, or both start and end of a date range")
    lo, hi = aware(start, what="start"), aware(end, what="end")
    days = (hi - lo).days
    if hi < lo or days > MAX_DAYS:
        raise InputError(
            f"diff range: expected end at or after start and at most {MAX_DAYS} days,"
            f" found {iso_utc(lo)} to {iso_utc(hi)}"
        )
    return [lo + timedelta(days=k) for k in range(days + 1)]


def diff(
    old: Any,
    new: Any,
    events: str | Path | Iterable[Event | Mapping[str, Any]],
    *,
    as_of: datetime | str | None = None,
    start: datetime | str | None = None,
    end: datetime | str | None = None,
) -> DiffReport:
    """Decide every loan of `events` with `old` and `new` (RuleSets or paths); what changes."""
    rs_old = old if hasattr(old, "sha256") else load_rules(old)
    rs_new = new if hasattr(new, "sha256") else load_rules(new)
    when = instants(as_of, start, end)
    stream = read_jsonl(events) if isinstance(events, str | Path) else events
    by_loan = group_by_loan(stream)
    a, b = Engine(rs_old), Engine(rs_new)
    changes: list[Change] = []
    decided = 0
    for t in when:
        for evs in by_loan.values():
            kept = [e for e in evs if e.at <= t]
            if not any(e.type == "loan_opened" for e in kept):
                continue  # not opened yet at this instant
            before, after = a.decide(kept, t), b.decide(kept, t)
            decided += 1
            change = _change(before, after, iso_utc(t))
            if change is not None:
                changes.append(change)
    params = {
        "as_of": "" if as_of is None else iso_utc(when[0]),
        "from": "" if start is None else iso_utc(when[0]),
        "to": "" if end is None else iso_utc(when[-1]),
        "loans": str(len(by_loan)),
    }
    return DiffReport(
        _ref(rs_old), _ref(rs_new), [iso_utc(t) for t in when], decided, changes, params
    )


def _change(before: Decision, after: Decision, at: str) -> Change | None:
    old, new = outcome_label(before), outcome_label(after)
    if old == new:
        return None
    src_old = {m.rule_id: m.source for m in before.matched}
    src_new = {m.rule_id: m.source for m in after.matched}
    rules = sorted(set(src_old) ^ set(src_new))
    for chosen in (before.chosen_rule, after.chosen_rule):
        if chosen and before.chosen_rule != after.chosen_rule and chosen not in rules:
            rules.append(chosen)
    limits_old = {x.limit_id for x in before.blocked}
    limits_new = {x.limit_id for x in after.blocked}
    return Change(
        loan_id=before.loan_id,
        as_of=at,
        old=old,
        new=new,
        old_rule=before.chosen_rule,
        new_rule=after.chosen_rule,
        rules=tuple(rules),
        sources=tuple(src_new.get(r) or src_old.get(r, "") for r in rules),
        limits=tuple(sorted(limits_old ^ limits_new)),
    )
