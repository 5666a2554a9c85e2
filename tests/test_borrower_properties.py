"""Properties of borrower decisions on generated borrowers (1 to 3 loans, mixed histories).

Each loan's history is one of `dunning.testing.loan_histories` (payments, reversals,
contacts, promises, steps, disputes, plans, ...), all for borrower B1; the contacts of every
loan are borrower-level, so each loan sees the others' too. Sometimes a borrower-wide pause
(with or without an end, sometimes back-dated) is added. Decisions are made with the CN pack
at an instant drawn across the histories.
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

import dunning
from dunning._decide.borrower import scope_of
from dunning._decide.borrower_decision import _reference_bytes, canonical_bytes
from dunning._gate.gate import Candidate, evaluate
from dunning._state.facts import compute_facts
from dunning.events import CollectionsPaused
from dunning.testing import instants, loan_histories

RULES = dunning.load_rules("rules/cn-bank-retail.yaml")
ENGINE = dunning.Engine(RULES)


@st.composite
def borrowers(draw: st.DrawFn) -> tuple[list[Any], Any]:
    """(the borrower's events, an as_of)."""
    n = draw(st.integers(1, 3))
    events: list[Any] = []
    for k in range(1, n + 1):
        history = draw(
            loan_histories(loan_id=f"L{k}", borrower_id="B1", max_months=6, max_events=4,
                           id_prefix=f"L{k}-")
        )  # fmt: skip
        if events:  # open the later loans within a few months of the first
            days = (history[0].at - events[0].at).days - draw(st.integers(-90, 90))
            history = [shifted(e, -days) for e in history]
        events += history
    opened = [e.at for e in events if e.type == "loan_opened"]
    first, last = min(opened), max(e.at for e in events)
    # Mostly after every loan is open (so the loans meet); sometimes before some are.
    low = max(opened) if draw(st.integers(0, 3)) else first
    as_of = draw(instants(low, last + timedelta(days=40)))
    if draw(st.booleans()):
        at = draw(instants(first, as_of))
        back = draw(st.integers(0, 5))
        ends = draw(st.one_of(st.none(), st.integers(1, 30)))
        events.append(
            CollectionsPaused(
                event_id="pause", borrower_id="B1", at=at, reason="goodwill",
                effective_from=at - timedelta(days=back),
                until=None if ends is None else at + timedelta(days=ends),
            )
        )  # fmt: skip
    return events, as_of


def shifted(event: Any, days: int) -> Any:
    """`event` moved by whole days (its instant and every date it carries)."""
    delta = timedelta(days=days)
    update: dict[str, Any] = {"at": event.at + delta}
    for name in ("due_date", "promised_date", "ends_on"):
        value = getattr(event, name, None)
        if value is not None:
            update[name] = value + delta
    if event.type == "repayment_plan_agreed":
        update["installments"] = tuple(
            i.model_copy(update={"due_date": i.due_date + delta}) for i in event.installments
        )
    return event.model_copy(update=update)


def own_events(events: list[Any], loan_id: str) -> list[Any]:
    """What the loan alone sees: its events and every borrower-level event from its opening
    on (as `dunning.group_by_loan` hands them over)."""
    return dunning.group_by_loan(events).get(loan_id, [])


@given(borrowers())
def test_never_more_than_one_contact_step(case: tuple[list[Any], Any]) -> None:
    """At most one borrower-scoped step is taken per decision — the contact — and no loan's
    own step is a contact; the contact covers its driving loan and only loans in arrears
    (or that one)."""
    events, as_of = case
    bd = ENGINE.decide_borrower(events, as_of)
    scopes = [scope for scope, _who, _step in bd.steps()]
    assert scopes.count("borrower") <= 1
    for line in bd.loans:
        for outcome, scope in ((line.step, "loan"), (line.contact_option, "borrower")):
            if outcome.step is not None:
                assert scope_of(RULES.steps[outcome.step]) == scope
    if bd.contact is not None:
        assert scope_of(RULES.steps[bd.contact.step]) == "borrower"
        assert bd.contact.loan_id in bd.contact.covers
        for loan_id in bd.contact.covers:
            line = bd.line(loan_id)
            assert line.covered and (line.in_arrears or loan_id == bd.contact.loan_id)
    assert [ln.loan_id for ln in bd.loans if ln.covered] == list(
        bd.contact.covers if bd.contact else ()
    )


@given(borrowers())
def test_every_loan_decision_passes_the_gate_on_its_own(case: tuple[list[Any], Any]) -> None:
    """Each line's decision is exactly `engine.decide` of that loan alone; each scope's outcome
    is the gate's choice among that loan's candidates of the scope; the loan's own step and
    the contact are what the gate gives for that one step on that loan alone (status and
    not_before), so nothing a borrower decision asks for is unlawful on any loan."""
    events, as_of = case
    bd = ENGINE.decide_borrower(events, as_of)
    for line in bd.loans:
        mine = own_events(events, line.loan_id)
        alone = ENGINE.decide(mine, as_of)
        assert alone == line.decision and alone.id == line.decision.id
        state = dunning.AccountState.from_events([e for e in mine if e.at <= as_of])
        facts = compute_facts(state, as_of, ENGINE._ctx)
        cands = [ENGINE._plan.candidate[i] for i in ENGINE.match(facts, state.currency)]
        for outcome, scope in ((line.step, "loan"), (line.contact_option, "borrower")):
            mine_ = [c for c in cands if scope_of(RULES.steps[c.step]) == scope]
            gate = evaluate(RULES, state, facts, as_of, mine_)
            assert (gate.status, gate.step, gate.chosen_rule, gate.not_before) == (
                outcome.status,
                outcome.step,
                outcome.chosen_rule,
                outcome.not_before,
            )
        asks = [(line.step.step, line.step.chosen_rule, line.step)]
        if bd.contact is not None and line.loan_id == bd.contact.loan_id:
            asks.append((bd.contact.step, bd.contact.chosen_rule, bd.contact))
        for step, rule, outcome in asks:
            if step is None:
                continue
            cand = Candidate(rule, step, 0, RULES.steps[step].level)
            gate = evaluate(RULES, state, facts, as_of, [cand])
            assert (gate.status, gate.not_before) == (outcome.status, outcome.not_before)
        if bd.contact is not None and line.covered:
            cand = Candidate(bd.contact.chosen_rule, bd.contact.step, 0, bd.contact.level)
            assert evaluate(RULES, state, facts, as_of, [cand]).status in ("act", "defer")


@given(borrowers(), st.randoms(use_true_random=False))
def test_replay_of_borrower_decisions_is_exact(
    case: tuple[list[Any], Any], rnd: random.Random
) -> None:
    """The canonical JSON reads back equal with the same id; replaying from the events in any
    order (and with events after as_of present) gives the same decision, byte for byte."""
    events, as_of = case
    bd = ENGINE.decide_borrower(events, as_of)
    assert dunning.BorrowerDecision.from_json(bd.to_json()) == bd
    assert dunning.BorrowerDecision.from_json(bd.to_json()).to_json() == bd.to_json()
    shuffled = list(events)
    rnd.shuffle(shuffled)
    remade = dunning.replay(bd, shuffled, RULES)
    assert remade.to_json() == bd.to_json()


@given(borrowers())
def test_the_fast_canonical_bytes_equal_the_reference(case: tuple[list[Any], Any]) -> None:
    """The borrower decision the engine builds without validation is the one validation
    builds: same canonical bytes as the generic serialisation (model_dump + sorted
    json.dumps), same id."""
    events, as_of = case
    bd = ENGINE.decide_borrower(events, as_of)
    assert canonical_bytes(bd, with_id=True) == _reference_bytes(bd, with_id=True)
    assert canonical_bytes(bd) == _reference_bytes(bd, with_id=False)
    validated = dunning.BorrowerDecision.model_validate(bd.model_dump())
    assert validated.id == bd.id and validated.to_json() == bd.to_json()
