"""The CN retail pack followed day by day from the first missed installment (day 0).

Each behaviour is a story a collections officer would recognise: a borrower who pays after the
first reminder; one who promises twice and breaks both; one who disputes on day 20 (resolved
on day 50); one who goes silent; one who declares hardship and keeps a plan; one who files for
bankruptcy on day 75. The tables give, for each story, the day each step was first taken and
the (step, not_before in local time) on the days where the decision changed — the ladder of
the seeds (SMS, e-mail, phone, overdue letter, credit-report notice then report after 7 days,
lawyer's letter, agency, visit notice then visit after 3 days, payment order, enforcement 35
days later) and its limits (cooldowns, dispute stop, quiet plan, bankruptcy stop).
"""

from __future__ import annotations

import functools
from typing import Any

import pytest

from scenario_packs_support import (
    BEHAVIOURS,
    CN,
    Day,
    assert_ladder,
    make_engine,
    same_on_both_backends,
    simulate,
)

EXPECTED: dict[str, tuple[dict[str, int], dict[int, tuple[str | None, str | None]]]] = {
    "pays_after_reminder": (
        {"sms_reminder": 1, "email_reminder": 2},
        {
            0: (None, None),
            1: ("sms_reminder", None),
            2: ("email_reminder", None),
            3: (None, None),
            210: (None, None),
        },
    ),
    "promises_and_breaks": (
        {
            "sms_reminder": 1,
            "email_reminder": 2,
            "phone_reminder": 4,
            "phone_collection": 10,
            "overdue_letter": 30,
            "credit_report_notice": 31,
            "credit_report": 39,
            "lawyer_letter": 60,
            "agency_referral": 90,
            "visit_notice": 100,
            "field_visit": 104,
            "payment_order": 120,
            "enforcement": 155,
        },
        {
            0: (None, None),
            1: ("sms_reminder", None),
            2: ("email_reminder", None),
            3: ("sms_reminder", "2025-03-05 10:01"),
            4: ("phone_reminder", None),
            6: ("sms_reminder", "2025-03-09 10:01"),
            10: ("phone_collection", None),
            11: ("sms_reminder", "2025-03-13 10:01"),
            14: ("sms_reminder", "2025-03-17 10:01"),
            30: ("overdue_letter", None),
            31: ("credit_report_notice", None),
            39: ("credit_report", None),
            60: ("lawyer_letter", None),
            90: ("agency_referral", None),
            100: ("visit_notice", None),
            104: ("field_visit", None),
            120: ("payment_order", None),
            155: ("enforcement", None),
            210: ("phone_collection", None),
        },
    ),
    "disputes": (
        {
            "sms_reminder": 1,
            "email_reminder": 2,
            "phone_reminder": 4,
            "phone_collection": 16,
            "credit_report_notice": 51,
            "overdue_letter": 52,
            "credit_report": 59,
            "lawyer_letter": 66,
            "agency_referral": 90,
            "visit_notice": 100,
            "field_visit": 104,
            "payment_order": 120,
            "enforcement": 155,
        },
        {
            0: (None, None),
            1: ("sms_reminder", None),
            2: ("email_reminder", None),
            3: ("sms_reminder", "2025-03-05 10:01"),
            4: ("phone_reminder", None),
            6: ("phone_reminder", "2025-03-07 10:01"),
            8: ("sms_reminder", "2025-03-09 10:01"),
            11: ("phone_reminder", "2025-03-13 10:01"),
            16: ("phone_collection", None),
            21: (None, None),
            51: ("credit_report_notice", None),
            52: ("overdue_letter", None),
            59: ("credit_report", None),
            66: ("lawyer_letter", None),
            90: ("agency_referral", None),
            100: ("visit_notice", None),
            104: ("field_visit", None),
            120: ("payment_order", None),
            155: ("enforcement", None),
            210: ("phone_collection", None),
        },
    ),
    "silent": (
        {
            "sms_reminder": 1,
            "email_reminder": 2,
            "phone_reminder": 4,
            "phone_collection": 16,
            "overdue_letter": 30,
            "credit_report_notice": 31,
            "credit_report": 39,
            "lawyer_letter": 60,
            "agency_referral": 90,
            "visit_notice": 100,
            "field_visit": 104,
            "payment_order": 120,
            "enforcement": 155,
        },
        {
            0: (None, None),
            1: ("sms_reminder", None),
            2: ("email_reminder", None),
            3: ("sms_reminder", "2025-03-05 10:01"),
            4: ("phone_reminder", None),
            6: ("phone_reminder", "2025-03-07 10:01"),
            8: ("sms_reminder", "2025-03-09 10:01"),
            11: ("phone_reminder", "2025-03-13 10:01"),
            16: ("phone_collection", None),
            30: ("overdue_letter", None),
            31: ("credit_report_notice", None),
            39: ("credit_report", None),
            60: ("lawyer_letter", None),
            90: ("agency_referral", None),
            100: ("visit_notice", None),
            104: ("field_visit", None),
            120: ("payment_order", None),
            155: ("enforcement", None),
            210: ("phone_collection", None),
        },
    ),
    "hardship_plan": (
        {"sms_reminder": 1, "email_reminder": 2, "phone_reminder": 4, "repayment_plan_offer": 6},
        {
            0: (None, None),
            1: ("sms_reminder", None),
            2: ("email_reminder", None),
            3: ("sms_reminder", "2025-03-05 10:01"),
            4: ("phone_reminder", None),
            5: ("sms_reminder", None),
            6: ("repayment_plan_offer", None),
            7: ("phone_reminder", None),
            8: (None, None),
            210: (None, None),
        },
    ),
    "bankruptcy": (
        {
            "sms_reminder": 1,
            "email_reminder": 2,
            "phone_reminder": 4,
            "phone_collection": 16,
            "overdue_letter": 30,
            "credit_report_notice": 31,
            "credit_report": 39,
            "lawyer_letter": 60,
        },
        {
            0: (None, None),
            1: ("sms_reminder", None),
            2: ("email_reminder", None),
            3: ("sms_reminder", "2025-03-05 10:01"),
            4: ("phone_reminder", None),
            6: ("phone_reminder", "2025-03-07 10:01"),
            8: ("sms_reminder", "2025-03-09 10:01"),
            11: ("phone_reminder", "2025-03-13 10:01"),
            16: ("phone_collection", None),
            30: ("overdue_letter", None),
            31: ("credit_report_notice", None),
            39: ("credit_report", None),
            60: ("lawyer_letter", None),
            76: (None, None),
            210: (None, None),
        },
    ),
}


@functools.cache
def _run(behaviour: str) -> tuple[list[Day], list[dict[str, Any]], dict[int, Any]]:
    return simulate(make_engine(CN), CN, BEHAVIOURS[behaviour])


@pytest.mark.parametrize("behaviour", sorted(EXPECTED))
def test_ladder_day_by_day(behaviour: str) -> None:
    """Which steps the borrower meets on which day, and when deferred steps become lawful."""
    days, _, _ = _run(behaviour)
    assert_ladder(days, *EXPECTED[behaviour])


@pytest.mark.parametrize("behaviour", sorted(EXPECTED))
def test_both_backends_decide_alike(behaviour: str) -> None:
    """The durable_rules backend makes the same decisions on the change days and a sample."""
    days, _, states = _run(behaviour)
    assert [] == same_on_both_backends(CN, states, days)
