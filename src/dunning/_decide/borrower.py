"""engine.decide_borrower(): one borrower, all of their loans, one contact at a time.

Theory of operation, per borrower decision:

1. Input. The borrower's events (models, dicts or JSON texts: every loan's events and the
   borrower-level ones) or their loans' `AccountState`s. Events later than `as_of` are left
   out; each loan-level event goes to its loan, each borrower-level event (contacts, cease,
   consent, bankruptcy, pauses, ...) to every loan of the borrower — so caps scoped
   ``borrower`` count contacts across loans, and a cease or a bankruptcy stops every loan,
   while a dispute (a loan-level event) stops only its own loan. A loan opened after `as_of`
   is not part of the decision. Every loan must belong to one borrower.
2. Per loan (in loan id order): its facts, its own `Decision` (exactly `engine.decide`), and
   its matched rules split by the *scope* of the step they propose (`scope_of`):

   ================================  ==========  ==========================================
   step                              scope       in the borrower decision
   ================================  ==========  ==========================================
   ``scope:`` given in the pack      as given
   kind reminder, contact, letter    borrower    one contact for all loans (`contact`)
   kind legal, internal, negotiation loan        listed per loan (`LoanLine.step`)
   ================================  ==========  ==========================================

   Each scope's candidates go through the gate on the loan alone (`_gate.evaluate`, the
   engine's preference order): `contact_option` and `step` of the loan's line.
3. The contact. Among the loans whose `contact_option` has a step (``act`` or ``defer``),
   the driving loan is the first by: **ladder level of the step desc, priority of its rule
   desc, act before defer, earlier not_before, dpd desc, overdue amount desc, loan id asc**
   (a total order: the loan furthest up the ladder drives; never the input order). Its step
   is the borrower's one contact. It *covers* the driving loan and every other loan in
   arrears on which the gate does not hold that step back indefinitely (a dispute, a
   settled loan, a time bar on that loan: such a loan is not mentioned), so the borrower gets
   one conversation about everything due. The bank records it as one `contact_attempted`
   (borrower-level) and a `step_taken` on each covered loan.
4. The status (`BorrowerDecision.status`), the union of flags, the input digest (sha256 of
   the canonical JSON ``{"as_of", "loans": [[loan_id, input_digest], ...]}``) and the id.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from .._base.errors import InputError
from .._base.time import aware, iso_utc, to_utc
from .._base.version import __version__
from .._gate.gate import Candidate, evaluate
from .._state.account import AccountState
from .._state.event_base import _BorrowerEvent
from .._state.events import LoanOpened
from .._state.facts import compute_facts
from .._state.parse import parse_event
from .borrower_decision import (
    BorrowerContact,
    BorrowerDecision,
    LoanLine,
    LoanOutcome,
    Status,
    canonical_bytes,
)
from .decision import canonical_dumps

__all__ = ["SCOPE_BY_KIND", "borrower_digest", "borrower_states", "decide_borrower", "scope_of"]

# Step kind -> scope in a borrower decision, when the pack does not say (`Step.scope`).
SCOPE_BY_KIND: dict[str, str] = {
    "reminder": "borrower",
    "contact": "borrower",
    "letter": "borrower",
    "legal": "loan",
    "internal": "loan",
    "negotiation": "loan",
}


def scope_of(step: Any) -> str:
    """``borrower`` or ``loan``: the step's own `scope`, else by its kind (table above)."""
    given = getattr(step, "scope", None)
    return given if given is not None else SCOPE_BY_KIND[step.kind]


