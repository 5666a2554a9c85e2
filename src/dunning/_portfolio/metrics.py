"""What happened to one arm of a portfolio run: counts and money, summable and streaming.

The simulator fills these (`simulate`) and the reports read them (`compare`); they live apart
from both so that neither imports the other.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .._base.money import ZERO

__all__ = ["ARMS", "BUCKETS", "ArmMetrics"]

ARMS = ("champion", "challenger")
BUCKETS: tuple[str, ...] = ("M0", "M1", "M2", "M3", "M4", "M5", "M6", "M7+")  # _facts.bucket_of


@dataclass
class ArmMetrics:
    """What happened to one arm (rule set) of a simulation; summable, streaming."""

    accounts: int = 0
    decisions: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    # bucket -> bucket moves between observations (every 30 days and at the end)
    transitions: Counter[tuple[str, str]] = field(default_factory=Counter)
    start_buckets: Counter[str] = field(default_factory=Counter)
    end_buckets: Counter[str] = field(default_factory=Counter)
    delinquent_at_start: int = 0
    cured: int = 0  # delinquent at start, current at the end
    collected: Decimal = ZERO
    contacts: int = 0
    reached: int = 0
    steps: Counter[str] = field(default_factory=Counter)
    legal_steps: Counter[str] = field(default_factory=Counter)
    limits_hit: Counter[str] = field(default_factory=Counter)  # decisions blocked, by limit
    digest: str = ""  # sha256 over every decision and event, in loan order

    def to_dict(self) -> dict[str, Any]:
        """JSON-shaped and key-sorted (no floats: money as a string, counts as ints)."""
        return {
            "accounts": self.accounts,
            "decisions": self.decisions,
            "statuses": dict(sorted(self.statuses.items())),
            "transitions": {f"{a}>{b}": n for (a, b), n in sorted(self.transitions.items())},
            "start_buckets": dict(sorted(self.start_buckets.items())),
            "end_buckets": dict(sorted(self.end_buckets.items())),
            "delinquent_at_start": self.delinquent_at_start,
            "cured": self.cured,
            "collected": str(self.collected),
            "contacts": self.contacts,
            "reached": self.reached,
            "steps": dict(sorted(self.steps.items())),
            "legal_steps": dict(sorted(self.legal_steps.items())),
            "limits_hit": dict(sorted(self.limits_hit.items())),
            "digest": self.digest,
        }
