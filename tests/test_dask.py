"""The Dask adapter decides exactly what a single process decides (two worker processes)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import distributed  # the dask extra is part of the dev install: CI always runs this
import pytest

from dunning._portfolio.batch import run_batch
from dunning._portfolio.feeds import group_by_loan
from dunning._portfolio.simulate import SimConfig, generate_portfolio
from dunning._rules.loader import load_rules

RULES = Path(__file__).resolve().parents[1] / "rules" / "cn-bank-retail.yaml"
AS_OF = "2025-03-01T10:00:00+08:00"


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    """A local cluster of two worker processes, one thread each, closed after the module."""
    cluster = distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
    )
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


@pytest.fixture(scope="module")
def events() -> list[Any]:
    specs = generate_portfolio(SimConfig(accounts=40, seed=9, days=30))
    return [e for s in specs for e in s.history]


def test_dask_run_equals_the_single_process_run(client: Any, events: list[Any]) -> None:
    """40 loans in 5 partitions on 2 workers: the same decisions, sorted by loan id."""
    from dunning._decide.engine import Engine
    from dunning._portfolio.dask import decide_on_dask

    rules = load_rules(RULES)
    engine = Engine(rules)
    expected = [engine.decide(evs, AS_OF).to_json() for evs in group_by_loan(events).values()]
    actual = decide_on_dask(events, RULES, AS_OF, client=client, partitions=5)
    assert expected == [d.to_json() for d in actual]
    assert len(client.scheduler_info()["workers"]) == 2


def test_dask_over_a_snapshot_store_equals_the_batch_output(
    client: Any, events: list[Any], tmp_path: Path
) -> None:
    """Workers read the store file by ranges; the result is the batch's JSON Lines."""
    from dunning._portfolio.dask import decide_store_on_dask

    store, out = tmp_path / "s.db", tmp_path / "o.jsonl"
    run_batch(events, store=store, rules=RULES, as_of=AS_OF, out=out, batch_id="b")
    actual = list(decide_store_on_dask(store, RULES, AS_OF, client=client, partitions=3))
    assert out.read_text(encoding="utf-8").splitlines() == actual


def test_a_split_on_dask_equals_the_split_in_one_process(client: Any, events: list[Any]) -> None:
    """A Split travels as its configuration; workers decide each loan with its arm, tagged."""
    from dunning._decide.split import Split
    from dunning._portfolio.dask import decide_on_dask
    from dunning._rules.loader import loads_rules

    text = RULES.read_text(encoding="utf-8").replace('version: "2026.1"', 'version: "b"')
    split = Split(RULES, {"B": loads_rules(text)}, share="0.5", salt="d", experiment="dx")
    expected = [split.decide(evs, AS_OF).to_json() for evs in group_by_loan(events).values()]
    actual = decide_on_dask(events, split, AS_OF, client=client, partitions=3)
    assert expected == [d.to_json() for d in actual]
    assert {d.arm for d in actual} == {"A", "B"}


def test_a_split_over_a_snapshot_store_equals_the_split_batch(
    client: Any, events: list[Any], tmp_path: Path
) -> None:
    from dunning._decide.split import Split
    from dunning._portfolio.dask import decide_store_on_dask
    from dunning._rules.loader import loads_rules

    text = RULES.read_text(encoding="utf-8").replace('version: "2026.1"', 'version: "b"')
    split = Split(RULES, {"B": loads_rules(text)}, share="0.3", key="borrower_id")
    store, out = tmp_path / "s.db", tmp_path / "o.jsonl"
    run_batch(events, store=store, rules=split, as_of=AS_OF, out=out, batch_id="b")
    actual = list(decide_store_on_dask(store, split, AS_OF, client=client, partitions=3))
    assert out.read_text(encoding="utf-8").splitlines() == actual
    assert '"arm":"B"' in "".join(actual)


def test_without_dask_the_user_is_told_which_extra_to_install(monkeypatch: Any) -> None:
    """No `distributed` module: an InputError naming the `dask` extra, not an ImportError."""
    import sys

    from dunning._base.errors import InputError
    from dunning._portfolio.dask import decide_on_dask

    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(InputError, match=r"pip install 'dunning\[dask\]'"):
        decide_on_dask([], RULES, AS_OF, client=None)
