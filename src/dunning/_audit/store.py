"""AuditStore: the embedded audit log (SQLite, WAL), a Merkle tree over its records.

The tables and the file checks are in `format`, opening and transactions in `sqlite_base`,
the rows' SQL in `sqlite_rows`, the tree,
checkpoints and proofs in `log` (no SQL), what `verify` re-derives in `check`. Durability:
each append is one `BEGIN IMMEDIATE` transaction (rule set if new, the record, its tree
nodes, its inputs, the new size and root) committed with `synchronous=FULL`, so a record is
in the store entirely or not at all, and writers in other threads and processes wait their
turn. Opening never writes to a file that already holds data (tables are only created in an
empty file); a file whose schema is not exactly this version's opens, but refuses appends
and queries until `verify()` has named what differs. Errors are `StoreError` naming the path.

A ``postgresql://`` URL opens the same store on a PostgreSQL server, through `_base.db`'s
sqlite3-like connection: the same `sqlite_rows` SQL, tree and proofs, so the same records,
roots and export bytes. What differs (tables, the append lock, the append-only guards, what
`verify` checks of the schema) is in `pg_schema`; `BEGIN IMMEDIATE` there takes an advisory
lock, so appenders on several hosts still extend one gap-free log.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from .._base.db import DB_ERRORS, PgConnection, is_postgres_url
from .._base.errors import InputError, StoreError
from .._base.time import aware
from .._decide.borrower_decision import BorrowerDecision
from .._decide.decision import Decision
from . import merkle, pg_schema
from .check import LogCheck
from .checkpoint import Checkpoint, ConsistencyProof, InclusionProof
from .export import export_lines, import_into
from .format import (
    FORMAT_VERSION,
    RECORD_COLS,
    file_problems,
)
from .inputs import events_from_wires, seen_events
from .keys import private_key
from .log import MerkleLog, Receipt, StoredRecord, VerifyReport, as_of_key
from .registry import RuleSetLike, check_digest, check_sha256, rule_set_text
from .replay import replay_records
from .sqlite_base import SqliteBase
from .sqlite_rows import Writer, checked_record, inputs_of, node_getter, rule_set_rows, walk

if TYPE_CHECKING:
    from .interface import DecisionStore
    from .replay import ReplayReport

__all__ = ["FORMAT_VERSION", "AuditStore"]

_PAGE = 500
_WITH_LEAF = (
    f"SELECT {', '.join('r.' + c for c in RECORD_COLS.split(', '))}, t.hash FROM records r"
    " LEFT JOIN tree t ON t.level = 0 AND t.idx = r.seq - 1"
)


class AuditStore(SqliteBase):
    """An append-only store of decisions, the rule sets that made them and (with
    `keep_inputs=True`) the events they saw, under one Merkle tree:
    ``AuditStore(path, *, keep_inputs=False)``.

    One store may be shared by threads (calls are serialised) and opened by several
    processes at once (appends serialise on the database lock). `path` is a SQLite file, a
    ``postgresql://`` URL naming a database (and, by its search_path, a schema) on a server,
    or a `psycopg_pool.ConnectionPool` to borrow a connection from while the store is open;
    appenders on several hosts then share one log (``pip install 'dunning[postgres]'``).
    """

    # -- writing ---------------------------------------------------------------------------

    def append(
        self, decision: Decision | BorrowerDecision, rules: RuleSetLike, inputs: Any = None
    ) -> Receipt:
        """Append `decision`, made with `rules`; `inputs` (the events or AccountState it was
        made from) are kept when given, and required when the store keeps inputs. A
        BorrowerDecision is recorded under `loan_id` ``borrower:<id>`` (not in a store that
        keeps inputs: those are per loan)."""
        if isinstance(decision, BorrowerDecision) and (inputs is not None or self.keep_inputs):
            raise InputError(
                f"append: borrower decision {decision.id[:12]}: a store that keeps inputs keeps"
                " them per loan; append each loan's decision (BorrowerDecision.loans) instead"
            )
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
        if inputs is None and self.keep_inputs:
            raise InputError(
                f"append: audit store {self.path} keeps inputs (keep_inputs=True); expected"
                f" the events or AccountState decision {decision.id[:12]} was made from"
            )
        if inputs is not None and not self.keep_inputs:
            raise InputError(
                f"append: audit store {self.path} does not keep inputs; open it (a new one)"
                " with keep_inputs=True to keep them, or append without inputs="
            )
        events = None
        if inputs is not None and isinstance(decision, Decision):
            events = seen_events(inputs, decision)
        decision_json = decision.to_json()
        with self._sql("append"), self._transaction():
            self._usable("append")
            log = self._tree()
            self._put_rule_set(sha, text)
            seq = Writer(self._conn, log).record(decision, decision_json, events)
            root = log.frontier.root().hex()
            self._conn.execute("UPDATE meta SET size = ?, root_hash = ?", (seq, root))
        leaf = merkle.leaf_hash(decision_json.encode("utf-8")).hex()
        return Receipt(seq, leaf, decision.id, root)

    def _put_rule_set(self, sha: str, text: str) -> None:
        if sha in self._known_rule_sets:
            return
        self._conn.execute(
            "INSERT INTO rule_sets (sha256, canonical_json) VALUES (?, ?)"
            " ON CONFLICT (sha256) DO NOTHING",
            (sha, text),
        )
        self._known_rule_sets.add(sha)

    # -- reading ---------------------------------------------------------------------------

    def head(self) -> tuple[int, str]:
        """(size, root hash): sign it with `checkpoint` to anchor the store elsewhere."""
        with self._sql("head"):
            size, root = self._conn.execute("SELECT size, root_hash FROM meta").fetchone()
        return int(size), str(root)

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
        if not isinstance(row[0], str):
            raise StoreError(f"audit store {self.path}: rule set {sha256} was altered")
        check_digest(sha256, row[0], where=f"audit store {self.path}")
        return row[0]

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
        `experiment` and `arm` a `Split` recorded in the decision. Each is checked against
        its leaf hash before it is returned (StoreError if altered)."""
        where, args = ["r.seq > ?"], []
        if loan_id is not None:
            where.append("r.loan_id = ?")
            args.append(loan_id)
        for key, value in (("experiment", experiment), ("arm", arm)):
            if value is not None:
                field = (
                    f"(r.decision_json::jsonb ->> '{key}')"
                    if self._pg
                    else f"json_extract(r.decision_json, '$.{key}')"
                )
                where.append(f"{field} = ?")
                args.append(value)
        if start is not None:
            where.append("r.as_of >= ?")
            args.append(as_of_key(aware(start, what="start")))
        if end is not None:
            where.append("r.as_of < ?")
            args.append(as_of_key(aware(end, what="end")))
        query = f"{_WITH_LEAF} WHERE {' AND '.join(where)} ORDER BY r.seq LIMIT {_PAGE}"
        last = 0
        while True:  # page by seq so no cursor stays open while the caller works
            with self._sql("records"):
                self._usable("records")
                rows = self._conn.execute(query, (last, *args)).fetchall()
            for row in rows:
                yield checked_record(row, f"audit store {self.path}")
            if len(rows) < _PAGE:
                return
            last = rows[-1][0]

    def get(self, decision_id: str | int) -> StoredRecord:
        """The first record of `decision_id`, or record number `decision_id` when it is an
        int (checked); StoreError when there is none."""
        by_seq = isinstance(decision_id, int) and not isinstance(decision_id, bool)
        where = "r.seq = ?" if by_seq else "r.decision_id = ?"
        with self._sql("get"):
            self._usable("get")
            row = self._conn.execute(
                f"{_WITH_LEAF} WHERE {where} ORDER BY r.seq LIMIT 1", (decision_id,)
            ).fetchone()
        if row is None:
            what = "record" if by_seq else "record of decision"
            raise StoreError(f"audit store {self.path}: no {what} {decision_id!r}")
        return checked_record(row, f"audit store {self.path}")

    def inputs(self, record: StoredRecord) -> list[Any] | None:
        """The events `record`'s decision saw, as kept by `keep_inputs` (None if not kept)."""
        where = f"audit store {self.path}"
        with self._sql("inputs"):
            wires = inputs_of(self._conn, record, where)
        return None if wires is None else events_from_wires(wires, where=where)

    # -- proofs ----------------------------------------------------------------------------

    def checkpoint(self, signer: Any, timestamp: datetime | str) -> Checkpoint:
        """A signed tree head: size, root, `timestamp` (the caller's clock) and the digest of
        the rule sets, signed with the bank's Ed25519 key (used, never stored)."""
        key = private_key(signer)
        with self._sql("checkpoint"), self._transaction("DEFERRED"):
            self._usable("checkpoint")
            log = self._tree()
            shas = [str(r[0]) for r in self._conn.execute("SELECT sha256 FROM rule_sets")]
            return log.checkpoint(key, timestamp, shas)

    def prove(self, decision_id: str, *, size: int | None = None) -> InclusionProof:
        """The inclusion proof of the first record of `decision_id`, in the tree of `size`
        records (default: all); check it with `verify_inclusion`."""
        record = self.get(decision_id)
        with self._sql("prove"), self._transaction("DEFERRED"):
            log = self._tree()
            if size is not None and not (isinstance(size, int) and record.seq <= size):
                raise InputError(
                    f"prove: decision {decision_id[:12]} is record {record.seq}, not inside"
                    f" a tree of {size!r} records"
                )
            return log.prove(record.seq - 1, size)

    def consistency(self, old_size: int, new_size: int | None = None) -> ConsistencyProof:
        """The proof that this store's tree of `new_size` records (default: all) extends its
        tree of `old_size`; check it with `verify_consistency` and two checkpoints."""
        with self._sql("consistency"), self._transaction("DEFERRED"):
            self._usable("consistency")
            return self._tree().consistency(old_size, new_size)

    # -- verifying -------------------------------------------------------------------------

    def verify(self, *, against: Checkpoint | None = None, public_key: Any = None) -> VerifyReport:
        """Check the whole file; `against` a checkpoint (with the bank's public key) also
        proves no record under it changed, vanished, moved or was cut off the end."""
        if against is not None and public_key is None:
            raise InputError("verify: a checkpoint is checked with public_key=; none was given")
        if against is not None and not isinstance(against, Checkpoint):
            raise InputError(f"verify: against= expects a Checkpoint, found {type(against)}")
        where = f"audit store {self.path}"
        with self._lock:
            conn = self._connect()  # a fresh connection reads the schema as it is on disk
            try:
                conn.execute("BEGIN DEFERRED")  # one snapshot (REPEATABLE READ on PostgreSQL)
                return self._verify(conn, where, against, public_key)
            except DB_ERRORS as exc:
                kind = "postgresql" if self._pg else "sqlite"
                return VerifyReport(False, 0, None, f"{kind}: {exc}", (f"{kind}: {exc}",))
            finally:
                conn.close()

    def _verify(self, conn: Any, where: str, against: Checkpoint | None, key: Any) -> VerifyReport:
        problems = pg_schema.file_problems(conn) if self._pg else file_problems(conn)
        broken = any(p.startswith("schema") for p in problems)
        rule_sets = {} if broken else rule_set_rows(conn)
        check = LogCheck(rule_sets, iter(()), against=against, public_key_=key)
        for p in problems:
            check.problem(p)
        if broken:  # the walk's queries assume this version's tables and columns
            return check.finish(None, None)
        return walk(conn, check, where)

    # -- export / import / replay ----------------------------------------------------------

    def export_jsonl(self, target: str | os.PathLike[str] | IO[str]) -> int:
        """Write the store as JSON Lines (header, rule sets, inputs, records); returns the
        record count. The store must verify first: an export is evidence."""
        report = self.verify()
        if not report.ok:
            raise StoreError(
                f"export of audit store {self.path} refused: it does not verify ({report.problem})"
            )
        with self._sql("export"), self._transaction("DEFERRED"):
            return export_lines(self._conn, target)

    @classmethod
    def import_jsonl(
        cls,
        source: str | os.PathLike[str] | IO[str],
        path: str | os.PathLike[str],
    ) -> AuditStore:
        """A new store at `path` holding an export, checked line by line; the root it
        builds must be the root the export names. On any problem nothing is left behind
        (a PostgreSQL target: a schema holding no tables yet)."""
        if is_postgres_url(path):
            return cls._import_pg(source, str(path))
        target = Path(path)
        if target.exists() and (target.is_dir() or target.stat().st_size > 0):
            raise StoreError(f"import: target {target} already exists; expected a new path")
        store = cls(target)
        try:
            with store._sql("import"), store._transaction():
                keeps = import_into(store._conn, store._tree(), source)
                store._conn.execute("UPDATE meta SET keep_inputs = ?", (int(keeps),))
            store.keep_inputs = keeps
        except BaseException:
            store.close()
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{target}{suffix}").unlink(missing_ok=True)
            raise
        return store

    @classmethod
    def _import_pg(cls, source: str | os.PathLike[str] | IO[str], url: str) -> AuditStore:
        """Tables and rows in ONE transaction: a failure leaves the schema as it was."""
        conn = PgConnection(url, lock_key=pg_schema.LOCK_KEY, rewrites=pg_schema.REWRITES)
        try:
            found = pg_schema.tables(conn)
            if found:
                raise StoreError(
                    f"import: target {conn.where} already holds tables {found[:5]};"
                    " expected an empty schema"
                )
            conn.execute("BEGIN IMMEDIATE")
            try:
                pg_schema.create_all(conn, keep_inputs=None)
                keeps = import_into(conn, MerkleLog(node_getter(conn, conn.where), 0), source)
                conn.execute("INSERT INTO store_info VALUES (?, ?)", (FORMAT_VERSION, int(keeps)))
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        except DB_ERRORS as exc:
            raise StoreError(f"import into {conn.where} failed: {exc}") from None
        finally:
            conn.close()
        return cls(url)

    def replay_all(
        self,
        events_for: Callable[[str], Any] | None = None,
        start: datetime | str | None = None,
        end: datetime | str | None = None,
        *,
        loan_id: str | None = None,
    ) -> ReplayReport:
        """Re-decide every stored record in range with its stored rule set, from
        `events_for(loan_id)`, or from the inputs the store kept when it is None."""
        if events_for is None:

            def stored(record: StoredRecord) -> Any:
                events = self.inputs(record)
                if events is None:
                    raise StoreError(
                        f"audit store {self.path}: record {record.seq} has no stored inputs"
                        " (the store does not keep_inputs); pass events_for= (on the command"
                        " line: --events)"
                    )
                return events

            return replay_records(self, stored, start=start, end=end, loan_id=loan_id)
        return replay_records(
            self, lambda r: events_for(r.loan_id), start=start, end=end, loan_id=loan_id
        )


if TYPE_CHECKING:  # mypy proves AuditStore offers the whole DecisionStore interface

    def _conforms(store: AuditStore) -> DecisionStore:
        return store
