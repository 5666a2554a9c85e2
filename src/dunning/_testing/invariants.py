"""Invariants any rule set must keep, checked by property tests on generated loan histories.

Each `check_<name>(rules, *, settings=None)` runs a hypothesis test on cases from `cases`
(a realistic loan history plus an `as_of`, twisted towards the situation the invariant is
about), and raises `InvariantViolation` with the *shrunk* counterexample — the events as JSON
Lines and the `as_of` — when the engine, with this rule set, does what the invariant forbids.
`rules` is a loaded `RuleSet` or the path of a rule file.

The invariants themselves (what each checks, on which twist of the cases) are the table in
`invariant_table`; this module runs them under hypothesis, bounds the shrinking and reports.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, Verbosity, given
from hypothesis import settings as Settings
from hypothesis import strategies as st

from .._base.errors import DunningError
from .._rules.loader import load_rules
from .cases import Case, cases
from .invariant_table import INVARIANTS as INVARIANTS
from .invariant_table import Invariant as Invariant
from .invariant_table import _cites_a_rule as _cites_a_rule
from .invariant_table import _decide as _decide
from .invariant_table import _deterministic as _deterministic
from .invariant_table import _engine as _engine
from .invariant_table import _Found as _Found
from .invariant_table import _level as _level
from .invariant_table import _monotonic_escalation as _monotonic_escalation
from .invariant_table import _no_contact_on_ceased as _no_contact_on_ceased
from .invariant_table import _no_limit_broken as _no_limit_broken
from .invariant_table import _no_step_when_settled as _no_step_when_settled
from .invariant_table import _prerequisites_respected as _prerequisites_respected
from .invariant_table import _shifted as _shifted
from .invariant_table import _state as _state
from .invariant_table import _summary as _summary

__all__ = [
    "INVARIANTS",
    "InvariantViolation",
    "check_all",
    "check_cites_a_rule",
    "check_deterministic",
    "check_monotonic_escalation",
    "check_no_contact_on_ceased",
    "check_no_limit_broken",
    "check_no_step_when_settled",
    "check_prerequisites_respected",
    "run_invariant",
]


class InvariantViolation(DunningError, AssertionError):
    """A rule set broke an invariant; the message holds the shrunk counterexample.

    Attributes: `invariant` (name), `problem` (what went wrong), `events_jsonl` (the events as
    JSON Lines) and `as_of` (ISO-8601), so a service can store and replay the case.
    """

    def __init__(self, invariant: str, rule_set: str, case: Case, problem: str) -> None:
        self.invariant = invariant
        self.problem = problem
        self.events_jsonl = case.jsonl()
        self.as_of = case.as_of.isoformat()
        super().__init__(
            f"invariant {invariant!r} broken by rule set {rule_set}\n"
            f"problem: {problem}\n"
            f"as_of: {self.as_of}\n"
            f"events ({len(case.events)}, JSON Lines):\n{self.events_jsonl}"
        )


# -- running --------------------------------------------------------------------------------


def _load(rules: Any) -> Any:
    if isinstance(rules, str | Path):
        return load_rules(rules)
    return rules


def _settings(given_settings: Settings | None) -> Settings:
    parent = given_settings if given_settings is not None else Settings()
    quiet = parent.verbosity == Verbosity.normal
    return Settings(
        parent,
        deadline=None,
        report_multiple_bugs=False,
        verbosity=Verbosity.quiet if quiet else parent.verbosity,
        phases=[p for p in parent.phases if p != Phase.explain],  # costly; the report says why
        suppress_health_check=[
            *parent.suppress_health_check,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
        ],
    )


def run_invariant(name: str, rules: Any, *, settings: Settings | None = None) -> None:
    """Check invariant `name` on `rules` (RuleSet or path); InvariantViolation when broken."""
    inv = INVARIANTS[name]
    ruleset = _load(rules)
    engine = _engine(ruleset)
    label = f"{ruleset.id} {ruleset.version}" + (
        f" ({ruleset.source_path})" if ruleset.source_path else ""
    )
    days = st.integers(1, 90) if inv.shift else st.just(0)
    budget = _ShrinkBudget()

    @_settings(settings)
    @given(cases(ruleset, inv.twist), days)
    def run(case: Case, k: int) -> None:
        if budget.spent(case, k):
            return
        try:
            if inv.shift:
                inv.prop(ruleset, engine, case, k)
            else:
                inv.prop(ruleset, engine, case)
        except _Found:
            budget.failed(case, k)
            raise

    try:
        run()
    except _Found as found:
        raise InvariantViolation(name, label, found.case, found.problem) from None


class _ShrinkBudget:
    """Bounds shrinking to SHRINK_CALLS runs after the first failure (counted, not timed, so
    the result is the same on every machine). Once spent, every case passes except those seen
    failing, so hypothesis stops and reports the smallest of them.
    """

    SHRINK_CALLS = 150

    def __init__(self) -> None:
        self.calls = 0
        self.failing: set[tuple[str, str, int]] = set()

    def spent(self, case: Case, k: int) -> bool:
        if not self.failing:
            return False
        self.calls += 1
        return self.calls > self.SHRINK_CALLS and _key(case, k) not in self.failing

    def failed(self, case: Case, k: int) -> None:
        self.failing.add(_key(case, k))


def _key(case: Case, k: int) -> tuple[str, str, int]:
    return (case.jsonl(), case.as_of.isoformat(), k)


def check_all(rules: Any, *, settings: Settings | None = None) -> dict[str, str | None]:
    """Run every invariant; name -> None when it holds, else the violation's text."""
    ruleset = _load(rules)
    out: dict[str, str | None] = {}
    for name in INVARIANTS:
        try:
            run_invariant(name, ruleset, settings=settings)
            out[name] = None
        except InvariantViolation as err:
            out[name] = str(err)
    return out


# -- one public function per invariant (the table in `invariant_table`) ------------------


def check_no_limit_broken(rules: Any, *, settings: Settings | None = None) -> None:
    """No decision proposes a step that breaks a limit at its not_before (or as_of)."""
    run_invariant("no_limit_broken", rules, settings=settings)


def check_no_step_when_settled(rules: Any, *, settings: Settings | None = None) -> None:
    """No collection step once the loan is settled or closed, or while a bankruptcy stay runs."""
    run_invariant("no_step_when_settled", rules, settings=settings)


def check_no_contact_on_ceased(rules: Any, *, settings: Settings | None = None) -> None:
    """No step on a channel the borrower ceased (cease_requested.<channel> or any)."""
    run_invariant("no_contact_on_ceased", rules, settings=settings)


def check_deterministic(rules: Any, *, settings: Settings | None = None) -> None:
    """The same input gives the same decision JSON, however it is presented."""
    run_invariant("deterministic", rules, settings=settings)


def check_prerequisites_respected(rules: Any, *, settings: Settings | None = None) -> None:
    """A step guarded by a prerequisite limit comes only after that prerequisite (min_gap)."""
    run_invariant("prerequisites_respected", rules, settings=settings)


def check_monotonic_escalation(rules: Any, *, settings: Settings | None = None) -> None:
    """More days past due, all else equal, never yields a lower ladder level."""
    run_invariant("monotonic_escalation", rules, settings=settings)


def check_cites_a_rule(rules: Any, *, settings: Settings | None = None) -> None:
    """Every decision proposing a step cites the rule that proposed it, with a source."""
    run_invariant("cites_a_rule", rules, settings=settings)
