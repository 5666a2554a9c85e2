"""AuditStore: the embedded audit trail (SQLite, WAL, one hash chain per store).

The tables, and the checks opening and `verify` make, are in `format`; the chain and
what `verify` checks are described in `chain`. Durability: each append is one
`BEGIN IMMEDIATE` transaction (rule set if new, the record, the new head) committed with
`synchronous=FULL`, so a record is in the store entirely or not at all, and writers in other
threads and processes wait their turn instead of forking the chain. Opening never writes to a
file that already holds data: the checks run first, and tables are only created in an empty
file. Errors are `StoreError` naming the path.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from .._base.errors import InputError, StoreError
from .._base.time import aware, iso_utc
from .._decide.borrower_decision import BorrowerDecision
from .._decide.decision import Decision
from .borrower import record_key
from .chain import GENESIS, Receipt, StoredRecord, VerifyReport, as_of_key, record_hash
from .export import export_lines, import_into
from .format import _RECORD_COLS as _RECORD_COLS
from .format import _SCHEMA as _SCHEMA
from .format import _SQLITE_HEADER as _SQLITE_HEADER
from .format import FORMAT_VERSION, check_schema, verify_chain
from .format import _check_file as _check_file
from .format import _rule_set_problem as _rule_set_problem
from .registry import RuleSetLike, check_digest, check_sha256, rule_set_text
from .replay import replay_records

if TYPE_CHECKING:
    from .chain import DecisionStore
    from .replay import ReplayReport

__all__ = ["FORMAT_VERSION", "AuditStore"]

_PAGE = 500


class AuditStore:
    """An append-only, hash-chained store of decisions and the rule sets that made them.

    One store may be shared by threads (calls are serialised) and opened by several
    processes at once (appends serialise on the database lock).
    """

    def __init__(self, path: str | os.PathLike[str], *, created: datetime | None = None):
        self.path = Path(path)
        self._lock = threading.RLock()
        self._known_rule_sets: set[str] = set()
        _check_file(self.path)
        self._conn = self._connect()
        try:
            self._open(created)
        except BaseException:
            self._conn.close()
            raise

    # -- opening ---------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(
                self.path, timeout=60.0, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise StoreError(f"audit store {self.path}: cannot open: {exc}") from None
        return conn

    def _open(self, created: datetime | None) -> None:
        with self._sql("open"):
            if not self._tables():
                self._create(created)
            self._check_schema()
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")

    def _tables(self) -> list[str]:
        rows = self._conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return sorted(str(r[0]) for r in rows)

    def _create(self, created: datetime | None) -> None:
        # Re-check under the write lock: another process may be creating the same file.
        with self._transaction():
            if self._tables():
                return
            for statement in _SCHEMA:
                self._conn.execute(statement)
            stamp = None if created is None else iso_utc(aware(created, what="created"))
            self._conn.execute(
                "INSERT INTO meta VALUES (?, ?, 0, ?)", (FORMAT_VERSION, stamp, GENESIS)
            )

    def _check_schema(self) -> None:
        check_schema(self._conn, self.path, self._tables())

    # -- plumbing --------------------------------------------------------------------------

    @contextmanager
    def _sql(self, doing: str) -> Iterator[None]:
        """Hold the thread lock and turn sqlite errors into StoreError naming the path."""
        with self._lock:
            try:
                yield
            except sqlite3.Error as exc:
                raise StoreError(f"audit store {self.path}: {doing} failed: {exc}") from None

    @contextmanager
    def _transaction(self, kind: str = "IMMEDIATE") -> Iterator[None]:
        self._conn.execute(f"BEGIN {kind}")
        try:
            yield
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> AuditStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<AuditStore {self.path}>"

    # -- writing ---------------------------------------------------------------------------

    def append(self, decision: Decision | BorrowerDecision, rules: RuleSetLike) -> Receipt:
        """Append `decision` (or a BorrowerDecision, keyed ``borrower:<id>``), made with
        `rules`, to the chain; the receipt holds seq and hash."""
        if not isinstance(decision, Decision | BorrowerDecision):
            raise InputError(
                f"append: expected a dunning Decision, found {type(decision).__name__}"
                " (a BorrowerDecision is taken too)"
            )
        sha, text = rule_set_text(rules)
        if decision.rule_set.sha256 != sha:
            raise InputError(
                f"append: decision {decision.id} was made with rule set"
                f" {decision.rule_set.sha256}, not with {rules.id!r} ({sha})"
            )
        decision_json = decision.to_json()
        decision_id = json.loads(decision_json)["id"]
        with self._sql("append"), self._transaction():
            seq, prev = self._head_checked()
            self._put_rule_set(sha, text)
            cols = (seq + 1, decision_id, record_key(decision), as_of_key(decision.as_of), sha)
            digest = record_hash(
                prev,
                seq=cols[0],
                decision_id=cols[1],
                loan_id=cols[2],
                as_of=cols[3],
                rule_set_sha256=sha,
                decision_json=decision_json.encode("utf-8"),
            )
            self._conn.execute(
                "INSERT INTO records (seq, decision_id, loan_id, as_of, rule_set_sha256,"
                " decision_json, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (*cols, decision_json, prev, digest),
            )
            self._conn.execute("UPDATE meta SET head_seq = ?, head_hash = ?", (seq + 1, digest))
        return Receipt(seq + 1, digest, decision_id)

    def _head_checked(self) -> tuple[int, str]:
        """The head, refusing to extend a chain whose last record is not the head."""
        seq, head = self._conn.execute("SELECT head_seq, head_hash FROM meta").fetchone()
        last = self._conn.execute("SELECT seq, hash FROM records ORDER BY seq DESC LIMIT 1")
        last_row = last.fetchone() or (0, GENESIS)
        if (seq, head) != tuple(last_row):
            raise StoreError(
                f"audit store {self.path}: the chain is broken at its end (head is record"
                f" {seq}, last record is {last_row[0]}); run verify() and restore from an export"
            )
        return int(seq), str(head)

    def _put_rule_set(self, sha: str, text: str) -> None:
        if sha in self._known_rule_sets:
            return
        self._conn.execute(
            "INSERT OR IGNORE INTO rule_sets (sha256, canonical_json) VALUES (?, ?)", (sha, text)
        )
        self._known_rule_sets.add(sha)

    # -- reading ---------------------------------------------------------------------------

    def head(self) -> tuple[int, str]:
        """(seq, hash) of the last record: keep it elsewhere to anchor the chain."""
        with self._sql("head"):
            seq, digest = self._conn.execute("SELECT head_seq, head_hash FROM meta").fetchone()
        return int(seq), str(digest)

    def __len__(self) -> int:
        with self._sql("count"):
            return int(self._conn.execute("SELECT count(*) FROM records").fetchone()[0])

    def get_rule_set(self, sha256: str) -> str:
        """The canonical JSON of a stored rule set; StoreError when missing or altered."""
        check_sha256(sha256)
        with self._sql("get_rule_set"):
            row = self._conn.execute(
                "SELECT canonical_json FROM rule_sets WHERE sha256 = ?", (sha256,)
            ).fetchone()
        if row is None:
            raise StoreError(f"audit store {self.path}: rule set {sha256} is missing")
        check_digest(sha256, str(row[0]), where=f"audit store {self.path}")
        return str(row[0])

    def records(
        self,
        *,
        loan_id: str | None = None,
        start: datetime | str | None = None,
        end: datetime | str | None = None,
        experiment: str | None = None,
        arm: str | None = None,
    ) -> Iterator[StoredRecord]:
        """Records in seq order; filters: `loan_id`, `start <= as_of < end`, and the
        `experiment` and `arm` a `Split` recorded in the decision."""
        where, args = ["seq > ?"], []
        if loan_id is not None:
            where.append("loan_id = ?")
            args.append(loan_id)
        for key, value in (("experiment", experiment), ("arm", arm)):
            if value is not None:
                where.append(f"json_extract(decision_json, '$.{key}') = ?")
                args.append(value)
        if start is not None:
            where.append("as_of >= ?")
            args.append(as_of_key(aware(start, what="start")))
        if end is not None:
            where.append("as_of < ?")
            args.append(as_of_key(aware(end, what="end")))
        query = (
            f"SELECT {_RECORD_COLS} FROM records WHERE {' AND '.join(where)}"
            f" ORDER BY seq LIMIT {_PAGE}"
        )
        last = 0
        while True:  # page by seq so no cursor stays open while the caller works
            with self._sql("records"):
                rows = self._conn.execute(query, (last, *args)).fetchall()
            for row in rows:
                yield StoredRecord(*row)
            if len(rows) < _PAGE:
                return
            last = rows[-1][0]

    # -- verifying -------------------------------------------------------------------------

    def verify(self) -> VerifyReport:
        """Walk the whole chain; the report names the first record altered, removed or moved."""
        with self._sql("verify"), self._transaction("DEFERRED"):
            return self._verify()

    def _verify(self) -> VerifyReport:
        return verify_chain(self._conn)

    # -- export / import / replay ----------------------------------------------------------

    def export_jsonl(self, target: str | os.PathLike[str] | IO[str]) -> int:
        """Write the store as JSON Lines (header, rule sets, records); returns the count.

        The store must verify first: an export is evidence, so it never carries a broken
        chain. `AuditStore.import_jsonl` reads it back and checks the chain again.
        """

        with self._sql("export"), self._transaction("DEFERRED"):
            report = self._verify()
            if not report.ok:
                raise StoreError(
                    f"export of audit store {self.path} refused: the chain does not verify"
                    f" ({report.problem})"
                )
            meta = self._conn.execute("SELECT created, head_seq, head_hash FROM meta").fetchone()
            rule_sets = self._conn.execute(
                "SELECT sha256, canonical_json FROM rule_sets ORDER BY sha256"
            )
            records = (
                StoredRecord(*r)
                for r in self._conn.execute(f"SELECT {_RECORD_COLS} FROM records ORDER BY seq")
            )
            header = {"created": meta[0], "head_seq": meta[1], "head_hash": meta[2]}
            return export_lines(target, header, rule_sets, records)

    @classmethod
    def import_jsonl(
        cls, source: str | os.PathLike[str] | IO[str], path: str | os.PathLike[str]
    ) -> AuditStore:
        """A new store at `path` holding an export, after checking its chain line by line.

        `path` must not exist or be empty. On any problem nothing is left behind.
        """

        target = Path(path)
        if target.exists() and (target.is_dir() or target.stat().st_size > 0):
            raise StoreError(f"import: target {target} already exists; expected a new path")
        store = cls(target)
        try:
            with store._sql("import"), store._transaction():
                import_into(store._conn, source)
        except BaseException:
            store.close()
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{target}{suffix}").unlink(missing_ok=True)
            raise
        return store

    def replay_all(
        self,
        events_for: Callable[[str], Any],
        start: datetime | str | None = None,
        end: datetime | str | None = None,
        *,
        loan_id: str | None = None,
    ) -> ReplayReport:
        """Re-decide every stored record in range with its stored rule set; see `replay`."""

        return replay_records(self, events_for, start=start, end=end, loan_id=loan_id)


if TYPE_CHECKING:  # mypy proves AuditStore offers the whole DecisionStore interface

    def _conforms(store: AuditStore) -> DecisionStore:
        return store
