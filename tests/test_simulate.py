"""The simulator: seeded, reproducible, and its borrowers behave as their models say."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dunning._base.errors import InputError
from dunning._base.time import zone
from dunning._portfolio.feeds import dumps_event
from dunning._portfolio.simulate import SimConfig, simulate
from dunning._rules.loader import load_rules

RULES = Path(__file__).resolve().parents[1] / "rules" / "cn-bank-retail.yaml"


@pytest.fixture(scope="module")
def rules() -> Any:
    return load_rules(RULES)


def run(rules: Any, config: SimConfig, **kw: Any) -> tuple[str, list[str]]:
    """(metrics JSON, every event as JSON) of one simulation."""
    events: list[str] = []
    metrics = simulate(
        rules, config, on_events=lambda _l, evs: events.extend(dumps_event(e) for e in evs), **kw
    )
    return json.dumps(metrics.to_dict(), sort_keys=True), events


def test_the_same_seed_gives_byte_identical_results(rules: Any) -> None:
    """Two runs with seed 11 agree on every event and metric; seed 12 tells another story."""
    config = SimConfig(accounts=8, days=20, seed=11)
    first, second = run(rules, config), run(rules, config)
    other = run(rules, SimConfig(accounts=8, days=20, seed=12))
    assert first == second
    assert first[1] != other[1]


def test_a_loan_behaves_the_same_whatever_else_is_in_the_portfolio(rules: Any) -> None:
    """Loans 1-6 of a 12-loan portfolio live exactly as in a 6-loan one (per-loan seeds)."""
    small = run(rules, SimConfig(accounts=6, days=20, seed=3))
    first_six = run(
        rules,
        SimConfig(accounts=12, days=20, seed=3),
        arm_of=lambda loan: int(loan[3:]) <= 6,
    )
    assert small == first_six


def test_unreachable_borrowers_are_never_reached_and_pay_nothing(rules: Any) -> None:
    """A portfolio of 'unreachable' borrowers: contacts are tried, none connects, nothing paid."""
    metrics = simulate(rules, SimConfig(accounts=8, days=20, mix={"unreachable": 1.0}))
    assert (metrics.reached, str(metrics.collected)) == (0, "0")
    assert metrics.contacts > 0


def test_forgetful_borrowers_cure_more_often_than_unreachable_ones(rules: Any) -> None:
    """Reminders work on the forgetful: their cure rate beats the unreachable's."""
    forgetful = simulate(rules, SimConfig(accounts=10, days=25, mix={"forgetful": 1.0}))
    unreachable = simulate(rules, SimConfig(accounts=10, days=25, mix={"unreachable": 1.0}))
    assert forgetful.cured > unreachable.cured


def test_contacts_happen_at_lawful_local_hours(rules: Any) -> None:
    """Every simulated contact is within 08:00-21:00 in the borrower's zone."""
    _metrics, events = run(rules, SimConfig(accounts=10, days=20, seed=5))
    hours = sorted(
        {_local_hour(e) for e in map(json.loads, events) if e["type"] == "contact_attempted"}
    )
    assert hours and all(8 <= h < 21 for h in hours), hours


def _local_hour(event: dict[str, Any]) -> int:
    from datetime import datetime

    return datetime.fromisoformat(event["at"]).astimezone(zone("Asia/Shanghai")).hour


def test_unknown_behaviour_in_the_mix_is_named(rules: Any) -> None:
    """A typo in the mix is an InputError listing the behaviours there are."""
    with pytest.raises(InputError, match="unknown behaviour 'forgetfull'; expected one of"):
        SimConfig(mix={"forgetfull": 1.0})


def test_simulate_command_writes_events_and_prints_metrics(tmp_path: Path, capsys: Any) -> None:
    """`dunning simulate --format json --events-out` exits 0; the events file folds again."""
    from dunning._cli.main import main
    from dunning._portfolio.feeds import group_by_loan, read_jsonl

    out = tmp_path / "events.jsonl"
    code = main(["simulate", "--rules", str(RULES), "--accounts", "3", "--days", "5",
                 "--format", "json", "--events-out", str(out)])  # fmt: skip
    metrics = json.loads(capsys.readouterr().out)
    assert (code, metrics["accounts"]) == (0, 3)
    assert sorted(group_by_loan(read_jsonl(out))) == ["SIM000001", "SIM000002", "SIM000003"]
