"""Deciding a mixed feed: every loan whose events are valid, the others set aside.

`decide_feed` is `Engine.decide_all`: intake (`_state.intake`) turns bad records into
rejects and sets their loans aside whole; each remaining loan is decided, and a loan whose
events do not fold (another loan's borrower, a reversal of an unknown payment, ...) is set
aside too, with the offending event. Nothing raises for one loan's data; the result says
what was decided, what was set aside and why, and which unknown fields were ignored.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .._base.errors import EventError, InputError
from .._state.events import Event
from .._state.intake import Grouped, Reject, SetAside, group_feed, records_of
from .decision import Decision

__all__ = ["FeedDecisions", "decide_feed", "decide_grouped"]


@dataclass(frozen=True)
class FeedDecisions:
    """What `Engine.decide_all` returns: decisions (loan id order), loans set aside (loan id
    order), rejects that name no loan, and the unknown fields ignored (name -> count)."""

    decisions: tuple[Decision, ...]
    set_aside: tuple[SetAside, ...] = ()
    orphans: tuple[Reject, ...] = ()
    ignored_fields: dict[str, int] = field(default_factory=dict)

    @property
    def rejects(self) -> tuple[Reject, ...]:
        """Every rejected record, once each: the dead-letter lines."""
        seen: dict[int, Reject] = {}
        for s in self.set_aside:
            for r in s.rejects:
                seen.setdefault(id(r), r)
        for r in self.orphans:
            seen.setdefault(id(r), r)
        return tuple(seen.values())

    def __repr__(self) -> str:
        return (
            f"<FeedDecisions decided={len(self.decisions)} set_aside={len(self.set_aside)}"
            f" orphans={len(self.orphans)} ignored_fields={sum(self.ignored_fields.values())}>"
        )


def decide_feed(
    engine: Any, events: Iterable[Any], as_of: datetime, *, strict: bool = False
) -> FeedDecisions:
    ignored: Counter[str] = Counter()
    grouped = group_feed(records_of(events, strict=strict, ignored=ignored))
    grouped.ignored.update(ignored)
    return decide_grouped(engine, grouped, as_of)


def decide_grouped(
    engine: Any, grouped: Grouped, as_of: datetime, progress: Any = None
) -> FeedDecisions:
    """Decide the loans of `grouped`; a loan whose events do not fold is set aside."""
    decisions: list[Decision] = []
    aside = {loan: list(rs) for loan, rs in grouped.set_aside.items()}
    for loan_id, events in grouped.loans.items():
        try:
            decisions.append(engine.decide(events, as_of))
        except (EventError, InputError) as err:
            aside[loan_id] = [_fold_reject(err, loan_id, events)]
        if progress is not None:
            progress(loan_id)
    return FeedDecisions(
        decisions=tuple(decisions),
        set_aside=tuple(SetAside(loan, tuple(rs)) for loan, rs in sorted(aside.items())),
        orphans=tuple(grouped.orphans),
        ignored_fields=dict(sorted(grouped.ignored.items())),
    )


def _fold_reject(err: Exception, loan_id: str, events: list[Event]) -> Reject:
    """The reject for a loan whose events do not fold: the offending event, if named."""
    eid = getattr(err, "event_id", None)
    hit = next((e for e in events if e.event_id == eid), None)
    text = (
        ""
        if hit is None
        else json.dumps(hit.model_dump(mode="json", exclude_none=True), ensure_ascii=False)
    )
    return Reject(error=str(err), text=text, event_id=eid, loan_id=loan_id)
