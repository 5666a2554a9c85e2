"""Borrower decisions through the nightly batch, the audit store, the CLI and the transitions
file: a small book of three borrowers (B1 with three loans, B2 with two, B3 with one) over
two nights."""

from __future__ import annotations

import json
import sqlite3
from datetime import date
from pathlib import Path
from typing import Any

import pytest

import dunning
from borrower_support import at, loan
from dunning._portfolio.batch import run_batch
from dunning._portfolio.feeds import dumps_event, group_by_borrower
from dunning._portfolio.snapshots import SnapshotStore

ROOT = Path(__file__).resolve().parents[1]
RULES = dunning.load_rules(ROOT / "rules" / "cn-bank-retail.yaml")
ENGINE = dunning.Engine(RULES)
NIGHT1, NIGHT2 = at(0, 22), at(1, 22)


def book() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Night 1: the loans and their schedules; night 2: a contact, a payment, a pause of B2,
    a dispute on one of B1's loans."""
    night1 = (
        loan("L1", "60000.00", date(2024, 12, 1)) + loan("L2", "24000.00", date(2025, 1, 25))
        + loan("L3", "6000.00", date(2025, 2, 20)) + loan("L4", "9000.00", date(2025, 1, 5),
        borrower="B2") + loan("L5", "3000.00", date(2025, 2, 1), borrower="B2")
        + loan("L6", "12000.00", date(2025, 2, 10), borrower="B3")
    )  # fmt: skip
    night2 = [
        {"type": "contact_attempted", "event_id": "c1", "borrower_id": "B1", "at": at(1, 10),
         "channel": "phone", "outcome": "no_answer"},
        {"type": "payment_received", "event_id": "pay", "loan_id": "L6", "at": at(1, 11),
         "amount": "1000.00", "currency": "CNY"},
        {"type": "collections_paused", "event_id": "p", "borrower_id": "B2", "at": at(1, 12),
         "reason": "deceased_estate_inquiry"},
        {"type": "dispute_raised", "event_id": "d", "loan_id": "L2", "at": at(1, 13)},
    ]  # fmt: skip
    return night1, night2


def lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def expected(events: list[dict[str, Any]], as_of: str) -> list[dunning.BorrowerDecision]:
    return [
        ENGINE.decide_borrower([e for evs in loans.values() for e in evs], as_of)
        for loans in group_by_borrower(events).values()
    ]


def test_two_nights_by_borrower_with_transitions(tmp_path: Path) -> None:
    """Each night's file holds one borrower decision per borrower (borrower id order), equal
    to deciding each borrower from all its events; the transitions file of night 2 is
    `dunning.transitions(night 1, night 2)` borrower by borrower (night 1's: from nothing)."""
    n1, n2 = book()
    store = tmp_path / "s.db"
    args: dict[str, Any] = {"store": store, "rules": RULES, "by": "borrower"}
    s1 = run_batch(n1, as_of=NIGHT1, out=tmp_path / "1.jsonl", batch_id="n1",
                   transitions=tmp_path / "t1.jsonl", **args)  # fmt: skip
    s2 = run_batch(n2, as_of=NIGHT2, out=tmp_path / "2.jsonl", batch_id="n2",
                   transitions=tmp_path / "t2.jsonl", chunk=2, **args)  # fmt: skip
    assert (s1.total, s2.total) == (3, 3)
    first, second = expected(n1, NIGHT1), expected(n1 + n2, NIGHT2)
    assert lines(tmp_path / "1.jsonl") == [d.to_json() for d in first]
    assert lines(tmp_path / "2.jsonl") == [d.to_json() for d in second]
    assert [d.borrower_id for d in second] == ["B1", "B2", "B3"]
    t1 = [t.to_json() for d in first for t in dunning.transitions(None, d)]
    t2 = [t.to_json() for a, b in zip(first, second, strict=True)
          for t in dunning.transitions(a, b)]  # fmt: skip
    assert lines(tmp_path / "t1.jsonl") == t1 and lines(tmp_path / "t2.jsonl") == t2
    kinds = {(json.loads(x)["loan_id"], json.loads(x)["type"]) for x in t2}
    assert {("L4", "paused"), ("L5", "paused"), ("L2", "blocked")} <= kinds
    with SnapshotStore(store) as db:
        assert db.count() == 6
        keys = [k for k, _ in db.iter_keyed_decisions_json("n2")]
    assert keys == ["borrower:B1", "borrower:B2", "borrower:B3"]


