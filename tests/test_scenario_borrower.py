"""One borrower, three loans, the CN pack, day by day: collect from the borrower, not the loan.

The borrower holds a credit card (L1, first missed due 95 days before day 0, the overdue and
lawyer's letters already sent), a personal loan (L2, 35 days past due on day 0) and a car loan
(L3, 3 days past due). Every day at 10:00 the bank asks for one borrower decision and carries
it out (`borrower_support`): one contact covering every loan in arrears, each loan's own step
on that loan alone.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

import pytest

import dunning
from borrower_support import at, loan, run

RULES = dunning.load_rules("rules/cn-bank-retail.yaml")
ENGINE = dunning.Engine(RULES)


def three_loans() -> list[dict[str, Any]]:
    events = (
        loan("L1", "60000.00", date(2024, 11, 26))
        + loan("L2", "24000.00", date(2025, 1, 25))
        + loan("L3", "6000.00", date(2025, 2, 26))
    )
    events += [
        {"type": "step_taken", "event_id": "L1-ol", "loan_id": "L1",
         "at": "2025-01-10T10:00:00+08:00", "step": "overdue_letter"},
        {"type": "step_taken", "event_id": "L1-ll", "loan_id": "L1",
         "at": "2025-01-30T10:00:00+08:00", "step": "lawyer_letter"},
    ]  # fmt: skip
    return events


def contacts_per_day(events: list[dict[str, Any]]) -> Counter[str]:
    return Counter(e["at"][:10] for e in events if e["type"] == "contact_attempted")


def legal_steps(story: Any) -> list[tuple[int, str, str]]:
    return [(d, ln, s) for d, ln, s in story.own_steps if RULES.steps[s].kind == "legal"]


@pytest.fixture(scope="module")
def plain() -> Any:
    return run(ENGINE, three_loans(), 60)


def test_sixty_days_one_contact_a_day_covering_all_loans(plain: Any) -> None:
    """Days 0-59: the borrower gets one contact a day at most, always about all three loans
    (all are in arrears throughout), driven by the loan furthest up the ladder: the
    credit-report notice on day 0 (L1 and L2 both propose it, at the same level and priority:
    the tie goes to the loan with more dpd, L1), the overdue letter on day 1 (L2 at 36 dpd),
    the visit notice on day 5 and the visit on day 9 (L1 at 100 dpd), the lawyer's letter on
    day 25 (L2 at 60 dpd); collection calls on every other day."""
    assert max(contacts_per_day(plain.events).values()) == 1
    assert len(plain.contacts) == 60
    for day, _step, covers in plain.contacts:
        in_arrears = tuple(ln.loan_id for ln in plain.decisions[day].loans if ln.in_arrears)
        assert covers == in_arrears == ("L1", "L2", "L3")
    not_calls = {d: s for d, s, _c in plain.contacts if s != "phone_collection"}
    assert not_calls == {
        0: "credit_report_notice",
        1: "overdue_letter",
        5: "visit_notice",
        9: "field_visit",
        25: "lawyer_letter",
    }
    drivers = {d: plain.decisions[d].contact.loan_id for d in not_calls}
    assert drivers == {0: "L1", 1: "L2", 5: "L1", 9: "L1", 25: "L2"}


def test_the_legal_step_only_on_the_loan_that_qualifies(plain: Any) -> None:
    """The payment order is taken on day 25, when the card (L1) reaches 120 dpd after its
    lawyer's letter; never on L2 or L3. Per-loan steps stay per loan: the agency referral of
    L1 on day 0 and of L2 on day 55 (90 dpd), each loan's monthly credit report."""
    assert legal_steps(plain) == [(25, "L1", "payment_order")]
    assert plain.own_steps == [
        (0, "L1", "agency_referral"),
        (8, "L1", "credit_report"),
        (8, "L2", "credit_report"),
        (25, "L1", "payment_order"),
        (28, "L3", "credit_report"),
        (39, "L1", "credit_report"),
        (39, "L2", "credit_report"),
        (55, "L2", "agency_referral"),
        (59, "L3", "credit_report"),
    ]
    line = plain.decisions[25].line("L2")
    assert line.step.step != "payment_order"
    assert all(m.step != "payment_order" for m in line.decision.matched)


def test_caps_count_across_loans() -> None:
    """Day 6: six unanswered calls about L1 and L3 fill the borrower's daily cap (C10): every
    loan's phone step, L2's too, is held back until the next local midnight, so the one
    contact of the day is not a call. Five calls leave the cap open on every loan."""
    events = three_loans() + [
        {"type": "contact_attempted", "event_id": f"c{i}", "borrower_id": "B1",
         "loan_id": "L1" if i % 2 else "L3", "at": at(6, 8, 10 * i), "channel": "phone",
         "outcome": "no_answer"}
        for i in range(6)
    ]  # fmt: skip
    bd = ENGINE.decide_borrower(events, at(6, 14))
    for line in bd.loans:
        caps = [b for b in line.decision.blocked if b.limit_id == "cn_unanswered_calls_per_day"]
        phone = {m.step for m in line.decision.matched if RULES.steps[m.step].channel == "phone"}
        assert phone and {b.step for b in caps} == phone
        assert all(b.until.isoformat() == "2025-03-07T16:00:00+00:00" for b in caps)
    assert bd.contact is not None and RULES.steps[bd.contact.step].channel != "phone"
    five = ENGINE.decide_borrower([e for e in events if e["event_id"] != "c5"], at(6, 14))
    for line in five.loans:
        assert "cn_unanswered_calls_per_day" not in {b.limit_id for b in line.decision.blocked}


