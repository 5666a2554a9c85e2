"""Every example in examples/ runs as shipped."""

from __future__ import annotations

import json
import runpy
import sys
import threading
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def test_every_python_example_is_covered() -> None:
    """A new example file must get a test here."""
    # __init__.py only makes the folder a package for the import contract in pyproject.toml.
    covered = {"quickstart.py", "service.py", "property_test_my_rules.py"}
    assert covered == {p.name for p in EXAMPLES.glob("*.py")} - {"__init__.py"}


def test_quickstart_decides_three_loans(capsys: pytest.CaptureFixture[str]) -> None:
    """The quickstart loads the CN pack and decides a paid, a late and a disputed loan."""
    mod = runpy.run_path(str(EXAMPLES / "quickstart.py"), run_name="example")
    decisions = mod["main"]()
    out = capsys.readouterr().out
    assert ["L-paid", "L-late", "L-dispute"] == [d.loan_id for d in decisions]
    assert "L-late" in out
    paid, late, dispute = decisions
    assert paid.step is None
    assert late.step is not None
    assert dispute.status in {"blocked", "none", "defer"} or dispute.step != late.step


def test_service_accepts_events_and_returns_audited_decisions(tmp_path: Path) -> None:
    """A service on a loopback port takes the sample portfolio and answers a decision."""
    mod = runpy.run_path(str(EXAMPLES / "service.py"), run_name="example")
    server = mod["serve"](port=0, store=tmp_path / "audit.sqlite")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        body = (EXAMPLES / "portfolio.jsonl").read_bytes()
        with urllib.request.urlopen(urllib.request.Request(f"{base}/events", data=body)) as r:
            accepted = json.loads(r.read())["accepted"]
        first = json.loads((EXAMPLES / "portfolio.jsonl").read_text().splitlines()[0])
        req = json.dumps({"loan_id": first["loan_id"], "as_of": "2025-06-30T10:00:00+08:00"})
        with urllib.request.urlopen(
            urllib.request.Request(f"{base}/decide", data=req.encode())
        ) as r:
            decision = json.loads(r.read())
        with urllib.request.urlopen(f"{base}/verify") as r:
            report = json.loads(r.read())
    finally:
        server.shutdown()
        server.server_close()
    assert accepted == len(body.decode().strip().splitlines())
    assert first["loan_id"] == decision["loan_id"]
    assert {"ok": True, "records": 1} == report


def test_property_testing_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    """The property-testing walk-through runs to the end (it shows a broken file failing)."""
    sys.argv = ["property_test_my_rules.py"]
    runpy.run_path(str(EXAMPLES / "property_test_my_rules.py"), run_name="__main__")
    assert capsys.readouterr().out
