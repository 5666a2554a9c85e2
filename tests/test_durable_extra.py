"""durable-rules is the `durable` extra (issue #20): optional for users, installed for tests.

`pip install dunning` must need no C compiler, and durable-rules ships only as a source
archive that compiles a C extension; so it is the ``durable`` extra. The default suite still
has it (the ``dev`` extra lists it), so the backends' cross-check (tests/test_backends.py)
runs on every `make test`. Without it, asking for the durable backend is an EngineError that
names the extra; everything else works.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from dunning import Engine, EngineError, load_rules

ROOT = Path(__file__).resolve().parent.parent
PACK = ROOT / "rules" / "cn-bank-retail.yaml"


def _requirements() -> tuple[list[str], dict[str, list[str]]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return project["dependencies"], project["optional-dependencies"]


def _names(reqs: list[str]) -> set[str]:
    return {r.split(">")[0].split("=")[0].split("<")[0].split("[")[0].strip().lower() for r in reqs}


def test_durable_rules_is_an_extra_not_a_core_dependency() -> None:
    core, extras = _requirements()
    assert "durable-rules" not in _names(core)
    assert "durable-rules" in _names(extras["durable"])
    assert "durable-rules" in _names(extras["dev"]), "make test must keep the cross-check"


def test_the_test_environment_has_durable_so_the_cross_check_runs() -> None:
    rules = load_rules(PACK)
    assert Engine(rules, backend="durable").backend == "durable"


def test_without_durable_the_durable_backend_names_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A machine where `pip install dunning` left durable_rules out."""
    rules = load_rules(PACK)
    monkeypatch.setitem(sys.modules, "durable", None)  # `import durable` now fails
    monkeypatch.setitem(sys.modules, "durable.engine", None)
    with pytest.raises(EngineError) as exc:
        Engine(rules, backend="durable")
    message = str(exc.value)
    assert "pip install 'dunning[durable]'" in message
    assert "backend='python'" in message
    assert Engine(rules).backend == "python"  # the default backend does not need it


def test_dunning_imports_and_decides_without_durable() -> None:
    """No module imports durable at import time: a fresh process without it loads and decides."""
    code = f"""
import sys
sys.modules["durable"] = None
sys.modules["durable.engine"] = None
sys.modules["durable_rules_engine"] = None
import dunning
from datetime import UTC, datetime
from dunning import AccountState, Engine, load_rules
engine = Engine(load_rules({str(PACK)!r}))
state = AccountState.from_events([{{"type": "loan_opened", "event_id": "o", "loan_id": "L1",
    "borrower_id": "B1", "at": "2024-01-01T00:00:00+00:00", "principal": "100.00",
    "currency": "CNY", "timezone": "Asia/Shanghai", "product": "personal_loan"}}])
print(engine.decide(state, datetime(2024, 3, 1, tzinfo=UTC)).status)
try:
    Engine(engine.rules, backend="durable")
except dunning.EngineError as exc:
    print("EngineError", "dunning[durable]" in str(exc))
"""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.split()
    assert lines[-2:] == ["EngineError", "True"]
