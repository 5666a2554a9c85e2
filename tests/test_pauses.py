"""Pausing collection: the events, their scope, the facts, and the gate's pause check."""

from __future__ import annotations

from typing import Any

import pytest

import dunning
from borrower_support import at, loan
from dunning import InvalidEventError
from dunning.events import parse_event

RULES = dunning.load_rules("rules/cn-bank-retail.yaml")
ENGINE = dunning.Engine(RULES)
EXTENDED = dunning.loads_rules(
    """
extends: pack:cn-bank-retail
id: cn_report_in_pause
version: "1"
steps:
  - id: credit_report
    allowed_during_pause: true
"""
)


def two_loans() -> list[dict[str, Any]]:
    from datetime import date

    return loan("L1", "12000.00", date(2025, 1, 20)) + loan("L2", "12000.00", date(2025, 2, 10))


def pause(eid: str, day: int, *, loan_id: str | None = None, **kw: Any) -> dict[str, Any]:
    e = {"type": "collections_paused", "event_id": eid, "borrower_id": "B1", "at": at(day, 9),
         "reason": kw.pop("reason", "system_incident"), **kw}  # fmt: skip
    if loan_id:
        e["loan_id"] = loan_id
    return e


def resume(eid: str, day: int, *, loan_id: str | None = None, **kw: Any) -> dict[str, Any]:
    e = {"type": "collections_resumed", "event_id": eid, "borrower_id": "B1",
         "at": at(day, 9), **kw}  # fmt: skip
    if loan_id:
        e["loan_id"] = loan_id
    return e


def facts(events: list[dict[str, Any]], loan_id: str, day: int) -> Any:
    mine = [e for e in events if e.get("loan_id") in (loan_id, None)]
    return dunning.AccountState.from_events(mine).facts(at(day, 10))


def test_effective_from_after_at_is_refused() -> None:
    """A pause cannot start after it is recorded (send it when it starts)."""
    with pytest.raises(InvalidEventError, match=r"effective_from .* is after the event.s at"):
        parse_event(pause("p", 3, effective_from=at(4)))
    with pytest.raises(InvalidEventError, match=r"until .* is not after the pause.s start"):
        parse_event(pause("p", 3, until=at(2)))


def test_a_borrower_pause_pauses_every_loan_a_loan_pause_only_its_loan() -> None:
    """A pause without loan_id holds both loans; one naming L1 holds L1 only (L2 keeps its
    own facts and steps), though the event is kept in both loans' events."""
    events = [*two_loans(), pause("p1", 5, loan_id="L1", reason="complaint_review")]
    assert facts(events, "L1", 6)["paused"] and not facts(events, "L2", 6)["paused"]
    bd = ENGINE.decide_borrower(events, at(6))
    assert bd.line("L1").decision.position.pause_reasons == ("complaint_review",)
    assert not bd.line("L2").decision.position.paused
    events.append(pause("p2", 7))
    bd = ENGINE.decide_borrower(events, at(8))
    assert all(ln.decision.position.paused for ln in bd.loans)
    assert bd.line("L1").decision.position.pause_reasons == ("complaint_review", "system_incident")


def test_paused_days_and_dpd_net() -> None:
    """L1's due of 2025-01-20 is unpaid: on day 10 (2025-03-11) dpd is 50. Paused from day 2
    09:00 to the resume on day 6 09:00 (covering days 2-5), and again from day 8 (still in
    force, covering 8-10): paused_days 7, dpd_net 43. Before any pause both are 0 and dpd."""
    events = [*two_loans(), pause("p1", 2), resume("r1", 6), pause("p2", 8)]
    f = facts(events, "L1", 10)
    assert (f["dpd"], f["paused"], f["paused_days"], f["dpd_net"]) == (50, True, 7, 43)
    f = facts([e for e in events if not e["type"].startswith("collections_")], "L1", 10)
    assert (f["paused"], f["paused_days"], f["dpd_net"]) == (False, 0, f["dpd"])
    f = facts(events, "L1", 7)
    assert (f["paused"], f["paused_days"]) == (False, 4)


def test_a_late_resume_and_a_pause_ending_by_itself() -> None:
    """A resume recorded on day 6 with effective_from day 4 ends the pause on day 4; a pause
    with until ends by itself: paused before, not after."""
    events = [*two_loans(), pause("p1", 2), resume("r1", 6, effective_from=at(4, 0))]
    assert facts(events, "L1", 6)["paused_days"] == 2  # days 2 and 3
    timed = [*two_loans(), pause("p1", 2, until=at(5, 0))]
    assert facts(timed, "L1", 4)["paused"] and not facts(timed, "L1", 5)["paused"]
    assert facts(timed, "L1", 9)["paused_days"] == 3


def test_while_paused_the_decision_is_held_with_reason_and_until() -> None:
    """Every proposed step of a paused loan is held back by collections_paused with the pause's
    reason and until; with no until the hold has no known end and the status is blocked."""
    events = [*two_loans(), pause("p1", 2)]
    d = ENGINE.decide([e for e in events if e.get("loan_id") in ("L1", None)], at(3))
    assert d.status == "blocked" and d.step is None
    held = [b for b in d.blocked if b.limit_id == "collections_paused"]
    assert {b.step for b in held} == {m.step for m in d.matched} and held
    assert all(b.until is None and "system_incident" in b.reason for b in held)
    assert "paused" in d.flags


def test_a_step_the_pack_allows_during_a_pause() -> None:
    """A pack may mark steps allowed while paused (here the monthly credit report, a
    regulatory duty): it is taken during the pause, every other step waits."""
    notice = {"type": "step_taken", "event_id": "n1", "loan_id": "L1", "at": at(0, 10),
              "step": "credit_report_notice"}  # fmt: skip
    events = [*two_loans(), notice, pause("p1", 2)]
    mine = [e for e in events if e.get("loan_id") in ("L1", None)]
    assert dunning.Engine(EXTENDED).decide(mine, at(9)).step == "credit_report"
    assert ENGINE.decide(mine, at(9)).step is None
    assert RULES.sha256 != EXTENDED.sha256