class Crash(Exception):
    pass


class CrashAfter:
    """An engine that dies after deciding `k` borrowers."""

    def __init__(self, k: int) -> None:
        self.left = k

    def decide_borrower(self, states: Any, as_of: Any) -> Any:
        if self.left == 0:
            raise Crash
        self.left -= 1
        return ENGINE.decide_borrower(states, as_of)


def test_a_crashed_borrower_batch_resumes_to_the_same_output(tmp_path: Path) -> None:
    """Chunks of two borrowers; a crash on the third borrower: the first chunk is kept, the
    re-run decides the rest and writes the file an uninterrupted run writes."""
    n1, _ = book()
    args: dict[str, Any] = {"rules": RULES, "as_of": NIGHT1, "batch_id": "n1", "chunk": 2,
                            "by": "borrower"}  # fmt: skip
    run_batch(n1, store=tmp_path / "a.db", out=tmp_path / "a.jsonl", **args)
    with pytest.raises(Crash):
        run_batch(n1, store=tmp_path / "b.db", out=tmp_path / "b.jsonl", engine=CrashAfter(2),
                  **args)  # fmt: skip
    summary = run_batch(n1, store=tmp_path / "b.db", out=tmp_path / "b.jsonl", **args)
    assert (summary.total, summary.decided_now, summary.resumed_from) == (3, 1, 2)
    assert lines(tmp_path / "a.jsonl") == lines(tmp_path / "b.jsonl")


def test_a_bad_loan_sets_its_borrower_aside_whole(tmp_path: Path) -> None:
    """A reversal of an unknown payment on L5 (B2): neither of B2's loans is decided or moved
    on; B1 and B3 are; a corrected re-run of the batch id decides B2."""
    n1, _ = book()
    bad = {"type": "payment_reversed", "event_id": "x", "loan_id": "L5", "borrower_id": "B2",
           "at": at(0, 12), "payment_event_id": "nope"}  # fmt: skip
    args: dict[str, Any] = {
        "store": tmp_path / "s.db",
        "rules": RULES,
        "as_of": NIGHT1,
        "batch_id": "n1",
        "by": "borrower",
        "out": tmp_path / "o.jsonl",
    }
    summary = run_batch([*n1, bad], **args)
    assert summary.set_aside == 2 and summary.total == 2
    assert [json.loads(x)["borrower_id"] for x in lines(tmp_path / "o.jsonl")] == ["B1", "B3"]
    again = run_batch(n1, **args)
    assert again.total == 3
    assert lines(tmp_path / "o.jsonl") == [d.to_json() for d in expected(n1, NIGHT1)]


def test_borrower_decisions_in_the_audit_store(tmp_path: Path) -> None:
    """The batch appends each borrower decision once, keyed borrower:<id>; the chain
    verifies, exports and imports; replay_all re-makes every record from the borrower's
    events; a record altered in place is found."""
    n1, n2 = book()
    audit = tmp_path / "audit.db"
    args: dict[str, Any] = {"store": tmp_path / "s.db", "rules": RULES, "by": "borrower",
                            "audit": audit, "out": None}  # fmt: skip
    run_batch(n1, as_of=NIGHT1, batch_id="n1", **args)
    run_batch(n2, as_of=NIGHT2, batch_id="n2", **args)
    everything = n1 + n2
    by_borrower = group_by_borrower(everything)
    with dunning.AuditStore(audit) as store:
        assert len(store) == 6 and store.verify().ok
        records = list(store.records(loan_id="borrower:B2"))
        assert [type(r.decision).__name__ for r in records] == ["BorrowerDecision"] * 2
        report = store.replay_all(
            lambda key: [e for evs in by_borrower[key.split(":", 1)[1]].values() for e in evs]
        )
        assert report.ok and report.checked == 6
        store.export_jsonl(tmp_path / "export.jsonl")
    copy = dunning.AuditStore.import_jsonl(tmp_path / "export.jsonl", tmp_path / "copy.db")
    assert copy.verify().ok and len(copy) == 6
    copy.close()
    with sqlite3.connect(audit) as conn:
        conn.execute(
            "UPDATE records SET decision_json = replace(decision_json, '\"dpd\":', '\"dpd\": ')"
            " WHERE seq = 5"
        )
    with dunning.AuditStore(audit) as store:
        report = store.verify()
        assert not report.ok and report.first_bad_seq == 5


