"""Killing a writer at any moment leaves a store that opens, verifies and keeps every
record whose append had returned.

A writer process appends in a loop and prints each returned seq (flushed), so the parent
knows exactly which appends completed. The parent kills it with SIGKILL after a random delay —
sometimes during start-up or table creation, mostly in the middle of appends — and checks the
store after every kill. The delays come from a seeded Random so a failure can be re-run.
It runs on a SQLite file and on a real PostgreSQL server the tests start (`store_url`).
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from dunning._audit.store import AuditStore

TESTS = Path(__file__).parent
ROUNDS = 6

WRITER = """
import sys
sys.path.insert(0, {tests!r})
from audit_helpers import RULES, make_decision
from dunning._audit.store import AuditStore

store = AuditStore(sys.argv[1])
print("ready", flush=True)
first = int(sys.argv[2])
for i in range(first, first + 100_000):
    receipt = store.append(make_decision(i, loan_id="L" + str(i % 7)), RULES)
    print(receipt.seq, flush=True)
"""


def run_and_kill(path: str, first: int, rng: random.Random, after_ready: bool) -> set[int]:
    """Start a writer, kill it with SIGKILL, and return the seqs it reported as appended."""
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER.format(tests=str(TESTS)), str(path), str(first)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    if after_ready:
        assert proc.stdout.readline() == "ready\n"
        time.sleep(rng.uniform(0.0, 0.3))
    else:
        time.sleep(rng.uniform(0.0, 0.9))
    proc.send_signal(signal.SIGKILL)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    complete = out.split("\n")[:-1]  # the last piece may be a half-written line
    return {int(line) for line in complete if line.isdigit()}


def test_sigkill_at_random_points_loses_no_returned_append(store_url: str) -> None:
    """After each of several SIGKILLs the store verifies and holds every reported seq."""
    path = store_url
    rng = random.Random(20250303)
    reported: set[int] = set()
    for n in range(ROUNDS):
        reported |= run_and_kill(path, first=n * 100_000, rng=rng, after_ready=n % 3 != 0)
        with AuditStore(path) as store:
            report = store.verify()
            stored = {r.seq for r in store.records()}
        assert report.ok, report.problem
        assert set() == reported - stored
        assert report.records == len(stored)
    assert reported, "the writer never got to append: the test proved nothing"
