"""Engine.decide(): facts -> rules -> compliance gate -> Decision.

Theory of operation, per decision:

1. Input. An `AccountState`, or an iterable of events (models, dicts or JSON texts). Events
   later than `as_of` are dropped before folding, so a past decision can be re-made at its own
   moment; a state holding events after `as_of` (a schedule loaded in advance) is cut at
   `as_of` (`AccountState.until`): both give the same decision, digest included.
2. Facts at `as_of` (`_state.facts.compute_facts`), only the families the rule set reads.
3. The backend returns the indices of the rules whose condition holds, in preference order:
   **priority desc, then ladder level of the proposed step desc, then step id asc, then rule
   id asc** (a total order, so the choice never depends on file order or on the backend).
4. Each match becomes a `Candidate`; the gate (`_gate.gate.evaluate`) chooses among them.
5. The Decision records every match (in preference order) with the facts its condition read
   and their values (money as canonical decimal strings), the rule set's id/version/sha256,
   the engine version, the input digest (`digest`), and gets its content id.

Both backends give identical decisions; ``backend="durable"`` is slower and serialised.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from .._backends.durable import compile_durable
from .._backends.python import compile_ruleset
from .._base.errors import EngineError, InputError, RuleSetNotInForce
from .._base.money import quantize
from .._base.time import aware, local_date, to_utc, zone
from .._base.version import __version__
from .._gate.gate import Candidate, evaluate
from .._gate.outcome import construct
from .._state.account import AccountState
from .._state.facts import compute_facts, context_for
from .._state.parse import parse_event
from .borrower import decide_borrower
from .borrower_decision import BorrowerDecision
from .decision import Decision
from .digest import decision_id, state_digest
from .feed import FeedDecisions, decide_feed
from .match import FactValue, Match, RuleSetRef, keep_match_shape, match_shape_of
from .position import position_of

__all__ = ["BACKENDS", "Engine", "preference_order"]

Backend = Literal["python", "durable"]
BACKENDS: tuple[str, ...] = ("python", "durable")


def preference_order(rules: Any) -> tuple[int, ...]:
    """Rule indices ranked: priority desc, step level desc, step id asc, rule id asc."""

    def key(i: int) -> tuple[int, int, str, str]:
        r = rules.rules[i].rule
        return (-r.priority, -rules.steps[r.step].level, r.step, r.id)

    return tuple(sorted(range(len(rules.rules)), key=key))


class _Plan:
    """Per-rule data the hot path needs, computed once per Engine (in preference order)."""

    def __init__(self, rules: Any):

        self.construct = construct
        self.order = preference_order(rules)
        self.candidate = {}
        self.match_parts = {}
        # rule index -> its matches' canonical shape without facts (`keep_match_shape`)
        self.shapes: dict[int, dict[str, Any] | None] = {}
        self.labels = {
            sid: {k: v for k, v in (("en", st.label.en), ("zh", st.label.zh)) if v}
            for sid, st in rules.steps.items()
        }
        for i in self.order:
            cr = rules.rules[i]
            r, level = cr.rule, rules.steps[cr.rule.step].level
            self.candidate[i] = Candidate(r.id, r.step, r.priority, level)
            reason = {k: v for k, v in (("en", r.reason.en), ("zh", r.reason.zh)) if v}
            src_zh = r.source.zh if r.source.zh != r.source.en else None
            self.match_parts[i] = (r.id, r.step, r.priority, level, r.source.get("en"), reason,
                                   cr.facts_read, src_zh, r.url, r.grade)  # fmt: skip


class Engine:
    """Decides the next collection step for one loan: `Engine(rules).decide(state, as_of)`.

    `backend` is ``"python"`` (generated Python, the default) or ``"durable"`` (durable_rules).
    Safe to call from many threads with either backend.

    A decision whose `as_of` (the borrower's local date) is outside the rule set's
    `effective` window carries the flag ``rule_set_not_in_force``; with
    ``strict_effective=True`` the engine refuses it instead (`RuleSetNotInForce`). The default
    keeps deciding: simulations, tests and replays run on history.
    """

    def __init__(self, rules: Any, backend: str = "python", strict_effective: bool = False):

        if backend not in BACKENDS:
            raise InputError(
                f"Engine backend: expected one of {', '.join(repr(b) for b in BACKENDS)},"
                f" found {backend!r}"
            )
        if not (hasattr(rules, "rules") and hasattr(rules, "sha256")):
            raise InputError(
                f"Engine rules: expected a RuleSet (from dunning.load_rules), found {rules!r:.80}"
            )
        self.rules = rules
        self.strict_effective = bool(strict_effective)
        self.backend: Backend = backend  # type: ignore[assignment]
        self._plan = _Plan(rules)
        self._ctx = context_for(rules)
        self._buckets = rules.document.bucket_table()
        self._ref = RuleSetRef(id=rules.id, version=rules.version, sha256=rules.sha256)
        self._match = self._matcher(rules.document.currency)
        self._matchers = {rules.document.currency: self._match}

    def __repr__(self) -> str:
        return f"<Engine {self.rules.id} {self.rules.version} backend={self.backend}>"

    def _matcher(self, currency: str) -> Any:
        if self.backend == "python":
            return compile_ruleset(self.rules, self._plan.order)

        exprs = [r.expr for r in self.rules.rules]
        prog = compile_durable(exprs, currency, self._plan.order, tag=self.rules.sha256)
        return prog.match

    def _matcher_for(self, currency: str) -> Any:
        # durable posts money in the currency's minor units: a state in another currency
        # (with more decimals) gets its own program; the Python backend is currency-free.
        if self.backend == "python":
            return self._match
        hit = self._matchers.get(currency)
        if hit is None:
            hit = self._matchers[currency] = self._matcher(currency)
        return hit

    # -- the decision ---------------------------------------------------------------------------

    def decide(
        self, state_or_events: Any, as_of: datetime | str, *, strict: bool = False
    ) -> Decision:
        """The Decision for the loan at `as_of` (aware datetime or ISO-8601 with offset).

        Events later than `as_of` are left out, on a state as on an event list; unknown event
        fields are ignored unless `strict` (then an InvalidEventError)."""
        when = aware(as_of)
        state = self._state(state_or_events, when, strict)
        if state.last_event_at > when:
            state = state.until(when)
        if self.strict_effective:
            self._check_in_force(when, state.timezone)
        facts = compute_facts(state, when, self._ctx)
        return self._decide(state, facts, when)

    def decide_borrower(self, events_or_states: Any, as_of: datetime | str) -> BorrowerDecision:
        """The BorrowerDecision for all of one borrower's loans at `as_of`: at most one contact
        step, covering every loan in arrears, and each loan's own steps (`_decide.borrower`)."""
        return decide_borrower(self, events_or_states, as_of)

    def decide_all(
        self, events: Iterable[Any], as_of: datetime | str, *, strict: bool = False
    ) -> FeedDecisions:
        """Decide every loan of a mixed feed (models, dicts or JSON texts of many loans).

        A loan with an invalid event, or whose events do not fold, is set aside whole (none
        of its events used) and reported with the records at fault; every other loan is
        decided. Returns decisions and set-aside loans, both in loan id order."""
        return decide_feed(self, events, aware(as_of), strict=strict)

    def _check_in_force(self, as_of: datetime, tz: str) -> None:
        eff = self.rules.document.effective
        day = local_date(as_of, tz)
        if (eff.from_ is None or eff.from_ <= day) and (eff.until is None or day <= eff.until):
            return
        window = f"{eff.from_ or 'the beginning'} to {eff.until or 'open end'}"
        raise RuleSetNotInForce(
            f"rule set {self.rules.id!r} version {self.rules.version}: as_of {as_of.isoformat()}"
            f" (local date {day} in {tz}) is outside its effective window {window}; expected a"
            " decision date the rule set is in force, or Engine(rules, strict_effective=False)"
            " to decide on history"
        )

    def match(self, facts: Mapping[str, object], currency: str | None = None) -> tuple[int, ...]:
        """Indices of the rules (in `self.rules.rules`) that hold for `facts`, best first."""
        # Both backends' matchers return tuples; the python one is currency-free, and any
        # backend's matcher for the rule set's own currency is `_match` (no look-up per call).
        try:
            if not currency or self.backend == "python":
                return self._match(facts)  # type: ignore[no-any-return]
            return self._matcher_for(currency)(facts)  # type: ignore[no-any-return]
        except KeyError as exc:
            raise EngineError(f"facts: the rule set reads fact {exc} but it is missing") from None

    def _decide(
        self,
        state: Any,
        facts: Mapping[str, Any],
        as_of: datetime,
        indices: tuple[int, ...] | None = None,
    ) -> Decision:

        if indices is None:
            indices = self.match(facts, state.currency)
        plan = self._plan
        gate = evaluate(self.rules, state, facts, as_of, [plan.candidate[i] for i in indices])
        trace: dict[str, FactValue] = {}  # fact -> its trace value, shared by the matches
        matched = tuple([self._match_of(i, facts, trace, state.currency) for i in indices])
        # Built without re-validation (every value below is already in its canonical type:
        # UTC instants, sorted flags, int/bool/str trace values); the id is then computed as
        # Decision's own validator would, without its float scan (tests pin the equality), and
        # set the way that validator sets it.
        decision = plan.construct(
            Decision,
            {
                "id": "",
                "loan_id": state.loan_id,
                "borrower_id": state.borrower_id,
                "as_of": to_utc(as_of),
                "timezone": state.timezone,
                "status": gate.status,
                "step": gate.step,
                # In the borrower's offset (the canonical JSON writes UTC; `Decision`).
                "not_before": None
                if gate.not_before is None
                else gate.not_before.astimezone(zone(state.timezone)),
                "chosen_rule": gate.chosen_rule,
                "step_label": plan.labels.get(gate.step, {}) if gate.step else {},
                "matched": matched,
                "blocked": tuple(gate.blocked),
                "flags": gate.flags,  # sorted and unique (`_gate.gate._flags`)
                "flag_notes": tuple(gate.flag_notes),
                "rule_set": self._ref,
                "engine_version": __version__,
                "backend": self.backend,
                "input_digest": state_digest(state, as_of),
                "experiment": None,
                "arm": None,
                "position": position_of(self._buckets, state, facts, as_of),
            },
        )
        object.__setattr__(decision, "id", decision_id(decision))
        return decision

    def _match_of(
        self, i: int, facts: Mapping[str, Any], trace: dict[str, FactValue], currency: str
    ) -> Match:
        rule_id, step, priority, level, source, reason, read, src_zh, url, grade = (
            self._plan.match_parts[i]
        )
        values = {}
        for name in read:
            v = trace.get(name, _UNSET)
            if v is _UNSET:
                v = facts[name]
                kind = type(v)  # the common kinds inline; `_trace_value` for the rest
                if not (kind is int or kind is str or kind is bool or v is None):
                    v = _trace_value(v, currency)
                trace[name] = v
            values[name] = v
        # The values are Match's own (its validator only turns Decimals into text, and trace
        # values are never Decimal), so the model is built without re-validation.
        m: Match = self._plan.construct(
            Match,
            {
                "rule_id": rule_id,
                "step": step,
                "priority": priority,
                "level": level,
                "facts": values,
                "source": source,
                "reason": dict(reason),
                "source_zh": src_zh,
                "url": url,
                "grade": grade,
            },
        )
        shapes = self._plan.shapes
        shape = shapes.get(i, _UNSET)
        if shape is _UNSET:
            shape = shapes[i] = match_shape_of(m, read)
        if shape is not None:
            keep_match_shape(m, shape)
        return m

    def _state(self, given: Any, as_of: datetime, strict: bool = False) -> Any:

        if isinstance(given, AccountState):
            return given
        if isinstance(given, str | bytes | Mapping) or not isinstance(given, Iterable):
            raise InputError(
                "decide: expected an AccountState or an iterable of events (models or dicts),"
                f" found {type(given).__name__}"
            )

        events = [parse_event(e, strict=strict) for e in given]
        kept = [e for e in events if e.at <= as_of]
        if events and not kept:
            raise InputError(
                f"decide: every event is later than as_of {as_of.isoformat()}; expected at"
                " least the loan_opened event at or before as_of"
            )
        return AccountState.from_events(kept)


_UNSET: Any = object()


def _trace_value(value: object, currency: str) -> FactValue:
    """A fact value as a decision stores it: int/bool/str/None, money as a decimal string."""
    if isinstance(value, Decimal):
        return str(quantize(value, currency))
    if value is None or isinstance(value, bool | int | str):
        return value
    raise EngineError(f"fact value {value!r} is not int, bool, str, money or null")
