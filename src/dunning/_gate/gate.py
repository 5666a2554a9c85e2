"""The compliance gate: limits dispose of the candidate steps the rules proposed.

Theory of operation (`evaluate`):

1. Each candidate step (in the engine's preference order) gets its *checks*: every enabled
   limit of the rule file whose `applies_to` selects the step (`limits.applies`), in file
   order, then the built-in pause check ``collections_paused`` (`pause`; left out for a step
   marked ``allowed_during_pause``), then the step's own `cooldown` as an implicit limit
   ``cooldown:<step>``.
2. Every check is asked at `as_of`; each one holding a candidate back is recorded as a
   `Block` (step, limit id, kind, reason, citation = the limit's `source`, until = when that
   limit alone stops blocking, None when no end is known). Every candidate is checked, also
   after one is chosen, so the decision shows the whole picture.
3. The first candidate no check holds back is taken now (status ``act``).
4. Otherwise each candidate's *earliest lawful time* is searched: t = as_of; ask all its
   checks at t; if one blocks with no known end the candidate is blocked indefinitely; else
   t = the latest `until` and ask again — so a returned `not_before` is an instant at which
   every check allows the step (a cap may expire into a closed window: then the next opening
   is taken). The candidate with the earliest such time wins (ties: preference order) with
   status ``defer``; when every candidate is blocked indefinitely the status is ``blocked``.

Speed, without changing the above: the per-step checks, each limit's checker (durations
parsed, conditions compiled) and the compiled flag conditions are worked out once per rule set
(`plan_for`); within a decision each (limit, instant) is asked once, because a limit's verdict
does not depend on the step (only a step's cooldown does, and it is its own check).

Facts (conditions of `block_while`, quiet-period `while`, amounts, time bar) are those of
`as_of`: the gate does not predict how conditions change, only how time-based limits expire.

Flags: the file's `flags:` whose condition holds, plus built-in flags from facts (table
`_BUILTIN_FLAGS`, and ``time_bar_near`` when the claim is not yet time-barred and
`days_to_time_bar` is at most the file's `limitation.warn_before`). A file flag with the same
id as a built-in one replaces its text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from .._backends.python import compile_expr
from .._base.time import parse_duration, to_utc
from .._rules.schema import Flag
from .limits import LimitChecker, RulesLike, StateLike, Verdict, applies, checker
from .notes import NOT_IN_FORCE as NOT_IN_FORCE
from .notes import not_in_force, time_bar_note
from .outcome import Block, FlagNote, construct
from .pause import PAUSE_CITATION, PAUSE_KIND, PAUSE_LIMIT, pause_check
from .wording import duration_text

Status = Literal["act", "defer", "blocked", "none"]

# Bounds the fixed-point search; each round moves t strictly forward to some limit's `until`.
_MAX_ROUNDS = 64

# Built-in flags: fact -> text a collector sees while the fact is true.
_BUILTIN_FLAGS: dict[str, str] = {
    "attorney_represented": "An attorney represents the borrower: contact the attorney.",
    "bankruptcy_stay": "A bankruptcy case is open: collection is stayed.",
    "breathing_space": "A statutory breathing space is in force.",
    "dispute_open": "The debt is disputed: verify before collecting.",
    "hardship": "The borrower declared financial hardship.",
    "paused": "Collection is paused: no step is taken until it resumes.",
    "vulnerable": "Vulnerable customer: adapt the contact and offer support.",
}
_BUILTIN_FLAGS_ZH: dict[str, str] = {
    "attorney_represented": "借款人已委托律师：请联系其律师。",
    "bankruptcy_stay": "破产程序进行中：暂停催收。",
    "breathing_space": "法定喘息期内。",
    "dispute_open": "债务存在争议：核实后再催收。",
    "hardship": "借款人已声明经济困难。",
    "paused": "催收已暂停：恢复前不采取任何催收措施。",
    "vulnerable": "弱势客户：调整沟通方式并提供帮助。",
}


@dataclass(frozen=True)
class Candidate:
    """A step a rule proposed; the engine passes candidates in preference order."""

    rule_id: str
    step: str
    priority: int
    level: int


@dataclass(frozen=True)
class GateResult:
    """What the gate decided: the step to take (now or at `not_before`) and why others wait."""

    status: Status
    step: str | None
    chosen_rule: str | None
    not_before: datetime | None
    blocked: tuple[Block, ...]
    flags: tuple[str, ...]
    flag_notes: tuple[FlagNote, ...]


@dataclass(frozen=True)
class _Check:
    """One limit (or the step's cooldown) as it applies to a step."""

    limit_id: str
    kind: str
    citation: str
    ask: LimitChecker
    citation_zh: str | None = None
    url: str | None = None
    grade: str | None = None


class _Plan:
    """What the gate needs of a rule set, worked out once: per step its checks, the compiled
    flag conditions. Plans are cached per rule set object (rule sets are immutable)."""

    def __init__(self, rules: RulesLike):
        self.rules = rules
        self.checks: dict[str, tuple[_Check, ...]] = {}
        limits = [(lim, checker(rules, lim)) for lim in rules.document.limits if lim.enabled]
        for step in rules.steps.values():
            found = [
                _Check(
                    lim.id,
                    lim.kind,
                    lim.source.get("en"),
                    ask,
                    lim.source.zh if lim.source.zh != lim.source.en else None,
                    lim.url,
                    lim.grade,
                )
                for lim, ask in limits
                if applies(lim.applies_to, step)
            ]
            if not step.allowed_during_pause:
                found.append(_Check(PAUSE_LIMIT, PAUSE_KIND, PAUSE_CITATION, pause_check))
            if step.cooldown:
                found.append(
                    _Check(
                        f"cooldown:{step.id}",
                        "cooldown",
                        "Bank collection policy (interval before a step is repeated)",
                        _cooldown_checker(step.id, step.cooldown),
                        "本行催收政策（同一步骤的重复间隔）",
                        None,
                        "bank_policy",
                    )
                )
            self.checks[step.id] = tuple(found)
        declared = {f.id: f for f in rules.document.flags}
        self.flags = tuple(
            (flag_id, compile_expr(rules.flag_exprs[flag_id]), declared.get(flag_id))
            for flag_id in sorted(rules.flag_exprs)
        )
        self.notes: dict[str, FlagNote] = {}  # flag id -> its (fixed) note, built when first seen

    def checks_for(self, step_id: str) -> tuple[_Check, ...]:
        hit = self.checks.get(step_id)
        if hit is not None:
            return hit
        missing = Verdict(False, None, f"step {step_id!r} is not an enabled step of the rule set")
        return (_Check("step_catalog", "step_catalog", "rule set step catalog",
                       lambda state, facts, at, as_of: missing),)  # fmt: skip

    def note(self, flag_id: str, spec: Flag | None) -> FlagNote:
        hit = self.notes.get(flag_id)
        if hit is None:
            text = spec.text.get("en") if spec else flag_id
            src = spec.source if spec else None
            hit = FlagNote(
                id=flag_id,
                text=text,
                source=src.get("en") if src else None,
                text_zh=spec.text.zh if spec else None,
                source_zh=src.zh if src and src.zh != src.en else None,
                url=spec.url if spec else None,
                grade=spec.grade if spec else None,
            )
            self.notes[flag_id] = hit
        return hit


_PLANS: dict[int, tuple[RulesLike, _Plan]] = {}
_PLANS_MAX = 256  # rule sets alive at once in a process; a cleared cache costs a rebuild


def plan_for(rules: RulesLike) -> _Plan:
    """The cached plan of `rules` (keyed by identity; the entry holds the object, so its id
    cannot be reused while cached)."""
    hit = _PLANS.get(id(rules))
    if hit is not None and hit[0] is rules:
        return hit[1]
    plan = _Plan(rules)
    if len(_PLANS) >= _PLANS_MAX:
        _PLANS.clear()
    _PLANS[id(rules)] = (rules, plan)
    return plan


class _Asker:
    """Verdicts for one decision, each (limit, instant) asked once: a limit's verdict does not
    depend on the step (limits shared by several candidates are asked once)."""

    def __init__(self, state: StateLike, facts: Mapping[str, object], as_of: datetime):
        self.state, self.facts, self.as_of = state, facts, as_of
        # instant -> limit id -> verdict (by instant first: `_blocks_at` asks ~30 limits at
        # one instant, and a str key hashes once, where a (str, datetime) key hashes each time)
        self.memo: dict[datetime, dict[str, Verdict]] = {}

    def at(self, t: datetime) -> dict[str, Verdict]:
        """The verdicts known at instant `t` (filled by the callers)."""
        known = self.memo.get(t)
        if known is None:
            known = self.memo[t] = {}
        return known

    def all_at(self, checks: Sequence[_Check], t: datetime) -> list[Verdict]:
        """The verdicts of `checks` at `t`, each asked once per decision."""
        known, out = self.at(t), []
        for chk in checks:
            v = known.get(chk.limit_id)
            if v is None:
                v = known[chk.limit_id] = chk.ask(self.state, self.facts, t, self.as_of)
            out.append(v)
        return out


def evaluate(
    rules: RulesLike,
    state: StateLike,
    facts: Mapping[str, object],
    as_of: datetime,
    candidates: Sequence[Candidate],
) -> GateResult:
    """Choose among `candidates` (preference order) under the rule set's limits."""
    as_of = to_utc(as_of)  # instants in UTC: same-zone datetimes compare by wall clock
    plan = plan_for(rules)
    flags, notes = _flags(plan, facts, as_of, state.timezone)
    if not candidates:
        return GateResult("none", None, None, None, (), flags, notes)
    ask = _Asker(state, facts, as_of)
    checks = {c.step: plan.checks_for(c.step) for c in candidates}
    blocks: list[Block] = []
    chosen: Candidate | None = None
    for step in checks:  # dict order: first appearance in preference order
        held = _blocks_at(ask, step, checks[step], as_of)
        blocks += held
        if not held and chosen is None:
            chosen = next(c for c in candidates if c.step == step)
    if chosen is not None:
        return GateResult("act", chosen.step, chosen.rule_id, None, tuple(blocks), flags, notes)
    best: tuple[datetime, Candidate] | None = None
    for cand in candidates:
        when = earliest_lawful(ask, checks[cand.step], as_of)
        if when is not None and (best is None or when < best[0]):
            best = (when, cand)
    if best is None:
        return GateResult("blocked", None, None, None, tuple(blocks), flags, notes)
    when, cand = best
    return GateResult("defer", cand.step, cand.rule_id, when, tuple(blocks), flags, notes)


def _cooldown_checker(step: str, cooldown: str) -> LimitChecker:
    span = parse_duration(cooldown)
    allow = Verdict(True, None, "")

    def ask(state: StateLike, facts: Mapping[str, object], t: datetime, as_of: datetime) -> Verdict:
        taken = [x for x in (to_utc(s.at) for s in state.steps_taken if s.step == step) if x <= t]
        if not taken:
            return allow
        end = span.add_to(max(taken), state.timezone)
        if t >= end:
            return allow
        return Verdict(
            False,
            end,
            f"{step} was taken less than its cooldown of {duration_text(cooldown, 'en')} ago",
            f"{step} 距上次执行未满冷却期{duration_text(cooldown, 'zh')}",
        )

    return ask


def _blocks_at(ask: _Asker, step: str, checks: Sequence[_Check], at: datetime) -> list[Block]:
    out = []
    known, state, facts, as_of = ask.at(at), ask.state, ask.facts, ask.as_of
    for chk in checks:
        # `ask.all_at(checks, at)` inlined: this loop runs ~30 times per decision.
        v = known.get(chk.limit_id)
        if v is None:
            v = known[chk.limit_id] = chk.ask(state, facts, at, as_of)
        if not v.allowed:
            # Built without re-validation: the values are what Block's validator would make
            # (`until` an aware instant, converted to UTC here as the validator does).
            until = None if v.until is None else to_utc(v.until)
            out.append(
                construct(
                    Block,
                    {
                        "step": step,
                        "limit_id": chk.limit_id,
                        "kind": chk.kind,
                        "reason": v.reason,
                        "citation": chk.citation,
                        "until": until,
                        "reason_zh": v.reason_zh or None,
                        "citation_zh": chk.citation_zh,
                        "url": chk.url,
                        "grade": chk.grade,
                    },
                )
            )
    return out


def earliest_lawful(ask: _Asker, checks: Sequence[_Check], start: datetime) -> datetime | None:
    """The earliest instant >= `start` at which every check allows (None: no known end)."""
    t = start
    for _ in range(_MAX_ROUNDS):
        held = [v for v in ask.all_at(checks, t) if not v.allowed]
        if not held:
            return t
        untils = [v.until for v in held]
        if any(u is None for u in untils):
            return None
        nxt = max(u for u in untils if u is not None)
        if nxt <= t:  # a checker broke its contract (until must be later than a blocked t)
            return None
        t = nxt
    return None


# -- flags ------------------------------------------------------------------------------------

_BUILTIN_NOTES = {
    f: FlagNote(id=f, text=t, source=None, text_zh=_BUILTIN_FLAGS_ZH.get(f))
    for f, t in sorted(_BUILTIN_FLAGS.items())
}


def compute_flags(
    rules: RulesLike, facts: Mapping[str, object], as_of: datetime, tz: str
) -> tuple[tuple[str, ...], tuple[FlagNote, ...]]:
    """The compliance flags raised at `as_of`: sorted ids and their notes."""
    return _flags(plan_for(rules), facts, as_of, tz)


def _flags(
    plan: _Plan, facts: Mapping[str, object], as_of: datetime, tz: str
) -> tuple[tuple[str, ...], tuple[FlagNote, ...]]:
    notes: dict[str, FlagNote] = {}
    outside = not_in_force(plan.rules, as_of, tz)
    if outside is not None:
        notes[outside.id] = outside
    for fact, note in _BUILTIN_NOTES.items():
        if facts.get(fact) is True:
            notes[fact] = note
    near = time_bar_note(plan.rules, facts, as_of, tz)
    if near is not None:
        notes[near.id] = near
    for flag_id, holds, spec in plan.flags:
        if bool(holds(facts)):
            notes[flag_id] = plan.note(flag_id, spec)
    ids = tuple(sorted(notes))
    return ids, tuple(notes[i] for i in ids)
