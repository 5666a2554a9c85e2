"""Transitions out: a 120-day story of one borrower's two loans, checked event by event.

The borrower has L1 (CNY 5,000 due on day 0, never paid) and L2 (CNY 3,000 due on day 5).
The story's rule file (tests/rules/transitions_story.yaml) has its own buckets (current,
early 1-29, mid 30-59, late 60-99, severe 100+) and a 110-day limitation period. Day 20 the
borrower disputes L2 (resolved on day 25); day 40 the bank pauses the borrower for a system
incident until day 46 00:00; day 70 L2 is paid in full. The bank decides every day at 10:00
and carries the decisions out (`borrower_support`).
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import date
from pathlib import Path
from typing import Any

import jsonschema
import pytest

import dunning
from borrower_support import at, loan, run
from dunning import InputError
from dunning._decide.transitions import read_transition, transition_json_schema

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "docs" / "transitions.schema.json"
RULES = dunning.load_rules(ROOT / "tests" / "rules" / "transitions_story.yaml")
ENGINE = dunning.Engine(RULES)


def events() -> list[dict[str, Any]]:
    return loan("L1", "5000.00", date(2025, 3, 1), n=1) + loan(
        "L2", "3000.00", date(2025, 3, 6), n=1
    )


def script(day: int, story: Any) -> list[dict[str, Any]]:
    return {
        20: [{"type": "dispute_raised", "event_id": "d1", "loan_id": "L2", "at": at(20, 12)}],
        25: [{"type": "dispute_resolved", "event_id": "d2", "loan_id": "L2", "at": at(25, 12)}],
        40: [{"type": "collections_paused", "event_id": "p1", "borrower_id": "B1",
              "at": at(40, 12), "reason": "system_incident", "until": at(46, 0)}],
        70: [{"type": "payment_received", "event_id": "pay", "loan_id": "L2", "at": at(70, 12),
              "amount": "3000.00", "currency": "CNY"}],
    }.get(day, [])  # fmt: skip


@pytest.fixture(scope="module")
def story() -> Any:
    return run(ENGINE, events(), 120, script)


def all_transitions(decisions: dict[int, Any]) -> list[tuple[int, Any]]:
    out, prev = [], None
    for day in sorted(decisions):
        out += [(day, t) for t in dunning.transitions(prev, decisions[day])]
        prev = decisions[day]
    return out


def brief(t: Any) -> tuple[Any, ...]:
    """The part of a transition the story checks: who, what, and the type's own detail."""
    who = t.loan_id or "borrower"
    detail: tuple[Any, ...] = {
        "entered_bucket": lambda: (t.bucket, t.min_dpd, t.max_dpd, t.previous_bucket),
        "step_changed": lambda: (t.previous_step, t.step, t.status),
        "blocked": lambda: (t.limit_id, t.kind, t.steps, t.until and t.until.isoformat()),
        "unblocked": lambda: (t.limit_id, t.steps),
        "paused": lambda: (t.reasons, t.until.isoformat()),
        "resumed": lambda: (t.reasons,),
        "cured": lambda: (t.previous_dpd,),
        "time_barred": lambda: (t.dpd,),
    }[t.type]()
    return (who, t.type, *detail)


PAUSE_END = "2025-04-15T16:00:00+00:00"  # day 46 00:00 in Shanghai

EXPECTED = [
    (0, ("L1", "entered_bucket", "current", 0, 0, None)),
    (0, ("L2", "entered_bucket", "current", 0, 0, None)),
    (1, ("L1", "entered_bucket", "early", 1, 29, "current")),
    (1, ("borrower", "step_changed", None, "sms_reminder", "act")),
    (6, ("L2", "entered_bucket", "early", 1, 29, "current")),
    (15, ("borrower", "step_changed", "sms_reminder", "collection_call", "act")),
    (21, ("L2", "blocked", "dispute_stop", "block_while", ("collection_call",), None)),
    (26, ("L2", "unblocked", "dispute_stop", ("collection_call",))),
    (30, ("L1", "entered_bucket", "mid", 30, 59, "early")),
    (30, ("borrower", "step_changed", "collection_call", "overdue_letter", "act")),
    (31, ("borrower", "step_changed", "overdue_letter", "collection_call", "act")),
    (35, ("L2", "entered_bucket", "mid", 30, 59, "early")),
    (41, ("L1", "blocked", "collections_paused", "pause", ("collection_call",), PAUSE_END)),
    (41, ("L1", "paused", ("system_incident",), PAUSE_END)),
    (41, ("L2", "blocked", "collections_paused", "pause", ("collection_call",), PAUSE_END)),
    (41, ("L2", "paused", ("system_incident",), PAUSE_END)),
    (46, ("L1", "unblocked", "collections_paused", ("collection_call",))),
    (46, ("L1", "resumed", ("system_incident",))),
    (46, ("L2", "unblocked", "collections_paused", ("collection_call",))),
    (46, ("L2", "resumed", ("system_incident",))),
    (60, ("L1", "entered_bucket", "late", 60, 99, "mid")),
    (65, ("L2", "entered_bucket", "late", 60, 99, "mid")),
    (71, ("L2", "entered_bucket", "current", 0, 0, "late")),
    (71, ("L2", "cured", 65)),
    (100, ("L1", "entered_bucket", "severe", 100, None, "late")),
    (110, ("L1", "time_barred", 110)),
    (112, ("L1", "blocked", "time_bar", "limitation", ("court",), None)),
]


