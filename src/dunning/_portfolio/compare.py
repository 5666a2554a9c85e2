"""Champion/challenger: split a portfolio by hash of loan id, simulate each arm, compare.

The split is deterministic and stateless: a loan goes to the challenger when the first 64
bits of ``sha256(salt + ":" + loan_id)``, read as a fraction of 2**64, fall below `share`.
So the same loan lands in the same arm in every run, process and batch, no table of
assignments is kept, and raising the share only ever moves loans *into* the challenger.

Both arms simulate the same generated portfolio with the same per-loan behaviour seeds
(see `simulate`), so the difference between arms is the rule sets, not the luck of the draw.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import time as _time
from datetime import timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

from .._base.errors import InputError
from .._base.time import local_at
from .._decide.engine import Engine
from .._decide.split import arm_of, tag
from .._rules.loader import load_rules
from .metrics import ARMS, BUCKETS, ArmMetrics
from .outcome_report import OutcomeReport
from .outcomes import outcomes
from .simulate import SimConfig, simulate

__all__ = [
    "ArmMetrics",
    "CompareReport",
    "arm_of",
    "compare",
    "render_png",
    "render_table",
    "roll_rates",
]


@dataclass(frozen=True)
class CompareReport:
    """Both arms' metrics and the names of their rule sets."""

    config: SimConfig
    share: str
    names: dict[str, str]  # arm -> "rule_set_id version"
    arms: dict[str, ArmMetrics]
    # The simulated decisions and events through `outcomes`: the real-data report's shape.
    outcomes: OutcomeReport | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "share": self.share,
            "seed": self.config.seed,
            "accounts": self.config.accounts,
            "days": self.config.days,
            "start": self.config.start.isoformat(),
            "arms": {arm: {"rules": self.names[arm], **self.arms[arm].to_dict()} for arm in ARMS},
            "summary": {arm: summary(self.arms[arm]) for arm in ARMS},
            **({} if self.outcomes is None else {"outcomes": self.outcomes.to_dict()}),
        }


def compare(
    champion: Any,
    challenger: Any,
    config: SimConfig,
    *,
    share: float | Decimal | str = "0.5",
    salt: str = "",
    engines: tuple[Any, Any] | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    with_outcomes: bool = True,
) -> CompareReport:
    """Simulate `config`'s portfolio with `share` of loans under `challenger`, rest `champion`.

    With `with_outcomes` (the default; needs the `analytics` extra) the first decision of
    each loan and its simulated events go through `outcomes`, exactly as real decisions do:
    the report's `outcomes` has the real report's shape (windows of 30, 60, 90 days that fit
    in the run, else the run's length)."""

    text = str(Decimal(str(share)))
    arm_of("probe", text)  # validates the share before any work
    metrics: dict[str, ArmMetrics] = {}
    names: dict[str, str] = {}
    decisions: list[Any] = []
    events: list[Any] = []
    for i, (arm, rules) in enumerate(zip(ARMS, (champion, challenger), strict=True)):
        ruleset = rules if hasattr(rules, "sha256") else load_rules(rules)
        names[arm] = f"{ruleset.id} {ruleset.version}"

        def in_arm(loan_id: str, arm: str = arm) -> bool:
            return arm_of(loan_id, text, salt) == arm

        def tick(done: int, total: int, arm: str = arm) -> None:
            if progress is not None:
                progress(arm, done, total)

        engine = None if engines is None else engines[i]
        recorder = _Recorder(engine or Engine(ruleset), arm, f"simulation:{salt}:{text}")
        keep = recorder.events if with_outcomes else None
        metrics[arm] = simulate(ruleset, config, engine=recorder, arm_of=in_arm, progress=tick,
                                on_events=keep)  # fmt: skip
        decisions.extend(recorder.first.values())
        events.extend(recorder.kept)
    report = None
    if with_outcomes:
        windows = tuple(w for w in (30, 60, 90) if w <= config.days) or (config.days,)
        end = local_at(config.start, _time(config.decide_hour), config.timezone)
        report = outcomes(decisions, events, windows, champion="champion",
                          until=end + timedelta(days=config.days))  # fmt: skip
    return CompareReport(config, text, names, metrics, report)


class _Recorder:
    """An engine that keeps each loan's first decision (tagged with the arm) and its events."""

    def __init__(self, engine: Any, arm: str, experiment: str) -> None:
        self.engine, self.arm, self.experiment = engine, arm, experiment
        self.first: dict[str, Any] = {}
        self.kept: list[Any] = []

    def decide(self, state: Any, as_of: Any) -> Any:
        decision = self.engine.decide(state, as_of)
        if decision.loan_id not in self.first:
            self.first[decision.loan_id] = tag(decision, self.experiment, self.arm)
        return decision

    def events(self, _loan_id: str, events: list[Any]) -> None:
        self.kept.extend(events)


