"""The invariant table: one property per invariant, run by `invariants.run_invariant`.

A property takes the loaded rule set, an engine and a generated `Case` (and, for
monotonicity, a number of days) and raises `_Found` with the problem when the decision does
what the invariant forbids; `invariants` turns that into the shrunk `InvariantViolation`.

=========================  ======  ==========================================================
invariant                  twist   fails when the decision ...
=========================  ======  ==========================================================
no_limit_broken            steps   proposes a step that, at its not_before (or as_of), breaks
                                   a limit of the file, per the independent `checker`
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
from typing import Any

from .._decide.engine import Engine
from .._rules.schema import Prerequisite
from .._state.account import AccountState
from .._state.events import InstallmentDue
from .._state.parse import event_to_dict
from .cases import Case
from .checker import applies, breaches, prerequisite_met


class _Found(AssertionError):
    """Raised inside the hypothesis test so it shrinks; turned into InvariantViolation."""

    def __init__(self, problem: str, case: Case) -> None:
        super().__init__(problem)
        self.problem = problem
        self.case = case


# -- helpers ----------------------------------------------------------------------------------


def _engine(rules: Any) -> Any:

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
