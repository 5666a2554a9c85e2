"""The generated cases the invariants (`invariants`) run on: a loan history and an `as_of`.

A case starts from `testing.loan_histories` (schedules, partial and late payments, reversals,
promises, contacts at all hours, disputes, plans) in the rule set's currency and zone, with
`as_of` at or after its last event (so every event counts). Each invariant then asks for a
*twist* that makes the situation it is about likely within a few dozen examples:

============  ===============================================================================
twist         events added at random instants between the opening and `as_of`
============  ===============================================================================
steps         0-3 `step_taken` of the rule set's own steps (prerequisites, cooldowns, ladder)
settled       the steps twist, plus one of: loan_closed (sold, settled or discharged; no
              installment falls due after it), bankruptcy_filed, a payment of twice the
              principal (nothing left outstanding)
ceased        the steps twist, plus a cease_contact_requested for some channels (or any)
============  ===============================================================================
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from .._state.events import (
    BankruptcyFiled,
    CeaseContactRequested,
    Event,
    InstallmentDue,
    LoanClosed,
    LoanOpened,
    PaymentReceived,
    StepTaken,
)
from .._state.parse import event_to_dict
from .strategies import loan_histories
from .times import as_of_times

__all__ = ["Case", "cases"]


@dataclass(frozen=True)
class Case:
    """One generated input: the events (in time order) and the decision instant."""

    events: tuple[Event, ...]
    as_of: datetime

    def jsonl(self) -> str:
        """The events as JSON Lines (the wire format), one per line."""
        return "\n".join(
            json.dumps(event_to_dict(e), sort_keys=True, ensure_ascii=False) for e in self.events
        )

    def __repr__(self) -> str:
        return f"<Case events={len(self.events)} as_of={self.as_of.isoformat()}>"


Twist = Callable[[st.DrawFn, Any, LoanOpened, datetime, list[Event]], list[Event]]


def _instant(draw: st.DrawFn, start: datetime, end: datetime) -> datetime:
    start = min(start, end)  # as_of may be the opening instant itself
    minutes = max(0, int((end - start).total_seconds() // 60))
    return start + timedelta(minutes=draw(st.integers(0, minutes)))


def _steps(
    draw: st.DrawFn, rules: Any, opened: LoanOpened, as_of: datetime, ev: list[Event]
) -> list[Event]:
    ids = sorted(rules.steps)
    out: list[Event] = []
    for n in range(draw(st.integers(0, 3))):
        at = _instant(draw, opened.at + timedelta(minutes=1), as_of)
        step = draw(st.sampled_from(ids))
        out.append(StepTaken(event_id=f"t-step-{n}", loan_id=opened.loan_id, at=at, step=step))
    return out


def _settled(
    draw: st.DrawFn, rules: Any, opened: LoanOpened, as_of: datetime, ev: list[Event]
) -> list[Event]:
    out = _steps(draw, rules, opened, as_of, ev)
    at = _instant(draw, opened.at + timedelta(minutes=1), as_of)
    kind = draw(st.sampled_from(["closed", "bankruptcy", "paid"]))
    loan, eid = opened.loan_id, "t-settle"
    if kind == "closed":
        # Sold, settled for less or discharged: arrears may remain, the bank must not collect.
        reason = draw(st.sampled_from(["sold", "settled", "discharged"]))
        out.append(LoanClosed(event_id=eid, loan_id=loan, at=at, reason=reason))
        # Nothing new falls due after the closure (the schedule ends with the loan).
        ev[:] = [e for e in ev if not (isinstance(e, InstallmentDue) and e.at > at)]
    elif kind == "bankruptcy":
        out.append(
            BankruptcyFiled(event_id=eid, loan_id=loan, borrower_id=opened.borrower_id, at=at)
        )
    else:
        out.append(
            PaymentReceived(
                event_id=eid,
                loan_id=loan,
                at=as_of,
                amount=opened.principal * 2,
                currency=opened.currency,
            )
        )
    return out


_CEASABLE = ("phone", "sms", "email", "letter", "app", "visit", "any")


def _ceased(
    draw: st.DrawFn, rules: Any, opened: LoanOpened, as_of: datetime, ev: list[Event]
) -> list[Event]:
    out = _steps(draw, rules, opened, as_of, ev)
    channels = draw(st.lists(st.sampled_from(_CEASABLE), min_size=1, max_size=3, unique=True))
    out.append(
        CeaseContactRequested(
            event_id="t-cease",
            loan_id=opened.loan_id,
            borrower_id=opened.borrower_id,
            at=_instant(draw, opened.at + timedelta(minutes=1), as_of),
            channels=tuple(sorted(channels)),
        )
    )
    return out


TWISTS: dict[str, Twist] = {"steps": _steps, "settled": _settled, "ceased": _ceased}


def cases(rules: Any, twist: str = "steps") -> st.SearchStrategy[Case]:
    """Cases for `rules` (its currency and zone) with the named twist (module table)."""

    doc = rules.document

    @st.composite
    def build(draw: st.DrawFn) -> Case:
        events: list[Event] = draw(
            loan_histories(currency=doc.currency, timezone=doc.timezone, max_months=6, max_events=4)
        )
        as_of = draw(as_of_times(events, max_days=300))
        opened = events[0]
        assert isinstance(opened, LoanOpened)
        extra = TWISTS[twist](draw, rules, opened, as_of, events)
        every: Sequence[Event] = sorted([*events, *extra], key=lambda e: (e.at, e.event_id))
        return Case(tuple(every), as_of)

    return build()
