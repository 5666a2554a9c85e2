"""The snapshot store: one `AccountState` (as JSON) per loan, plus nightly batch progress.

Theory of operation
-------------------

A nightly batch must not fold every loan's whole history again, and must survive a crash.
So the store keeps, in one SQLite file (stdlib, WAL journal so readers are not blocked):

=================  ===========================================================================
table              what it holds
=================  ===========================================================================
``meta``           format version (a newer file is refused rather than misread)
``snapshots``      ``loan_id`` -> ``borrower_id``, ``state`` (AccountState.to_json(), zstd),
                   ``digest`` (sha256 of the JSON); read back checked (`snapshot_check`)
``batches``        one row per batch id: ``as_of``, rule set sha256, ``status`` (running/done)
``batch_loans``    one row per (batch id, loan id) decided: ``decision`` JSON, ``audited``
=================  ===========================================================================

The batch writes a loan's new snapshot and its ``batch_loans`` row in the same transaction,
so after a crash a loan is either fully done (snapshot moved on, decision recorded) or not
touched at all. Loans are always visited in ``loan_id`` order, which keeps every read a
cheap range scan on the primary key and the output reproducible.

Every snapshot read goes through `snapshot_check.decode`: its digest, and what its events say
(flags, currency, the loan head, record counts, money paid; everything with
``check="full"``). A damaged snapshot raises StoreError naming the loan; it is never decided.

A ``postgresql://`` URL keeps the same tables in a PostgreSQL schema (`_PG_SCHEMA`: no
``WITHOUT ROWID``, BLOB as bytea, text keys ``COLLATE "C"`` so they sort by bytes as in
SQLite), through `_base.db`'s sqlite3-like connection: the same queries, so the same order
and the same decisions; batch workers on several hosts share it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .._base.db import DB_ERRORS, Conn, PgConnection, is_postgres_url
from .._base.errors import InputError, StoreError
from .._state.account import AccountState
from .batch_progress import BatchProgress, BatchRecord
from .snapshot_check import decode, encode

__all__ = ["BatchRecord", "SnapshotRow", "SnapshotStore", "snapshot_row"]

FORMAT_VERSION = 2  # 2: state is zstd bytes with a digest (1: JSON text)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS snapshots (
    loan_id TEXT PRIMARY KEY,
    borrower_id TEXT NOT NULL,
    state BLOB NOT NULL,
    digest TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS snapshots_borrower ON snapshots (borrower_id, loan_id);
CREATE TABLE IF NOT EXISTS batches (
    batch_id TEXT PRIMARY KEY,
    as_of TEXT NOT NULL,
    rules_sha256 TEXT NOT NULL,
    status TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS batch_loans (
    batch_id TEXT NOT NULL,
    loan_id TEXT NOT NULL,
    decision TEXT NOT NULL,
    audited INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (batch_id, loan_id)
) WITHOUT ROWID;
"""


_PG_SCHEMA = (
    'CREATE TABLE IF NOT EXISTS meta (key text COLLATE "C" PRIMARY KEY, value text NOT NULL)',
    'CREATE TABLE IF NOT EXISTS snapshots (loan_id text COLLATE "C" PRIMARY KEY,'
    ' borrower_id text COLLATE "C" NOT NULL, state bytea NOT NULL, digest text NOT NULL)',
    "CREATE INDEX IF NOT EXISTS snapshots_borrower ON snapshots (borrower_id, loan_id)",
    'CREATE TABLE IF NOT EXISTS batches (batch_id text COLLATE "C" PRIMARY KEY,'
    " as_of text NOT NULL, rules_sha256 text NOT NULL, status text NOT NULL)",
    'CREATE TABLE IF NOT EXISTS batch_loans (batch_id text COLLATE "C" NOT NULL,'
    ' loan_id text COLLATE "C" NOT NULL, decision text NOT NULL,'
    " audited integer NOT NULL DEFAULT 0, PRIMARY KEY (batch_id, loan_id))",
)
# Two stores opening one empty schema at once must not both run the DDL.
_PG_CREATE_LOCK = 0x64756E6E696E6702


_PUT = (
    "INSERT INTO snapshots (loan_id, borrower_id, state, digest) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (loan_id) DO UPDATE SET borrower_id = excluded.borrower_id,"
    " state = excluded.state, digest = excluded.digest"
)


SnapshotRow = tuple[str, str, bytes, str]  # loan id, borrower id, zstd JSON, its sha256


def snapshot_row(state: AccountState, encoded: tuple[bytes, str] | None = None) -> SnapshotRow:
    """The row `put` stores for `state` (`encoded`: its `encode`, when made already): bytes
    and text only, so a chunk's rows held until its transaction ends keep no objects for the
    garbage collector to walk (held states slow every collection down)."""
    blob, digest = encode(state) if encoded is None else encoded
    return state.loan_id, state.borrower_id, blob, digest


