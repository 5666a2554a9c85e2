"""The batch-progress half of `SnapshotStore` (tables ``batches`` and ``batch_loans``, see
`snapshots`): which batches ran with which inputs, and each loan's decision in a batch, written
in the same transaction as the loan's new snapshot so a crashed night resumes where it
stopped."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

from .._base.db import Conn
from .._base.errors import StoreError

__all__ = ["BatchProgress", "BatchRecord"]

_RECORD = "INSERT INTO batch_loans (batch_id, loan_id, decision) VALUES (?, ?, ?)"


@dataclass(frozen=True)
class BatchRecord:
    """What the store remembers of a batch run."""

    batch_id: str
    as_of: str
    rules_sha256: str
    status: str


class _Store(Protocol):
    """What the progress methods read of the store they are part of."""

    conn: Conn
    postgres: bool

    def transaction(self) -> AbstractContextManager[Conn]: ...

    def batch(self, batch_id: str) -> BatchRecord | None: ...

    def record_decisions(self, batch_id: str, rows: list[tuple[str, str]]) -> None: ...

    def iter_decisions_json(self, batch_id: str, *, chunk: int = 1000) -> Iterator[str]: ...

    def iter_keyed_decisions_json(
        self, batch_id: str, *, chunk: int = 1000
    ) -> Iterator[tuple[str, str]]: ...


class BatchProgress:
    """Batch progress, mixed into `SnapshotStore` (which owns the connection)."""

    def batch(self: _Store, batch_id: str) -> BatchRecord | None:
        row = self.conn.execute(
            "SELECT batch_id, as_of, rules_sha256, status FROM batches WHERE batch_id = ?",
            (batch_id,),
        ).fetchone()
        return None if row is None else BatchRecord(*(str(v) for v in row))

    def begin_batch(self: _Store, batch_id: str, as_of: str, rules_sha256: str) -> BatchRecord:
        """Register `batch_id`, or check that a re-run asks for the same as_of and rules."""
        known = self.batch(batch_id)
        if known is None:
            with self.transaction() as c:
                c.execute(
                    "INSERT INTO batches VALUES (?, ?, ?, 'running')",
                    (batch_id, as_of, rules_sha256),
                )
            return BatchRecord(batch_id, as_of, rules_sha256, "running")
        for what, was, now in (
            ("as_of", known.as_of, as_of),
            ("rule set sha256", known.rules_sha256, rules_sha256),
        ):
            if was != now:
                raise StoreError(
                    f"batch {batch_id!r}: was started with {what} {was}, re-run with {now};"
                    " expected the same inputs when resuming; use a new batch_id for a new run"
                )
        return known

    def finish_batch(self: _Store, batch_id: str) -> None:
        self.conn.execute("UPDATE batches SET status = 'done' WHERE batch_id = ?", (batch_id,))

    def decided_count(self: _Store, batch_id: str) -> int:
        row = self.conn.execute(
            "SELECT COUNT(*) FROM batch_loans WHERE batch_id = ?", (batch_id,)
        ).fetchone()
        return int(row[0])

    def record_decision(self: _Store, batch_id: str, loan_id: str, decision_json: str) -> None:
        """Mark `loan_id` decided in `batch_id` (call inside the snapshot's transaction)."""
        self.record_decisions(batch_id, [(loan_id, decision_json)])

    def record_decisions(self: _Store, batch_id: str, rows: list[tuple[str, str]]) -> None:
        """`record_decision` for each (loan id, decision JSON) of `rows`, in one call."""
        self.conn.executemany(_RECORD, [(batch_id, loan, text) for loan, text in rows])

    def mark_audited(self: _Store, batch_id: str, loan_ids: list[str]) -> None:
        with self.transaction() as c:
            c.executemany(
                "UPDATE batch_loans SET audited = 1 WHERE batch_id = ? AND loan_id = ?",
                [(batch_id, loan) for loan in loan_ids],
            )

    def unaudited(self: _Store, batch_id: str, *, limit: int) -> list[tuple[str, str]]:
        """(loan_id, decision JSON) committed but not yet appended to the audit store."""
        rows = self.conn.execute(
            "SELECT loan_id, decision FROM batch_loans WHERE batch_id = ? AND audited = 0"
            " ORDER BY loan_id LIMIT ?",
            (batch_id, limit),
        ).fetchall()
        return [(str(a), str(b)) for a, b in rows]

    def decisions_in(
        self: _Store, batch_id: str, *, lo: str = "", hi: str | None = None
    ) -> Iterator[tuple[str, str]]:
        """(loan_id, decision JSON) this batch already decided for loans in [lo, hi)."""
        sql = "SELECT loan_id, decision FROM batch_loans WHERE batch_id = ? AND loan_id >= ?"
        args: tuple[object, ...] = (batch_id, lo)
        if hi is not None:
            sql += " AND loan_id < ?"
            args += (hi,)
        for loan, text in self.conn.execute(sql, args).fetchall():
            yield str(loan), str(text)

    def iter_decisions_json(self: _Store, batch_id: str, *, chunk: int = 1000) -> Iterator[str]:
        """The batch's decisions as JSON, in loan id order, read `chunk` at a time."""
        for _key, decision in self.iter_keyed_decisions_json(batch_id, chunk=chunk):
            yield decision

    def iter_decisions_utf8(self: _Store, batch_id: str, *, chunk: int = 1000) -> Iterator[bytes]:
        """`iter_decisions_json` as the UTF-8 bytes of each decision (SQLite hands its stored
        UTF-8 over as it is, not decoded to text to be encoded again)."""
        if self.postgres:
            for text in self.iter_decisions_json(batch_id, chunk=chunk):
                yield text.encode("utf-8")
            return
        after = ""
        while True:
            rows = self.conn.execute(
                "SELECT loan_id, CAST(decision AS BLOB) FROM batch_loans"
                " WHERE batch_id = ? AND loan_id > ? ORDER BY loan_id LIMIT ?",
                (batch_id, after, chunk),
            ).fetchall()
            if not rows:
                return
            for _key, blob in rows:
                yield bytes(blob)
            after = str(rows[-1][0])

    def iter_keyed_decisions_json(
        self: _Store, batch_id: str, *, chunk: int = 1000
    ) -> Iterator[tuple[str, str]]:
        """(loan id or ``borrower:<id>``, decision JSON) of the batch, in key order."""
        after = ""
        while True:
            rows = self.conn.execute(
                "SELECT loan_id, decision FROM batch_loans WHERE batch_id = ? AND loan_id > ?"
                " ORDER BY loan_id LIMIT ?",
                (batch_id, after, chunk),
            ).fetchall()
            if not rows:
                return
            for key, decision in rows:
                yield str(key), str(decision)
            after = str(rows[-1][0])

    def drop_batch(self: _Store, batch_id: str) -> None:
        """Forget a batch's progress and stored decisions (snapshots are kept)."""
        with self.transaction() as c:
            c.execute("DELETE FROM batch_loans WHERE batch_id = ?", (batch_id,))
            c.execute("DELETE FROM batches WHERE batch_id = ?", (batch_id,))
