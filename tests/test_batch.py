"""The nightly batch: snapshots move forward, every account is decided once, crashes resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from dunning._base.errors import StoreError
from dunning._portfolio.batch import run_batch
from dunning._portfolio.feeds import group_by_loan
from dunning._portfolio.simulate import SimConfig, generate_portfolio
from dunning._portfolio.snapshots import SnapshotStore
from dunning._rules.loader import load_rules

RULES = Path(__file__).resolve().parents[1] / "rules" / "cn-bank-retail.yaml"
DAY1 = "2025-03-01T10:00:00+08:00"
DAY2 = "2025-03-20T10:00:00+08:00"


@pytest.fixture(scope="module")
def rules() -> Any:
    return load_rules(RULES)


@pytest.fixture(scope="module")
def engine(rules: Any) -> Any:
    from dunning._decide.engine import Engine

    return Engine(rules)


def portfolio(accounts: int, seed: int = 7) -> tuple[list[Any], list[Any]]:
    """(history up to day 1, new events up to day 2) of a generated portfolio."""
    specs = list(generate_portfolio(SimConfig(accounts=accounts, seed=seed, days=30)))
    day1 = [e for s in specs for e in s.history]
    day2 = [e for s in specs for e in s.future_dues if e.at.isoformat() < "2025-03-20"]
    # a contact about the borrower with no loan id: belongs to the borrower's loans
    day2.append(
        {
            "type": "contact_attempted",
            "event_id": "c-1",
            "borrower_id": specs[0].history[0].borrower_id,  # type: ignore[union-attr]
            "at": "2025-03-10T10:00:00+08:00",
            "channel": "phone",
            "outcome": "no_answer",
        }
    )
    return day1, day2


def lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def test_batch_decisions_equal_deciding_each_loan_from_all_its_events(
    tmp_path: Path, rules: Any, engine: Any
) -> None:
    """Two nightly runs over snapshots decide exactly as folding every loan from scratch."""
    day1, day2 = portfolio(25)
    store = tmp_path / "s.db"
    run_batch(reversed(day1), store=store, rules=rules, as_of=DAY1, out=tmp_path / "1.jsonl",
              batch_id="d1", chunk=4)  # fmt: skip
    summary = run_batch(day2, store=store, rules=rules, as_of=DAY2, out=tmp_path / "2.jsonl",
                        batch_id="d2", chunk=4)  # fmt: skip
    expected = [
        engine.decide(events, DAY2).to_json() for events in group_by_loan(day1 + day2).values()
    ]
    assert expected == lines(tmp_path / "2.jsonl")
    assert (summary.total, summary.decided_now, summary.resumed_from) == (25, 25, 0)


def test_borrower_level_event_without_loan_id_reaches_the_borrowers_loan(
    tmp_path: Path, rules: Any
) -> None:
    """A contact naming only the borrower lands in that borrower's snapshot."""
    day1, day2 = portfolio(3)
    store = tmp_path / "s.db"
    run_batch(day1, store=store, rules=rules, as_of=DAY1, out=None, batch_id="d1")
    run_batch(day2, store=store, rules=rules, as_of=DAY2, out=None, batch_id="d2")
    with SnapshotStore(store) as db:
        state = db.get("SIM000001")
    assert state is not None
    assert [c.event_id for c in state.contacts] == ["c-1"]


class Crash(Exception):
    pass


class CrashAfter:
    """An engine that dies (raises) after deciding `k` loans: a crash inside the loop."""

    def __init__(self, engine: Any, k: int) -> None:
        self.engine, self.left = engine, k

    def decide(self, state: Any, as_of: Any) -> Any:
        if self.left == 0:
            raise Crash
        self.left -= 1
        return self.engine.decide(state, as_of)