def test_cli_decide_and_batch_by_borrower(tmp_path: Path, capsys: Any) -> None:
    """`dunning decide --by borrower` prints one borrower decision per borrower (the API's);
    `dunning explain` reads them; `dunning batch --by borrower --transitions` writes both
    files."""
    from dunning._cli.main import main

    n1, n2 = book()
    feed = tmp_path / "feed.jsonl"
    feed.write_text("".join(json.dumps(e) + "\n" for e in n1 + n2), encoding="utf-8")
    assert main(["decide", str(feed), "--rules", str(ROOT / "rules" / "cn-bank-retail.yaml"),
                 "--as-of", NIGHT2, "--by", "borrower"]) == 0  # fmt: skip
    out = capsys.readouterr().out.splitlines()
    assert out == [d.to_json() for d in expected(n1 + n2, NIGHT2)]
    decisions = tmp_path / "d.jsonl"
    decisions.write_text("\n".join(out) + "\n", encoding="utf-8")
    assert main(["explain", str(decisions)]) == 0
    text = capsys.readouterr().out
    assert text.count("Borrower decision for") == 3 and "deceased_estate_inquiry" in text
    assert main(["decide", str(feed), "--rules", str(ROOT / "rules" / "cn-bank-retail.yaml"),
                 "--as-of", NIGHT2, "--by", "borrower", "--format", "table"]) == 0  # fmt: skip
    assert "Borrower decisions" in capsys.readouterr().out
    night = tmp_path / "n1.jsonl"
    night.write_text("".join(dumps_event(dunning.events.parse_event(e)) + "\n" for e in n1),
                     encoding="utf-8")  # fmt: skip
    argv = ["batch", str(night), "--store", str(tmp_path / "s.db"), "--rules",
            str(ROOT / "rules" / "cn-bank-retail.yaml"), "--as-of", NIGHT1, "--batch-id", "n1",
            "--out", str(tmp_path / "o.jsonl"), "--by", "borrower", "--transitions",
            str(tmp_path / "t.jsonl"), "--format", "json"]  # fmt: skip
    assert main(argv) == 0
    assert len(lines(tmp_path / "o.jsonl")) == 3
    assert lines(tmp_path / "t.jsonl") == [
        t.to_json() for d in expected(n1, NIGHT1) for t in dunning.transitions(None, d)
    ]


def test_explain_in_chinese_and_bad_input() -> None:
    """The explanation exists in both languages; a borrower's events mixed with another
    borrower's, or nothing opened by as_of, are InputErrors that say what was expected."""
    n1, _ = book()
    b1 = [e for e in n1 if e["loan_id"] in ("L1", "L2", "L3")]
    bd = ENGINE.decide_borrower(b1, NIGHT1)
    assert "借款人 B1（3 笔贷款）" in bd.explain("zh")
    with pytest.raises(dunning.InputError, match="expected one borrower's loans"):
        ENGINE.decide_borrower(n1, NIGHT1)
    with pytest.raises(dunning.InputError, match="no loan is open at or before as_of"):
        ENGINE.decide_borrower(b1, "2024-01-01T00:00:00+08:00")
    with pytest.raises(dunning.InputError, match="expected either events or AccountStates"):
        ENGINE.decide_borrower([dunning.AccountState.from_events(b1[:13]), b1[13]], NIGHT1)


def test_both_backends_give_the_same_borrower_decision() -> None:
    """durable_rules and the generated Python decide the borrower identically (bytes)."""
    n1, n2 = book()
    b1 = [e for e in n1 + n2 if e.get("borrower_id", "B1") == "B1" and e.get("loan_id") in
          (None, "L1", "L2", "L3")]  # fmt: skip
    durable = dunning.Engine(RULES, backend="durable").decide_borrower(b1, NIGHT2)
    assert durable.to_json() == ENGINE.decide_borrower(b1, NIGHT2).to_json()
    assert durable.contact is not None
