"""The Dask runs at borrower level decide exactly what one process decides."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import distributed  # the dask extra is part of the dev install: CI always runs this
import pytest

from dunning._portfolio.batch import run_batch
from dunning._portfolio.dask import decide_on_dask, decide_store_on_dask
from test_borrower_portfolio import NIGHT1, RULES, book, expected, lines


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    cluster = distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
    )
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def test_dask_by_borrower_equals_one_process(client: Any, tmp_path: Path) -> None:
    """Three borrowers (six loans) in three partitions: each partition holds whole borrowers,
    the decisions are the single-process ones in borrower id order; over a snapshot store the
    ranges are cut between borrowers and the texts equal the batch's file."""
    n1, _ = book()
    got = decide_on_dask(n1, RULES, NIGHT1, client=client, partitions=3, by="borrower")
    assert [d.to_json() for d in got] == [d.to_json() for d in expected(n1, NIGHT1)]
    store = tmp_path / "s.db"
    run_batch(n1, store=store, rules=RULES, as_of=NIGHT1, out=tmp_path / "o.jsonl",
              batch_id="n1", by="borrower")  # fmt: skip
    texts = list(decide_store_on_dask(store, RULES, NIGHT1, client=client, partitions=3,
                                      by="borrower"))  # fmt: skip
    assert texts == lines(tmp_path / "o.jsonl")
