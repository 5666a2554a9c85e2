"""The outcome report: figures per arm and segment, intervals, arm tests, warnings (see _outcomes).

One shape for real and simulated outcomes: `OutcomeReport.to_dict()` is what the CLI prints
as JSON and what the HTML report and its tests read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from .._base.money import ZERO
from .metrics import BUCKETS
from .stats import (
    Diff,
    Rate,
    adjust,
    amounts_test,
    compare_counts,
    compare_proportions,
    count_rate,
    proportion,
)

__all__ = ["GroupFigures", "LoanOutcome", "OutcomeReport", "build_report"]

ALL = "all"


@dataclass(frozen=True)
class LoanOutcome:
    """One account after its entry decision (see `_outcomes`' theory of operation)."""

    loan_id: str
    arm: str
    segments: dict[str, str]
    entry_bucket: str
    delinquent: bool
    buckets: dict[int, str]  # window -> bucket at its end (observed windows only)
    overdue: Decimal
    recovered: Decimal
    promises: int = 0
    promises_kept: int = 0
    contacts: int = 0
    complaints: int = 0
    disputes: int = 0

    def cured(self, window: int) -> bool | None:
        """Cured at `window` (None when not delinquent at entry or the window is unobserved)."""
        if not self.delinquent or window not in self.buckets:
            return None
        return self.buckets[window] == "M0"


def _ratio(num: Decimal, den: Decimal) -> Decimal | None:
    if not den:
        return None
    return (num / den).quantize(Decimal("0.0001"), rounding=ROUND_HALF_EVEN)


@dataclass(frozen=True)
class GroupFigures:
    """The figures of one arm in one segment."""

    accounts: int
    delinquent: int
    cure: dict[int, Rate]  # window -> cured among the delinquent at entry (observed)
    roll: dict[int, dict[str, dict[str, int]]]  # window -> entry bucket -> bucket then -> n
    overdue: Decimal
    recovered: Decimal
    promise_kept: Rate
    contacts: int
    cures: int  # cured at the longest window
    complaints: Rate  # per 1,000 accounts
    disputes: Rate  # per 1,000 accounts
    shares: tuple[float, ...] = field(default=(), repr=False)  # per account recovered/overdue

    @property
    def recovered_share(self) -> Decimal | None:
        return _ratio(self.recovered, self.overdue)

    @property
    def contacts_per_cure(self) -> Decimal | None:
        return _ratio(Decimal(self.contacts), Decimal(self.cures))

    def roll_rates(self, window: int) -> dict[str, dict[str, Decimal]]:
        """Row-normalised roll matrix: from each entry bucket, the share in each bucket then."""
        out = {}
        for src, row in self.roll.get(window, {}).items():
            total = sum(row.values())
            out[src] = {dst: Decimal(n) / total for dst, n in row.items()}
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "accounts": self.accounts,
            "delinquent": self.delinquent,
            "cure_rate": {str(w): r.to_dict() for w, r in self.cure.items()},
            "roll": {str(w): m for w, m in self.roll.items()},
            "overdue": str(self.overdue),
            "recovered": str(self.recovered),
            "recovered_share": _text(self.recovered_share),
            "promise_kept": self.promise_kept.to_dict(),
            "contacts": self.contacts,
            "cures": self.cures,
            "contacts_per_cure": _text(self.contacts_per_cure),
            "complaints_per_1000": self.complaints.to_dict(),
            "disputes_per_1000": self.disputes.to_dict(),
        }


def _text(x: Decimal | None) -> str | None:
    return None if x is None else str(x)


@dataclass
class OutcomeReport:
    """Per segment ("all", "bucket=M2", ...) and arm, the figures; the arm tests; warnings."""

    windows: tuple[int, ...]
    arms: tuple[str, ...]  # champion first
    champion: str
    by: tuple[str, ...]
    groups: dict[str, dict[str, GroupFigures]]
    diffs: list[Diff]
    warnings: list[str]
    params: dict[str, str]
    rule_sets: dict[str, list[dict[str, str]]]

    def diff(self, metric: str, segment: str = ALL, arm: str | None = None) -> Diff:
        """The test of `metric` (e.g. "cure_rate@30") in `segment` for `arm` vs the champion."""
        for d in self.diffs:
            if d.metric == metric and d.segment == segment and (arm is None or d.arm == arm):
                return d
        raise KeyError(f"no test of {metric!r} in segment {segment!r} for arm {arm!r}")

    def significant(self) -> list[Diff]:
        return [d for d in self.diffs if d.significant]

    def to_dict(self) -> dict[str, Any]:
        return {
            "windows": list(self.windows),
            "arms": list(self.arms),
            "champion": self.champion,
            "by": list(self.by),
            "params": dict(self.params),
            "rule_sets": self.rule_sets,
            "groups": {
                seg: {arm: g.to_dict() for arm, g in arms.items()}
                for seg, arms in self.groups.items()
            },
            "diffs": [d.to_dict() for d in self.diffs],
            "warnings": list(self.warnings),
        }