# --- derived figures -------------------------------------------------------------------------


def _ratio(num: int | Decimal, den: int | Decimal, places: str = "0.0001") -> Decimal:
    if not den:
        return Decimal(0)
    return (Decimal(num) / Decimal(den)).quantize(Decimal(places), rounding=ROUND_HALF_EVEN)


def roll_rates(m: ArmMetrics) -> dict[str, dict[str, Decimal]]:
    """From each bucket, the share of observations that stayed, rolled forward or back."""
    out: dict[str, dict[str, Decimal]] = {}
    for src in BUCKETS:
        moves = {dst: n for (a, dst), n in m.transitions.items() if a == src}
        total = sum(moves.values())
        if not total:
            continue
        rank = BUCKETS.index(src)
        worse = sum(n for dst, n in moves.items() if BUCKETS.index(dst) > rank)
        better = sum(n for dst, n in moves.items() if BUCKETS.index(dst) < rank)
        out[src] = {
            "forward": _ratio(worse, total),
            "stay": _ratio(moves.get(src, 0), total),
            "back": _ratio(better, total),
            "to_M0": _ratio(moves.get("M0", 0), total),
        }
    return out


def summary(m: ArmMetrics) -> dict[str, str]:
    """The headline figures of an arm, as decimal strings (per account where it says so)."""
    return {
        "accounts": str(m.accounts),
        "cure_rate": str(_ratio(m.cured, m.delinquent_at_start)),
        "collected": str(m.collected),
        "collected_per_account": str(_ratio(m.collected, m.accounts, "0.01")),
        "contacts_per_account": str(_ratio(m.contacts, m.accounts, "0.01")),
        "right_party_rate": str(_ratio(m.reached, m.contacts)),
        "limits_hit": str(sum(m.limits_hit.values())),
        "limits_hit_per_account": str(_ratio(sum(m.limits_hit.values()), m.accounts, "0.01")),
        "legal_steps": str(sum(m.legal_steps.values())),
        "legal_steps_per_account": str(_ratio(sum(m.legal_steps.values()), m.accounts, "0.01")),
    }


# --- rendering -------------------------------------------------------------------------------


def render_table(report: CompareReport) -> Any:
    """A rich Renderable: headline figures, roll rates, limits hit and legal steps."""
    from rich.console import Group
    from rich.table import Table

    a, b = (report.arms[x] for x in ARMS)
    head = Table(title=f"Champion / challenger (challenger share {report.share})")
    head.add_column("metric")
    for arm in ARMS:
        head.add_column(f"{arm}\n{report.names[arm]}", justify="right")
    sa, sb = summary(a), summary(b)
    for key in sa:
        head.add_row(key.replace("_", " "), sa[key], sb[key])
    rolls = Table(title="Roll rates (forward / stay / back, per observation)")
    rolls.add_column("from bucket")
    for arm in ARMS:
        rolls.add_column(arm, justify="right")
    ra, rb = roll_rates(a), roll_rates(b)
    for bucket in BUCKETS:
        if bucket in ra or bucket in rb:
            rolls.add_row(bucket, _roll_text(ra.get(bucket)), _roll_text(rb.get(bucket)))
    counts = Table(title="Limits hit (decisions) and legal steps taken")
    counts.add_column("what")
    for arm in ARMS:
        counts.add_column(arm, justify="right")
    for kind, attr in (("limit", "limits_hit"), ("legal", "legal_steps")):
        for key in sorted(set(getattr(a, attr)) | set(getattr(b, attr))):
            counts.add_row(f"{kind}: {key}", str(getattr(a, attr)[key]), str(getattr(b, attr)[key]))
    return Group(head, rolls, counts)


def _roll_text(r: dict[str, Decimal] | None) -> str:
    if r is None:
        return "-"
    return f"{_pct(r['forward'])} / {_pct(r['stay'])} / {_pct(r['back'])}"


def _pct(x: Decimal) -> str:
    return f"{(x * 100).quantize(Decimal('0.1'))}%"


