"""Replay: a recorded decision re-made from its inputs, and the first difference named.

Most tests here put a stand-in engine in place of dunning._decide.engine (it "decides" whatever
decision it is handed as its events), so replay's own logic — rule-set check, causal field
order, dotted paths, the store-wide report — is tested apart from the real evaluator. The
end-to-end test with the real engine and the CN rule pack is at the bottom.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

import pytest

import dunning._audit.replay as replay_module
from audit_helpers import OTHER_RULES, RULES, StandInRules, make_decision
from dunning import ReplayMismatch, StoreError
from dunning._audit.registry import MemoryRegistry, load_rule_set
from dunning._audit.replay import first_difference, replay
from dunning._audit.store import AuditStore
from dunning._decide.decision import Decision
from dunning._decide.engine import Engine
from dunning._rules.loader import load_rules


def changed(d: Decision, **update: Any) -> Decision:
    return Decision.model_validate({**d.model_dump(exclude={"id"}), **update})


def with_fact(d: Decision, name: str, value: object) -> Decision:
    match = d.matched[0].model_copy(update={"facts": {**d.matched[0].facts, name: value}})
    return changed(d, matched=[match.model_dump(), *(m.model_dump() for m in d.matched[1:])])


class StandInEngine:
    """Decides by returning the decision it is given as `events` (after checking as_of)."""

    calls: ClassVar[list[tuple[str, datetime]]] = []

    def __init__(self, rules: Any, backend: str = "python") -> None:
        self.rules, self.backend = rules, backend

    def decide(self, events: Decision, as_of: datetime) -> Decision:
        StandInEngine.calls.append((self.backend, as_of))
        return events


@pytest.fixture
def stand_in_engine(monkeypatch: pytest.MonkeyPatch) -> type[StandInEngine]:
    monkeypatch.setattr("dunning._audit.replay.Engine", StandInEngine)
    StandInEngine.calls = []
    return StandInEngine


# -- first_difference: which field, in which order ----------------------------------------------


def test_identical_decisions_have_no_difference() -> None:
    """A decision compared with itself (or its JSON round trip) has no difference."""
    d = make_decision(3)
    assert first_difference(d, Decision.from_json(d.to_json())) is None


def test_a_fact_is_named_before_the_step_it_caused() -> None:
    """When a fact and the step both differ, the fact (the cause) is reported, by dotted path."""
    d = make_decision(1)
    other = changed(with_fact(d, "dpd", 99), step="lawyer_letter")
    assert first_difference(d, other) == ("matched[0].facts.dpd", 31, 99)


def test_the_step_is_named_when_only_the_outcome_differs() -> None:
    """Same facts, same blocks, another step: the field is 'step'."""
    d = make_decision(1)
    assert first_difference(d, changed(d, step="sms_reminder")) == (
        "step",
        "phone_collection",
        "sms_reminder",
    )


def test_a_missing_list_item_is_named_by_index() -> None:
    """A block the record has and the re-made decision lacks is named blocked[0]."""
    d = make_decision(1)
    path, expected, actual = first_difference(d, changed(d, blocked=[])) or ("", None, None)
    assert (path, expected["step"], actual) == ("blocked[0]", "field_visit", None)


def test_true_and_one_are_different_values() -> None:
    """JSON true is not 1, whatever Python's True == 1 says."""
    d = with_fact(make_decision(1), "dispute_open", True)
    assert first_difference(d, with_fact(d, "dispute_open", 1)) == (
        "matched[0].facts.dispute_open",
        True,
        1,
    )


def test_engine_version_alone_is_not_a_difference() -> None:
    """A decision re-made by a newer dunning with the same outcome replays cleanly."""
    d = make_decision(1)
    assert first_difference(d, changed(d, engine_version="9.9.9")) is None


# -- replay ---------------------------------------------------------------------------------------


def test_replay_refuses_other_rules_before_deciding(stand_in_engine: type[StandInEngine]) -> None:
    """Replaying with a rule set other than the recorded one names rule_set.sha256."""
    d = make_decision(1)
    with pytest.raises(ReplayMismatch) as info:
        replay(d, d, OTHER_RULES)
    err = info.value
    assert ("rule_set.sha256", RULES.sha256, OTHER_RULES.sha256) == (
        err.field,
        err.expected,
        err.actual,
    )
    assert stand_in_engine.calls == []


def test_replay_returns_the_remade_decision_as_of_the_recorded_moment(
    stand_in_engine: type[StandInEngine],
) -> None:
    """A matching replay returns the re-made decision; the engine was asked at as_of."""
    d = make_decision(2)
    assert d == replay(d, d, RULES)
    assert [("python", d.as_of)] == stand_in_engine.calls


def test_replay_mismatch_names_field_and_both_values(
    stand_in_engine: type[StandInEngine],
) -> None:
    """A different re-made decision raises ReplayMismatch with path, recorded and re-made."""
    d = make_decision(1)
    with pytest.raises(
        ReplayMismatch, match=r"matched\[0\]\.facts\.dpd differs: recorded 31, re-made 32"
    ):
        replay(d, with_fact(d, "dpd", 32), RULES)


# -- replay_all over a store ---------------------------------------------------------------------


