"""The Reg F pack followed day by day from the first missed installment (day 0).

The stories of the CN scenarios, under Regulation F: the validation notice comes first; calls
wait 7 days after a telephone conversation (day 1 = the conversation's day, so a call on day
15 after a conversation on day 8); a dispute stops everything but the verification letter
until it is resolved; furnishing waits 14 days after the mailed notice; suit at day 180 after
the attorney letter; the bankruptcy stay stops everything. The borrower lives in Chicago.
"""

from __future__ import annotations

import functools
from typing import Any

import pytest

from scenario_packs_support import (
    BEHAVIOURS,
    US,
    Day,
    assert_ladder,
    make_engine,
    same_on_both_backends,
    simulate,
)

EXPECTED: dict[str, tuple[dict[str, int], dict[int, tuple[str | None, str | None]]]] = {
    "pays_after_reminder": (
        {"validation_notice": 1, "email_reminder": 2, "sms_reminder": 3},
        {
            0: (None, None),
            1: ("validation_notice", None),
            2: ("email_reminder", None),
            3: ("sms_reminder", None),
            4: (None, None),
            210: (None, None),
        },
    ),
    "promises_and_breaks": (
        {
            "validation_notice": 1,
            "email_reminder": 2,
            "sms_reminder": 3,
            "phone_collection": 8,
            "credit_report_notice": 30,
            "overdue_letter": 31,
            "credit_report": 45,
            "lawyer_letter": 90,
            "agency_referral": 120,
            "litigation": 180,
        },
        {
            0: (None, None),
            1: ("validation_notice", None),
            2: ("email_reminder", None),
            3: ("sms_reminder", None),
            4: ("sms_reminder", "2025-03-08 10:01"),
            8: ("phone_collection", None),
            9: ("email_reminder", "2025-03-10 10:01"),
            11: ("email_reminder", "2025-03-18 10:01"),
            16: ("email_reminder", "2025-03-18 10:01"),
            30: ("credit_report_notice", None),
            31: ("overdue_letter", None),
            45: ("credit_report", None),
            90: ("lawyer_letter", None),
            120: ("agency_referral", None),
            180: ("litigation", None),
            210: ("phone_collection", None),
        },
    ),
    "disputes": (
        {
            "validation_notice": 1,
            "email_reminder": 2,
            "sms_reminder": 3,
            "phone_collection": 8,
            "debt_verification": 21,
            "credit_report_notice": 51,
            "overdue_letter": 52,
            "credit_report": 66,
            "lawyer_letter": 90,
            "agency_referral": 120,
            "litigation": 180,
        },
        {
            0: (None, None),
            1: ("validation_notice", None),
            2: ("email_reminder", None),
            3: ("sms_reminder", None),
            4: ("sms_reminder", "2025-03-08 10:01"),
            8: ("phone_collection", None),
            21: ("debt_verification", None),
            22: ("debt_verification", "2025-04-21 10:01"),
            51: ("credit_report_notice", None),
            52: ("overdue_letter", None),
            66: ("credit_report", None),
            90: ("lawyer_letter", None),
            120: ("agency_referral", None),
            180: ("litigation", None),
            210: ("phone_collection", None),
        },
    ),
    "silent": (
        {
            "validation_notice": 1,
            "email_reminder": 2,
            "sms_reminder": 3,
            "phone_collection": 8,
            "credit_report_notice": 30,
            "overdue_letter": 31,
            "credit_report": 45,
            "lawyer_letter": 90,
            "agency_referral": 120,
            "litigation": 180,
        },
        {
            0: (None, None),
            1: ("validation_notice", None),
            2: ("email_reminder", None),
            3: ("sms_reminder", None),
            4: ("sms_reminder", "2025-03-08 10:01"),
            8: ("phone_collection", None),
            30: ("credit_report_notice", None),
            31: ("overdue_letter", None),
            45: ("credit_report", None),
            90: ("lawyer_letter", None),
            120: ("agency_referral", None),
            180: ("litigation", None),
            210: ("phone_collection", None),
        },
    ),
    "hardship_plan": (
        {"validation_notice": 1, "email_reminder": 2, "sms_reminder": 3, "repayment_plan_offer": 6},
        {
            0: (None, None),
            1: ("validation_notice", None),
            2: ("email_reminder", None),
            3: ("sms_reminder", None),
            4: ("sms_reminder", "2025-03-08 10:01"),
            6: ("repayment_plan_offer", None),
            7: ("sms_reminder", "2025-03-08 10:01"),
            8: (None, None),
            210: (None, None),
        },
    ),
    "bankruptcy": (
        {
            "validation_notice": 1,
            "email_reminder": 2,
            "sms_reminder": 3,
            "phone_collection": 8,
            "credit_report_notice": 30,
            "overdue_letter": 31,
            "credit_report": 45,
        },
        {
            0: (None, None),
            1: ("validation_notice", None),
            2: ("email_reminder", None),
            3: ("sms_reminder", None),
            4: ("sms_reminder", "2025-03-08 10:01"),
            8: ("phone_collection", None),
            30: ("credit_report_notice", None),
            31: ("overdue_letter", None),
            32: ("phone_collection", None),
            45: ("credit_report", None),
            46: ("phone_collection", None),
            76: (None, None),
            210: (None, None),
        },
    ),
}


@functools.cache
def _run(behaviour: str) -> tuple[list[Day], list[dict[str, Any]], dict[int, Any]]:
    return simulate(make_engine(US), US, BEHAVIOURS[behaviour])


@pytest.mark.parametrize("behaviour", sorted(EXPECTED))
def test_ladder_day_by_day(behaviour: str) -> None:
    """Which steps the borrower meets on which day, and when deferred steps become lawful."""
    days, _, _ = _run(behaviour)
    assert_ladder(days, *EXPECTED[behaviour])


@pytest.mark.parametrize("behaviour", sorted(EXPECTED))
def test_both_backends_decide_alike(behaviour: str) -> None:
    """The durable_rules backend makes the same decisions on the change days and a sample."""
    days, _, states = _run(behaviour)
    assert [] == same_on_both_backends(US, states, days)