class SnapshotStore(BatchProgress):
    """Account snapshots per loan in a SQLite file or a PostgreSQL database (a
    ``postgresql://`` URL); use as a context manager or call close()."""

    conn: Conn
    path: Path | str

    def __init__(self, path: str | Path, *, readonly: bool = False, check: str = "cheap") -> None:
        if check not in ("cheap", "full"):
            raise InputError(f"SnapshotStore: check expects 'cheap' or 'full', found {check!r}")
        self.full = check == "full"
        self.postgres = is_postgres_url(path)
        if self.postgres:
            self._open_pg(str(path), readonly)
            return
        self.path = file = Path(path)
        self._where = f"snapshot store {str(self.path)!r}"
        try:
            # isolation_level=None: we issue BEGIN/COMMIT ourselves, so a transaction spans
            # exactly what we say (snapshot + progress row), nothing implicit.
            if readonly:
                if not file.is_file():
                    raise StoreError(
                        f"snapshot store {str(self.path)!r}: no such file; expected a store"
                        " written by a batch run (dunning batch --store ...)"
                    )
                uri = f"{file.resolve().as_uri()}?mode=ro"
                self.conn = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=30)
            else:
                conn = sqlite3.connect(file, isolation_level=None, timeout=30)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.executescript(_SCHEMA)
                self.conn = conn
            self._check_version(readonly)
        except sqlite3.DatabaseError as exc:
            raise StoreError(
                f"snapshot store {str(self.path)!r}: cannot open it as a SQLite database"
                f" ({exc}); expected a file written by dunning's SnapshotStore"
            ) from None

    def _open_pg(self, url: str, readonly: bool) -> None:
        pg = PgConnection(url, lock_key=_PG_CREATE_LOCK)
        self.path, self.conn = pg.where, pg
        self._where = f"snapshot store {pg.where!r}"
        try:
            if readonly:
                if pg.execute("SELECT to_regclass('batch_loans') IS NULL").fetchone()[0]:
                    raise StoreError(
                        f"snapshot store {pg.where!r}: holds no snapshot tables; expected a"
                        " store written by a batch run (dunning batch --store ...)"
                    )
            else:
                pg.execute("BEGIN IMMEDIATE")  # the create lock, released at COMMIT
                try:
                    for statement in _PG_SCHEMA:
                        pg.execute(statement)
                except BaseException:
                    pg.execute("ROLLBACK")
                    raise
                pg.execute("COMMIT")
            self._check_version(readonly)
        except DB_ERRORS as exc:
            pg.close()
            raise StoreError(f"snapshot store {pg.where!r}: cannot open it ({exc})") from None
        except BaseException:
            pg.close()
            raise
        pg.lock_key = None  # a transaction is a plain BEGIN; writers do not queue

    def _check_version(self, readonly: bool) -> None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
        if row is None and not readonly:
            self.conn.execute("INSERT INTO meta VALUES ('format', ?)", (str(FORMAT_VERSION),))
        elif row is not None and int(row[0]) > FORMAT_VERSION:
            raise StoreError(
                f"snapshot store {str(self.path)!r}: format {row[0]} is newer than this"
                f" dunning understands ({FORMAT_VERSION}); upgrade dunning"
            )
        elif row is not None and int(row[0]) < FORMAT_VERSION:
            raise StoreError(
                f"snapshot store {str(self.path)!r}: format {row[0]} (uncompressed, unchecked"
                f" snapshots); this dunning reads format {FORMAT_VERSION}: rebuild the store"
                " with a night-1 batch run from the event history"
            )

    # --- context management -----------------------------------------------------------------

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> SnapshotStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[Conn]:
        """BEGIN IMMEDIATE ... COMMIT; rolled back when the block raises."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    # --- snapshots --------------------------------------------------------------------------

    def get(self, loan_id: str) -> AccountState | None:
        """The stored snapshot of `loan_id` (checked), or None when the loan is not stored."""
        row = self.conn.execute(
            "SELECT state, digest FROM snapshots WHERE loan_id = ?", (loan_id,)
        ).fetchone()
        return None if row is None else self._decode(loan_id, row[0], row[1])

    def _decode(self, loan_id: str, blob: object, digest: object) -> AccountState:
        return decode(loan_id, blob, digest, where=self._where, full=self.full)

    def stored_rows(self, loan_ids: list[str]) -> dict[str, tuple[object, object]]:
        """loan id -> (stored blob, digest) of those of `loan_ids` that are stored, read in
        one query per 500 ids; not yet checked: `checked` does it when the loan's turn comes
        (bytes and text held, not 500 states at once, which would slow every GC pass)."""
        rows: dict[str, tuple[object, object]] = {}
        for at in range(0, len(loan_ids), 500):
            part = loan_ids[at : at + 500]
            marks = ", ".join("?" * len(part))
            sql = f"SELECT loan_id, state, digest FROM snapshots WHERE loan_id IN ({marks})"
            for loan_id, blob, digest in self.conn.execute(sql, part).fetchall():
                rows[str(loan_id)] = (blob, digest)
        return rows

    def checked(self, loan_id: str, row: tuple[object, object] | None) -> AccountState | None:
        """The snapshot of a `stored_rows` row, checked as `get` checks it (None: no row)."""
        return None if row is None else self._decode(loan_id, row[0], row[1])

    def get_json(self, loan_id: str) -> str | None:
        state = self.get(loan_id)
        return None if state is None else state.to_json()

    def put(self, state: AccountState, encoded: tuple[bytes, str] | None = None) -> None:
        """Store `state` as the loan's snapshot (call inside `transaction()` to group writes);
        `encoded` is its `snapshot_check.encode` when the caller made it already."""
        self.put_rows([snapshot_row(state, encoded)])

    def put_rows(self, rows: list[SnapshotRow]) -> None:
        """Store the snapshots `snapshot_row` made, in one call (inside `transaction()`; a
        loan given twice keeps the last)."""
        self.conn.executemany(_PUT, rows)

    def state_bytes(self) -> int:
        """The bytes the stored snapshots take, compressed (what the benchmark reports)."""
        row = self.conn.execute("SELECT coalesce(sum(length(state)), 0) FROM snapshots")
        return int(row.fetchone()[0])

    def count(self) -> int:
        return int(self.conn.execute("SELECT COUNT(*) FROM snapshots").fetchone()[0])

    def loan_ids(self, *, after: str = "", limit: int = 1000) -> list[str]:
        """Up to `limit` loan ids greater than `after`, sorted (keyset pagination)."""
        rows = self.conn.execute(
            "SELECT loan_id FROM snapshots WHERE loan_id > ? ORDER BY loan_id LIMIT ?",
            (after, limit),
        ).fetchall()
        return [str(r[0]) for r in rows]

    def iter_states(
        self, *, lo: str = "", hi: str | None = None, chunk: int = 500
    ) -> Iterator[tuple[str, AccountState]]:
        """(loan_id, checked snapshot) for loans in [lo, hi), sorted, `chunk` rows at a time."""
        after, first = lo, True
        while True:
            op = ">=" if first else ">"
            sql = f"SELECT loan_id, state, digest FROM snapshots WHERE loan_id {op} ?"
            args: tuple[object, ...] = (after,)
            if hi is not None:
                sql += " AND loan_id < ?"
                args += (hi,)
            rows = self.conn.execute(sql + " ORDER BY loan_id LIMIT ?", (*args, chunk)).fetchall()
            if not rows:
                return
            for loan_id, blob, digest in rows:
                yield str(loan_id), self._decode(str(loan_id), blob, digest)
            after, first = str(rows[-1][0]), False

    def iter_states_json(
        self, *, lo: str = "", hi: str | None = None, chunk: int = 500
    ) -> Iterator[tuple[str, str]]:
        """(loan_id, checked snapshot JSON) for loans in [lo, hi), sorted."""
        for loan_id, state in self.iter_states(lo=lo, hi=hi, chunk=chunk):
            yield loan_id, state.to_json()

    def split_points(self, parts: int) -> list[str]:
        """Loan ids cutting the store into `parts` ranges of near-equal size (sorted)."""
        total = self.count()
        points: list[str] = []
        for i in range(1, parts):
            row = self.conn.execute(
                "SELECT loan_id FROM snapshots ORDER BY loan_id LIMIT 1 OFFSET ?",
                (total * i // parts,),
            ).fetchone()
            if row is not None and (not points or str(row[0]) > points[-1]):
                points.append(str(row[0]))
        return points

    def iter_borrower_states(
        self, *, lo: str = "", hi: str | None = None
    ) -> Iterator[tuple[str, list[AccountState]]]:
        """(borrower id, [checked snapshot of each loan, loan id order]) for borrower ids in
        [lo, hi), sorted (the borrower index)."""
        sql = "SELECT borrower_id, loan_id, state, digest FROM snapshots WHERE borrower_id >= ?"
        args: tuple[object, ...] = (lo,)
        if hi is not None:
            sql += " AND borrower_id < ?"
            args += (hi,)
        rows = self.conn.execute(sql + " ORDER BY borrower_id, loan_id", args)
        current: str | None = None
        states: list[AccountState] = []
        for borrower, loan_id, blob, digest in rows:
            if borrower != current:
                if current is not None:
                    yield current, states
                current, states = str(borrower), []
            states.append(self._decode(str(loan_id), blob, digest))
        if current is not None:
            yield current, states

    def borrower_split_points(self, parts: int) -> list[str]:
        """Borrower ids cutting the store into `parts` ranges of near-equal loan counts, never
        between two loans of one borrower (sorted)."""
        total = self.count()
        points: list[str] = []
        for i in range(1, parts):
            row = self.conn.execute(
                "SELECT borrower_id FROM snapshots ORDER BY borrower_id, loan_id LIMIT 1 OFFSET ?",
                (total * i // parts,),
            ).fetchone()
            if row is not None and str(row[0]) > "" and (not points or str(row[0]) > points[-1]):
                points.append(str(row[0]))
        return points