def render_png(report: CompareReport, path: str | Path) -> Path:
    """Four panels side by side for both arms; needs the `sim` extra (matplotlib)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise InputError(
            "PNG charts need matplotlib: pip install 'dunning[sim]' (or leave out --png)"
        ) from None
    fig = _draw(plt, report)
    out = Path(path)
    fig.savefig(out, dpi=110, metadata={"Software": None})
    plt.close(fig)
    return out


_COLOURS = {"champion": "#4C72B0", "challenger": "#DD8452"}


def _draw(plt: Any, report: CompareReport) -> Any:
    """Six panels; every panel shows both arms as paired bars in the same two colours."""
    sums = {arm: summary(report.arms[arm]) for arm in ARMS}
    fig, axes = plt.subplots(2, 3, figsize=(15, 8.5), layout="constrained")
    fig.suptitle(
        f"Champion ({report.names['champion']}) vs challenger ({report.names['challenger']})"
        f" - {report.config.accounts} accounts, {report.config.days} days,"
        f" challenger share {report.share}, seed {report.config.seed}"
    )

    def pct(arm: str, key: str) -> float:
        return float(Decimal(sums[arm][key]) * 100)

    _bars(
        axes[0][0],
        "Rates (%)",
        ["cure rate", "right-party contacts"],
        {arm: [pct(arm, "cure_rate"), pct(arm, "right_party_rate")] for arm in ARMS},
    )
    _bars(
        axes[0][1],
        f"Collected per account ({report.config.currency})",
        ["collected"],
        {arm: [float(sums[arm]["collected_per_account"])] for arm in ARMS},
        fmt="%.0f",
    )
    keys = ("contacts_per_account", "limits_hit_per_account", "legal_steps_per_account")
    _bars(
        axes[0][2],
        "Per account",
        ["contacts", "limits hit", "legal steps"],
        {arm: [float(sums[arm][k]) for k in keys] for arm in ARMS},
    )
    rolls = {arm: roll_rates(report.arms[arm]) for arm in ARMS}
    buckets = [b for b in BUCKETS if any(b in rolls[arm] for arm in ARMS)]
    _bars(
        axes[1][0],
        "Roll-forward rate by bucket (%)",
        buckets,
        {
            arm: [float(rolls[arm].get(b, {}).get("forward", Decimal(0)) * 100) for b in buckets]
            for arm in ARMS
        },
    )
    ends = {arm: report.arms[arm].end_buckets for arm in ARMS}
    _bars(
        axes[1][1],
        "Accounts by bucket at the end (%)",
        list(BUCKETS),
        {
            arm: [float(_ratio(ends[arm][b], report.arms[arm].accounts) * 100) for b in BUCKETS]
            for arm in ARMS
        },
        fmt="%.0f",
    )
    _limits_panel(axes[1][2], report)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=2, frameon=False)
    return fig


def _limits_panel(ax: Any, report: CompareReport) -> None:
    """Horizontal bars (limit ids are long), the ten limits that held back most, per account."""
    per = {
        arm: {k: float(_ratio(n, report.arms[arm].accounts)) for k, n in m.limits_hit.items()}
        for arm, m in report.arms.items()
    }
    total = {k: per["champion"].get(k, 0.0) + per["challenger"].get(k, 0.0) for k in
             sorted(set(per["champion"]) | set(per["challenger"]))}  # fmt: skip
    top = sorted(total, key=lambda k: (-total[k], k))[:10][::-1]
    ax.set_title("Steps held back per account, by limit (top 10)")
    if not top:
        ax.text(0.5, 0.5, "no limit held back a step", ha="center", transform=ax.transAxes)
        ax.set_yticks([])
        return
    height = 0.38
    for i, arm in enumerate(ARMS):
        ys = [y + (i - 0.5) * height for y in range(len(top))]
        bars = ax.barh(ys, [per[arm].get(k, 0.0) for k in top], height, color=_COLOURS[arm])
        ax.bar_label(bars, fmt="%.2g", fontsize=7, padding=2)
    ax.set_yticks(range(len(top)), top, fontsize=8)
    ax.margins(x=0.15)
    ax.spines[["top", "right"]].set_visible(False)


def _bars(
    ax: Any,
    title: str,
    labels: list[str],
    values: dict[str, list[float]],
    fmt: str = "%.3g",
) -> None:
    width = 0.38
    xs = list(range(len(labels)))
    for i, arm in enumerate(ARMS):
        pos = [x + (i - 0.5) * width for x in xs]
        bars = ax.bar(pos, values[arm], width, label=arm, color=_COLOURS[arm])
        ax.bar_label(bars, fmt=fmt, fontsize=7, padding=2)
    ax.set_title(title)
    ax.set_xticks(xs, labels)
    ax.margins(y=0.15)
    ax.spines[["top", "right"]].set_visible(False)
