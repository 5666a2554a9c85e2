"""`dunning audit`: the exit codes a compliance officer's script branches on (0 ok, 1 the
store has problems or a replay differs, 2 bad input). The walkthrough in docs/audit.md runs
every subcommand and checks its output; these pin the codes."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from audit_helpers import CN_RULES_PATH, real_decisions
from dunning import AuditStore, load_rules
from dunning._cli.main import main

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def store(tmp_path: Path) -> Path:
    rules = load_rules(ROOT / CN_RULES_PATH)
    path = tmp_path / "audit.sqlite"
    with AuditStore(path, keep_inputs=True) as s:
        for decision, events in real_decisions(2):
            s.append(decision, rules, inputs=events)
    return path


def test_exit_codes(store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key = tmp_path / "bank.pem"
    assert 0 == main(["audit", "keygen", "--out", str(key)])
    assert 2 == main(["audit", "keygen", "--out", str(key)])  # never overwrites a key
    assert 0 == main(["audit", "verify", str(store)])
    assert 0 == main(["audit", "replay", str(store)])  # from the stored inputs
    capsys.readouterr()
    assert 0 == main(["audit", "checkpoint", str(store), "--key", str(key),
                      "--timestamp", "2025-06-01T00:00:00Z"])  # fmt: skip
    (tmp_path / "cp.json").write_text(capsys.readouterr().out)
    signed = [
        "--checkpoint",
        str(tmp_path / "cp.json"),
        "--public-key",
        str(tmp_path / "bank.pub.pem"),
    ]
    assert 0 == main(["audit", "verify", str(store), *signed])
    assert 2 == main(["audit", "verify", str(store), "--checkpoint", str(tmp_path / "cp.json")])
    assert 2 == main(["audit", "verify", str(tmp_path / "missing.sqlite")])
    assert 2 == main(["audit", "explain", str(store), "abc"])  # prefix too short
    capsys.readouterr()
    assert 0 == main(["audit", "explain", str(store), "2"])  # the seq `show` prints
    assert capsys.readouterr().out.startswith("record 2, decision ")
    assert 2 == main(["audit", "prove", str(store), "99"])  # no record 99
    assert 2 == main(["audit", "show", str(store), "L9"])  # no such loan
    conn = sqlite3.connect(store)
    conn.execute("DELETE FROM records WHERE seq = 6")
    conn.commit()
    conn.close()
    # A record deleted behind the store's back: verify reports it and exits 1 (problems found),
    # not 0 (sound) or 2 (could not run).
    assert main(["audit", "verify", str(store), *signed]) == 1
    out = capsys.readouterr().out
    assert "FAILED" in out and "records 6..6 are missing" in out
