"""The benchmark's peer, zen-engine, finds exactly the python backend's matches (issue #20).

bench_engine times zen-engine on the same conditions (benchmarks/zen_table.py translates the
compiled conditions into a ZEN decision table); a ratio means something only if both answer
the same. The benchmark checks it on every run; this checks it in the suite, on generated
accounts and on conditions with nulls, money, enums and negations.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest

from dunning import Engine, loads_rules

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"


def _module(name: str) -> Any:
    sys.path.insert(0, str(BENCH))
    try:
        spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(BENCH))


@pytest.fixture(scope="module")
def bench() -> Any:
    return _module("bench_engine")


def test_zen_matches_python_on_the_benchmark_table(bench: Any) -> None:
    rules = loads_rules(bench.rules_text(), base_dir=bench.ROOT / "rules")
    table = _module("zen_table").ZenTable(rules)
    engine = Engine(rules)
    hits = 0
    stored = bench.chunks(300, 300, 7)  # its snapshot store lives as long as the generator
    for state, at in next(stored).read():
        facts = dict(state.facts(at, rules))
        want = set(engine.match(facts))
        assert table.match_table(facts) == want
        assert table.match_list(facts) == want
        hits += len(want)
    assert hits > 300  # the accounts do match rules: the comparison is not empty against empty


def test_nulls_money_and_negation_keep_their_meaning() -> None:
    """A null makes a comparison False (an error in ZEN): the guards keep `not` right."""
    rules = loads_rules(
        "dunning: 1\nextends: pack:cn-bank-retail\nid: t\nversion: '1'\nrules:\n"
        "  - {id: n1, when: 'not (days_since_step.lawyer_letter >= 3)', step: sms_reminder,"
        " priority: 1, reason: r, source: s}\n"
        "  - {id: n2, when: 'overdue_amount - credit_amount >= 0.05', step: sms_reminder,"
        " priority: 1, reason: r, source: s}\n",
        base_dir=BENCH.parent / "rules",
    )
    table = _module("zen_table").ZenTable(rules)
    engine = Engine(rules)
    stored = _module("bench_engine").chunks(120, 120, 3)
    for state, at in next(stored).read():
        facts = dict(state.facts(at, rules))
        for late in (None, 0, 5):
            for amount in ("0.00", "0.04", "0.05", "0.06"):
                f = {**facts, "days_since_step.lawyer_letter": late}
                f["overdue_amount"] = f["credit_amount"] + type(f["credit_amount"])(amount)
                assert table.match_list(f) == set(engine.match(f)) == table.match_table(f)