def figures(rows: list[LoanOutcome], windows: tuple[int, ...], min_sample: int) -> GroupFigures:
    """Sum one arm's rows in one segment."""
    delinquent = [r for r in rows if r.delinquent]
    cure = {}
    roll: dict[int, dict[str, dict[str, int]]] = {}
    for w in windows:
        seen = [c for c in (r.cured(w) for r in delinquent) if c is not None]
        cure[w] = proportion(sum(seen), len(seen), min_sample)
        matrix: dict[str, dict[str, int]] = {}
        for r in rows:
            if w in r.buckets:
                row = matrix.setdefault(r.entry_bucket, {})
                row[r.buckets[w]] = row.get(r.buckets[w], 0) + 1
        roll[w] = {
            b: dict(sorted(matrix[b].items(), key=lambda kv: BUCKETS.index(kv[0])))
            for b in BUCKETS
            if b in matrix
        }
    last = windows[-1]
    n = len(rows)
    return GroupFigures(
        accounts=n,
        delinquent=len(delinquent),
        cure=cure,
        roll=roll,
        overdue=sum((r.overdue for r in delinquent), ZERO),
        recovered=sum((r.recovered for r in delinquent), ZERO),
        promise_kept=proportion(
            sum(r.promises_kept for r in rows), sum(r.promises for r in rows), min_sample
        ),
        contacts=sum(r.contacts for r in rows),
        cures=sum(1 for r in delinquent if r.cured(last)),
        complaints=count_rate(sum(r.complaints for r in rows), n, min_sample),
        disputes=count_rate(sum(r.disputes for r in rows), n, min_sample),
        shares=tuple(
            float(min(r.recovered / r.overdue, Decimal(1))) for r in delinquent if r.overdue > 0
        ),
    )


def _segments(rows: list[LoanOutcome], by: tuple[str, ...]) -> dict[str, list[LoanOutcome]]:
    out: dict[str, list[LoanOutcome]] = {ALL: list(rows)}
    for key in by:
        values = sorted({r.segments[key] for r in rows}, key=lambda v: _order(key, v))
        for v in values:
            out[f"{key}={v}"] = [r for r in rows if r.segments[key] == v]
    return out


def _order(key: str, value: str) -> tuple[int, str]:
    if key == "bucket" and value in BUCKETS:
        return BUCKETS.index(value), value
    return len(BUCKETS), value


def _diffs(
    seg: str, groups: Mapping[str, GroupFigures], champion: str, windows: tuple[int, ...]
) -> list[Diff]:
    out: list[Diff] = []
    base = groups.get(champion)
    if base is None:
        return out
    for arm, g in groups.items():
        if arm == champion:
            continue
        tests: list[tuple[str, Rate, Rate, str]] = [
            (f"cure_rate@{w}", base.cure[w], g.cure[w], "p") for w in windows
        ]
        tests += [
            ("promise_kept", base.promise_kept, g.promise_kept, "p"),
            ("complaints_per_1000", base.complaints, g.complaints, "c"),
            ("disputes_per_1000", base.disputes, g.disputes, "c"),
        ]
        for metric, a, b, kind in tests:
            run = compare_proportions if kind == "p" else compare_counts
            delta, test, p = run(a, b)
            value = b.text() if b.n else "–"
            out.append(Diff(metric, seg, value, arm, champion, delta, test, p, a.small or b.small))
        delta, test, p = amounts_test(list(base.shares), list(g.shares))
        small = len(base.shares) < 2 or len(g.shares) < 2
        share = g.recovered_share
        out.append(Diff("recovered_share", seg, "–" if share is None else f"{share * 100:.1f}%",
                        arm, champion, delta, test, p, small))  # fmt: skip
    return out


def build_report(
    rows: Iterable[LoanOutcome],
    windows: tuple[int, ...],
    by: tuple[str, ...],
    champion: str,
    min_sample: int,
    params: dict[str, str],
    rule_sets: Mapping[str, set[tuple[str, str, str]]],
) -> OutcomeReport:
    """Group the rows, compute figures, tests and minimum-sample warnings."""
    rows = list(rows)
    arms = sorted({r.arm for r in rows}, key=lambda a: (a != champion, a))
    groups: dict[str, dict[str, GroupFigures]] = {}
    diffs: list[Diff] = []
    warnings: list[str] = []
    for seg, members in _segments(rows, by).items():
        per_arm = {}
        for arm in arms:
            mine = [r for r in members if r.arm == arm]
            if mine:
                per_arm[arm] = figures(mine, windows, min_sample)
        groups[seg] = per_arm
        diffs += _diffs(seg, per_arm, champion, windows)
        for arm, g in per_arm.items():
            if g.delinquent < min_sample:
                warnings.append(
                    f"segment {seg}, arm {arm}: {g.delinquent} delinquent account(s) at"
                    f" entry, under the minimum sample of {min_sample}: wide intervals,"
                    " tests unreliable"
                )
    unobserved = [w for w in windows if all(not g.cure[w].n for g in groups[ALL].values())]
    if rows and unobserved:
        warnings.append(
            f"window(s) {', '.join(map(str, unobserved))} days: no account observed that"
            " long after its decision (the events end too early)"
        )
    diffs = adjust(diffs)
    refs = {
        arm: [{"id": i, "version": v, "sha256": s} for i, v, s in sorted(found)]
        for arm, found in sorted(rule_sets.items())
    }
    return OutcomeReport(
        windows, tuple(arms), champion, by, groups, diffs, warnings, dict(params), refs
    )
