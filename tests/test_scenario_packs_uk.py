"""The CONC 7 pack followed day by day from the first missed installment (day 0).

The same stories under the UK pack: no contact on Sundays and bank holidays (policy for
"reasonable times", so day 1 — a Sunday — defers the first text to Monday 08:00, and Good
Friday defers a call to Saturday 09:00); forbearance first for the borrower in hardship (debt
advice, interest suspension, then an arrangement); default notice, letter of claim 28 days
after it, a claim 30 days after that; breathing-space style stops for bankruptcy.
"""

from __future__ import annotations

import functools
from typing import Any

import pytest

from scenario_packs_support import (
    BEHAVIOURS,
    UK,
    Day,
    assert_ladder,
    make_engine,
    same_on_both_backends,
    simulate,
)

EXPECTED: dict[str, tuple[dict[str, int], dict[int, tuple[str | None, str | None]]]] = {
    "pays_after_reminder": (
        {"sms_reminder": 2, "email_reminder": 3},
        {
            0: (None, None),
            1: ("sms_reminder", "2025-03-03 08:00"),
            2: ("sms_reminder", None),
            3: ("email_reminder", None),
            4: (None, None),
            210: (None, None),
        },
    ),
    "promises_and_breaks": (
        {
            "sms_reminder": 2,
            "email_reminder": 3,
            "phone_collection": 9,
            "overdue_letter": 30,
            "default_notice": 60,
            "credit_report": 90,
            "agency_referral": 120,
            "visit_notice": 121,
            "field_visit": 129,
            "lawyer_letter": 150,
            "litigation": 181,
        },
        {
            0: (None, None),
            1: ("sms_reminder", "2025-03-03 08:00"),
            3: ("email_reminder", None),
            4: ("sms_reminder", "2025-03-06 10:01"),
            7: ("sms_reminder", "2025-03-10 10:01"),
            8: ("phone_collection", "2025-03-10 08:00"),
            30: ("overdue_letter", None),
            60: ("default_notice", None),
            90: ("credit_report", None),
            120: ("agency_referral", None),
            121: ("visit_notice", None),
            129: ("field_visit", None),
            150: ("lawyer_letter", None),
            181: ("litigation", None),
            210: ("phone_collection", None),
        },
    ),
    "disputes": (
        {
            "sms_reminder": 2,
            "email_reminder": 3,
            "phone_collection": 9,
            "overdue_letter": 51,
            "default_notice": 60,
            "credit_report": 90,
            "agency_referral": 120,
            "visit_notice": 121,
            "field_visit": 129,
            "lawyer_letter": 150,
            "litigation": 181,
        },
        {
            0: (None, None),
            1: ("sms_reminder", "2025-03-03 08:00"),
            3: ("email_reminder", None),
            4: ("sms_reminder", "2025-03-06 10:01"),
            7: ("sms_reminder", "2025-03-10 10:01"),
            8: ("phone_collection", "2025-03-10 08:00"),
            21: (None, None),
            51: ("overdue_letter", None),
            60: ("default_notice", None),
            90: ("credit_report", None),
            120: ("agency_referral", None),
            121: ("visit_notice", None),
            129: ("field_visit", None),
            150: ("lawyer_letter", None),
            181: ("litigation", None),
            210: ("phone_collection", None),
        },
    ),
    "silent": (
        {
            "sms_reminder": 2,
            "email_reminder": 3,
            "phone_collection": 9,
            "overdue_letter": 30,
            "default_notice": 60,
            "credit_report": 90,
            "agency_referral": 120,
            "visit_notice": 121,
            "field_visit": 129,
            "lawyer_letter": 150,
            "litigation": 181,
        },
        {
            0: (None, None),
            1: ("sms_reminder", "2025-03-03 08:00"),
            3: ("email_reminder", None),
            4: ("sms_reminder", "2025-03-06 10:01"),
            7: ("sms_reminder", "2025-03-10 10:01"),
            8: ("phone_collection", "2025-03-10 08:00"),
            30: ("overdue_letter", None),
            60: ("default_notice", None),
            90: ("credit_report", None),
            120: ("agency_referral", None),
            121: ("visit_notice", None),
            129: ("field_visit", None),
            150: ("lawyer_letter", None),
            181: ("litigation", None),
            210: ("phone_collection", None),
        },
    ),
    "hardship_plan": (
        {
            "sms_reminder": 2,
            "email_reminder": 3,
            "debt_advice_referral": 6,
            "interest_suspension": 7,
            "repayment_plan_offer": 9,
            "phone_collection": 10,
        },
        {
            0: (None, None),
            1: ("sms_reminder", "2025-03-03 08:00"),
            2: ("sms_reminder", None),
            3: ("email_reminder", None),
            4: ("sms_reminder", "2025-03-06 10:01"),
            6: ("debt_advice_referral", None),
            7: ("interest_suspension", None),
            8: ("repayment_plan_offer", "2025-03-10 08:00"),
            9: ("repayment_plan_offer", None),
            10: ("phone_collection", None),
            11: (None, None),
            210: (None, None),
        },
    ),
    "bankruptcy": (
        {
            "sms_reminder": 2,
            "email_reminder": 3,
            "phone_collection": 9,
            "overdue_letter": 30,
            "default_notice": 60,
        },
        {
            0: (None, None),
            1: ("sms_reminder", "2025-03-03 08:00"),
            3: ("email_reminder", None),
            4: ("sms_reminder", "2025-03-06 10:01"),
            7: ("sms_reminder", "2025-03-10 10:01"),
            8: ("phone_collection", "2025-03-10 08:00"),
            30: ("overdue_letter", None),
            60: ("default_notice", None),
            76: (None, None),
            210: (None, None),
        },
    ),
}


@functools.cache
def _run(behaviour: str) -> tuple[list[Day], list[dict[str, Any]], dict[int, Any]]:
    return simulate(make_engine(UK), UK, BEHAVIOURS[behaviour])


@pytest.mark.parametrize("behaviour", sorted(EXPECTED))
def test_ladder_day_by_day(behaviour: str) -> None:
    """Which steps the borrower meets on which day, and when deferred steps become lawful."""
    days, _, _ = _run(behaviour)
    assert_ladder(days, *EXPECTED[behaviour])


@pytest.mark.parametrize("behaviour", sorted(EXPECTED))
def test_both_backends_decide_alike(behaviour: str) -> None:
    """The durable_rules backend makes the same decisions on the change days and a sample."""
    days, _, states = _run(behaviour)
    assert [] == same_on_both_backends(UK, states, days)
