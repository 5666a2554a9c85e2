"""The V/S figures of issue #15 point 4, enforced: one borrower's story per figure (C5 and
U12 and C10 are stories 6, 5 and 8 in test_scenario_lawful.py)."""

from __future__ import annotations

from datetime import date, timedelta

from lawful_support import Story, blocks


def _plan(first: date, n: int) -> list[dict[str, str]]:
    return [{"due_date": (first + timedelta(days=30 * i)).isoformat(), "amount": "100.00"}
            for i in range(n)]  # fmt: skip


def test_c7_a_credit_dispute_is_flagged_until_answered_within_20_days() -> None:
    """Liu disputes her credit record on 2026-03-10. Until the bank answers, every decision
    carries the 20-day check (征信业管理条例 §25); on day 21 without an answer the flag says
    it is overdue; once resolved both are gone."""
    s = Story("CN").open(date(2026, 2, 1)).due(date(2026, 3, 1))
    s.add("dispute_raised", date(2026, 3, 10))
    d = s.decide(date(2026, 3, 30))
    assert "credit_dispute_check" in d.flags and "credit_dispute_overdue" not in d.flags
    note = next(n for n in d.flag_notes if n.id == "credit_dispute_check")
    assert (
        note.source == "Regulation on the Administration of the Credit Reporting Industry, Art. 25"
    )
    assert note.grade == "verified"
    late = s.decide(date(2026, 3, 31))
    assert "credit_dispute_overdue" in late.flags and "credit_dispute_check" not in late.flags
    s.add("dispute_resolved", date(2026, 4, 2))
    assert not {"credit_dispute_check", "credit_dispute_overdue"} & set(
        s.decide(date(2026, 4, 3)).flags
    )


def test_c7_a_negative_record_is_kept_five_years_after_the_default_ended() -> None:
    """Guo was late on 2026-03-01 and paid everything on 2026-04-15. The default ended that
    day: the negative record is kept 5 years (征信业管理条例 §16) and then must go."""
    s = Story("CN").open(date(2026, 2, 1)).due(date(2026, 3, 1)).pay(date(2026, 4, 15), "1000.00")
    facts = s.facts(date(2027, 4, 15))
    assert facts["days_since_delinquency_ended"] == 366  # last day past due: 2026-04-14
    d = s.decide(date(2027, 4, 15))
    assert "negative_record_retention" in d.flags
    note = next(n for n in d.flag_notes if n.id == "negative_record_retention")
    assert (
        note.source == "Regulation on the Administration of the Credit Reporting Industry, Art. 16"
    )
    assert note.grade == "verified"
    assert "negative_record_retention" in s.decide(date(2031, 4, 15)).flags
    assert "negative_record_retention" not in s.decide(date(2031, 4, 17)).flags
    still = Story("CN").open(date(2026, 2, 1)).due(date(2026, 3, 1))
    assert still.facts(date(2026, 3, 20))["days_since_delinquency_ended"] == 0


def test_c8_a_plan_over_60_installments_is_renegotiated() -> None:
    """Ma agreed a 72-installment plan on 2026-04-01: over the 5-year / 60-installment maximum
    (信用卡办法 §70). The bank must offer a plan within the cap; a 60-installment plan is fine."""
    s = Story("CN").open(date(2026, 2, 1)).due(date(2026, 3, 1))
    long = Story("CN", list(s.events), s.n).add(
        "repayment_plan_agreed", date(2026, 4, 1), currency="CNY",
        installments=_plan(date(2026, 5, 1), 72))  # fmt: skip
    d = long.decide(date(2026, 4, 2))
    assert d.step == "repayment_plan_offer" and d.chosen_rule == "cn_plan_over_cap"
    chosen = next(m for m in d.matched if m.rule_id == "cn_plan_over_cap")
    assert chosen.source.endswith("Art. 70") and chosen.grade == "secondary"
    assert "plan_over_cap" in d.flags
    ok = Story("CN", list(s.events), s.n).add(
        "repayment_plan_agreed", date(2026, 4, 1), currency="CNY",
        installments=_plan(date(2026, 5, 1), 60))  # fmt: skip
    assert "plan_over_cap" not in ok.decide(date(2026, 4, 2)).flags