def test_the_120_day_story_event_by_event(story: Any) -> None:
    """Day 0 sets both loans' buckets; L1 moves early (day 1), mid (30), late (60), severe
    (100); the contact goes from SMS to calls on day 15, with the overdue letter on day 30;
    L2's dispute blocks it on day 21 and unblocks it on day 26; the pause (recorded day 40
    12:00) shows on day 41 on both loans, with its reason and end, and lifts on day 46; L2,
    paid on day 70, is cured on day 71; L1 becomes time-barred on day 110, and the court claim
    its rules propose from day 112 is held back by the time bar with no end."""
    got = [(day, brief(t)) for day, t in all_transitions(story.decisions)]
    assert got == EXPECTED


def test_every_transition_is_canonical_json_with_a_content_id(story: Any) -> None:
    """Sorted keys, no white space, instants in UTC 'Z', the id the sha256 of the JSON
    without it; each validates against docs/transitions.schema.json and reads back equal;
    the ids are distinct (a bus can de-duplicate on them)."""
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    ids = set()
    for day, t in all_transitions(story.decisions):
        text = t.to_json()
        data = json.loads(text)
        assert text == json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        body = {k: v for k, v in data.items() if k != "id"}
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert data["id"] == hashlib.sha256(canonical.encode()).hexdigest()
        assert data["at"].endswith("Z") and data["at"] == story.decisions[day].as_of.strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        )
        jsonschema.validate(data, schema)
        assert read_transition(text) == t
        ids.add(data["id"])
    assert len(ids) == len(EXPECTED)


def test_the_schema_doc_is_current() -> None:
    """docs/transitions.schema.json is exactly the exported schema
    (``DUNNING_UPDATE_DOCS=1`` rewrites it)."""
    text = json.dumps(transition_json_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if os.environ.get("DUNNING_UPDATE_DOCS") == "1":
        SCHEMA.write_text(text, encoding="utf-8")
    assert SCHEMA.read_text(encoding="utf-8") == text
    defs = transition_json_schema()["$defs"].values()
    types = {d["properties"]["type"]["const"] for d in defs if "type" in d.get("properties", {})}
    assert types == set(dunning._decide.transitions.TRANSITION_TYPES)


def test_loan_decisions_give_the_same_loan_transitions(story: Any) -> None:
    """Deciding L1 alone each day (`engine.decide`) gives L1's bucket, block, pause and
    time-bar transitions of the story, day for day (the step transitions are the loan's own
    decision's: its step is the contact here)."""
    l1 = [e for e in story.events if e.get("loan_id") in ("L1", None)]
    decisions = {day: ENGINE.decide(l1, at(day)) for day in range(120)}
    got = [(d, brief(t)) for d, t in all_transitions(decisions) if t.type != "step_changed"]
    assert got == [(d, b) for d, b in EXPECTED if b[0] == "L1"]


def test_bad_pairs_are_refused(story: Any) -> None:
    """Two loans, time going backwards, or a loan decision after a borrower decision."""
    bd = story.decisions
    l1, l2 = bd[5].line("L1").decision, bd[5].line("L2").decision
    with pytest.raises(InputError, match="expected two successive decisions of one loan"):
        dunning.transitions(l1, l2)
    with pytest.raises(InputError, match="expected successive decisions, oldest first"):
        dunning.transitions(bd[6], bd[5])
    with pytest.raises(InputError, match="expected two BorrowerDecisions"):
        dunning.transitions(l1, bd[6])
    with pytest.raises(InputError, match="expected a Decision or a BorrowerDecision"):
        dunning.transitions(None, {"loan_id": "L1"})
    assert dunning.transitions(bd[7], bd[7]) == ()