def stops(day: int, story: Any) -> list[dict[str, Any]]:
    """Day 10: the borrower disputes the personal loan (L2) in writing. Day 20: asks the bank
    in writing to stop all contact. Day 40: files for bankruptcy."""
    if day == 10:
        return [{"type": "dispute_raised", "event_id": "d1", "loan_id": "L2", "at": at(10, 12)}]
    if day == 20:
        return [{"type": "cease_contact_requested", "event_id": "cease", "borrower_id": "B1",
                 "at": at(20, 12)}]  # fmt: skip
    if day == 40:
        return [{"type": "bankruptcy_filed", "event_id": "bk", "borrower_id": "B1",
                 "at": at(40, 12)}]  # fmt: skip
    return []


@pytest.fixture(scope="module")
def stopped() -> Any:
    return run(ENGINE, three_loans(), 60, stops)


def test_a_dispute_stops_its_own_loan(stopped: Any) -> None:
    """Days 11-20: the contacts leave the disputed L2 out and cover L1 and L3; L2 takes no
    step of its own (held back by cn_dispute_open); L1 and L3 carry on."""
    for day, _step, covers in stopped.contacts:
        if 11 <= day <= 20:
            assert covers == ("L1", "L3"), day
    for day in range(11, 21):
        line = stopped.decisions[day].line("L2")
        assert not line.covered and line.step.status in ("blocked", "none")
        assert "dispute_open" in line.decision.flags
        assert {b.limit_id for b in line.decision.blocked} >= {"cn_dispute_open"}
    assert [d for d, _s, _c in stopped.contacts if 11 <= d <= 20] == list(range(11, 21))
    assert not [s for s in stopped.own_steps if s[1] == "L2" and 11 <= s[0] <= 59]


def test_a_cease_stops_contact_on_every_loan_and_bankruptcy_stops_everything(
    stopped: Any,
) -> None:
    """From day 21 no contact at all (the cease is the borrower's, so every loan has it); the
    court route of L1 is not a contact and goes on (payment order on day 25). From day 41 the
    bankruptcy stay holds every step of every loan: nothing at all is taken."""
    assert [d for d, _s, _c in stopped.contacts if d > 20] == []
    late = [e for e in stopped.events if e["type"] == "contact_attempted" and e["at"] > at(20, 12)]
    assert late == []
    for day in range(21, 60):
        assert stopped.decisions[day].contact is None
    assert (25, "L1", "payment_order") in stopped.own_steps
    assert [s for s in stopped.own_steps if s[0] > 40] == []
    for day in range(41, 60):
        bd = stopped.decisions[day]
        assert bd.status == "blocked" and bd.steps() == ()
        assert all("bankruptcy_stay" in ln.decision.flags for ln in bd.loans)


def late_pause(day: int, story: Any) -> list[dict[str, Any]]:
    """Day 12, 15:00: the bank records a goodwill pause of the whole borrower it agreed on
    day 10 at 09:00 (two days late), until day 20 00:00."""
    if day == 12:
        return [{"type": "collections_paused", "event_id": "pause", "borrower_id": "B1",
                 "at": at(12, 15), "effective_from": at(10, 9), "until": at(20, 0),
                 "reason": "goodwill"}]  # fmt: skip
    return []


def test_a_pause_recorded_two_days_late() -> None:
    """Decisions of days 10, 11 and 12 were made before the pause was recorded: contacts went
    out, and replaying them later (with the pause in the events) gives what they said. From
    day 13 every decision sees the pause back-dated to day 10: nothing may be taken, every
    proposed step held back by collections_paused with its reason and until (day 20 00:00);
    the contact is deferred to day 20 08:00 (the pause ends at midnight, the contact window
    opens at eight); dpd_net leaves out the paused days (10 to today); the contact goes out
    on day 20."""
    story = run(ENGINE, three_loans(), 25, late_pause)
    contact_days = [d for d, _s, _c in story.contacts]
    assert contact_days == [*range(0, 13), *range(20, 25)]
    assert [s for s in story.own_steps if 13 <= s[0] < 20] == []
    for day in (10, 11, 12):
        recorded = story.decisions[day]
        assert dunning.replay(recorded, story.events, RULES) == recorded
        assert not any(ln.decision.position.paused for ln in recorded.loans)
    for day in range(13, 20):
        bd = story.decisions[day]
        assert bd.steps() == () and "paused" in bd.flags
        assert bd.contact is not None and bd.contact.status == "defer"
        assert bd.contact.not_before.isoformat() == "2025-03-21T00:00:00+00:00"
        for line in bd.loans:
            pos = line.decision.position
            assert pos.paused and pos.pause_reasons == ("goodwill",)
            assert pos.paused_until.isoformat() == "2025-03-20T16:00:00+00:00"
            held = {(b.step, b.limit_id) for b in line.decision.blocked}
            proposed = {m.step for m in line.decision.matched}
            assert {(step, "collections_paused") for step in proposed} <= held
            pause_blocks = [b for b in line.decision.blocked if b.limit_id == "collections_paused"]
            assert all("goodwill (borrower, event pause)" in b.reason for b in pause_blocks)
            assert all(b.until.isoformat() == "2025-03-20T16:00:00+00:00" for b in pause_blocks)
            assert line.decision.position.dpd_net == line.dpd - (day - 10 + 1)
    assert story.decisions[20].contact is not None
    assert not story.decisions[20].loans[0].decision.position.paused