def test_c8_an_offer_recorded_over_60_installments_is_caught() -> None:
    """The collector recorded a plan offer of 84 installments on 2026-04-01: the next
    decision flags it and offers again within 60."""
    s = Story("CN").open(date(2026, 2, 1)).due(date(2026, 3, 1))
    s.step(date(2026, 3, 20), "repayment_plan_offer", installments=84)
    d = s.decide(date(2026, 4, 5))
    assert "plan_over_cap" in d.flags
    assert "cn_plan_over_cap" in [m.rule_id for m in d.matched]
    fine = Story("CN").open(date(2026, 2, 1)).due(date(2026, 3, 1))
    fine.step(date(2026, 3, 20), "repayment_plan_offer", installments=48)
    assert "plan_over_cap" not in fine.decide(date(2026, 4, 5)).flags


def _uk() -> Story:
    return Story("UK").open(date(2025, 1, 1), "3000.00").due(date(2025, 2, 1), "300.00")


def test_k7_a_standard_breathing_space_without_an_end_lasts_60_days() -> None:
    """Kate's debt adviser registers a standard Breathing Space on 2025-05-01 with no end
    date. Through 2025-06-30 (60 days) nothing may be done; on 2025-07-01 collection resumes."""
    s = _uk().add("breathing_space_started", date(2025, 5, 1))
    day = date(2025, 5, 1)
    while day <= date(2025, 6, 30):  # day by day: nothing at all may be done
        assert s.decide(day, 12).status == "blocked", day
        day += timedelta(days=1)
    d = s.decide(date(2025, 6, 30))
    assert d.status == "blocked"
    held = blocks(d, d.blocked[0].step)["uk_breathing_space"]
    assert held.citation.startswith("Debt Respite Scheme")
    assert held.grade == "secondary"
    assert s.facts(date(2025, 6, 30))["breathing_space_days_left"] == 0
    assert "breathing_space" not in s.decide(date(2025, 7, 1)).flags
    assert s.decide(date(2025, 7, 1)).status != "blocked"


def test_k7_a_mental_health_crisis_breathing_space_lasts_treatment_plus_30_days() -> None:
    """Kate's crisis breathing space starts on 2025-05-01; her crisis treatment ends on
    2025-06-01. The moratorium goes on 30 more days: blocked on 2025-07-01, over on 07-02."""
    s = _uk().add("breathing_space_started", date(2025, 5, 1), kind="mental_health_crisis")
    assert s.decide(date(2025, 8, 30)).status == "blocked"  # no end known during treatment
    s.add("breathing_space_ended", date(2025, 6, 1))
    d = s.decide(date(2025, 7, 1))
    assert d.status == "blocked"
    held = {b.limit_id: b for b in d.blocked}["uk_breathing_space"]
    assert "SI 2020/1311" in held.citation and held.grade == "secondary"
    assert s.facts(date(2025, 7, 1))["breathing_space_days_left"] == 0
    assert s.facts(date(2025, 7, 2))["breathing_space"] is False


def test_k7_a_crisis_breathing_space_with_a_known_treatment_end_adds_30_days() -> None:
    """Registered on 2025-05-01 with the crisis treatment ending on 2025-05-20 (`ends_on`):
    the moratorium lasts to 2025-06-19, 30 days after the treatment."""
    s = _uk().add(
        "breathing_space_started", date(2025, 5, 1), kind="mental_health_crisis",
        ends_on="2025-05-20",
    )  # fmt: skip
    assert s.decide(date(2025, 6, 19)).status == "blocked"
    assert s.facts(date(2025, 6, 20))["breathing_space"] is False


def test_k7_one_standard_breathing_space_per_12_months() -> None:
    """A second standard Breathing Space is registered on 2025-09-01, four months after the
    first: it still holds (the creditor cannot ignore it) and the decision asks for a
    review of its eligibility."""
    s = _uk().add("breathing_space_started", date(2025, 3, 1))
    s.add("breathing_space_started", date(2025, 9, 1))
    d = s.decide(date(2025, 9, 10))
    assert d.status == "blocked"
    assert "breathing_space_review" in d.flags
    note = next(n for n in d.flag_notes if n.id == "breathing_space_review")
    assert "reg. 24" in (note.source or "")
