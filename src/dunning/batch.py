"""Public: the nightly batch over a snapshot store, and the distributed run on Dask.

`run_batch` applies the day's events to stored snapshots and decides every account,
streaming and resumable; `decide_on_dask` / `decide_store_on_dask` return exactly the
decisions of a single-process run (the `dask` extra). See docs/portfolio.md.
"""

from ._portfolio.batch import BatchSummary, run_batch
from ._portfolio.dask import decide_on_dask, decide_store_on_dask, local_client, warm_up
from ._portfolio.snapshots import SnapshotStore

__all__ = [
    "BatchSummary",
    "SnapshotStore",
    "decide_on_dask",
    "decide_store_on_dask",
    "local_client",
    "run_batch",
    "warm_up",
]
