"""Checkpoints and proofs from a real store, checked without it; inputs kept with the records;
stores and exports of format version 1.

A bank signs a checkpoint each evening. An auditor holding only the public key and the
checkpoints asks: is this decision in the store (inclusion)? Is tonight's store the same as
last night's plus new records (consistency)? Nothing here opens the database to answer.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from audit_helpers import CN_RULES_PATH, RULES, loan_events, make_decision, real_decisions
from dunning import (
    AuditStore,
    Checkpoint,
    ConsistencyProof,
    InclusionProof,
    InputError,
    StoreError,
    load_rules,
    verify_consistency,
    verify_inclusion,
)
from dunning._portfolio.batch import run_batch

ROOT = Path(__file__).resolve().parent.parent
KEY = Ed25519PrivateKey.from_private_bytes(bytes(32))
PUBLIC = KEY.public_key()
N = 13


@pytest.fixture(scope="module")
def evenings(tmp_path_factory: pytest.TempPathFactory) -> tuple[AuditStore, list[Checkpoint]]:
    """A store of N records with a checkpoint signed after every append."""
    store = AuditStore(tmp_path_factory.mktemp("proofs") / "audit.sqlite")
    cps = [store.checkpoint(KEY, "2025-03-01T00:00:00Z")]
    for i in range(N):
        store.append(make_decision(i, loan_id=f"L{i % 4}"), RULES)
        cps.append(store.checkpoint(KEY, f"2025-03-{i + 2:02d}T00:00:00Z"))
    return store, cps


def test_every_record_is_proven_in_every_tree_that_holds_it(
    evenings: tuple[AuditStore, list[Checkpoint]],
) -> None:
    store, cps = evenings
    records = list(store.records())
    for size in range(1, N + 1):
        for r in records[:size]:
            proof = InclusionProof.from_json(store.prove(r.decision_id, size=size).to_json())
            assert verify_inclusion(r.decision_json, proof, cps[size], PUBLIC)
            assert verify_inclusion(r.decision, proof, cps[size], PUBLIC)
            other = records[(r.seq) % size]
            if other.seq != r.seq:
                assert not verify_inclusion(other.decision_json, proof, cps[size], PUBLIC)


def test_a_proof_does_not_pass_a_checkpoint_of_another_size_or_key(
    evenings: tuple[AuditStore, list[Checkpoint]],
) -> None:
    store, cps = evenings
    first = next(iter(store.records()))
    proof = store.prove(first.decision_id, size=5)
    assert verify_inclusion(first.decision_json, proof, cps[5], PUBLIC)
    assert not verify_inclusion(first.decision_json, proof, cps[6], PUBLIC)
    other = Ed25519PrivateKey.generate()
    forged = store.checkpoint(other, "2025-03-09T00:00:00Z")
    assert not verify_inclusion(first.decision_json, store.prove(first.decision_id), forged, PUBLIC)


def test_public_keys_are_accepted_as_objects_pem_or_raw_bytes(
    evenings: tuple[AuditStore, list[Checkpoint]],
) -> None:
    store, cps = evenings
    first = next(iter(store.records()))
    proof = store.prove(first.decision_id)
    pem = PUBLIC.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    raw = PUBLIC.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    for key in (PUBLIC, pem, pem.decode(), raw):
        assert verify_inclusion(first.decision_json, proof, cps[-1], key)
    with pytest.raises(InputError, match="Ed25519 public key"):
        verify_inclusion(first.decision_json, proof, cps[-1], b"not a key")


@given(old=st.integers(0, N), new=st.integers(0, N))
def test_every_later_tree_is_consistent_with_every_earlier_one(
    evenings: tuple[AuditStore, list[Checkpoint]], old: int, new: int
) -> None:
    store, cps = evenings
    old, new = min(old, new), max(old, new)
    proof = ConsistencyProof.from_json(store.consistency(old, new).to_json())
    assert verify_consistency(cps[old], cps[new], proof, PUBLIC)
    if old != new:
        assert not verify_consistency(cps[new], cps[old], proof, PUBLIC)


def test_a_rewritten_history_is_not_consistent_with_the_signed_one(
    evenings: tuple[AuditStore, list[Checkpoint]], tmp_path: Path
) -> None:
    """Another store whose record 2 differs: its tree of 9 does not extend the signed tree
    of 5, whatever proof it offers."""
    _store, cps = evenings
    fork = AuditStore(tmp_path / "fork.sqlite")
    for i in range(9):
        fork.append(make_decision(100 if i == 1 else i, loan_id=f"L{i % 4}"), RULES)
    forked = fork.checkpoint(KEY, "2025-03-10T00:00:00Z")
    assert not verify_consistency(cps[5], forked, fork.consistency(5), PUBLIC)


def test_proof_requests_outside_the_tree_are_refused(
    evenings: tuple[AuditStore, list[Checkpoint]],
) -> None:
    store, _cps = evenings
    first = next(iter(store.records()))
    last = list(store.records())[-1]
    with pytest.raises(InputError, match="not inside a tree of 3 records"):
        store.prove(last.decision_id, size=3)
    with pytest.raises(InputError, match="tree size from 0 to"):
        store.consistency(N + 1)
    with pytest.raises(StoreError, match="no record of decision"):
        store.prove("0" * 64)
    assert store.prove(first.decision_id).tree_size == N


# -- keep_inputs ---------------------------------------------------------------------------------


def test_a_store_keeping_inputs_replays_without_an_archive(tmp_path: Path) -> None:
    """Nine decisions of three loans: each loan's events are stored once, every decision
    replays from the store alone, and the inputs come back as the decision saw them."""
    rules = load_rules(ROOT / CN_RULES_PATH)
    store = AuditStore(tmp_path / "kept.sqlite", keep_inputs=True)
    for decision, events in real_decisions():
        store.append(decision, rules, inputs=events)
    conn = sqlite3.connect(tmp_path / "kept.sqlite")
    (stored,) = conn.execute("SELECT count(*) FROM input_events").fetchone()
    assert stored == 3 * len(loan_events("L1", 4))  # once per loan, not once per decision
    report = store.replay_all()
    assert (report.checked, report.ok) == (9, True)
    last = list(store.records(loan_id="L2"))[-1]
    events = store.inputs(last)
    assert events is not None and [e.event_id for e in events][-1] == "L2-d5"
    assert store.verify().ok


def test_inputs_must_be_the_events_the_decision_saw(tmp_path: Path) -> None:
    rules = load_rules(ROOT / CN_RULES_PATH)
    decision, events = real_decisions(1)[0]
    store = AuditStore(tmp_path / "kept.sqlite", keep_inputs=True)
    with pytest.raises(InputError, match="are not the events it saw"):
        store.append(decision, rules, inputs=events[:2])
    with pytest.raises(InputError, match="keeps inputs"):
        store.append(decision, rules)
    plain = AuditStore(tmp_path / "plain.sqlite")
    with pytest.raises(InputError, match="does not keep inputs"):
        plain.append(decision, rules, inputs=events)
    plain.append(decision, rules)
    plain.close()
    with pytest.raises(StoreError, match="created without keep_inputs"):
        AuditStore(tmp_path / "plain.sqlite", keep_inputs=True)
    with pytest.raises(StoreError, match="has no stored inputs"):
        AuditStore(tmp_path / "plain.sqlite").replay_all()


def test_inputs_travel_in_the_export(tmp_path: Path) -> None:
    rules = load_rules(ROOT / CN_RULES_PATH)
    store = AuditStore(tmp_path / "kept.sqlite", keep_inputs=True)
    for decision, events in real_decisions(2):
        store.append(decision, rules, inputs=events)
    store.export_jsonl(tmp_path / "kept.jsonl")
    copy = AuditStore.import_jsonl(tmp_path / "kept.jsonl", tmp_path / "copy.sqlite")
    assert copy.keep_inputs and copy.head() == store.head()
    assert copy.replay_all().ok and copy.verify().ok


# -- format version 1 -----------------------------------------------------------------------------


def test_a_version_1_export_imports_into_the_tree(tmp_path: Path) -> None:
    """An export written by the hash-chain store (version 1) imports: its decisions become
    the leaves, and the new store verifies and proves them."""
    store = AuditStore.import_jsonl(ROOT / "tests" / "data" / "audit_v1_export.jsonl",
                                    tmp_path / "v2.sqlite")  # fmt: skip
    assert len(store) == 4 and store.verify().ok
    lines = (ROOT / "tests" / "data" / "audit_v1_export.jsonl").read_text().split("\n")
    first = json.loads(lines[3])["decision"]
    cp = store.checkpoint(KEY, "2025-03-01T00:00:00Z")
    assert verify_inclusion(first, store.prove(first["id"]), cp, PUBLIC)


def test_a_version_1_store_is_refused_with_the_way_out(tmp_path: Path) -> None:
    path = tmp_path / "v1.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE meta (format_version INTEGER, created TEXT, head_seq, head_hash)")
    conn.execute("INSERT INTO meta VALUES (1, NULL, 0, '')")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match=r"format version 1 .*import the export"):
        AuditStore(path)


def test_the_nightly_batch_keeps_inputs_in_a_store_that_keeps_them(tmp_path: Path) -> None:
    """Night 1 appends each decision with the state it was made from; the audit store then
    replays the whole night by itself."""
    rules = load_rules(ROOT / CN_RULES_PATH)
    audit = AuditStore(tmp_path / "audit.sqlite", keep_inputs=True)
    run_batch(ROOT / "examples" / "portfolio.jsonl", store=tmp_path / "snap.db", rules=rules,
              as_of="2025-06-30T10:00:00+08:00", out=None, audit=audit, batch_id="n1")  # fmt: skip
    report = audit.replay_all()
    assert report.ok and report.checked == len(audit) == 9


def test_checkpoints_and_proofs_have_readable_reprs(
    evenings: tuple[AuditStore, list[Checkpoint]],
) -> None:
    store, cps = evenings
    assert repr(cps[3]).startswith(
        f"<Checkpoint size=3 root={cps[3].root_hash[:12]}... at 2025-03-04"
    )
    first = next(iter(store.records()))
    assert repr(store.prove(first.decision_id, size=5)) == "<InclusionProof leaf 0 of 5, 3 hashes>"
    assert repr(store.consistency(2, 5)).startswith("<ConsistencyProof 2 -> 5, ")
