"""Benchmark: what reading and writing a checked snapshot costs, per account.

    .venv/bin/python benchmarks/bench_snapshots.py        # 50 bench_batch accounts, 15 months

Side by side in one process (best of 15 rounds): parsing a snapshot's JSON (what every read
paid before snapshots were checked), reading it from the store (zstd, digest, the events'
cheap re-derivation, the parse), the same with check="full" (the events folded again), and
writing it (JSON; JSON + zstd). Also the stored bytes per account.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_batch  # the same generated accounts

from dunning import AccountState
from dunning.batch import SnapshotStore


def main() -> None:
    events: dict[str, list[dict[str, Any]]] = {}
    for e in bench_batch.history(50, 15):
        events.setdefault(e.get("loan_id") or "L" + e["borrower_id"][1:], []).append(e)
    states = [AccountState.from_events(v) for v in events.values()]
    texts = [s.to_json() for s in states]
    n = len(states)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "s.db"
        with SnapshotStore(path) as db, db.transaction():
            for s in states:
                db.put(s)
        cheap, full = SnapshotStore(path), SnapshotStore(path, check="full")

        def write() -> None:
            with db2.transaction():
                for s in states:
                    db2.put(s)

        db2 = SnapshotStore(Path(d) / "w.db")
        ids = [s.loan_id for s in states]
        rows = [
            ("AccountState.from_json (the read before #16)",
             lambda: [AccountState.from_json(t) for t in texts]),
            ("SnapshotStore.get, checked (the read now)", lambda: [cheap.get(i) for i in ids]),
            ('SnapshotStore.get, check="full" (re-fold)', lambda: [full.get(i) for i in ids]),
            ("AccountState.to_json (the write before)", lambda: [s.to_json() for s in states]),
            ("SnapshotStore.put, zstd + digest (the write now)", write),
        ]  # fmt: skip
        print(f"{n} accounts, {sum(len(s.events) for s in states) / n:.1f} events each;"
              f" stored {cheap.state_bytes() / n:,.0f} bytes per account"
              f" (JSON {sum(len(t.encode()) for t in texts) / n:,.0f})")  # fmt: skip
        print(f"  {'us per account':52s} {'best':>8s} {'median':>8s}")
        # Interleaved rounds, so a burst of load elsewhere hits every row alike.
        results: dict[str, list[float]] = {label: [] for label, _f in rows}
        for _ in range(15):
            for label, f in rows:
                t0 = time.perf_counter()
                f()
                results[label].append((time.perf_counter() - t0) / n * 1e6)
        for label, times in results.items():
            times.sort()
            print(f"  {label:52s} {times[0]:8.0f} {times[len(times) // 2]:8.0f}")
        for db in (cheap, full, db2):
            db.close()


if __name__ == "__main__":
    main()
