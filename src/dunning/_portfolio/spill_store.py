"""The day's events in a private SQLite database, and the batch's queries across it and the store.

Theory of operation
-------------------

`run_batch` spills the day's events (`spill` codec) into a temporary SQLite database indexed
by loan and by borrower, then asks what needs both the spill and the snapshot store: which
events name a loan that is in neither (rejected to the dead letters), which loans a borrower
has, how many loans are still to decide, and the next chunk of undecided loans in loan id
order. Where the store lives
decides how:

=================  ===================================================================
snapshot store     the spill, and the cross queries
=================  ===================================================================
SQLite file        ATTACHed to the store's connection as ``spill``: each question is
                   one SQL statement joining ``main`` and ``spill`` (the fast path)
PostgreSQL         a separate temporary SQLite file of this process: each question
                   asks the spill, then the server about those loan ids in pages
                   (``= ANY(?)``), and merges in loan id order
=================  ===================================================================

Both give the same answers in the same order, so a batch decides the same loans the same
way whichever store holds its snapshots and progress.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from itertools import groupby
from typing import Any

from .._base.db import Conn
from .._state.events import Event
from .snapshots import SnapshotStore
from .spill import unpack_records

__all__ = ["Spill", "events_of"]

_SPILL = """
CREATE TABLE {p}events (
    seq INTEGER PRIMARY KEY,
    loan_id TEXT,
    borrower_id TEXT,
    borrower_level INTEGER NOT NULL,
    body BLOB NOT NULL
);
CREATE TABLE {p}new_loans (loan_id TEXT PRIMARY KEY, borrower_id TEXT NOT NULL);
"""
_SPILL_INDEX = """
CREATE INDEX {p}by_loan ON events (loan_id) WHERE borrower_level = 0;
CREATE INDEX {p}by_borrower ON events (borrower_id) WHERE borrower_level = 1;
"""

# Pending loans of one source, in loan id order: a range scan on the primary key from
# `after`, skipping loans this batch already decided. The two sources (stored snapshots,
# loans opened today) are queried apart and merged in Python, so each chunk costs
# O(chunk) instead of re-sorting the union of the whole portfolio every time.
_PENDING = """
SELECT l.loan_id, l.borrower_id FROM {table} AS l
WHERE l.loan_id > :after AND NOT EXISTS (
    SELECT 1 FROM {main}batch_loans b WHERE b.batch_id = :batch AND b.loan_id = l.loan_id
)
ORDER BY l.loan_id LIMIT :chunk
"""
_COUNT = """
SELECT COUNT(*) FROM (
    SELECT loan_id FROM main.snapshots UNION SELECT loan_id FROM spill.new_loans
) AS l
WHERE NOT EXISTS (
    SELECT 1 FROM main.batch_loans b WHERE b.batch_id = ? AND b.loan_id = l.loan_id
)
"""
_NEW_EVENTS = """
SELECT body FROM {p}events WHERE borrower_level = 0 AND loan_id = ?
UNION ALL
SELECT body FROM {p}events WHERE borrower_level = 1 AND borrower_id = ?
"""
_UNKNOWN_ALL = """
SELECT e.loan_id, e.body FROM spill.events e WHERE e.borrower_level = 0
AND NOT EXISTS (SELECT 1 FROM main.snapshots s WHERE s.loan_id = e.loan_id)
AND NOT EXISTS (SELECT 1 FROM spill.new_loans n WHERE n.loan_id = e.loan_id)
ORDER BY e.loan_id, e.seq
"""
_PAGE = 1000


def events_of(rows: Iterable[tuple[bytes]]) -> list[Event]:
    """The events of spill rows (one `spill.pack_records` blob each), in row order."""
    out: list[Event] = []
    for (body,) in rows:
        out += unpack_records(body)
    return out


def _by_event_id(loan: str, bodies: list[bytes]) -> Iterator[tuple[str, str, Event]]:
    events = events_of((b,) for b in bodies)
    for event in sorted(events, key=lambda e: e.event_id):  # stable: feed order in a tie
        yield event.event_id, loan, event


class Spill:
    """The day's events of one batch run, next to `db` (see the module docstring)."""

    def __init__(self, db: SnapshotStore) -> None:
        self.db = db
        self.attached = not db.postgres
        if self.attached:
            self.conn: Conn = db.conn
            db.conn.execute("ATTACH DATABASE '' AS spill")
            self.p = "spill."
        else:
            self.conn = sqlite3.connect("", isolation_level=None)  # a private temp file
            self.p = ""
        self._script(_SPILL)

    def _script(self, script: str) -> None:
        for statement in script.format(p=self.p).split(";"):
            if statement.strip():
                self.conn.execute(statement)

    def index(self) -> None:
        self._script(_SPILL_INDEX)

    def close(self) -> None:
        if self.attached:
            self.conn.execute("DETACH DATABASE spill")
        else:
            self.conn.close()

    # -- writing -------------------------------------------------------------------------

    def add_new_loans(self, rows: list[tuple[str | None, str | None]]) -> None:
        self.conn.executemany(f"INSERT OR IGNORE INTO {self.p}new_loans VALUES (?, ?)", rows)

    def add_events(self, rows: Sequence[tuple[object, ...]]) -> None:
        """Rows of (loan id, borrower id, borrower level, `spill.pack_records` blob): the
        events of one loan (level 0) or one borrower (level 1) from one stretch of the feed,
        in feed order; a key's rows are read back in the order they were added."""
        self.conn.executemany(
            f"INSERT INTO {self.p}events (loan_id, borrower_id, borrower_level, body)"
            " VALUES (?, ?, ?, ?)",
            rows,
        )

    # -- the cross queries ---------------------------------------------------------------

    def unknown_loan_events(self) -> Iterator[tuple[str, str, Event]]:
        """(event_id, loan_id, event) of every loan-level event of a loan in neither place,
        in loan id, event id order."""
        if self.attached:
            rows = self.conn.execute(_UNKNOWN_ALL).fetchall()
            for loan, group in groupby(rows, key=lambda r: r[0]):
                yield from _by_event_id(str(loan), [body for _loan, body in group])
            return
        query = (
            "SELECT DISTINCT e.loan_id FROM events e WHERE e.borrower_level = 0"
            " AND e.loan_id > ? AND NOT EXISTS (SELECT 1 FROM new_loans n"
            " WHERE n.loan_id = e.loan_id) ORDER BY e.loan_id LIMIT ?"
        )
        events = "SELECT body FROM events WHERE borrower_level = 0 AND loan_id = ? ORDER BY seq"
        after = ""
        while rows := self.conn.execute(query, (after, _PAGE)).fetchall():
            loans = [str(r[0]) for r in rows]
            known = self._known("SELECT loan_id FROM snapshots WHERE loan_id = ANY(?)", loans)
            for loan in loans:
                if loan not in known:
                    bodies = [r[0] for r in self.conn.execute(events, (loan,)).fetchall()]
                    yield from _by_event_id(loan, bodies)
            after = loans[-1]

    def loans_of_borrowers(self, borrowers: list[str]) -> set[str]:
        """The loan ids (stored or opened today) of `borrowers`."""
        out: set[str] = set()
        for borrower in borrowers:
            for conn, table in ((self.db.conn, self._main("snapshots")), (self.conn, self._new)):
                sql = f"SELECT loan_id FROM {table} WHERE borrower_id = ?"
                out |= {str(r[0]) for r in conn.execute(sql, (borrower,))}
        return out

    def _main(self, table: str) -> str:
        return f"main.{table}" if self.attached else table

    @property
    def _new(self) -> str:
        return f"{self.p}new_loans"

    def todo(self, batch_id: str) -> int:
        """Loans (stored or opened today) this batch id has not decided yet."""
        if self.attached:
            return int(self.conn.execute(_COUNT, (batch_id,)).fetchone()[0])
        db = self.db.conn
        stored = db.execute(
            "SELECT COUNT(*) FROM snapshots s WHERE NOT EXISTS (SELECT 1 FROM batch_loans b"
            " WHERE b.batch_id = ? AND b.loan_id = s.loan_id)",
            (batch_id,),
        ).fetchone()[0]
        fresh = 0
        for page in self._pages("SELECT loan_id FROM new_loans"):
            seen = self._known(
                "SELECT loan_id FROM snapshots WHERE loan_id = ANY(?) UNION SELECT loan_id"
                " FROM batch_loans WHERE batch_id = ? AND loan_id = ANY(?)",
                page,
                batch_id,
                page,
            )
            fresh += sum(1 for loan in page if loan not in seen)
        return int(stored) + fresh

    def pending(self, batch_id: str, after: str, chunk: int) -> list[tuple[str, str]]:
        """The next `chunk` undecided loans after `after`: snapshots and today's, merged."""
        args: dict[str, Any] = {"after": after, "batch": batch_id, "chunk": chunk}
        merged: dict[str, str] = {}
        if self.attached:
            sources = [
                (self.conn, _PENDING.format(table=t, main="main."))
                for t in ("spill.new_loans", "main.snapshots")
            ]
            for conn, query in sources:  # a stored borrower id wins
                for loan, borrower in conn.execute(query, args):
                    merged[str(loan)] = str(borrower)
            return sorted(merged.items())[:chunk]
        merged.update(self._new_loans_pending(batch_id, after, chunk))
        query = _PENDING.format(table="snapshots", main="")
        for loan, borrower in self.db.conn.execute(query, args):  # a stored borrower id wins
            merged[str(loan)] = str(borrower)
        return sorted(merged.items())[:chunk]

    def _new_loans_pending(self, batch_id: str, after: str, chunk: int) -> dict[str, str]:
        out: dict[str, str] = {}
        query = (
            "SELECT loan_id, borrower_id FROM new_loans WHERE loan_id > ? ORDER BY loan_id LIMIT ?"
        )
        while len(out) < chunk:
            rows = self.conn.execute(query, (after, chunk)).fetchall()
            if not rows:
                break
            done = self._known(
                "SELECT loan_id FROM batch_loans WHERE batch_id = ? AND loan_id = ANY(?)",
                batch_id,
                [r[0] for r in rows],
            )
            out.update((str(loan), str(b)) for loan, b in rows if loan not in done)
            after = rows[-1][0]
        return out

    def new_events(self, loan_id: str, borrower_id: str) -> list[Event]:
        """Today's events of loan `loan_id` (its own, then its borrower's), in feed order."""
        rows = self.conn.execute(_NEW_EVENTS.format(p=self.p), (loan_id, borrower_id))
        return events_of(rows)

    # -- helpers (PostgreSQL) ------------------------------------------------------------

    def _pages(self, query: str) -> Iterator[list[str]]:
        after = ""
        while rows := self.conn.execute(
            f"{query} WHERE loan_id > ? ORDER BY loan_id LIMIT ?", (after, _PAGE)
        ).fetchall():
            yield [str(r[0]) for r in rows]
            after = rows[-1][0]

    def _known(self, query: str, *params: Any) -> set[str]:
        """The loan ids the server returns for `query` (a page of ids as an array)."""
        return {str(r[0]) for r in self.db.conn.execute(query, list(params))}
