"""The console script's analytics: a split batch, `outcomes` and `diff`, HTML reports."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import dunning
from analytics_support import AS_OF, PACK, challenger_pack, planted
from dunning import Split
from dunning._cli.main import main
from dunning._portfolio.feeds import dumps_event
from dunning.events import parse_event
from dunning.simulation import SimConfig, generate_portfolio


def jsonl(path: Path, items: list[Any]) -> Path:
    lines = [dumps_event(parse_event(e)) for e in items]
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_a_split_batch_then_outcomes_from_its_audit_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`batch --challenger B=...` tags and audits each decision with its arm; `outcomes` on
    the audit store reads them back, per arm, and writes the HTML page."""
    b_file = tmp_path / "b.yaml"
    b_file.write_text(PACK.read_text(encoding="utf-8").replace('version: "2026.1"',
                      'version: "2026.1-b"'), encoding="utf-8")  # fmt: skip
    split = Split(PACK, {"B": challenger_pack()}, share="0.5", salt="cli", experiment="cli-1")
    decisions, events = planted(split, 120)
    history = [e for e in events if parse_event(e).at <= AS_OF]
    day1 = jsonl(tmp_path / "day1.jsonl", history)
    audit, out = tmp_path / "audit.db", tmp_path / "out.jsonl"
    code, _out, err = run(capsys, "batch", str(day1), "--store", str(tmp_path / "s.db"),
                          "--rules", str(PACK), "--as-of", AS_OF.isoformat(), "--batch-id", "n1",
                          "--out", str(out), "--audit", str(audit), "--challenger", f"B={b_file}",
                          "--salt", "cli", "--experiment", "cli-1", "--format", "json")  # fmt: skip
    assert code == 0, err
    made = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert {(d["experiment"], d["arm"]) for d in made} == {("cli-1", "A"), ("cli-1", "B")}
    assert [d["arm"] for d in made] == [split.assign(d["loan_id"]) for d in made]
    assert [d["id"] for d in made] == [d.id for d in sorted(decisions, key=lambda d: d.loan_id)]
    everything = jsonl(tmp_path / "events.jsonl", events)
    html = tmp_path / "outcomes.html"
    code, text, err = run(capsys, "outcomes", str(audit), str(everything), "--format", "json",
                          "--html", str(html), "--lang", "zh")  # fmt: skip
    assert code == 0, err
    report = json.loads(text)
    assert report["arms"] == ["A", "B"] and report["windows"] == [30, 60, 90]
    assert report["groups"]["all"]["A"]["accounts"] + report["groups"]["all"]["B"][
        "accounts"] == 120  # fmt: skip
    assert '<html lang="zh">' in html.read_text(encoding="utf-8")
    code, text, err = run(capsys, "outcomes", str(out), str(everything))
    assert code == 0 and "Cure rate by window" in text and "bucket=M2" in text


def test_a_split_decide_tags_each_decision_with_its_arm(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`decide --challenger B=...` decides each loan with its arm's rules, as the library's
    Split does: the same decisions, byte for byte, tagged with the experiment and arm."""
    b_file = tmp_path / "b.yaml"
    b_file.write_text(PACK.read_text(encoding="utf-8").replace('version: "2026.1"',
                      'version: "2026.1-b"'), encoding="utf-8")  # fmt: skip
    split = Split(PACK, {"B": b_file}, share="0.5", salt="cli", experiment="cli-2")
    _decisions, events = planted(split, 40)
    history = jsonl(tmp_path / "day1.jsonl", [e for e in events if parse_event(e).at <= AS_OF])
    code, out, err = run(capsys, "decide", str(history), "--rules", str(PACK), "--as-of",
                         AS_OF.isoformat(), "--challenger", f"B={b_file}", "--salt", "cli",
                         "--experiment", "cli-2")  # fmt: skip
    assert code == 0, err
    made = [json.loads(line) for line in out.splitlines()]
    assert {d["arm"] for d in made} == {"A", "B"}
    assert [d["arm"] for d in made] == [split.assign(d["loan_id"]) for d in made]
    by_loan = dunning.group_by_loan([parse_event(e) for e in events if parse_event(e).at <= AS_OF])
    assert [d["id"] for d in made] == [split.decide(by_loan[d["loan_id"]], AS_OF).id for d in made]


def test_diff_command_single_instant_and_range(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from test_rule_diff import NEW_WHEN, OLD_WHEN, expected_changes

    events = [e for s in generate_portfolio(SimConfig(accounts=100, seed=5)) for e in s.history]
    feed = jsonl(tmp_path / "events.jsonl", events)
    new = tmp_path / "new.yaml"
    new.write_text(PACK.read_text(encoding="utf-8").replace(OLD_WHEN, NEW_WHEN), encoding="utf-8")
    code, text, err = run(capsys, "diff", str(PACK), str(new), str(feed), "--as-of",
                          AS_OF.isoformat(), "--format", "json")  # fmt: skip
    assert code == 0, err
    data = json.loads(text)
    assert {c["loan_id"] for c in data["changes"]} == expected_changes(events, AS_OF.isoformat())
    assert data["changed"] == sum(p["count"] for p in data["pairs"]) > 0
    html = tmp_path / "diff.html"
    code, text, err = run(capsys, "diff", str(PACK), str(new), str(feed), "--from",
                          AS_OF.isoformat(), "--to", "2025-03-03T10:00:00+08:00", "--html",
                          str(html))  # fmt: skip
    assert code == 0, err
    assert "Changes per day" in text and "cn_phone_collection" in text
    assert 'id="per-day"' in html.read_text(encoding="utf-8")


def test_diff_without_an_instant_is_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    feed = jsonl(tmp_path / "e.jsonl", [])
    code, _out, err = run(capsys, "diff", str(PACK), str(PACK), str(feed))
    assert code == 2
    assert "expected as_of, or both start and end" in err


def test_compare_writes_an_html_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    html = tmp_path / "compare.html"
    code, _out, err = run(capsys, "compare", "--champion", str(PACK), "--challenger", str(PACK),
                          "--accounts", "30", "--days", "31", "--format", "json",
                          "--html", str(html))  # fmt: skip
    assert code == 0, err
    page = html.read_text(encoding="utf-8")
    assert 'id="summary"' in page and 'id="cure-rates"' in page and "<svg" in page


def test_a_bad_challenger_option_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _out, err = run(capsys, "batch", "-", "--store", str(tmp_path / "s.db"), "--rules",
                          str(PACK), "--as-of", AS_OF.isoformat(), "--batch-id", "x", "--out",
                          str(tmp_path / "o"), "--challenger", "nofile")  # fmt: skip
    assert code == 2 and "--challenger: expected ARM=RULES.yaml, found 'nofile'" in err