def test_resuming_a_crashed_batch_gives_the_uninterrupted_output(
    tmp_path: Path, rules: Any, engine: Any
) -> None:
    """Crash after 11 loans (mid-chunk), re-run: same file, same snapshots, none twice."""
    day1, _ = portfolio(20)
    run_batch(day1, store=tmp_path / "a.db", rules=rules, as_of=DAY1, out=tmp_path / "a.jsonl",
              batch_id="n1", chunk=4)  # fmt: skip
    with pytest.raises(Crash):
        run_batch(day1, store=tmp_path / "b.db", rules=rules, as_of=DAY1,
                  out=tmp_path / "b.jsonl", batch_id="n1", chunk=4,
                  engine=CrashAfter(engine, 11))  # fmt: skip
    with SnapshotStore(tmp_path / "b.db") as db:
        assert db.decided_count("n1") == 8  # two whole chunks committed, the third rolled back
    assert not (tmp_path / "b.jsonl").exists()
    summary = run_batch(day1, store=tmp_path / "b.db", rules=rules, as_of=DAY1,
                        out=tmp_path / "b.jsonl", batch_id="n1", chunk=4)  # fmt: skip
    assert (summary.total, summary.decided_now, summary.resumed_from) == (20, 12, 8)
    assert lines(tmp_path / "a.jsonl") == lines(tmp_path / "b.jsonl")
    with SnapshotStore(tmp_path / "a.db") as a, SnapshotStore(tmp_path / "b.db") as b:
        assert list(a.iter_states_json()) == list(b.iter_states_json())


def test_rerunning_a_finished_batch_rewrites_the_same_file_and_decides_nothing(
    tmp_path: Path, rules: Any
) -> None:
    """The output is idempotent: a second run with the same batch id is a no-op on the store."""
    day1, _ = portfolio(5)
    args: dict[str, Any] = {"store": tmp_path / "s.db", "rules": rules, "as_of": DAY1}
    run_batch(day1, out=tmp_path / "o.jsonl", batch_id="x", **args)
    first = (tmp_path / "o.jsonl").read_bytes()
    again = run_batch(day1, out=tmp_path / "o.jsonl", batch_id="x", **args)
    assert (first, 0, 5) == ((tmp_path / "o.jsonl").read_bytes(), again.decided_now, again.total)


def test_resuming_with_another_as_of_is_refused(tmp_path: Path, rules: Any) -> None:
    """A batch id stands for one as_of and one rule set; resuming with others is an error."""
    day1, _ = portfolio(2)
    run_batch(day1, store=tmp_path / "s.db", rules=rules, as_of=DAY1, out=None, batch_id="x")
    with pytest.raises(StoreError, match="batch 'x': was started with as_of"):
        run_batch(day1, store=tmp_path / "s.db", rules=rules, as_of=DAY2, out=None, batch_id="x")


def test_event_for_a_loan_never_opened_goes_to_the_dead_letter_file(
    tmp_path: Path, rules: Any
) -> None:
    """An event of a loan neither stored nor opened is rejected, naming the event; the other
    loans are decided, and the batch id stays open for a corrected re-run."""
    day1, _ = portfolio(2)
    stray = {"type": "payment_received", "event_id": "p-x", "loan_id": "NOPE",
             "at": "2025-02-01T10:00:00+08:00", "amount": "1.00", "currency": "CNY"}  # fmt: skip
    summary = run_batch([*day1, stray], store=tmp_path / "s.db", rules=rules, as_of=DAY1,
                        out=tmp_path / "d.jsonl", batch_id="x")  # fmt: skip
    assert (summary.total, summary.set_aside, summary.rejected_lines) == (2, 1, 1)
    dead = [json.loads(t) for t in lines(tmp_path / "d.jsonl.rejects.jsonl")]
    assert [d["event_id"] for d in dead] == ["p-x"]
    assert "loan 'NOPE' is not in the" in dead[0]["error"]
    with SnapshotStore(tmp_path / "s.db") as db:
        assert (db.count(), db.decided_count("x")) == (2, 2)
        assert db.batch("x").status == "running"  # type: ignore[union-attr]


class AuditCrash:
    """An audit store that really appends, then dies on its k-th append."""

    def __init__(self, store: Any, k: int) -> None:
        self.store, self.k = store, k
        self.records = store.records

    def append(self, decision: Any, rules: Any) -> Any:
        receipt = self.store.append(decision, rules)
        self.k -= 1
        if self.k == 0:
            raise Crash
        return receipt


