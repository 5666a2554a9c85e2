"""The installed `dunning` console script, run as a subprocess, on good and bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = Path(sys.executable).parent / "dunning"
PACK = ROOT / "rules" / "cn-bank-retail.yaml"
PORTFOLIO = ROOT / "examples" / "portfolio.jsonl"
AS_OF = "2025-06-30T10:00:00+08:00"


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )


def test_validate_accepts_a_shipped_pack() -> None:
    """An analyst validates the CN pack: exit 0 and a one-line summary with the digest."""
    proc = run("validate", str(PACK))
    assert 0 == proc.returncode, proc.stderr
    assert "ok:" in proc.stdout and "cn-bank-retail" in proc.stdout


def test_validate_shows_the_offending_line(tmp_path: Path) -> None:
    """A typo in a fact name: exit 2, the file and line, a did-you-mean, and the YAML line."""
    bad = tmp_path / "bad.yaml"
    text = PACK.read_text(encoding="utf-8").replace("extends:", "#extends:")
    lines = text.splitlines()
    idx = next(
        i for i, line in enumerate(lines) if line.strip().startswith("when:") and "dpd " in line
    )
    lines[idx] = lines[idx].replace("dpd ", "dpdd ", 1)
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    proc = run("validate", str(bad))
    assert 2 == proc.returncode
    out = proc.stdout + proc.stderr
    assert f"bad.yaml:{idx + 1}" in out
    assert "dpdd" in out and "dpd" in out
    assert "did you mean" in out


def test_decide_writes_json_lines_and_explain_reads_them() -> None:
    """decide | explain: one decision per loan, explained in Chinese."""
    proc = run("decide", str(PORTFOLIO), "--rules", str(PACK), "--as-of", AS_OF)
    assert 0 == proc.returncode, proc.stderr
    decisions = [json.loads(line) for line in proc.stdout.splitlines()]
    loans = {
        json.loads(line)["loan_id"]
        for line in PORTFOLIO.read_text().splitlines()
        if json.loads(line)["type"] == "loan_opened"
    }
    assert loans == {d["loan_id"] for d in decisions}
    explained = run("explain", "--lang", "zh", stdin=proc.stdout)
    assert 0 == explained.returncode, explained.stderr
    assert "贷款" in explained.stdout


def test_decide_table_format() -> None:
    """A readable table for people."""
    proc = run(
        "decide", str(PORTFOLIO), "--rules", str(PACK), "--as-of", AS_OF, "--format", "table"
    )
    assert 0 == proc.returncode, proc.stderr
    assert "status" in proc.stdout


@pytest.mark.parametrize(
    ("args", "stdin", "needle"),
    [
        (
            ("decide", "-", "--rules", str(PACK), "--as-of", "2025-06-30T10:00:00"),
            "",
            "timezone-aware",
        ),
        (
            ("decide", "-", "--rules", str(PACK), "--as-of", AS_OF),
            '{"type": "nope"}\n',
            "unknown event type",
        ),
        (("decide", "-", "--rules", "missing.yaml", "--as-of", AS_OF), "", "missing.yaml"),
        (("explain", "-"), "not json\n", "decision"),
    ],
)
def test_bad_input_exits_2_with_a_message(args: tuple[str, ...], stdin: str, needle: str) -> None:
    """Bad input is exit code 2 with a message that says what and where, no traceback."""
    proc = run(*args, stdin=stdin)
    assert 2 == proc.returncode
    assert needle in proc.stderr + proc.stdout
    assert "Traceback" not in proc.stderr


def test_schema_and_facts() -> None:
    """The JSON Schemas and the fact catalog are printable."""
    rules = run("schema", "rules")
    events = run("schema", "events")
    facts = run("facts", "--markdown")
    assert (0, 0, 0) == (rules.returncode, events.returncode, facts.returncode)
    assert "steps" in json.loads(rules.stdout)["properties"]
    assert "loan_opened" in events.stdout
    assert "| `dpd` |" in facts.stdout


def test_lint_clean_pack_exits_0() -> None:
    """A shipped pack has no lint findings."""
    proc = run("lint", str(PACK))
    assert 0 == proc.returncode, proc.stdout + proc.stderr


def test_demo_prints_a_table() -> None:
    """`dunning demo` decides the sample portfolio."""
    proc = run("demo")
    assert 0 == proc.returncode, proc.stderr
    assert "status" in proc.stdout
