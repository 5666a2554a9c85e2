"""The 30-line verifier of docs/audit.md, run as an auditor would: a separate interpreter
with only the standard library (`-I -S`: no environment, no site-packages, so not dunning),
on files a real store wrote. It accepts every record's proof and refuses edited files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit_helpers import RULES, make_decision
from dunning import AuditStore, Checkpoint

ROOT = Path(__file__).resolve().parent.parent
KEY = Ed25519PrivateKey.from_private_bytes(bytes([7]) * 32)
N = 11


@pytest.fixture(scope="module")
def auditor(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, AuditStore, Checkpoint]:
    work = tmp_path_factory.mktemp("auditor")
    text = (ROOT / "docs" / "audit.md").read_text(encoding="utf-8")
    verifier = "# verify_export.py" + text.split("# verify_export.py")[1].split("```")[0]
    (work / "verify_export.py").write_text(verifier, encoding="utf-8")
    store = AuditStore(work / "audit.sqlite")
    for i in range(N):
        store.append(make_decision(i, loan_id=f"L{i % 3}"), RULES)  # Chinese text inside
    cp = store.checkpoint(KEY, "2025-06-30T18:00:00Z")
    store.export_jsonl(work / "export.jsonl")
    (work / "checkpoint.json").write_text(cp.to_json(), encoding="utf-8")
    return work, store, cp


def run(work: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-I", "-S", "verify_export.py"], cwd=work,
                          capture_output=True, text=True, timeout=60)  # fmt: skip


def test_every_records_proof_verifies_without_dunning(
    auditor: tuple[Path, AuditStore, Checkpoint],
) -> None:
    work, store, _cp = auditor
    for record in store.records():
        (work / "proof.json").write_text(store.prove(record.decision_id).to_json())
        done = run(work)
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"export: OK ({N} records)  proof: OK (record {record.seq})" in done.stdout


def test_an_edited_export_or_proof_fails(auditor: tuple[Path, AuditStore, Checkpoint]) -> None:
    work, store, _cp = auditor
    records = list(store.records())
    good = (work / "export.jsonl").read_text(encoding="utf-8")
    (work / "proof.json").write_text(store.prove(records[4].decision_id).to_json())
    try:
        (work / "export.jsonl").write_text(good.replace('"dpd":34', '"dpd":35'), encoding="utf-8")
        done = run(work)
        assert done.returncode == 1 and "export: FAILED" in done.stdout
        (work / "export.jsonl").write_text(good, encoding="utf-8")
        proof = json.loads(store.prove(records[4].decision_id).to_json())
        proof["leaf_index"] = 5
        (work / "proof.json").write_text(json.dumps(proof))
        done = run(work)
        assert (
            done.returncode == 1 and "export: OK" in done.stdout and "proof: FAILED" in done.stdout
        )
    finally:
        (work / "export.jsonl").write_text(good, encoding="utf-8")