def _store(tmp_path: Path, n: int = 4) -> AuditStore:
    store = AuditStore(tmp_path / "audit.sqlite")
    for i in range(n):
        store.append(make_decision(i, loan_id=f"L{i}"), RULES)
    return store


@pytest.fixture
def stand_in_rule_sets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stored stand-in rule sets are rebuilt as StandInRules (the loader is not involved)."""

    def load(sha: str, text: str) -> StandInRules:
        assert RULES.canonical_json() == text
        return RULES

    monkeypatch.setattr(replay_module, "load_rule_set", load)


@pytest.mark.usefixtures("stand_in_rule_sets")
def test_replay_all_reports_only_records_that_differ(
    tmp_path: Path, stand_in_engine: type[StandInEngine]
) -> None:
    """Each record is re-decided with its stored rule set; one whose inputs changed is named."""
    store = _store(tmp_path)
    inputs = {f"L{i}": make_decision(i, loan_id=f"L{i}") for i in range(4)}
    inputs["L2"] = changed(inputs["L2"], status="blocked")
    report = store.replay_all(inputs.__getitem__)
    assert (report.checked, report.ok) == (4, False)
    (problem,) = report.problems
    assert (
        problem.seq,
        problem.loan_id,
        problem.field,
        problem.expected,
        problem.actual,
    ) == (3, "L2", "status", "act", "blocked")


@pytest.mark.usefixtures("stand_in_rule_sets")
def test_replay_all_takes_a_time_range(
    tmp_path: Path, stand_in_engine: type[StandInEngine]
) -> None:
    """start/end select records by as_of; only those are re-decided."""
    store = _store(tmp_path)
    inputs = {f"L{i}": make_decision(i, loan_id=f"L{i}") for i in range(4)}
    report = store.replay_all(inputs.__getitem__, "2025-03-03T03:00:00Z", "2025-03-03T05:00:00Z")
    assert (report.checked, report.ok) == (2, True)


def test_replay_all_with_a_missing_rule_set_is_a_store_error(tmp_path: Path) -> None:
    """A record whose rule set was removed cannot be replayed: StoreError naming it."""
    _store(tmp_path, 1).close()
    conn = sqlite3.connect(tmp_path / "audit.sqlite")
    conn.execute("DELETE FROM rule_sets")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match=f"rule set {RULES.sha256} is missing"):
        AuditStore(tmp_path / "audit.sqlite").replay_all(lambda loan: [])


# -- end to end: the real engine and the CN rule pack ---------------------------------------------

ROOT = Path(__file__).resolve().parent.parent
EVENTS: list[dict[str, str]] = [
    {"type": "loan_opened", "event_id": "e1", "loan_id": "L1", "borrower_id": "B1",
     "at": "2025-01-01T09:00:00+08:00", "principal": "12000.00", "currency": "CNY",
     "timezone": "Asia/Shanghai"},
    {"type": "installment_due", "event_id": "e2", "loan_id": "L1",
     "at": "2025-02-01T00:00:00+08:00", "due_date": "2025-02-01",
     "principal": "1000.00", "interest": "60.00", "currency": "CNY"},
]  # fmt: skip
PAYMENT = {"type": "payment_received", "event_id": "e3", "loan_id": "L1",
           "at": "2025-03-01T12:00:00+08:00", "amount": "1060.00", "currency": "CNY"}  # fmt: skip


def test_a_real_decision_replays_and_changed_events_are_named(tmp_path: Path) -> None:
    """A CN-pack decision replays as itself (on either backend); with a payment added, the
    inputs are named as the first difference."""
    rules = load_rules(ROOT / "rules" / "cn-bank-retail.yaml")
    decision = Engine(rules).decide(EVENTS, "2025-03-05T10:00:00+08:00")
    assert decision == replay(Decision.from_json(decision.to_json()), EVENTS, rules)
    assert decision == replay(decision, EVENTS, rules, backend="durable")
    with pytest.raises(ReplayMismatch) as info:
        replay(decision, [*EVENTS, PAYMENT], rules)
    assert info.value.field == "input_digest"


def test_replay_all_rebuilds_the_stored_rule_set(tmp_path: Path) -> None:
    """replay_all re-runs stored CN-pack decisions from the rule set kept in the store."""
    rules = load_rules(ROOT / "rules" / "cn-bank-retail.yaml")
    store = AuditStore(tmp_path / "audit.sqlite")
    for day in ("2025-03-05", "2025-03-12", "2025-04-02"):
        store.append(Engine(rules).decide(EVENTS, f"{day}T10:00:00+08:00"), rules)
    report = store.replay_all(lambda loan_id: EVENTS)
    assert (report.checked, report.problems) == (3, ())


@pytest.mark.parametrize(
    "pack",
    ["rules/cn-bank-retail.yaml", "rules/us-regf.yaml", "rules/uk-fca.yaml",
     "examples/bank_extends_cn.yaml"],
)  # fmt: skip
def test_every_shipped_pack_is_rebuilt_from_its_stored_form(pack: str) -> None:
    """A rule set kept by digest comes back as the same rule set (extends already resolved)."""
    rules = load_rules(ROOT / pack)
    registry = MemoryRegistry()
    sha = registry.put(rules)
    assert rules.sha256 == load_rule_set(sha, registry.get(sha)).sha256
