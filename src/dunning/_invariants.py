"""Invariants any rule set must keep, checked by property tests on generated loan histories.

Each `check_<name>(rules, *, settings=None)` runs a hypothesis test on cases from `_inv_cases`
(a realistic loan history plus an `as_of`, twisted towards the situation the invariant is
about), and raises `InvariantViolation` with the *shrunk* counterexample — the events as JSON
Lines and the `as_of` — when the engine, with this rule set, does what the invariant forbids.
`rules` is a loaded `RuleSet` or the path of a rule file.

=========================  ======  ==========================================================
invariant                  twist   fails when the decision ...
=========================  ======  ==========================================================
no_limit_broken            steps   proposes a step that, at its not_before (or as_of), breaks
                                   a limit of the file, per the independent `_limit_check`
no_step_when_settled       settled proposes a non-internal step while the loan is settled
                                   (or closed) or a bankruptcy stay is open
no_contact_on_ceased       ceased  proposes a step on a channel the borrower ceased (or any
                                   channel after a cease of every channel)
deterministic              steps   differs (canonical JSON) when made twice, from the folded
                                   state, or from JSON-shaped dicts in reverse order
prerequisites_respected    steps   proposes a step some prerequisite limit guards while that
                                   prerequisite was not taken at least min_gap before
monotonic_escalation       steps   escalates higher than the decision on the same history with
                                   every due date k days earlier (more dpd), unless a plan or
                                   promise is active or the claim becomes time-barred. The
                                   level compared is the highest level the rules proposed
                                   (matched), not the step the gate let through: the gate may
                                   hold a higher step back for reasons that have nothing to do
                                   with dpd (a ceased channel, a cap), which other invariants
                                   check
cites_a_rule               steps   proposes a step without a chosen rule among the matches
                                   that proposed that step with a non-empty source
=========================  ======  ==========================================================
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, Verbosity, given
from hypothesis import settings as Settings
from hypothesis import strategies as st

from ._errors import DunningError
from ._inv_cases import Case, cases
from ._limit_check import applies, breaches, prerequisite_met
from ._schema import Prerequisite
from .events import InstallmentDue, event_to_dict

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


class _Found(AssertionError):
    """Raised inside the hypothesis test so it shrinks; turned into InvariantViolation."""

    def __init__(self, problem: str, case: Case) -> None:
        super().__init__(problem)
        self.problem = problem
        self.case = case


# -- helpers ----------------------------------------------------------------------------------


def _engine(rules: Any) -> Any:
    from ._engine import Engine

    return Engine(rules)


def _decide(engine: Any, case: Case, events: Any = None) -> Any:
    try:
        return engine.decide(list(case.events if events is None else events), case.as_of)
    except Exception as exc:  # a crash on valid input is a finding too
        raise _Found(f"decide() raised {type(exc).__name__}: {exc}", case) from None


def _summary(d: Any) -> str:
    when = f" not_before={d.not_before.isoformat()}" if d.not_before else ""
    return f"decision {d.status} step={d.step!r}{when} chosen_rule={d.chosen_rule!r}"


def _state(case: Case) -> Any:
    from ._state import AccountState

    return AccountState.from_events(case.events)


# -- the properties (one per invariant) ---------------------------------------------------------


def _no_limit_broken(rules: Any, engine: Any, case: Case) -> None:
    d = _decide(engine, case)
    if d.step is None:
        return
    state = _state(case)
    at = d.not_before or case.as_of
    found = breaches(rules, state, d.step, at, state.facts(case.as_of, rules))
    if found:
        raise _Found(f"{_summary(d)} breaks: " + "; ".join(found), case)


def _no_step_when_settled(rules: Any, engine: Any, case: Case) -> None:
    d = _decide(engine, case)
    if d.step is None or rules.steps[d.step].kind == "internal":
        return
    facts = _state(case).facts(case.as_of, rules)
    why = [name for name in ("settled", "closed", "bankruptcy_stay") if facts.get(name)]
    if why:
        raise _Found(f"{_summary(d)} although {', '.join(why)} holds", case)


def _no_contact_on_ceased(rules: Any, engine: Any, case: Case) -> None:
    d = _decide(engine, case)
    if d.step is None:
        return
    channel = rules.steps[d.step].channel
    ceased = _state(case).ceased_channels
    if channel != "none" and (channel in ceased or "any" in ceased):
        raise _Found(f"{_summary(d)} on channel {channel!r}; ceased: {list(ceased)}", case)


def _deterministic(rules: Any, engine: Any, case: Case) -> None:
    first = _decide(engine, case).to_json()
    variants: dict[str, Callable[[], Any]] = {
        "again": lambda: _decide(engine, case),
        "from the folded state": lambda: engine.decide(_state(case), case.as_of),
        "from JSON-shaped dicts in reverse order": lambda: _decide(
            engine, case, [event_to_dict(e) for e in reversed(case.events)]
        ),
    }
    for how, make in variants.items():
        other = make().to_json()
        if other != first:
            raise _Found(f"decision made {how} differs:\n  {first}\n  {other}", case)


def _prerequisites_respected(rules: Any, engine: Any, case: Case) -> None:
    d = _decide(engine, case)
    if d.step is None:
        return
    state, step, at = _state(case), rules.steps[d.step], d.not_before or case.as_of
    guards = [
        lim
        for lim in rules.document.limits
        if isinstance(lim, Prerequisite) and lim.enabled and applies(lim.applies_to, step)
    ]
    for lim in guards:
        if not prerequisite_met(lim, state, at):
            raise _Found(
                f"{_summary(d)} skips prerequisite {lim.requires!r} (limit {lim.id!r},"
                f" min_gap {lim.min_gap}): not taken before {at.isoformat()}",
                case,
            )


def _shifted(case: Case, days: int) -> Case:
    out = [
        e.model_copy(update={"due_date": e.due_date - timedelta(days=days)})
        if isinstance(e, InstallmentDue)
        else e
        for e in case.events
    ]
    return Case(tuple(out), case.as_of)


def _monotonic_escalation(rules: Any, engine: Any, case: Case, days: int) -> None:
    # Due dates moved LATER by a ladder of shifts (less dpd) up to the history as generated:
    # along it dpd never decreases, so the level must not either. The fixed shifts cross the
    # usual band edges within few examples; the drawn one lets hypothesis shrink the gap.
    shifts = sorted({365, 180, 90, 30, days}, reverse=True)
    prev: tuple[int, Case, Any, Any] | None = None
    for later in [*shifts, 0]:
        shifted = _shifted(case, -later) if later else case
        facts = _state(shifted).facts(case.as_of, rules)
        if facts["promise_status"] == "active" or facts["plan_status"] == "active":
            return
        if facts["time_barred"] or facts["settled"]:
            return
        d = _decide(engine, shifted)
        if prev is not None and _level(d) < _level(prev[3]):
            raise _Found(
                f"with due dates {prev[0]} days later (dpd {prev[2]['dpd']}) the rules escalate"
                f" to level {_level(prev[3])} ({_summary(prev[3])}); with them {later} days later"
                f" (dpd {facts['dpd']}) only to level {_level(d)} ({_summary(d)})",
                case,
            )
        prev = (later, shifted, facts, d)


def _level(d: Any) -> int:
    return max((int(m.level) for m in d.matched), default=0)


def _cites_a_rule(rules: Any, engine: Any, case: Case) -> None:
    d = _decide(engine, case)
    if d.step is None:
        return
    cited = [
        m for m in d.matched if m.rule_id == d.chosen_rule and m.step == d.step and m.source.strip()
    ]
    if not cited:
        raise _Found(
            f"{_summary(d)} cites no rule: matched"
            f" {[(m.rule_id, m.step, m.source) for m in d.matched]}",
            case,
        )


@dataclass(frozen=True)
class Invariant:
    name: str
    twist: str
    prop: Callable[..., None]
    doc: str
    shift: bool = False  # the property also takes a number of days (monotonicity)


INVARIANTS: dict[str, Invariant] = {
    i.name: i
    for i in (
        Invariant("no_limit_broken", "steps", _no_limit_broken, "No decision breaks a limit."),
        Invariant(
            "no_step_when_settled",
            "settled",
            _no_step_when_settled,
            "No collection step after the loan is settled or during a bankruptcy stay.",
        ),
        Invariant(
            "no_contact_on_ceased",
            "ceased",
            _no_contact_on_ceased,
            "No communication on a channel the borrower asked the bank to cease.",
        ),
        Invariant("deterministic", "steps", _deterministic, "Decisions are deterministic."),
        Invariant(
            "prerequisites_respected",
            "steps",
            _prerequisites_respected,
            "Escalation never skips a prerequisite.",
        ),
        Invariant(
            "monotonic_escalation",
            "steps",
            _monotonic_escalation,
            "More days past due never lowers the ladder level (no plan or promise active).",
            shift=True,
        ),
        Invariant("cites_a_rule", "steps", _cites_a_rule, "Every proposed step cites a rule."),
    )
}


# -- running --------------------------------------------------------------------------------


def _load(rules: Any) -> Any:
    if isinstance(rules, str | Path):
        from ._loader import load_rules

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


# -- one public function per invariant (the table in the module docstring) --------------------


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
