"""The SQLite connection under `AuditStore`: opening, creating, transactions, the tree.

Opening never writes to a file that already holds data (tables are only created in an empty
file); a file whose schema is not exactly this version's opens, but `_usable` refuses appends
and queries until `verify()` has named what differs. sqlite errors become StoreError naming
the path.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Self

from .._base.errors import StoreError
from . import merkle
from .format import FORMAT_VERSION, SCHEMA, _check_file, check_schema, schema_problems
from .log import MerkleLog
from .sqlite_rows import node_getter

__all__ = ["SqliteBase"]


class SqliteBase:
    def __init__(self, path: str | Path, *, keep_inputs: bool = False) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        self._known_rule_sets: set[str] = set()
        self._log: MerkleLog | None = None
        _check_file(self.path)
        self._conn = self._connect()
        try:
            self._open(keep_inputs)
        except BaseException:
            self._conn.close()
            raise

    # -- opening ---------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        try:
            return sqlite3.connect(
                self.path, timeout=60.0, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise StoreError(f"audit store {self.path}: cannot open: {exc}") from None

    def _open(self, keep_inputs: bool) -> None:
        with self._sql("open"):
            if not self._tables():
                self._create(keep_inputs)
            check_schema(self._conn, self.path, self._tables())
            self._schema = schema_problems(self._conn)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.execute("PRAGMA foreign_keys=ON")
            row = self._conn.execute("SELECT keep_inputs FROM meta").fetchone()
            self.keep_inputs = row is not None and row[0] == 1
            if keep_inputs and not self.keep_inputs:
                raise StoreError(
                    f"audit store {self.path} was created without keep_inputs; its records"
                    " have no stored inputs, so it cannot start keeping them now (import its"
                    " export into a new store, or open it without keep_inputs)"
                )

    def _tables(self) -> list[str]:
        rows = self._conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return sorted(str(r[0]) for r in rows)

    def _create(self, keep_inputs: bool) -> None:
        # Re-check under the write lock: another process may be creating the same file.
        with self._transaction():
            if self._tables():
                return
            for statement in SCHEMA:
                self._conn.execute(statement)
            self._conn.execute(
                "INSERT INTO meta VALUES (?, 0, ?, ?)",
                (FORMAT_VERSION, merkle.EMPTY_ROOT.hex(), int(keep_inputs)),
            )

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
            self._log = None  # the in-memory tree may be ahead of the rolled-back file
            raise
        self._conn.execute("COMMIT")

    def _usable(self, doing: str) -> None:
        if self._schema:
            raise StoreError(
                f"audit store {self.path}: {doing} refused: the file's schema is not this"
                f" version's ({self._schema[0]}); run verify() and restore from an export"
            )

    def _tree(self) -> MerkleLog:
        """The tree as the file has it now (another process may have appended)."""
        size, root = self._conn.execute("SELECT size, root_hash FROM meta").fetchone()
        (last,) = self._conn.execute("SELECT coalesce(max(seq), 0) FROM records").fetchone()
        if last != size:
            raise StoreError(
                f"audit store {self.path}: its end is broken (it says {size} records, the last"
                f" is record {last}); run verify() and restore from an export"
            )
        log = self._log
        if log is None or log.size != size or log.frontier.root().hex() != root:
            log = MerkleLog(node_getter(self._conn, f"audit store {self.path}"), int(size))
            if log.frontier.root().hex() != root:
                raise StoreError(
                    f"audit store {self.path}: its tree does not give the root it claims"
                    f" (size {size}); run verify() and restore from an export"
                )
            self._log = log
        return log

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<AuditStore {self.path}>"
