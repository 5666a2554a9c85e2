"""Checked snapshots: a damaged or doctored snapshot is never decided.

A borrower's loan is stored as a compressed snapshot with its digest. Someone edits the
stored state: flips `dispute_open`, changes the state's currency, or drops the last events
(and, being careful, recomputes the digest). Reading it back raises StoreError naming the
loan, and so does the nightly batch that would have decided it.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import zstandard
from hypothesis import given, settings

from audit_helpers import loan_events
from dunning import AccountState, StoreError, load_rules
from dunning._portfolio.batch import run_batch
from dunning._portfolio.snapshot_check import decode, derived_problems, encode
from dunning._portfolio.snapshots import SnapshotStore
from dunning.testing import account_states

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))


def stored(tmp_path: Path) -> Path:
    path = tmp_path / "snapshots.db"
    with SnapshotStore(path) as db, db.transaction():
        for loan in ("L1", "L2"):
            db.put(AccountState.from_events(loan_events(loan, 4)))
    return path


def doctor(
    path: Path, loan: str, change: Callable[[dict[str, Any]], None], *, careful: bool
) -> None:
    conn = sqlite3.connect(path)
    (blob,) = conn.execute("SELECT state FROM snapshots WHERE loan_id = ?", (loan,)).fetchone()
    data = json.loads(zstandard.ZstdDecompressor().decompress(blob))
    change(data)
    text = json.dumps(data).encode()
    digest = hashlib.sha256(text).hexdigest() if careful else None
    new = zstandard.ZstdCompressor().compress(text)
    if careful:
        conn.execute(
            "UPDATE snapshots SET state = ?, digest = ? WHERE loan_id = ?", (new, digest, loan)
        )
    else:
        conn.execute("UPDATE snapshots SET state = ? WHERE loan_id = ?", (new, loan))
    conn.commit()
    conn.close()


def flip_dispute(d: dict[str, Any]) -> None:
    d["dispute_open"] = True


def usd(d: dict[str, Any]) -> None:
    d["currency"] = "USD"


def truncate(d: dict[str, Any]) -> None:
    del d["events"][-2:]


CASES = {
    "flipped dispute flag": (flip_dispute, "dispute_open is True, its events say False"),
    "currency changed to USD": (usd, "currency is 'USD', its loan_opened event says 'CNY'"),
    "event list truncated": (truncate, "last_event_at differs from its last event"),
}


def test_an_intact_snapshot_reads_back_equal(tmp_path: Path) -> None:
    path = stored(tmp_path)
    with SnapshotStore(path, check="full") as db:
        assert db.get("L1") == AccountState.from_events(loan_events("L1", 4))


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_doctored_snapshot_with_its_digest_recomputed_is_refused(
    tmp_path: Path, case: str
) -> None:
    """The careful forger recomputes the digest; the events still contradict the state."""
    change, message = CASES[case]
    path = stored(tmp_path)
    doctor(path, "L2", change, careful=True)
    with SnapshotStore(path) as db:
        assert db.get("L1") is not None  # the other loan is fine
        with pytest.raises(StoreError, match="the snapshot of loan 'L2' is damaged") as info:
            db.get("L2")
        assert message in str(info.value)
        with pytest.raises(StoreError, match="'L2'"):
            list(db.iter_states())


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_doctored_snapshot_is_caught_by_its_digest(tmp_path: Path, case: str) -> None:
    path = stored(tmp_path)
    doctor(path, "L1", CASES[case][0], careful=False)
    with SnapshotStore(path) as db, pytest.raises(StoreError, match="no longer matches its digest"):
        db.get("L1")


def test_the_nightly_batch_refuses_to_decide_a_damaged_snapshot(tmp_path: Path) -> None:
    """Night 2 reads every snapshot: the doctored one stops the run, naming the loan."""
    path = stored(tmp_path)
    doctor(path, "L2", flip_dispute, careful=True)
    rules = load_rules(ROOT / "rules" / "cn-bank-retail.yaml")
    with pytest.raises(StoreError, match="loan 'L2'"):
        run_batch(
            [],
            store=path,
            rules=rules,
            as_of="2025-06-01T10:00:00+08:00",
            out=None,
            batch_id="night2",
        )


def test_full_check_refolds_what_the_cheap_check_does_not_rederive(tmp_path: Path) -> None:
    """A ledger figure edited with its digest recomputed passes the cheap check (which only
    re-derives flags, head, counts and payments); check='full' folds the events again."""
    path = stored(tmp_path)

    def richer(d: dict[str, Any]) -> None:
        d["consent_withdrawn"] = ["sms"]

    doctor(path, "L1", richer, careful=True)
    with SnapshotStore(path) as db:
        assert db.get("L1") is not None
    with (
        SnapshotStore(path, check="full") as db,
        pytest.raises(StoreError, match="consent_withdrawn"),
    ):
        db.get("L1")


def test_a_31_event_account_takes_at_most_1_5_kb(tmp_path: Path) -> None:
    """bench_batch's accounts at --months 15 (30-32 events): the stored snapshot bytes."""
    import bench_batch

    events: dict[str, list[dict[str, Any]]] = {}
    for e in bench_batch.history(30, 15):
        loan = e.get("loan_id") or "L" + e["borrower_id"][1:]
        events.setdefault(loan, []).append(e)
    with SnapshotStore(tmp_path / "s.db") as db, db.transaction():
        for evs in events.values():
            db.put(AccountState.from_events(evs))
    with SnapshotStore(tmp_path / "s.db") as db:
        assert db.state_bytes() / 30 <= 1536
        assert min(len(s.events) for _l, s in db.iter_states()) >= 30


@settings(deadline=None)
@given(state=account_states())
def test_every_folded_state_passes_its_own_checks_and_round_trips(state: AccountState) -> None:
    """The cheap re-derivation never flags a state the fold made (disputes, plans, reversals,
    cease requests, closures: whatever the histories strategy generates), the full re-fold
    agrees, and encode/decode gives the same state back."""
    assert [] == derived_problems(state)
    blob, digest = encode(state)
    assert state == decode(state.loan_id, blob, digest, where="test", full=True)
