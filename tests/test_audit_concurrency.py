"""Many writers, one log: concurrent appends from processes and threads never fork it.

Each test runs on a SQLite file and on a real PostgreSQL server the tests start (`store_url`),
where appenders queue on an advisory lock instead of SQLite's file lock. The issue's size,
8 processes x 500 appends, is behind the `slow` marker; the default suite runs 3 x 50.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from audit_helpers import RULES, make_decision
from dunning._audit.store import AuditStore

TESTS = Path(__file__).parent
PROCESSES = 3
EACH = 50

WRITER = """
import sys
sys.path.insert(0, {tests!r})
from audit_helpers import RULES, make_decision
from dunning._audit.store import AuditStore

name, count = sys.argv[2], int(sys.argv[3])
with AuditStore(sys.argv[1]) as store:
    for i in range(count):
        print(store.append(make_decision(i, loan_id=name), RULES).seq, flush=True)
"""


def test_writer_processes_share_one_unbroken_chain(store_url: str) -> None:
    """Three processes start on a new store at once and append 50 records each: the store
    is created once, every seq is handed out exactly once, and the tree verifies."""
    _writers(store_url, PROCESSES, EACH)


@pytest.mark.slow
def test_eight_writer_processes_of_500_appends(store_url: str) -> None:
    """The issue's size: 8 processes x 500 appends; contiguous, all present, tree verifies."""
    _writers(store_url, 8, 500)


def _writers(path: str, processes: int, each: int) -> None:
    code = WRITER.format(tests=str(TESTS))
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(path), f"P{n}", str(each)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(processes)
    ]
    seqs: list[int] = []
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
        seqs += [int(line) for line in out.split()]
    total = processes * each
    assert list(range(1, total + 1)) == sorted(seqs)
    with AuditStore(path) as store:
        report = store.verify()
        per_loan = {f"P{n}": len(list(store.records(loan_id=f"P{n}"))) for n in range(processes)}
        seqs_stored = [r.seq for r in store.records()]
    assert (True, total) == (report.ok, report.records), report.problem
    assert list(range(1, total + 1)) == seqs_stored  # contiguous: no gap, none twice
    assert {f"P{n}": each for n in range(processes)} == per_loan


def test_threads_sharing_a_store_and_threads_with_their_own(store_url: str) -> None:
    """Three threads share one AuditStore, two more open their own on the same store: every
    append lands once, in one log."""
    path = store_url
    shared = AuditStore(path)
    receipts: list[int] = []
    errors: list[BaseException] = []

    def write(name: str, store: AuditStore | None) -> None:
        own = store or AuditStore(path)
        try:
            for i in range(20):
                receipts.append(own.append(make_decision(i, loan_id=name), RULES).seq)
        except BaseException as exc:  # surfaced below: a thread's failure must fail the test
            errors.append(exc)
        finally:
            if store is None:
                own.close()

    threads = [threading.Thread(target=write, args=(f"T{n}", shared)) for n in range(3)]
    threads += [threading.Thread(target=write, args=(f"O{n}", None)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert list(range(1, 101)) == sorted(receipts)
    report = shared.verify()
    assert (report.ok, report.records) == (True, 100)
