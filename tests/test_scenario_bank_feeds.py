"""A bank's night: what real core-banking feeds send, and what `dunning` does with it.

Feeds put `borrower_id` and `source` on every event, add fields of their own, and now and then
send a broken line. The engine takes the vocabulary, ignores (and counts) what it does not
know, refuses typos of what it knows, and sets aside, whole, the loans a broken line names,
keeping every rejected line verbatim in a dead-letter file. A re-run with the lines corrected
decides those loans and changes nothing else.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dunning import (
    AccountState,
    DunningError,
    Engine,
    ForeignEventError,
    InputError,
    InvalidEventError,
    group_by_loan,
    load_rules,
)
from dunning._cli.main import main
from dunning.events import parse_event

RULES_PATH = Path(__file__).resolve().parents[1] / "rules" / "cn-bank-retail.yaml"
RULES = load_rules(RULES_PATH)
AS_OF = "2025-03-20T10:00:00+08:00"


def loan(n: int, **extra: Any) -> list[dict[str, Any]]:
    """Loan n: opened in January, one installment due 1 February, half of it paid."""
    ln, b = f"L{n:05d}", f"B{n:05d}"
    return [
        {"type": "loan_opened", "event_id": f"{ln}-o", "loan_id": ln, "borrower_id": b,
         "at": "2025-01-05T09:00:00+08:00", "principal": "6000.00", "currency": "CNY",
         "timezone": "Asia/Shanghai", **extra},
        {"type": "installment_due", "event_id": f"{ln}-d1", "loan_id": ln, "borrower_id": b,
         "at": "2025-01-05T09:00:00+08:00", "due_date": "2025-02-01", "principal": "1000.00",
         "interest": "30.00", "currency": "CNY", **extra},
        {"type": "payment_received", "event_id": f"{ln}-p1", "loan_id": ln, "borrower_id": b,
         "at": "2025-02-03T12:00:00+08:00", "amount": "500.00", "currency": "CNY",
         "channel_ref": f"UPI-{n}", **extra},
    ]  # fmt: skip


def test_borrower_id_and_source_on_every_event_are_taken() -> None:
    """Mrs Li's loan arrives with `borrower_id` and `source: core-banking` on every event and
    a `channel_ref` on her payment: the loan is decided as if they were not there, and the
    unknown fields are counted."""
    feed = loan(1, source="core-banking")
    result = Engine(RULES).decide_all(feed, AS_OF)
    assert [d.loan_id for d in result.decisions] == ["L00001"]
    assert result.set_aside == ()
    assert result.ignored_fields == {"channel_ref": 1, "source": 3}
    plain = [{k: v for k, v in e.items() if k not in ("source", "channel_ref")} for e in feed]
    assert result.decisions[0].to_json() == Engine(RULES).decide(plain, AS_OF).to_json()


def test_a_borrower_id_of_someone_else_is_a_foreign_event() -> None:
    """A due that names another borrower than the loan's is refused, naming both."""
    feed = loan(1)
    feed[1] = {**feed[1], "borrower_id": "B99999"}
    with pytest.raises(ForeignEventError, match=r"B99999.*B00001") as info:
        AccountState.from_events(feed)
    assert info.value.field == "borrower_id"


def test_strict_mode_refuses_unknown_fields_and_typos_are_refused_always() -> None:
    """`strict=True` refuses `source`; `amout` is refused in both modes, with a hint."""
    feed = loan(1, source="core-banking")
    with pytest.raises(InvalidEventError, match="strict"):
        AccountState.from_events(feed, strict=True)
    with pytest.raises(InvalidEventError, match="strict"):
        Engine(RULES).decide(feed, AS_OF, strict=True)
    typo = {**loan(1)[2], "amout": "500.00"}
    for strict in (False, True):
        with pytest.raises(InvalidEventError, match="did you mean 'amount'") as info:
            parse_event(typo, strict=strict)
        assert info.value.field == "amout"


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"at": "1738368000"}, "at", "ISO-8601"),
        ({"at": 1738368000}, "at", "ISO-8601"),
        ({"at": "-0"}, "at", "ISO-8601"),
        ({"at": "0001-01-01T00:00:00+00:00"}, "at", "1900 to 2200"),
        ({"at": "9999-01-01T00:00:00+00:00"}, "at", "1900 to 2200"),
        ({"amount": "1_000.00"}, "amount", "plain decimal"),
        ({"amount": "1e3"}, "amount", "plain decimal"),
        ({"amount": "1" * 28}, "amount", "10^15"),
        ({"amount": 10**16}, "amount", "10^15"),
        ({"event_id": "x" * 1_000_000}, "event_id", "at most 128"),
        ({"event_id": "has space"}, "event_id", "pattern"),
    ],
)
def test_strict_values_name_the_field_and_quote_little(
    change: dict[str, Any], field: str, words: str
) -> None:
    """Numbers are not times, `1_000.00` is not money, amounts and years are bounded, ids
    bounded in length and charset; the message names the field and quotes <= ~80 chars."""
    with pytest.raises(InvalidEventError) as info:
        parse_event({**loan(1)[2], **change})
    assert info.value.field == field
    assert words in str(info.value)
    assert len(str(info.value)) < 600


