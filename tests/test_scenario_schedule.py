"""A bank's day: the repayment schedule is loaded at origination, then decided month by month.

Wang Fang opens a 12-month personal loan on 2025-01-10 in Shanghai. Core banking sends the
loan and its whole schedule at once: twelve `installment_due` events, all stamped with the
origination time, due on the 10th of February 2025 to January 2026. She pays February,
March and April on the due date, then stops. Every month, on the 20th, the bank decides.

Each path must give, every month, exactly what the event list cut at that moment gives:
the event list itself, a state holding the whole schedule, a snapshot read back from the
store, the nightly batch (one night per month), `dunning decide`, `dunning batch` and Dask.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from dunning import AccountState, Engine, load_rules
from dunning._cli.main import main
from dunning._portfolio.batch import run_batch
from dunning._portfolio.snapshots import SnapshotStore

RULES_PATH = Path(__file__).resolve().parents[1] / "rules" / "cn-bank-retail.yaml"
RULES = load_rules(RULES_PATH)
OPENED = "2025-01-10T09:30:00+08:00"


def _month(n: int) -> date:
    """The 10th of the n-th month after January 2025 (1: February 2025)."""
    y, m = divmod(n, 12)
    return date(2025 + y, m + 1, 10)


OPEN = {"type": "loan_opened", "event_id": "open", "loan_id": "L-WF", "borrower_id": "B-WF",
        "at": OPENED, "principal": "12000.00", "currency": "CNY",
        "timezone": "Asia/Shanghai"}  # fmt: skip
SCHEDULE = [
    {"type": "installment_due", "event_id": f"due-{n:02d}", "loan_id": "L-WF", "at": OPENED,
     "due_date": _month(n).isoformat(), "principal": "1000.00", "interest": "40.00",
     "currency": "CNY"}
    for n in range(1, 13)
]  # fmt: skip
PAYMENTS = [
    {"type": "payment_received", "event_id": f"pay-{n:02d}", "loan_id": "L-WF",
     "at": f"{_month(n).isoformat()}T12:00:00+08:00", "amount": "1040.00", "currency": "CNY"}
    for n in (1, 2, 3)
]  # fmt: skip
EVENTS = [OPEN, *SCHEDULE, *PAYMENTS]
# The decision nights: the 20th of every month from February 2025 to January 2026.
NIGHTS = [f"{_month(n).replace(day=20).isoformat()}T02:00:00+08:00" for n in range(1, 13)]


def known_at(as_of: str) -> list[dict[str, Any]]:
    """The events the bank knew at `as_of` (the reference every path must match)."""
    from datetime import datetime

    when = datetime.fromisoformat(as_of)
    return [e for e in EVENTS if datetime.fromisoformat(e["at"]) <= when]


def reference(as_of: str) -> str:
    return Engine(RULES).decide(known_at(as_of), as_of).to_json()


def test_the_story_in_facts() -> None:
    """Month by month: current while she pays, then one more installment overdue each month."""
    state = AccountState.from_events(EVENTS)
    dpd = [state.facts(night)["dpd"] for night in NIGHTS]
    overdue = [state.facts(night)["installments_overdue"] for night in NIGHTS]
    assert dpd[:3] == [0, 0, 0]
    assert dpd[3] == 10  # May 20: the May 10 installment is 10 days late
    assert overdue == [0, 0, 0, *range(1, 10)]
    assert state.facts(NIGHTS[5])["overdue_amount"] == state.facts(NIGHTS[5])["overdue_amount"]
    assert str(state.facts(NIGHTS[5])["overdue_amount"]) == "3120.00"  # three of 1,040.00


def test_events_state_and_snapshot_store_agree_every_month(tmp_path: Path) -> None:
    """The event list, a state holding the whole schedule and the stored snapshot decide alike."""
    engine = Engine(RULES)
    state = AccountState.from_events(EVENTS)
    with SnapshotStore(tmp_path / "s.db") as db:
        with db.transaction():
            db.put(state)
        stored = db.get("L-WF")
    assert stored is not None
    for night in NIGHTS:
        want = reference(night)
        assert engine.decide(EVENTS, night).to_json() == want
        assert engine.decide(state, night).to_json() == want
        assert engine.decide(stored, night).to_json() == want
        assert dict(state.facts(night, RULES)) == dict(
            AccountState.from_events(known_at(night)).facts(night, RULES)
        )


def test_the_nightly_batch_decides_it_every_month(tmp_path: Path) -> None:
    """Night 1 loads the loan with its schedule; each later night brings that month's
    payment (if any); every night's decision is the reference."""
    store = tmp_path / "snapshots.db"
    sent: set[str] = set()
    for night in NIGHTS:
        new = [e for e in known_at(night) if e["event_id"] not in sent]
        if night == NIGHTS[0]:
            new = [OPEN, *SCHEDULE, *new]
        new = list({e["event_id"]: e for e in new}.values())
        sent |= {e["event_id"] for e in new}
        out = tmp_path / f"{night[:10]}.jsonl"
        summary = run_batch(new, store=store, rules=RULES, as_of=night, out=out,
                            batch_id=night[:10])  # fmt: skip
        assert summary.total == 1
        assert out.read_text(encoding="utf-8") == reference(night) + "\n"


def test_the_console_script_decides_it_every_month(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`dunning decide` on the whole feed, and `dunning batch` night after night."""
    feed = tmp_path / "feed.jsonl"
    feed.write_text("".join(json.dumps(e) + "\n" for e in EVENTS), encoding="utf-8")
    store = tmp_path / "cli.db"
    for night in NIGHTS:
        code = main(["decide", str(feed), "--rules", str(RULES_PATH), "--as-of", night])
        assert code == 0
        assert capsys.readouterr().out == reference(night) + "\n"
        out = tmp_path / "d.jsonl"
        code = main(["batch", str(feed), "--store", str(store), "--rules", str(RULES_PATH),
                     "--as-of", night, "--batch-id", night[:10], "--out", str(out),
                     "--format", "json"])  # fmt: skip
        assert code == 0
        assert out.read_text(encoding="utf-8") == reference(night) + "\n"


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    import distributed  # the dask extra is in dev: a missing one fails, never skips

    cluster = distributed.LocalCluster(
        n_workers=1, processes=False, threads_per_worker=1, dashboard_address=None
    )
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def test_dask_decides_it_every_month(client: Any, tmp_path: Path) -> None:
    """Both Dask runs: from the event stream, and from a store holding the whole schedule."""
    from dunning._portfolio.dask import decide_on_dask, decide_store_on_dask

    store = tmp_path / "dask.db"
    with SnapshotStore(store) as db, db.transaction():
        db.put(AccountState.from_events(EVENTS))
    for night in NIGHTS[::3]:
        want = reference(night)
        assert [d.to_json() for d in decide_on_dask(EVENTS, RULES, night, client=client)] == [want]
        assert list(decide_store_on_dask(store, RULES, night, client=client)) == [want]
    aside: list[Any] = []
    early = "2025-01-01T00:00:00+08:00"  # before the loan was opened: nothing to decide
    assert list(decide_store_on_dask(store, RULES, early, client=client, set_aside=aside)) == []
    assert [a.loan_id for a in aside] == ["L-WF"] and "not opened yet" in aside[0].error
