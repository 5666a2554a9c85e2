"""The batch's intake: the day's events validated, gathered and written to the spill.

Theory of operation
-------------------

`spill_feed` reads the feed once (a JSON Lines path: `feeds.read_records`; an iterable of
events, dicts or JSON texts: `intake.records_of`). A bad record becomes a `Reject` and sets
its loan aside (`Intake`); a good one becomes a spill *record* (`spill.record`: its validated
field values, so it is never validated again) gathered in memory with the other records of
its loan (loan-level events) or of its borrower (borrower-level events). Every `_RUN`
records, and at the end, each gathering is written as one row of the spill
(`spill_store.Spill`): a loan's events come back from its few rows in feed order, and memory
holds at most `_RUN` records whatever the size of the feed. `check_unknown_loans` then
rejects the events of a loan that is neither stored nor opened in the feed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._base.errors import InvalidEventError
from .._state.events import Event
from .._state.intake import Reject, records_of
from .feeds import BORROWER_LEVEL, dumps_event, read_records
from .snapshots import SnapshotStore
from .spill import pack_records, record
from .spill_store import Spill

__all__ = ["EventSource", "Intake", "check_unknown_loans", "spill_feed"]

EventSource = str | Path | Iterable[Event | Mapping[str, Any] | str]


@dataclass
class Intake:
    """What a run set aside: loan ids, the rejected records, the unknown fields seen."""

    strict: bool = False
    aside: set[str] = field(default_factory=set)
    rejects: list[Reject] = field(default_factory=list)
    ignored: Counter[str] = field(default_factory=Counter)
    borrowers: set[str] = field(default_factory=set)  # of rejects naming no loan

    def reject(self, r: Reject) -> None:
        self.rejects.append(r)
        if r.loan_id:
            self.aside.add(r.loan_id)
        elif r.borrower_id:
            self.borrowers.add(r.borrower_id)


def _iter_records(source: EventSource, intake: Intake) -> Iterable[Event | Reject]:
    if isinstance(source, str | Path):
        return read_records(source, strict=intake.strict, ignored=intake.ignored)
    return records_of(source, strict=intake.strict, ignored=intake.ignored)


def spill_feed(db: SnapshotStore, source: EventSource, intake: Intake) -> Spill:
    """Write the day's events to a temporary database next to the store (see module doc).

    The events are gathered per loan (loan-level) and per borrower (borrower-level) in
    memory, `_RUN` at a time, and each gathering is written as one row per loan or borrower:
    a loan's events come back from its few rows in feed order."""
    spill = Spill(db)
    c = spill.conn
    c.execute("BEGIN")
    try:
        loans: dict[str | None, list[bytes]] = {}  # loan id -> records of its own events
        borrowers: dict[str | None, list[bytes]] = {}  # borrower id -> borrower-level records
        opened: list[tuple[str | None, str | None]] = []
        size = 0
        for event in _iter_records(source, intake):
            if isinstance(event, Reject):
                intake.reject(event)
                continue
            # From __dict__: a missing attribute on a pydantic model costs a raised and
            # caught AttributeError (a quarter of the spill's own time).
            fields = event.__dict__
            kind = fields["type"]
            if kind in BORROWER_LEVEL:
                key, groups = fields["borrower_id"], borrowers
            else:
                key, groups = fields["loan_id"], loans
                if kind == "loan_opened":
                    opened.append((key, fields["borrower_id"]))
            group = groups.get(key)
            if group is None:
                group = groups[key] = []
            group.append(record(event))
            size += 1
            if size >= _RUN:
                _flush(spill, loans, borrowers, opened)
                size = 0
        _flush(spill, loans, borrowers, opened)
        c.execute("COMMIT")
    except BaseException:
        c.execute("ROLLBACK")
        spill.close()
        raise
    spill.index()
    return spill


_RUN = 50_000  # records gathered in memory before they are written (~15 MiB of bytes)


def _flush(
    spill: Spill,
    loans: dict[str | None, list[bytes]],
    borrowers: dict[str | None, list[bytes]],
    opened: list[tuple[str | None, str | None]],
) -> None:
    rows: list[tuple[object, ...]] = [
        (loan, None, 0, pack_records(recs)) for loan, recs in loans.items()
    ]
    rows += [(None, borrower, 1, pack_records(recs)) for borrower, recs in borrowers.items()]
    spill.add_events(rows)
    spill.add_new_loans(opened)
    loans.clear()
    borrowers.clear()
    opened.clear()


def check_unknown_loans(db: SnapshotStore, spill: Spill, intake: Intake) -> None:
    """Events of a loan neither in the store nor opened in the input are rejected."""
    for event_id, loan_id, event in spill.unknown_loan_events():
        err = InvalidEventError(
            f"loan {loan_id!r:.80} is not in the snapshot store {str(db.path)!r} and has no"
            " loan_opened event in the input; expected its loan_opened first (today or in an"
            " earlier batch)",
            event_id=str(event_id),
            field="loan_id",
        )
        text = dumps_event(event)
        intake.reject(Reject(error=str(err), text=text, event_id=str(event_id), loan_id=loan_id))
