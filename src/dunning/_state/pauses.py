"""Pausing collection: the `collections_paused` / `collections_resumed` events, the `Pause`
record a state keeps, and the pause facts (`paused`, `paused_days`, `dpd_net`).

Theory of operation
-------------------

A pause is scoped to one loan (``loan_id`` given) or to the whole borrower (``loan_id``
omitted: every loan of the borrower is paused). It carries a reason code (goodwill,
system_incident, complaint_review, deceased_estate_inquiry, ... any code the bank uses), an
optional ``until`` (the pause ends by itself then) and an optional ``effective_from`` earlier
than ``at`` for a pause recorded late: the pause is in force from ``effective_from`` (default
``at``). The event is still folded at ``at`` — the instant the bank learnt of it — so a decision
made before ``at`` never sees it (and replays the same), while every decision made after it
sees the pause back-dated to ``effective_from``: its ``paused_days`` and ``dpd_net`` count the
days it covered.

A ``collections_resumed`` event of the same scope ends the pauses in force (a borrower-scoped
resume ends every pause of the loan, a loan-scoped one only that loan's own pauses), from its
own ``effective_from`` (default ``at``). A resume with nothing to end is recorded and changes
nothing (feeds send resumes twice). A loan-scoped event about another loan of the borrower is
kept in the loan's events but pauses nothing here.

================  ===========================================================================
fact              value at ``as_of`` (``today`` = as_of's local date in the borrower's zone)
================  ===========================================================================
``paused``        some pause is in force at ``as_of``: started (``effective_from``) at or
                  before it, not ended by its ``until`` or by a resume
``paused_days``   the local calendar days D with ``oldest unpaid due date < D <= today`` that
                  a pause covers, overlapping pauses counted once: a pause covers the dates
                  from its start's local date up to the day before its end's local date (a
                  pause still in force at ``as_of`` covers today); 0 when nothing is overdue
``dpd_net``       ``dpd - paused_days``: days past due net of the paused days (Fineract's
                  "delinquent days" excluding pauses)
================  ===========================================================================

The packs age their ladders on ``dpd`` (gross) by default: a pause holds every step back
while it lasts, and the debt's age does not stop; a pack that wants a pause to move the ladder
back reads ``dpd_net`` instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, model_validator

from .._base.time import local_date
from .event_base import Instant, NonEmpty, _BorrowerEvent

__all__ = [
    "CollectionsPaused",
    "CollectionsResumed",
    "Pause",
    "active_pauses",
    "end_pauses",
    "pause_facts",
    "pause_of",
]


class _PauseEvent(_BorrowerEvent):
    """Scoped to `loan_id` when given, else to every loan of `borrower_id`."""

    effective_from: Instant | None = None  # earlier than `at` for a late recording

    @model_validator(mode="after")
    def _not_after_at(self) -> _PauseEvent:
        if self.effective_from is not None and self.effective_from > self.at:
            raise ValueError(
                f"effective_from {self.effective_from.isoformat()} is after the event's at"
                f" {self.at.isoformat()}; expected it at or before at (a pause recorded"
                " late is back-dated, never post-dated: send it when it starts)"
            )
        return self


class CollectionsPaused(_PauseEvent):
    """Collection paused for a reason the packs do not model (goodwill, incident, ...)."""

    type: Literal["collections_paused"] = "collections_paused"
    reason: NonEmpty  # a reason code: goodwill, system_incident, complaint_review, ...
    until: Instant | None = None
    note: NonEmpty | None = None

    @model_validator(mode="after")
    def _until_after_start(self) -> CollectionsPaused:
        start = self.effective_from or self.at
        if self.until is not None and self.until <= start:
            raise ValueError(
                f"until {self.until.isoformat()} is not after the pause's start"
                f" {start.isoformat()}; expected a later instant (or no until)"
            )
        return self


class CollectionsResumed(_PauseEvent):
    """The pauses of this scope end (from `effective_from`, default `at`)."""

    type: Literal["collections_resumed"] = "collections_resumed"
    reason: NonEmpty | None = None


class Pause(BaseModel):
    """One pause as a loan's state keeps it (`loan_id` None: borrower-wide)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: str
    loan_id: str | None
    reason: str
    start: datetime  # effective_from, or the event's at
    recorded_at: datetime  # the event's at
    until: datetime | None = None
    ended_at: datetime | None = None  # when a resume ended it
    ended_by: str | None = None

    def end(self) -> datetime | None:
        """When the pause stops being in force (the earlier of until and a resume)."""
        ends = [t for t in (self.until, self.ended_at) if t is not None]
        return min(ends) if ends else None

    def in_force(self, at: datetime) -> bool:
        end = self.end()
        return self.start <= at and (end is None or at < end)

    def __repr__(self) -> str:
        scope = self.loan_id or "borrower"
        return f"<Pause {self.event_id} {scope} {self.reason} from {self.start.isoformat()}>"


def pause_of(e: CollectionsPaused, loan_id: str) -> Pause | None:
    """The Pause record `e` puts on loan `loan_id` (None: it is about another loan)."""
    if e.loan_id is not None and e.loan_id != loan_id:
        return None
    return Pause(
        event_id=e.event_id,
        loan_id=e.loan_id,
        reason=e.reason,
        start=e.effective_from or e.at,
        recorded_at=e.at,
        until=e.until,
    )


def end_pauses(pauses: list[Pause], e: CollectionsResumed, loan_id: str) -> None:
    """End (in place) the pauses `e` resumes on loan `loan_id` (module docstring)."""
    if e.loan_id is not None and e.loan_id != loan_id:
        return
    when = e.effective_from or e.at
    for n, p in enumerate(pauses):
        if p.ended_at is not None or (e.loan_id is not None and p.loan_id is None):
            continue
        # A resume back-dated before the pause started: the pause never ran.
        ended = max(when, p.start)
        pauses[n] = p.model_copy(update={"ended_at": ended, "ended_by": e.event_id})


def active_pauses(pauses: Sequence[Pause], at: datetime) -> list[Pause]:
    """The pauses in force at instant `at`."""
    return [p for p in pauses if p.in_force(at)]


def pause_facts(
    pauses: Sequence[Pause], as_of: datetime, today: date, oldest_due: date | None, tz: str
) -> tuple[bool, int]:
    """(`paused`, `paused_days`) at `as_of` (module table); `dpd_net` is dpd minus the days."""
    paused = any(p.in_force(as_of) for p in pauses)
    days: set[date] = set()
    if oldest_due is not None:
        for p in pauses:
            first = max(local_date(p.start, tz), oldest_due + timedelta(days=1))
            end = p.end()
            if end is not None and end <= as_of:
                last = local_date(end, tz) - timedelta(days=1)
            else:
                last = today
            d = first
            while d <= last:
                days.add(d)
                d += timedelta(days=1)
    return paused, len(days)
