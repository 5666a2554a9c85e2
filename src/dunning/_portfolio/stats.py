"""Rates with confidence intervals and tests between arms (scipy.stats, the `analytics` extra).

Theory of operation: every figure of an outcome report is one of three kinds, and each kind
has one interval and one test, chosen here once for all reports (table):

    kind        example                      interval (95%)                 arm difference test
    proportion  cure rate, promise kept      Wilson score (binomtest)       Fisher's exact, 2x2
    count rate  complaints per 1,000         exact Poisson (chi-square)     Poisson means (E-test)
    amounts     recovered / overdue          —                              Mann-Whitney U

A figure whose denominator is under `min_sample` is marked `small` and named in the report's
warnings: its interval is wide and a test on it says little. A report runs many tests (each
figure, window and segment), so besides each test's own p-value it gives the p-values
adjusted for the false discovery rate over all of them (Benjamini-Hochberg,
`scipy.stats.false_discovery_control`): `significant` reads the test alone, `significant_adjusted`
the whole report (in an A/A split about one test in twenty is "significant" alone by chance).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from .._base.errors import InputError

__all__ = [
    "CONFIDENCE",
    "Diff",
    "Rate",
    "adjust",
    "amounts_test",
    "count_rate",
    "proportion",
    "stats",
]

CONFIDENCE = 0.95
ALPHA = 0.05


def stats() -> Any:
    """scipy.stats, or InputError naming the extra to install."""
    try:
        import scipy.stats
    except ImportError:
        raise InputError(
            "outcome analytics need scipy: pip install 'dunning[analytics]'"
            " (it brings scipy.stats for the intervals and tests)"
        ) from None
    return scipy.stats


@dataclass(frozen=True)
class Rate:
    """`k` of `n` (or `k` events over `n` accounts, scaled by `per`) with its 95% interval."""

    k: int
    n: int
    low: float | None
    high: float | None
    per: int = 1  # 1 for a proportion, 1000 for "per 1,000 accounts"
    small: bool = False

    @property
    def value(self) -> float | None:
        return None if not self.n else self.per * self.k / self.n

    def to_dict(self) -> dict[str, Any]:
        return {
            "k": self.k,
            "n": self.n,
            "value": _fmt(self.value),
            "ci": [_fmt(self.low), _fmt(self.high)],
            "small": self.small,
        }

    def text(self, pct: bool | None = None) -> str:
        """'41.2% [37.0, 45.5] (n=512)' or '12.3 [8.1, 17.9] per 1,000 (n=812)'."""
        if self.value is None:
            return "– (n=0)"
        scale = 100 if (self.per == 1 if pct is None else pct) else 1
        unit = "%" if scale == 100 else ""
        low = "" if self.low is None else f"{self.low * scale:.1f}"
        high = "" if self.high is None else f"{self.high * scale:.1f}"
        mark = " ⚠" if self.small else ""
        return f"{self.value * scale:.1f}{unit} [{low}, {high}] (n={self.n}){mark}"


@dataclass(frozen=True)
class Diff:
    """Arm minus champion for one figure, with the test's name and p-value."""

    metric: str
    segment: str
    value: str
    arm: str
    champion: str
    delta: float | None
    test: str
    p_value: float | None
    small: bool
    p_adjusted: float | None = None  # Benjamini-Hochberg over all the report's tests

    @property
    def significant(self) -> bool:
        return self.p_value is not None and self.p_value < ALPHA and not self.small

    @property
    def significant_adjusted(self) -> bool:
        return self.p_adjusted is not None and self.p_adjusted < ALPHA and not self.small

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "segment": self.segment,
            "value": self.value,
            "arm": self.arm,
            "champion": self.champion,
            "delta": _fmt(self.delta),
            "test": self.test,
            "p_value": _fmt(self.p_value),
            "p_adjusted": _fmt(self.p_adjusted),
            "significant": self.significant,
            "significant_adjusted": self.significant_adjusted,
            "small": self.small,
        }


def _fmt(x: float | None) -> str | None:
    return None if x is None else f"{x:.4g}"


def proportion(k: int, n: int, min_sample: int) -> Rate:
    """k of n with its Wilson score interval."""
    if not n:
        return Rate(k, n, None, None, small=True)
    ci = stats().binomtest(k, n).proportion_ci(confidence_level=CONFIDENCE, method="wilson")
    return Rate(k, n, float(ci.low), float(ci.high), small=n < min_sample)


def count_rate(k: int, n: int, min_sample: int, per: int = 1000) -> Rate:
    """k events over n accounts, per `per` accounts, with the exact Poisson interval."""
    if not n:
        return Rate(k, n, None, None, per=per, small=True)
    chi2 = stats().chi2
    a = (1 - CONFIDENCE) / 2
    low = 0.0 if k == 0 else float(chi2.ppf(a, 2 * k)) / 2
    high = float(chi2.ppf(1 - a, 2 * k + 2)) / 2
    return Rate(k, n, per * low / n, per * high / n, per=per, small=n < min_sample)


def compare_proportions(a: Rate, b: Rate) -> tuple[float | None, str, float | None]:
    """(b - a, test name, p) for two proportions: Fisher's exact test on the 2x2 table."""
    if not a.n or not b.n:
        return None, "fisher_exact", None
    table = [[b.k, b.n - b.k], [a.k, a.n - a.k]]
    p = float(stats().fisher_exact(table).pvalue)
    return b.k / b.n - a.k / a.n, "fisher_exact", p


def compare_counts(a: Rate, b: Rate) -> tuple[float | None, str, float | None]:
    """(b - a per `per`, test name, p) for two count rates: the Poisson means E-test."""
    if not a.n or not b.n:
        return None, "poisson_means_test", None
    p = float(stats().poisson_means_test(b.k, b.n, a.k, a.n).pvalue)
    return a.per * (b.k / b.n - a.k / a.n), "poisson_means_test", p


def adjust(diffs: list[Diff]) -> list[Diff]:
    """`diffs` with `p_adjusted` set: Benjamini-Hochberg over those that have a p-value."""
    tested = [i for i, d in enumerate(diffs) if d.p_value is not None]
    if not tested:
        return diffs
    ps = [diffs[i].p_value for i in tested]
    adjusted = stats().false_discovery_control(ps, method="bh")
    out = list(diffs)
    for i, q in zip(tested, adjusted, strict=True):
        out[i] = replace(diffs[i], p_adjusted=float(q))
    return out


def amounts_test(a: list[float], b: list[float]) -> tuple[float | None, str, float | None]:
    """(mean b - mean a, test name, p) for per-account amounts: Mann-Whitney U."""
    if not a or not b:
        return None, "mannwhitneyu", None
    delta = sum(b) / len(b) - sum(a) / len(a)
    if len(set(a) | set(b)) < 2:
        return delta, "mannwhitneyu", 1.0
    p = float(stats().mannwhitneyu(b, a, alternative="two-sided").pvalue)
    return delta, "mannwhitneyu", p
