"""Champion/challenger on live decisions: `dunning.Split` assigns arms by hash and records them."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

import dunning
from dunning import AuditStore, Decision, Engine, InputError, Split, load_rules, loads_rules
from dunning.simulation import SimConfig, arm_of, generate_portfolio

ROOT = Path(__file__).resolve().parents[1]
PACK = ROOT / "rules" / "cn-bank-retail.yaml"
AS_OF = "2025-03-01T10:00:00+08:00"


def variant(version: str = "2026.1-b") -> dunning.RuleSet:
    """The shipped CN pack under another version (another sha256): a challenger."""
    text = PACK.read_text(encoding="utf-8").replace('version: "2026.1"', f'version: "{version}"')
    return loads_rules(text, path=f"cn-{version}.yaml")


@pytest.fixture(scope="module")
def portfolio() -> list[list[dunning.events.Event]]:
    config = SimConfig(accounts=40, start=date(2025, 3, 1), seed=3)
    return [list(spec.history) for spec in generate_portfolio(config)]


def test_one_challenger_splits_exactly_as_arm_of() -> None:
    """With one challenger, the split is the simulator's `arm_of`, loan for loan."""
    split = Split(PACK, {"B": variant()}, share="0.3", salt="exp-7")
    for n in range(2_000):
        expected = "B" if arm_of(f"L{n}", "0.3", "exp-7") == "challenger" else "A"
        assert expected == split.assign(f"L{n}")


def test_raising_a_share_only_moves_accounts_out_of_the_champion() -> None:
    """Going from 10% to 30% for B (C fixed at 10%) sends no account of B or C anywhere else."""
    champion, b, c = load_rules(PACK), variant("b"), variant("c")
    low = Split(champion, {"B": b, "C": c}, share={"B": "0.1", "C": "0.1"})
    high = Split(champion, {"B": b, "C": c}, share={"B": "0.3", "C": "0.1"})
    ids = [f"L{n}" for n in range(3_000)]
    moved = {(low.assign(i), high.assign(i)) for i in ids}
    assert moved <= {("A", "A"), ("B", "B"), ("C", "C"), ("A", "B"), ("A", "C"), ("C", "B")}
    shares = [sum(high.assign(i) == arm for i in ids) / len(ids) for arm in ("A", "B", "C")]
    assert abs(shares[0] - 0.6) < 0.03 and abs(shares[1] - 0.3) < 0.03, shares


def test_each_decision_is_its_arms_decision_tagged_with_experiment_and_arm(
    portfolio: list[list[dunning.events.Event]],
) -> None:
    """A loan in arm B gets B's engine's decision plus the experiment id and the arm, and the
    tags are part of the canonical JSON and therefore of the content id."""
    champion, challenger = load_rules(PACK), variant()
    split = Split(champion, {"B": challenger}, share="0.5", salt="s1", experiment="cn-2026-q1")
    seen = set()
    for events in portfolio:
        d = split.decide(events, AS_OF)
        arm = split.assign(events[0].loan_id)
        rules = {"A": champion, "B": challenger}[arm]
        plain = Engine(rules).decide(events, AS_OF)
        assert (d.experiment, d.arm) == ("cn-2026-q1", arm)
        assert d.rule_set.sha256 == rules.sha256
        assert (d.step, d.status, d.matched) == (plain.step, plain.status, plain.matched)
        data = json.loads(d.to_json())
        assert (data["experiment"], data["arm"]) == ("cn-2026-q1", arm)
        assert d.id != plain.id
        assert Decision.from_json(d.to_json()) == d
        assert Decision.from_json(d.to_json()).id == d.id
        seen.add(arm)
    assert seen == {"A", "B"}


def test_decisions_without_a_split_have_no_experiment_or_arm_keys(
    portfolio: list[list[dunning.events.Event]],
) -> None:
    """Absent, the two fields are left out of the JSON: old decisions keep their bytes."""
    d = Engine(load_rules(PACK)).decide(portfolio[0], AS_OF)
    data = json.loads(d.to_json())
    assert "experiment" not in data and "arm" not in data
    assert (d.experiment, d.arm) == (None, None)
    assert "experiment" not in d.model_dump()


