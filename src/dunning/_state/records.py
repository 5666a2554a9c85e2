"""What the fold (`fold`) builds: the records a state lists, and the flags single events set.

The records (contacts, steps taken, payments, promises, plans) are frozen models the gate
and the facts read. The flags are a table: each flag event sets or clears some flags (the
latest event wins), and `FLAG_DEFAULTS` holds every flag's value before any event set it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from .events import PlanInstallment

__all__ = ["FLAG_DEFAULTS", "Contact", "Payment", "Plan", "Promise", "StepRecord"]


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Contact(_Record):
    """One contact_attempted event, as the gate and the window facts read it."""

    event_id: str
    at: datetime
    channel: str
    direction: Literal["outbound", "inbound"]
    outcome: str
    consented: bool = False
    loan_id: str | None = None
    contact_point: str | None = None

    def __repr__(self) -> str:
        return f"<Contact {self.event_id} {self.direction} {self.channel} {self.outcome}>"


class StepRecord(_Record):
    """A step the bank carried out (step_taken)."""

    event_id: str
    at: datetime
    step: str
    channel: str | None = None

    def __repr__(self) -> str:
        return f"<StepRecord {self.event_id} {self.step} at={self.at.isoformat()}>"


class Payment(_Record):
    """A payment received; `reversed` once a payment_reversed names it."""

    event_id: str
    at: datetime
    amount: Decimal
    reversed: bool = False
    reversed_by: str | None = None

    def __repr__(self) -> str:
        flag = " reversed" if self.reversed else ""
        return f"<Payment {self.event_id} {self.amount}{flag}>"


class Promise(_Record):
    """A promise to pay `amount` by `promised_date` (the borrower's local date)."""

    event_id: str
    at: datetime
    amount: Decimal
    promised_date: date

    def __repr__(self) -> str:
        return f"<Promise {self.event_id} {self.amount} by {self.promised_date}>"


class Plan(_Record):
    """A repayment plan; `cancelled_at` is set by repayment_plan_cancelled."""

    event_id: str
    agreed_at: datetime
    kind: str
    installments: tuple[PlanInstallment, ...]
    cancelled_at: datetime | None = None

    @property
    def total(self) -> Decimal:
        return sum((i.amount for i in self.installments), Decimal(0))

    def __repr__(self) -> str:
        return f"<Plan {self.event_id} {self.kind} n={len(self.installments)} total={self.total}>"


# Flags set and cleared by one event each (the latest event wins):
_FLAG_EVENTS: dict[str, Callable[[Any], dict[str, Any]]] = {
    "dispute_raised": lambda e: {"dispute_open": True},
    "dispute_resolved": lambda e: {"dispute_open": False},
    "hardship_declared": lambda e: {"hardship": True},
    "hardship_ended": lambda e: {"hardship": False},
    "bankruptcy_filed": lambda e: {"bankruptcy": "open"},
    "bankruptcy_closed": lambda e: {"bankruptcy": e.outcome},
    "borrower_deceased": lambda e: {"deceased": True},
    "vulnerability_flagged": lambda e: {"vulnerable": e.active},
    "attorney_retained": lambda e: {"attorney_represented": e.active},
    "complaint_opened": lambda e: {"complaint_open": True, "ombudsman_complaint_open": e.ombudsman},
    "complaint_resolved": lambda e: {"complaint_open": False, "ombudsman_complaint_open": False},
    "breathing_space_started": lambda e: {
        "breathing_space": True,
        "breathing_space_ends_on": e.ends_on,
    },
    "breathing_space_ended": lambda e: {"breathing_space": False, "breathing_space_ends_on": None},
    "loan_written_off": lambda e: {"written_off": True},
    "loan_closed": lambda e: {"closed": True, "closed_reason": e.reason},
}
# Every flag with its value before any event set it.
FLAG_DEFAULTS: dict[str, Any] = {
    "dispute_open": False,
    "hardship": False,
    "bankruptcy": "none",
    "deceased": False,
    "vulnerable": False,
    "attorney_represented": False,
    "complaint_open": False,
    "ombudsman_complaint_open": False,
    "breathing_space": False,
    "breathing_space_ends_on": None,
    "closed": False,
    "closed_reason": None,
    "written_off": False,
}