def decide_borrower(engine: Any, given: Any, as_of: datetime | str) -> BorrowerDecision:
    """The BorrowerDecision of one borrower's loans at `as_of` (module docstring)."""
    when = aware(as_of)
    states = borrower_states(given, when)
    rules, plan = engine.rules, engine._plan
    by_rule = {c.rule_id: c for c in plan.candidate.values()}
    lines: list[tuple[LoanLine, Any, dict[str, Any], set[str]]] = []
    _indices: dict[str, tuple[int, ...]] = {}
    for state in states:
        facts = compute_facts(state, when, engine._ctx)
        indices = engine.match(facts, state.currency)
        decision = engine._decide(state, facts, when, indices)
        # Every candidate step was checked at as_of by the full decision's gate: `held` are
        # those a limit holds back now.
        held = {b.step for b in decision.blocked}
        by_scope: dict[str, list[Candidate]] = {"borrower": [], "loan": []}
        for i in indices:
            cand = plan.candidate[i]
            by_scope[scope_of(rules.steps[cand.step])].append(cand)
        line = LoanLine.model_construct(
            loan_id=state.loan_id,
            in_arrears=facts["overdue_amount"] > 0,
            dpd=facts["dpd"],
            covered=False,
            contact_option=_gate(rules, state, facts, when, by_scope["borrower"], held, decision),
            step=_gate(rules, state, facts, when, by_scope["loan"], held, decision),
            decision=decision,
        )
        lines.append((line, state, facts, held))
        _indices[state.loan_id] = indices
    chosen = _driver(lines, by_rule)
    contact_step: BorrowerContact | None = None
    covered: set[str] = set()
    if chosen is not None:
        line = chosen
        result = line.contact_option
        cand = by_rule[str(result.chosen_rule)]
        for other, state, facts, held in lines:
            if other.loan_id == line.loan_id:
                covered.add(other.loan_id)
            elif other.in_arrears:
                checked = {plan.candidate[i].step for i in _indices[other.loan_id]}
                hold = held if cand.step in checked else held | {cand.step}
                check = _gate(rules, state, facts, when, [cand], hold)
                if check.status in ("act", "defer"):
                    covered.add(other.loan_id)
        contact_step = BorrowerContact.model_construct(
            step=cand.step,
            status="act" if result.status == "act" else "defer",  # a driver acts or defers
            not_before=None if result.not_before is None else to_utc(result.not_before),
            chosen_rule=cand.rule_id,
            loan_id=line.loan_id,
            level=cand.level,
            priority=cand.priority,
            covers=tuple(sorted(covered)),
            step_label=dict(plan.labels.get(cand.step, {})),
        )
    loans = tuple(
        line.model_copy(update={"covered": line.loan_id in covered}) for line, *_ in lines
    )
    # Built without re-validation (every value is already in its canonical type: UTC
    # instants, sorted flags, the gate's own outcomes), the id computed as the validator
    # would (`from_json` validates and checks it; a test pins the equality).
    decision = BorrowerDecision.model_construct(
        borrower_id=states[0].borrower_id,
        as_of=to_utc(when),
        timezone=states[0].timezone,
        status=_status(contact_step, loans),
        contact=contact_step,
        loans=loans,
        flags=tuple(sorted({f for line in loans for f in line.decision.flags})),
        rule_set=engine._ref,
        engine_version=__version__,
        input_digest=borrower_digest(when, [(x.loan_id, x.decision.input_digest) for x in loans]),
    )
    object.__setattr__(decision, "id", hashlib.sha256(canonical_bytes(decision)).hexdigest())
    return decision


def _gate(
    rules: Any,
    state: Any,
    facts: Mapping[str, Any],
    when: datetime,
    cands: Sequence[Candidate],
    held: set[str],
    whole: Any = None,
) -> LoanOutcome:
    """`_gate.evaluate` of `cands` (preference order) on this loan alone, as a LoanOutcome.

    The loan's full decision already asked every limit about each candidate step at as_of
    (`held`: the steps it blocks), so the first candidate not held is what `evaluate` would
    take now; only when every one is held is the gate asked (for the earliest lawful time).
    A step the decision did not check (another loan's, in a cover check) is passed as held,
    so the gate is asked about it. `whole` is the loan's full decision over all its candidates:
    when it defers one of `cands`, that one is also the earliest among `cands` alone (first
    in preference order among equals), and when it is blocked every subset is."""
    if not cands:
        return _NONE
    for cand in cands:
        if cand.step not in held:
            return LoanOutcome.model_construct(
                status="act", step=cand.step, chosen_rule=cand.rule_id, not_before=None
            )
    if whole is not None and whole.status == "blocked":
        return _BLOCKED
    if whole is not None and whole.status == "defer" and any(c.step == whole.step for c in cands):
        return LoanOutcome.model_construct(
            status="defer", step=whole.step, chosen_rule=whole.chosen_rule,
            not_before=whole.not_before,
        )  # fmt: skip
    result = evaluate(rules, state, facts, when, cands)
    return LoanOutcome.model_construct(
        status=result.status,
        step=result.step,
        chosen_rule=result.chosen_rule,
        not_before=None if result.not_before is None else to_utc(result.not_before),
    )


_NONE = LoanOutcome.model_construct(status="none", step=None, chosen_rule=None, not_before=None)
_BLOCKED = LoanOutcome.model_construct(
    status="blocked", step=None, chosen_rule=None, not_before=None
)


def _driver(
    lines: Sequence[tuple[LoanLine, Any, dict[str, Any], set[str]]],
    by_rule: Mapping[str, Candidate],
) -> LoanLine | None:
    """The line whose contact option drives the borrower's contact (tie-break: module doc)."""
    contenders = [x for x in lines if x[0].contact_option.status in ("act", "defer")]
    if not contenders:
        return None

    def key(x: tuple[LoanLine, Any, dict[str, Any], set[str]]) -> tuple[Any, ...]:
        line, _state, facts, _held = x
        result = line.contact_option
        cand = by_rule[str(result.chosen_rule)]
        later = to_utc(result.not_before) if result.not_before is not None else None
        overdue: Decimal = facts["overdue_amount"]
        return (
            -cand.level,
            -cand.priority,
            result.status != "act",
            iso_utc(later) if later is not None else "",
            -line.dpd,
            -overdue,
            line.loan_id,
        )

    return min(contenders, key=key)[0]


