"""What the limit checkers read and answer (`limits`), as structural types.

The checkers take any object shaped like these protocols, so tests can hand-build states and
rule sets; `Verdict` is one limit's answer for one step at one instant.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from .._rules import ir as _ir
from .._rules.schema import RuleFile, Step

__all__ = [
    "ContactLike",
    "LimitChecker",
    "PaymentLike",
    "PlanLike",
    "PromiseLike",
    "RulesLike",
    "StateLike",
    "StepRecordLike",
    "Verdict",
]

# -- what the checkers read (structural, so tests can hand-build states and rule sets) --------


class ContactLike(Protocol):
    @property
    def at(self) -> datetime: ...
    @property
    def channel(self) -> str: ...
    @property
    def direction(self) -> str: ...
    @property
    def outcome(self) -> str: ...
    @property
    def consented(self) -> bool: ...
    @property
    def loan_id(self) -> str | None: ...
    @property
    def contact_point(self) -> str | None: ...


class StepRecordLike(Protocol):
    @property
    def at(self) -> datetime: ...
    @property
    def step(self) -> str: ...


class PromiseLike(Protocol):
    @property
    def at(self) -> datetime: ...


class PlanLike(Protocol):
    @property
    def agreed_at(self) -> datetime: ...


class PaymentLike(Protocol):
    @property
    def at(self) -> datetime: ...
    @property
    def reversed(self) -> bool: ...


class StateLike(Protocol):
    @property
    def loan_id(self) -> str: ...
    @property
    def currency(self) -> str: ...
    @property
    def timezone(self) -> str: ...
    @property
    def contacts(self) -> Sequence[ContactLike]: ...
    @property
    def steps_taken(self) -> Sequence[StepRecordLike]: ...
    @property
    def plans(self) -> Sequence[PlanLike]: ...
    @property
    def promises(self) -> Sequence[PromiseLike]: ...
    @property
    def payments(self) -> Sequence[PaymentLike]: ...


class RulesLike(Protocol):
    @property
    def document(self) -> RuleFile: ...
    @property
    def steps(self) -> Mapping[str, Step]: ...
    @property
    def limit_exprs(self) -> Mapping[str, _ir.Expr]: ...
    @property
    def flag_exprs(self) -> Mapping[str, _ir.Expr]: ...


@dataclass(frozen=True)
class Verdict:
    """One limit's answer for one step at one instant (`until` only when not allowed)."""

    allowed: bool
    until: datetime | None
    reason: str
    reason_zh: str = ""  # the same reason in Chinese (explain("zh") shows it)


_ALLOW = Verdict(True, None, "")


# A checker answers for one limit: (state, facts, at, as_of) -> Verdict. It reads nothing of
# the step being asked about, so one verdict per (limit, instant) serves every step it covers.
LimitChecker = Callable[[StateLike, Mapping[str, object], datetime, datetime], Verdict]