def test_borrower_key_keeps_a_borrowers_loans_in_one_arm() -> None:
    """key="borrower_id": the arm follows the borrower, so two loans of B1 share it."""
    split = Split(PACK, {"B": variant()}, share="0.5", key="borrower_id")
    loans = [
        [
            {"type": "loan_opened", "event_id": f"{loan}-1", "loan_id": loan,
             "at": "2025-01-01T09:00:00+08:00", "borrower_id": borrower, "principal": "1000",
             "currency": "CNY", "timezone": "Asia/Shanghai"},
        ]
        for loan, borrower in [("L1", "B1"), ("L2", "B1"), ("L3", "B2"), ("L4", "B2")]
    ]  # fmt: skip
    arms = [split.decide(events, AS_OF).arm for events in loans]
    assert arms[0] == arms[1] == split.assign("B1")
    assert arms[2] == arms[3] == split.assign("B2")


def test_the_audit_store_keeps_the_arm(
    tmp_path: Path, portfolio: list[list[dunning.events.Event]]
) -> None:
    """Appended with the rule set of its arm, the stored record carries experiment and arm,
    and the chain verifies."""
    split = Split(PACK, {"B": variant()}, share="0.5", experiment="e1")
    with AuditStore(tmp_path / "audit.db") as store:
        made = [split.decide(events, AS_OF) for events in portfolio[:10]]
        for d in made:
            store.append(d, split.rules_for(d))
        stored = [json.loads(r.decision_json) for r in store.records()]
        assert store.verify().ok
        in_b = [r.loan_id for r in store.records(experiment="e1", arm="B")]
        assert list(store.records(experiment="other")) == []
    assert [(s["experiment"], s["arm"]) for s in stored] == [("e1", d.arm) for d in made]
    assert in_b == [d.loan_id for d in made if d.arm == "B"] != []


def test_rules_for_refuses_a_decision_of_another_experiment(
    portfolio: list[list[dunning.events.Event]],
) -> None:
    split = Split(PACK, {"B": variant()}, experiment="e1")
    other = Split(PACK, {"B": variant()}, experiment="e2").decide(portfolio[0], AS_OF)
    with pytest.raises(InputError, match="not from experiment 'e1'"):
        split.rules_for(other)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"share": "1.5"}, "Split share: expected a number from 0 to 1, found '1.5'"),
        ({"share": "x"}, "Split share: expected a number from 0 to 1, found 'x'"),
        ({"share": {"C": "0.1"}}, "expected a share for each challenger \\(B\\), found C"),
        ({"key": "phone"}, "Split key: expected one of loan_id, borrower_id, found 'phone'"),
        ({"champion_arm": "B"}, "challenger 'B' has the champion's arm name"),
    ],
)
def test_bad_split_arguments_are_named(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InputError, match=message):
        Split(PACK, {"B": variant()}, **kwargs)  # type: ignore[arg-type]


def test_shares_summing_over_one_are_refused() -> None:
    with pytest.raises(InputError, match=r"sum to at most 1, found 1\.2"):
        Split(PACK, {"B": variant("b"), "C": variant("c")}, share="0.6")


def test_the_experiment_id_defaults_to_a_digest_of_the_configuration() -> None:
    """Same configuration, same id; another salt, another id."""
    a = Split(PACK, {"B": variant()}, share="0.2", salt="x")
    b = Split(PACK, {"B": variant()}, share="0.2", salt="x")
    c = Split(PACK, {"B": variant()}, share="0.2", salt="y")
    assert a.experiment == b.experiment == f"split-{a.sha256[:12]}"
    assert a.experiment != c.experiment
    assert repr(a).startswith("<Split split-")


def test_the_batch_decides_and_audits_each_loan_with_its_arm(
    tmp_path: Path, portfolio: list[list[dunning.events.Event]]
) -> None:
    """run_batch(rules=split): each output line is the split's decision for that loan, and the
    audit store holds each with the rule set of its arm (the chain verifies)."""
    from dunning.batch import run_batch

    split = Split(PACK, {"B": variant()}, share="0.5", salt="n1", experiment="night")
    events = [e for loan in portfolio for e in loan]
    out, audit = tmp_path / "out.jsonl", tmp_path / "audit.db"
    run_batch(events, store=tmp_path / "s.db", rules=split, as_of=AS_OF, out=out,
              audit=audit, batch_id="n1")  # fmt: skip
    expected = sorted((split.decide(loan, AS_OF) for loan in portfolio), key=lambda d: d.loan_id)
    assert out.read_text(encoding="utf-8").splitlines() == [d.to_json() for d in expected]
    with AuditStore(audit) as store:
        assert store.verify().ok
        shas = {r.loan_id: r.rule_set_sha256 for r in store.records()}
    assert shas == {d.loan_id: split.rule_sets[d.arm].sha256 for d in expected}
    assert {d.arm for d in expected} == {"A", "B"}
