"""Deciding a mixed feed borrower by borrower (`dunning decide --by borrower`).

The feed is grouped by loan and bad records set aside exactly as for loans (`feed`); the
loans are then grouped by borrower (the borrower of each loan's `loan_opened`) and each
borrower is decided at once (`Engine.decide_borrower`). A borrower with a loan set aside is
not decided (its contact would leave that loan out): all of its loans are reported set aside,
the bad loan with its rejects, the others with none, and a corrected feed decides them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .._base.errors import EventError, InputError
from .._state.account import AccountState
from .._state.events import LoanOpened
from .._state.intake import Grouped, Reject, SetAside
from .borrower_decision import BorrowerDecision
from .feed import FeedDecisions, _fold_reject

__all__ = ["BorrowerFeed", "decide_grouped_by_borrower"]


@dataclass(frozen=True)
class BorrowerFeed:
    """Borrower decisions (borrower id order), loans set aside, rejects of no loan."""

    decisions: tuple[BorrowerDecision, ...]
    set_aside: tuple[SetAside, ...] = ()
    orphans: tuple[Reject, ...] = ()
    ignored_fields: dict[str, int] = field(default_factory=dict)

    @property
    def rejects(self) -> tuple[Reject, ...]:
        """Every rejected record, once each (as `FeedDecisions.rejects`)."""
        return FeedDecisions((), self.set_aside, self.orphans).rejects


def decide_grouped_by_borrower(
    engine: Any, grouped: Grouped, as_of: datetime, progress: Any = None
) -> BorrowerFeed:
    """Decide the borrowers of `grouped` (module docstring)."""
    aside: dict[str, list[Reject]] = {loan: list(rs) for loan, rs in grouped.set_aside.items()}
    borrower_of: dict[str, str] = {}
    for loan, events in grouped.loans.items():
        opened = next((e for e in events if isinstance(e, LoanOpened)), None)
        if opened is not None:
            borrower_of[loan] = opened.borrower_id
    for loan, rejects in grouped.set_aside.items():
        borrower = next((r.borrower_id for r in rejects if r.borrower_id), None)
        if borrower is not None:
            borrower_of.setdefault(loan, borrower)
    loans_of: dict[str, list[str]] = {}
    for loan, borrower in sorted(borrower_of.items()):
        loans_of.setdefault(borrower, []).append(loan)
    decisions: list[BorrowerDecision] = []
    for borrower, loans in sorted(loans_of.items()):
        if progress is not None:
            progress(borrower)
        if any(loan in aside for loan in loans):
            for loan in loans:
                aside.setdefault(loan, [])
            continue
        states = []
        try:
            for loan in loans:
                current = loan
                states.append(AccountState.from_events(grouped.loans[loan]))
            decisions.append(engine.decide_borrower(states, as_of))
        except (EventError, InputError) as err:
            aside[current] = [_fold_reject(err, current, grouped.loans[current])]
            for loan in loans:
                aside.setdefault(loan, [])
    return BorrowerFeed(
        decisions=tuple(decisions),
        set_aside=tuple(SetAside(loan, tuple(rs)) for loan, rs in sorted(aside.items())),
        orphans=tuple(grouped.orphans),
        ignored_fields=dict(sorted(grouped.ignored.items())),
    )
