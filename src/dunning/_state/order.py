"""The fold order of events: time, then causal rank, then the source's sequence, then id.

Theory of operation: core banking writes related events in one transaction, so they share one
``at`` (the origination and its whole repayment schedule; a payment and, when it bounces at
once, its reversal), with ids that carry no order (UUIDs). The fold needs causes before
effects, so events are ordered by the key

    (at, rank of the event type, seq given?, seq) then content, then event_id

where the rank is the table `RANK` below (causes first: the loan, then what it charges, then
money in, then what undoes it, then status changes opening before those closing, the loan's
end last), `seq` is the feed's own sequence number when it sends one (events with a `seq`
come before those without at the same instant and rank). Events still tied (same instant,
rank and seq: two promises, two flag changes in one transaction) are ordered by their content
(the wire JSON without the id), and only events identical but for their id by `event_id`, so
relabelling the ids never changes a fold (a property test relabels them). `fold_sorted` sorts
by the key and orders the (rare) tied runs by content. `docs/concepts.md` prints the table.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from itertools import islice
from operator import attrgetter, eq
from typing import Any

__all__ = ["RANK", "event_key", "fold_sorted", "order_key"]

# event type -> causal rank at one instant (lower first). One row per type; the comment says why.
RANK: dict[str, int] = {
    "loan_opened": 0,  # nothing happens to a loan before it exists
    "repayment_plan_agreed": 1,  # a plan before the installments charged under it
    "installment_due": 2,  # charges: what is owed ...
    "fee_charged": 2,
    "interest_charged": 2,
    "payment_received": 3,  # ... before what pays it
    "payment_reversed": 4,  # a payment before its reversal
    "promise_to_pay": 5,
    "debt_acknowledged": 5,
    "contact_attempted": 6,  # contacts, then the steps they are part of
    "step_taken": 7,
    "dispute_raised": 8,  # a status opens ...
    "hardship_declared": 8,
    "complaint_opened": 8,
    "bankruptcy_filed": 8,
    "breathing_space_started": 8,
    "attorney_retained": 8,
    "vulnerability_flagged": 8,
    "consent_changed": 8,
    "cease_contact_requested": 8,
    "collections_paused": 8,
    "repayment_plan_refused": 8,  # after the offer (a step) it answers
    "dispute_resolved": 9,  # ... before it closes
    "hardship_ended": 9,
    "complaint_resolved": 9,
    "bankruptcy_closed": 9,
    "breathing_space_ended": 9,
    "repayment_plan_cancelled": 9,
    "collections_resumed": 9,
    "borrower_deceased": 10,  # the end of the story last
    "loan_written_off": 11,
    "loan_closed": 12,
}
_LAST = max(RANK.values()) + 1


def order_key(event: Any) -> tuple[datetime, int, int, int]:
    """The order of `event` before ties (module doc): at, rank, seq (given first)."""
    seq = event.__dict__["seq"]
    return (event.at, RANK.get(event.type, _LAST), 0 if seq is not None else 1, seq or 0)


def event_key(event: Any) -> tuple[datetime, int, int, int, bytes, str]:
    """The full fold order of `event` (slow: serialises it; `fold_sorted` needs it for ties)."""
    return (*order_key(event), _content(event), event.event_id)


def _content(event: Any) -> bytes:
    return bytes(event.__pydantic_serializer__.to_json(event, exclude={"event_id"}))


_AT = attrgetter("at")


def fold_sorted(events: Iterable[Any]) -> list[Any]:
    """`events` in fold order (module doc). Sorted by `at` first (a C-level key); only runs
    of events sharing an instant, rare in a feed moving forward, are ordered by the rest of
    the key and, when still tied, by content."""
    out = sorted(events, key=_AT)
    ats = list(map(_AT, out))
    if not any(map(eq, ats, islice(ats, 1, None))):
        return out
    i, n = 0, len(out)
    while i < n - 1:
        j = i + 1
        while j < n and ats[j] == ats[i]:
            j += 1
        if j - i > 1:
            out[i:j] = _same_instant(out[i:j])
        i = j
    return out


def _same_instant(run: list[Any]) -> list[Any]:
    """Events of one instant: by rank and seq, and ties among those by content, then id."""
    run = sorted(run, key=order_key)
    keys = list(map(order_key, run))
    i, n = 0, len(run)
    while i < n - 1:
        j = i + 1
        while j < n and keys[j] == keys[i]:
            j += 1
        if j - i > 1:
            run[i:j] = sorted(run[i:j], key=lambda e: (_content(e), e.event_id))
        i = j
    return run