def _status(contact: BorrowerContact | None, loans: Sequence[LoanLine]) -> Status:
    """act / defer / blocked / none (see `BorrowerDecision`)."""
    chosen = [line.step.status for line in loans] + ([contact.status] if contact else [])
    options = [line.contact_option.status for line in loans]
    if "act" in chosen:
        return "act"
    if "defer" in chosen:
        return "defer"
    return "blocked" if "blocked" in chosen + options else "none"


def borrower_digest(as_of: datetime, loans: Iterable[tuple[str, str]]) -> str:
    """sha256 of the canonical JSON of the as_of and each loan's input digest."""
    data = {"as_of": iso_utc(to_utc(as_of)), "loans": [list(x) for x in loans]}
    return hashlib.sha256(canonical_dumps(data).encode("utf-8")).hexdigest()


def borrower_states(given: Any, as_of: datetime) -> list[AccountState]:
    """One borrower's loans at `as_of` as states, in loan id order (module docstring, 1)."""
    if isinstance(given, str | bytes | Mapping) or not isinstance(given, Iterable):
        raise InputError(
            "decide_borrower: expected an iterable of one borrower's events (models or dicts)"
            f" or of their AccountStates, found {type(given).__name__}"
        )
    items = list(given)
    if items and all(isinstance(x, AccountState) for x in items):
        # A state holding events after as_of is cut there; a loan opened later is left out.
        states = sorted(
            (s if s.last_event_at <= as_of else s.until(as_of) for s in items
             if s.opened_at <= as_of),
            key=lambda s: s.loan_id,
        )  # fmt: skip
    elif any(isinstance(x, AccountState) for x in items):
        raise InputError(
            "decide_borrower: expected either events or AccountStates, found a mix of both"
        )
    else:
        states = _fold_loans([parse_event(x) for x in items], as_of)
    if not states:
        raise InputError(
            f"decide_borrower: no loan is open at or before as_of {as_of.isoformat()};"
            " expected at least one loan_opened event"
        )
    borrowers = sorted({s.borrower_id for s in states})
    if len(borrowers) > 1:
        raise InputError(
            f"decide_borrower: the loans belong to borrowers {', '.join(map(repr, borrowers))};"
            " expected one borrower's loans (group the events by borrower first)"
        )
    ids = [s.loan_id for s in states]
    if len(set(ids)) != len(ids):
        dup = next(i for i in ids if ids.count(i) > 1)
        raise InputError(f"decide_borrower: loan {dup!r} is given twice; expected each once")
    return states


def _fold_loans(events: list[Any], as_of: datetime) -> list[AccountState]:
    opened = {e.loan_id for e in events if isinstance(e, LoanOpened)}
    kept = [e for e in events if e.at <= as_of]
    shared = [e for e in kept if isinstance(e, _BorrowerEvent)]
    by_loan: dict[str, list[Any]] = {}
    for e in kept:
        if isinstance(e, LoanOpened) or not isinstance(e, _BorrowerEvent):
            by_loan.setdefault(e.loan_id, []).append(e)
    states = []
    for loan_id in sorted(by_loan):
        own = by_loan[loan_id]
        if not any(isinstance(e, LoanOpened) for e in own):
            if loan_id in opened:  # opened after as_of: not a loan yet
                continue
            first = own[0]
            raise InputError(
                f"decide_borrower: loan {loan_id!r} has events (first {first.event_id!r}) but"
                " no loan_opened; expected every loan's loan_opened among the events"
            )
        opening = next(e for e in own if isinstance(e, LoanOpened))
        borrower = opening.borrower_id
        # A borrower-level event from before this loan existed belongs to the borrower's
        # older loans (unless it names this one), as in `dunning.group_by_loan`.
        mine = [
            e
            for e in shared
            if e.borrower_id == borrower and (e.loan_id == loan_id or e.at >= opening.at)
        ]
        states.append(AccountState.from_events(own + mine))
    borrowers = {s.borrower_id for s in states}
    stray = next((e for e in shared if e.borrower_id not in borrowers), None)
    if stray is not None and states:
        raise InputError(
            f"decide_borrower: event {stray.event_id!r} belongs to borrower"
            f" {stray.borrower_id!r}, expected {', '.join(sorted(map(repr, borrowers)))}"
            " (the borrower of the loans given)"
        )
    return states