def test_a_date_must_be_an_iso_date_in_range() -> None:
    """`due_date` as a number, or in year 1, is refused at intake."""
    for bad in (20250201, "20250201", "0001-02-01"):
        with pytest.raises(InvalidEventError) as info:
            parse_event({**loan(1)[1], "due_date": bad})
        assert info.value.field == "due_date"


def test_deep_json_and_far_as_of_are_clear_errors() -> None:
    """Deep nesting is an InvalidEventError, not a RecursionError; as_of in 9999 an InputError."""
    with pytest.raises(InvalidEventError, match="nested"):
        parse_event('{"type": "loan_opened", "x": ' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(InputError, match="1900 to 2200"):
        Engine(RULES).decide(loan(1), "9999-01-01T00:00:00+00:00")


def test_decide_all_sets_a_bad_loan_aside_and_decides_the_others() -> None:
    """Three loans; the second has a payment with a bad amount: it is set aside, whole, with
    that record; the first and third are decided exactly as on their own."""
    feed = loan(1) + loan(2) + loan(3)
    feed[5] = {**feed[5], "amount": "five hundred"}
    result = Engine(RULES).decide_all(feed, AS_OF)
    assert [d.loan_id for d in result.decisions] == ["L00001", "L00003"]
    assert [s.loan_id for s in result.set_aside] == ["L00002"]
    assert result.set_aside[0].rejects[0].event_id == "L00002-p1"
    assert "amount" in result.set_aside[0].error
    assert result.decisions[0] == Engine(RULES).decide(loan(1), AS_OF)
    assert set(group_by_loan(loan(1) + loan(3))) == {"L00001", "L00003"}


def test_facts_by_name_include_any_family() -> None:
    """`state.facts(as_of, names=[...])` gives exactly the named facts, families included."""
    state = AccountState.from_events(loan(1))
    facts = state.facts(AS_OF, RULES, names=["dpd", "attempts_7d.phone", "cease_requested.sms"])
    assert dict(facts) == {"dpd": 47, "attempts_7d.phone": 0, "cease_requested.sms": False}
    with pytest.raises(InputError, match="did you mean 'dpd'"):
        state.facts(AS_OF, names=["dpdd"])


def test_not_before_is_shown_in_the_borrowers_offset() -> None:
    """A not_before of 00:00Z reads as 08:00+08:00 for a borrower in Shanghai: the same
    instant, as she sees it; the canonical JSON keeps UTC, so ids do not depend on it."""
    d = Engine(RULES).decide(loan(1), AS_OF)
    data = {**json.loads(d.to_json()), "not_before": "2025-03-21T00:00:00Z", "status": "defer"}
    del data["id"]
    deferred = type(d).from_json(json.dumps(data))
    assert deferred.not_before.isoformat() == "2025-03-21T08:00:00+08:00"  # type: ignore[union-attr]
    assert json.loads(deferred.to_json())["not_before"] == "2025-03-21T00:00:00Z"


def test_invalid_utf8_is_file_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A feed with invalid UTF-8 on line 2 stops with `file:2` and exit code 2."""
    feed = tmp_path / "feed.jsonl"
    feed.write_bytes(json.dumps(loan(1)[0]).encode() + b"\n" + b'{"type": "\xff"}\n')
    code = main(["decide", str(feed), "--rules", str(RULES_PATH), "--as-of", AS_OF])
    assert code == 2
    assert f"{feed}:2" in capsys.readouterr().err


def test_a_lone_surrogate_in_an_id_still_reaches_the_dead_letter_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A feed line whose event id is the JSON escape of a lone surrogate (valid JSON text,
    no UTF-8 encoding) is set aside like any bad record: the dead-letter file is written,
    each line readable JSON, and the other loan is decided (exit 1, not a crash)."""
    feed, rejects = tmp_path / "feed.jsonl", tmp_path / "rejects.jsonl"
    bad = json.dumps(loan(2)[0]).replace('"event_id": "', '"event_id": "\\ud800', 1)
    feed.write_text(json.dumps(loan(1)[0]) + "\n" + bad + "\n", encoding="utf-8")
    code = main(["decide", str(feed), "--rules", str(RULES_PATH), "--as-of", AS_OF,
                 "--rejects", str(rejects)])  # fmt: skip
    capsys.readouterr()
    assert code == 1
    lines = rejects.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["line"] == 2


def write_night(path: Path, lines: list[str]) -> None:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def test_a_night_of_10000_loans_with_3_broken_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The night file holds 10,000 loans (30,000 lines). Line 9 is cut off mid-way, line
    14,004 has `"amount": "1_000.00"` and line 30,000 types `amout`. `dunning batch` decides
    the 9,997 other loans, writes the 3 lines verbatim (file, line, event id, error) to the
    dead-letter file and exits 1. The bank corrects the 3 lines and runs the night again
    with the same batch id: the 3 loans are decided, the 9,997 decisions are unchanged."""
    lines = [json.dumps(e) for n in range(10_000) for e in loan(n)]
    good = list(lines)
    lines[8] = lines[8][:90]
    lines[14_003] = lines[14_003].replace('"500.00"', '"1_000.00"')
    lines[29_999] = lines[29_999].replace('"amount"', '"amout"')
    night, out, store = tmp_path / "night.jsonl", tmp_path / "d.jsonl", tmp_path / "s.db"
    write_night(night, lines)
    args = ["batch", str(night), "--store", str(store), "--rules", str(RULES_PATH),
            "--as-of", AS_OF, "--batch-id", "2025-03-20", "--out", str(out),
            "--format", "json"]  # fmt: skip
    assert main(args) == 1
    summary = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert (summary["total"], summary["set_aside"], summary["rejected_lines"]) == (9_997, 3, 3)
    decided = out.read_text(encoding="utf-8").splitlines()
    assert len(decided) == 9_997
    dead = [json.loads(t) for t in Path(f"{out}.rejects.jsonl").read_text("utf-8").splitlines()]
    assert [(d["line"], d["loan_id"]) for d in dead] == [
        (9, "L00002"),
        (14_004, "L04667"),
        (30_000, "L09999"),
    ]
    assert [d["line_text"] for d in dead] == [lines[8], lines[14_003], lines[29_999]]
    assert all(d["source"] == str(night) and d["error"] for d in dead)
    assert dead[2]["event_id"] == "L09999-p1" and "did you mean 'amount'" in dead[2]["error"]
    # The correcting re-run: same night, the three lines fixed.
    write_night(night, good)
    assert main(args) == 0
    capsys.readouterr()
    again = out.read_text(encoding="utf-8").splitlines()
    assert len(again) == 10_000
    assert set(decided) <= set(again)


def test_only_dunning_errors_escape_a_bad_record() -> None:
    """A record of the wrong shape is a DunningError, whatever it holds."""
    for bad in (None, 5, [], {"type": 5}, {"type": "loan_opened", "at": []}, b"\xff"):
        with pytest.raises(DunningError):
            AccountState.from_events([bad])


def test_a_loan_whose_events_do_not_fold_is_set_aside_with_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Loan 2's feed reverses a payment that never came: every line is valid on its own, but
    the loan cannot be folded. `dunning decide` decides loan 1, sets loan 2 aside and finds
    the reversal's line again for the dead-letter file."""
    reversal = {"type": "payment_reversed", "event_id": "L00002-r1", "loan_id": "L00002",
                "at": "2025-02-05T09:00:00+08:00", "payment_event_id": "L00002-p9"}  # fmt: skip
    lines = [json.dumps(e) for e in loan(1) + loan(2)] + [json.dumps(reversal)]
    feed, dead = tmp_path / "feed.jsonl", tmp_path / "dead.jsonl"
    write_night(feed, lines)
    args = ["decide", str(feed), "--rules", str(RULES_PATH), "--as-of", AS_OF,
            "--rejects", str(dead)]  # fmt: skip
    assert main(args) == 1
    out, err = capsys.readouterr()
    assert [json.loads(t)["loan_id"] for t in out.splitlines()] == ["L00001"]
    assert "decided 1 loan; set aside 1" in err
    [record] = [json.loads(t) for t in dead.read_text("utf-8").splitlines()]
    assert (record["line"], record["line_text"], record["event_id"]) == (7, lines[6], "L00002-r1")
    assert "L00002-p9" in record["error"]


def test_the_console_script_lists_ignored_fields_and_strict_refuses_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`dunning decide` names the unknown fields it ignored, with counts; with `--strict`
    the loan is set aside instead (nothing decided: exit 2) and the lines are dead letters."""
    feed, dead = tmp_path / "feed.jsonl", tmp_path / "dead.jsonl"
    write_night(feed, [json.dumps(e) for e in loan(1, source="core-banking")])
    args = ["decide", str(feed), "--rules", str(RULES_PATH), "--as-of", AS_OF]
    assert main(args) == 0
    assert "ignored fields: channel_ref x1, source x3" in capsys.readouterr().err
    assert main([*args, "--strict", "--rejects", str(dead)]) == 2
    assert capsys.readouterr().out == ""
    assert len(dead.read_text("utf-8").splitlines()) == 3