def test_audit_after_a_crash_holds_each_decision_exactly_once(tmp_path: Path, rules: Any) -> None:
    """Crash between an audit append and its mark; the resumed run does not repeat it."""
    from dunning._audit.store import AuditStore

    day1, _ = portfolio(9)
    args: dict[str, Any] = {"store": tmp_path / "s.db", "rules": rules, "as_of": DAY1,
                            "out": tmp_path / "o.jsonl", "batch_id": "a", "chunk": 4}  # fmt: skip
    with AuditStore(tmp_path / "audit.db") as audit:
        with pytest.raises(Crash):
            run_batch(day1, audit=AuditCrash(audit, 6), **args)
        run_batch(day1, audit=audit, **args)
        audited = sorted(r.loan_id for r in audit.records())
    assert [f"SIM{n:06d}" for n in range(1, 10)] == audited


KILLED_RUN = """
import sys, time
from dunning._portfolio.batch import run_batch
from dunning._decide.engine import Engine
from dunning._rules.loader import load_rules
from dunning._portfolio.simulate import SimConfig, generate_portfolio

class Slow:
    def __init__(self, engine):
        self.engine = engine
    def decide(self, state, as_of):
        time.sleep(0.01)
        return self.engine.decide(state, as_of)

rules = load_rules(sys.argv[1])
specs = generate_portfolio(SimConfig(accounts=int(sys.argv[3]), seed=7, days=30))
events = [e for s in specs for e in s.history]
run_batch(events, store=sys.argv[2], rules=rules, as_of="2025-03-01T10:00:00+08:00",
          out=sys.argv[2] + ".jsonl", batch_id="k", chunk=3, engine=Slow(Engine(rules)))
"""


def test_resuming_after_sigkill_gives_the_uninterrupted_output(tmp_path: Path, rules: Any) -> None:
    """A real process killed with SIGKILL mid-batch; the re-run completes it exactly."""
    accounts, store = 60, tmp_path / "k.db"
    script = tmp_path / "run.py"
    script.write_text(textwrap.dedent(KILLED_RUN))
    proc = subprocess.Popen([sys.executable, str(script), str(RULES), str(store), str(accounts)])
    try:
        deadline = time.monotonic() + 60  # generous: a loaded CI machine starts slowly
        while time.monotonic() < deadline and _decided(store) < 6:
            time.sleep(0.02)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    killed_at = _decided(store)
    assert 6 <= killed_at < accounts  # really killed in the middle
    specs = generate_portfolio(SimConfig(accounts=accounts, seed=7, days=30))
    events = [e for s in specs for e in s.history]
    args: dict[str, Any] = {"rules": rules, "as_of": DAY1, "batch_id": "k"}
    resumed = run_batch(events, store=store, out=tmp_path / "k.jsonl", **args)
    run_batch(events, store=tmp_path / "clean.db", out=tmp_path / "clean.jsonl", **args)
    assert lines(tmp_path / "clean.jsonl") == lines(tmp_path / "k.jsonl")
    assert (accounts, killed_at) == (resumed.total, resumed.resumed_from)


def _decided(store: Path) -> int:
    if not store.exists():
        return 0
    try:
        with SnapshotStore(store, readonly=True) as db:
            return db.decided_count("k")
    except Exception:  # the schema may not be there yet
        return 0


def test_batch_command_writes_decisions_audits_once_and_resumes(
    tmp_path: Path, capsys: Any
) -> None:
    """`dunning batch` exits 0 and writes one decision per loan; a re-run decides none."""
    import json

    from dunning._audit.store import AuditStore
    from dunning._cli.main import main
    from dunning._portfolio.feeds import dumps_event

    day1, _ = portfolio(3)
    events = tmp_path / "day1.jsonl"
    events.write_text("".join(dumps_event(e) + "\n" for e in day1), encoding="utf-8")
    argv = ["batch", str(events), "--store", str(tmp_path / "s.db"), "--rules", str(RULES),
            "--as-of", DAY1, "--batch-id", "n1", "--out", str(tmp_path / "o.jsonl"),
            "--format", "json", "--audit", str(tmp_path / "audit.db")]  # fmt: skip
    assert main(argv) == 0
    assert main(argv) == 0
    summaries = [json.loads(x) for x in capsys.readouterr().err.splitlines()]
    assert [(s["total"], s["decided_now"]) for s in summaries] == [(3, 3), (3, 0)]
    assert len(lines(tmp_path / "o.jsonl")) == 3
    with AuditStore(tmp_path / "audit.db") as audit:
        assert len(audit) == 3  # audited once, not again by the re-run
