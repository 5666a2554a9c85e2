"""The compliance gate: limits dispose of the candidate steps the rules proposed.

Theory of operation (`evaluate`):

1. Each candidate step (in the engine's preference order) gets its *checks*: every enabled
   limit of the rule file whose `applies_to` selects the step (`_limits.applies`), in file
   order, then the step's own `cooldown` as an implicit limit ``cooldown:<step>``.
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

Facts (conditions of `block_while`, quiet-period `while`, amounts, time bar) are those of
`as_of`: the gate does not predict how conditions change, only how time-based limits expire.

Flags: the file's `flags:` whose condition holds, plus built-in flags from facts (table
`_BUILTIN_FLAGS`, and ``time_bar_near`` when the claim is not yet time-barred and
`days_to_time_bar` is at most the file's `limitation.warn_before`). A file flag with the same
id as a built-in one replaces its text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from . import _ir
from ._decision import Block, FlagNote
from ._limits import RulesLike, StateLike, Verdict, applies, check
from ._schema import Limit
from ._time import local_date, parse_duration, to_utc

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
    "vulnerable": "Vulnerable customer: adapt the contact and offer support.",
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
    limit_id: str
    kind: str
    citation: str
    ask: Callable[[datetime], Verdict]


def evaluate(
    rules: RulesLike,
    state: StateLike,
    facts: Mapping[str, object],
    as_of: datetime,
    candidates: Sequence[Candidate],
) -> GateResult:
    """Choose among `candidates` (preference order) under the rule set's limits."""
    as_of = to_utc(as_of)  # instants in UTC: same-zone datetimes compare by wall clock
    flags, notes = compute_flags(rules, facts, as_of, state.timezone)
    if not candidates:
        return GateResult("none", None, None, None, (), flags, notes)
    checks = {c.step: checks_for(rules, state, facts, c.step, as_of) for c in candidates}
    blocks: list[Block] = []
    chosen: Candidate | None = None
    for step in _unique(c.step for c in candidates):
        held = _blocks_at(step, checks[step], as_of)
        blocks += held
        if not held and chosen is None:
            chosen = next(c for c in candidates if c.step == step)
    if chosen is not None:
        return GateResult("act", chosen.step, chosen.rule_id, None, tuple(blocks), flags, notes)
    best: tuple[datetime, Candidate] | None = None
    for cand in candidates:
        when = earliest_lawful(checks[cand.step], as_of)
        if when is not None and (best is None or when < best[0]):
            best = (when, cand)
    if best is None:
        return GateResult("blocked", None, None, None, tuple(blocks), flags, notes)
    when, cand = best
    return GateResult("defer", cand.step, cand.rule_id, when, tuple(blocks), flags, notes)


def _unique(steps: Iterable[str]) -> list[str]:
    out: list[str] = []
    for s in steps:
        if s not in out:
            out.append(s)
    return out


def checks_for(
    rules: RulesLike,
    state: StateLike,
    facts: Mapping[str, object],
    step_id: str,
    as_of: datetime,
) -> list[_Check]:
    """The checks that apply to `step_id`: selected limits in file order, then its cooldown."""
    step = rules.steps.get(step_id)
    if step is None:
        missing = Verdict(False, None, f"step {step_id!r} is not an enabled step of the rule set")
        return [_Check("step_catalog", "step_catalog", "rule set step catalog", lambda t: missing)]
    out = []
    for limit in rules.document.limits:
        if limit.enabled and applies(limit.applies_to, step):
            ask = _asker(rules, limit, step_id, state, facts, as_of)
            out.append(_Check(limit.id, limit.kind, limit.source, ask))
    if step.cooldown:
        out.append(
            _Check(
                f"cooldown:{step_id}",
                "cooldown",
                f"step catalog: {step_id}.cooldown",
                _cooldown_asker(step_id, step.cooldown, state),
            )
        )
    return out


def _asker(
    rules: RulesLike,
    limit: Limit,
    step: str,
    state: StateLike,
    facts: Mapping[str, object],
    as_of: datetime,
) -> Callable[[datetime], Verdict]:
    return lambda t: check(rules, limit, step, state, facts, t, as_of)


def _cooldown_asker(step: str, cooldown: str, state: StateLike) -> Callable[[datetime], Verdict]:
    span = parse_duration(cooldown)

    def ask(t: datetime) -> Verdict:
        taken = [to_utc(s.at) for s in state.steps_taken if s.step == step]
        taken = [x for x in taken if x <= t]
        if not taken:
            return Verdict(True, None, "")
        end = span.add_to(max(taken), state.timezone)
        if t >= end:
            return Verdict(True, None, "")
        return Verdict(False, end, f"{step} was taken less than its cooldown {cooldown} ago")

    return ask


def _blocks_at(step: str, checks: list[_Check], at: datetime) -> list[Block]:
    out = []
    for chk in checks:
        v = chk.ask(at)
        if not v.allowed:
            out.append(
                Block(
                    step=step,
                    limit_id=chk.limit_id,
                    kind=chk.kind,
                    reason=v.reason,
                    citation=chk.citation,
                    until=v.until,
                )
            )
    return out


def earliest_lawful(checks: list[_Check], start: datetime) -> datetime | None:
    """The earliest instant >= `start` at which every check allows (None: no known end)."""
    t = start
    for _ in range(_MAX_ROUNDS):
        held = [v for v in (chk.ask(t) for chk in checks) if not v.allowed]
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


def compute_flags(
    rules: RulesLike, facts: Mapping[str, object], as_of: datetime, tz: str
) -> tuple[tuple[str, ...], tuple[FlagNote, ...]]:
    """The compliance flags raised at `as_of`: sorted ids and their notes."""
    notes: dict[str, FlagNote] = {}
    for fact in sorted(_BUILTIN_FLAGS):
        if facts.get(fact) is True:
            notes[fact] = FlagNote(id=fact, text=_BUILTIN_FLAGS[fact], source=None)
    near = _time_bar_note(rules, facts, as_of, tz)
    if near is not None:
        notes[near.id] = near
    declared = {f.id: f for f in rules.document.flags}
    for flag_id in sorted(rules.flag_exprs):
        if bool(_ir.evaluate(rules.flag_exprs[flag_id], facts)):
            spec = declared.get(flag_id)
            text = spec.text.get("en") if spec else flag_id
            notes[flag_id] = FlagNote(id=flag_id, text=text, source=spec.source if spec else None)
    ids = tuple(sorted(notes))
    return ids, tuple(notes[i] for i in ids)


def _time_bar_note(
    rules: RulesLike, facts: Mapping[str, object], as_of: datetime, tz: str
) -> FlagNote | None:
    days = facts.get("days_to_time_bar")
    if facts.get("time_barred") is True or not isinstance(days, int) or isinstance(days, bool):
        return None
    lim = rules.document.limitation
    today = local_date(as_of, tz)
    warn_days = (parse_duration(lim.warn_before).add_to_date(today) - today).days
    if days > warn_days:
        return None
    return FlagNote(
        id="time_bar_near",
        text=f"The claim becomes time-barred in {days} days: legal steps must start before then.",
        source=lim.source,
    )
