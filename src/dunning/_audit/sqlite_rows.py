"""The SQL of the SQLite audit store: writing a record with its nodes and inputs, reading
rows back checked, and the walk `verify` makes. The proof logic is in `log` and `check`;
this module only moves rows (a PostgreSQL store has its own version of it)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from .._base.db import Conn
from .._base.errors import InputError, StoreError
from .borrower import read_decision
from .check import LogCheck, RawRecord
from .format import RECORD_COLS
from .inputs import compress, decompress, digest_of_wires, numbers_blob, numbers_of, wire
from .log import MerkleLog, StoredRecord, VerifyReport, as_of_key, leaf_hash_of
from .registry import rule_set_digest

__all__ = ["Writer", "checked_record", "frontier_getter", "inputs_of", "node_getter", "walk"]


def node_getter(conn: Conn, where: str) -> Any:
    def node_at(level: int, index: int) -> bytes:
        row = conn.execute(
            "SELECT hash FROM tree WHERE level = ? AND idx = ?", (level, index)
        ).fetchone()
        if row is None or not isinstance(row[0], bytes) or len(row[0]) != 32:
            raise StoreError(
                f"{where}: tree node ({level}, {index}) is missing or damaged; run verify()"
            )
        return bytes(row[0])

    return node_at


def frontier_getter(conn: Conn, where: str, size: int) -> Any:
    """`node_getter`, with the frontier of a tree of `size` records (the nodes MerkleLog reads
    on opening: one per set bit of size) fetched in one query instead of one each; an
    appender that finds the tree grown by another writer pays one round trip, not log n."""
    plain = node_getter(conn, where)
    levels = [level for level in range(size.bit_length()) if size >> level & 1]
    cache: dict[tuple[int, int], bytes] = {}
    if levels:
        clause = " OR ".join("(level = ? AND idx = ?)" for _ in levels)
        args = [v for level in levels for v in (level, (size >> level) - 1)]
        for level, idx, digest in conn.execute(
            f"SELECT level, idx, hash FROM tree WHERE {clause}", args
        ):
            if isinstance(digest, bytes) and len(digest) == 32:
                cache[int(level), int(idx)] = bytes(digest)

    def node_at(level: int, index: int) -> bytes:
        hit = cache.get((level, index))
        return hit if hit is not None else bytes(plain(level, index))

    return node_at


class Writer:
    """Adds records to an open transaction: the record, its tree nodes, its inputs."""

    def __init__(self, conn: Conn, log: MerkleLog) -> None:
        self.conn = conn
        self.log = log
        self.loan_events: dict[str, dict[str, int]] = {}

    def record(self, decision: Any, decision_json: str, events: Sequence[Any] | None) -> int:
        """Insert one record (a Decision, or a BorrowerDecision keyed by its `loan_id`)."""
        seq = self.log.size + 1
        self.conn.execute(
            f"INSERT INTO records ({RECORD_COLS}) VALUES (?, ?, ?, ?, ?, ?)",
            (
                seq,
                decision.id,
                decision.loan_id,
                as_of_key(decision.as_of),
                decision.rule_set.sha256,
                decision_json,
            ),
        )
        nodes = self.log.append(decision_json)
        self.conn.executemany(
            "INSERT INTO tree (level, idx, hash) VALUES (?, ?, ?)", [tuple(n) for n in nodes]
        )
        if events is not None:
            self.inputs(seq, decision.loan_id, [wire(e) for e in events])
        return seq

    def inputs(self, seq: int, loan_id: str, wires: Sequence[bytes]) -> None:
        numbers = []
        for raw in wires:
            sha = hashlib.sha256(raw).hexdigest()
            row = self.conn.execute(
                "SELECT n FROM input_events WHERE loan_id = ? AND sha256 = ?", (loan_id, sha)
            ).fetchone()
            if row is None:
                (n,) = self.conn.execute(
                    "SELECT coalesce(max(n), -1) + 1 FROM input_events WHERE loan_id = ?",
                    (loan_id,),
                ).fetchone()
                self.conn.execute(
                    "INSERT INTO input_events (loan_id, n, sha256, event) VALUES (?, ?, ?, ?)",
                    (loan_id, n, sha, compress(raw)),
                )
            else:
                n = row[0]
            numbers.append(int(n))
        self.conn.execute(
            "INSERT INTO record_inputs (seq, events) VALUES (?, ?)", (seq, numbers_blob(numbers))
        )


def checked_record(row: Sequence[Any], where: str) -> StoredRecord:
    """A record row (RECORD_COLS + its stored leaf hash) after checking it against its
    hashed JSON: a query never returns a record that is not what the tree says."""
    *cols, leaf = row
    seq = cols[0]
    if not all(isinstance(c, str) for c in cols[1:]) or not isinstance(leaf, bytes):
        raise StoreError(
            f"{where}: record {seq} was altered (a column holds another type); run verify()"
        )
    record = StoredRecord(*cols)
    if leaf_hash_of(record.decision_json) != leaf:
        raise StoreError(
            f"{where}: record {seq} was altered: its decision no longer matches its leaf hash"
            " in the tree; run verify()"
        )
    try:
        decision = read_decision(record.decision_json)
    except InputError:
        raise StoreError(f"{where}: record {seq} does not read back; run verify()") from None
    said = (decision.id, decision.loan_id, as_of_key(decision.as_of), decision.rule_set.sha256)
    if said != (record.decision_id, record.loan_id, record.as_of, record.rule_set_sha256):
        raise StoreError(
            f"{where}: record {seq} was altered: its indexed columns differ from its decision;"
            " run verify()"
        )
    return record


def inputs_of(conn: Conn, record: StoredRecord, where: str) -> list[bytes] | None:
    """The wire JSON of the events a stored record's decision saw, checked against its
    input_digest; None when the store kept no inputs for it."""
    row = conn.execute("SELECT events FROM record_inputs WHERE seq = ?", (record.seq,)).fetchone()
    if row is None:
        return None
    here = f"{where}: inputs of record {record.seq}"
    wires = []
    for n in numbers_of(row[0], where=here):
        ev = conn.execute(
            "SELECT sha256, event FROM input_events WHERE loan_id = ? AND n = ?",
            (record.loan_id, n),
        ).fetchone()
        if ev is None:
            raise StoreError(f"{here}: input event {n} of loan {record.loan_id!r} is missing")
        raw = decompress(ev[1], where=here)
        if hashlib.sha256(raw).hexdigest() != ev[0]:
            raise StoreError(f"{here}: input event {n} no longer matches its sha256")
        wires.append(raw)
    decision = record.decision
    if digest_of_wires(wires, decision.as_of) != decision.input_digest:
        raise StoreError(
            f"{here}: the stored events no longer give the decision's input_digest"
            f" {decision.input_digest[:12]} (an event was altered, removed or swapped)"
        )
    return wires


def walk(conn: Conn, check: LogCheck, where: str) -> VerifyReport:
    """Feed every row of the file to `check` (the caller holds a read transaction)."""
    nodes = conn.execute("SELECT level, idx, hash FROM tree ORDER BY ((idx + 1) << level), level")
    check.nodes = (tuple(r) for r in nodes)
    for row in conn.execute(f"SELECT {RECORD_COLS} FROM records ORDER BY seq"):
        check.feed(RawRecord(*row))
    meta = conn.execute("SELECT size, root_hash FROM meta").fetchone() or (None, None)
    _inputs(conn, check, where)
    return check.finish(meta[0], meta[1])


def rule_set_rows(conn: Conn) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for sha, text in conn.execute("SELECT sha256, canonical_json FROM rule_sets"):
        key = str(sha)
        if not isinstance(text, str) or rule_set_digest(text) != key:
            out[key] = f"rule set {key} was altered: its canonical JSON no longer hashes to its key"
        else:
            out[key] = None
    return out


def _inputs(conn: Conn, check: LogCheck, where: str) -> None:
    (keeps,) = conn.execute("SELECT keep_inputs FROM meta").fetchone() or (0,)
    if keeps not in (0, 1):
        check.problem(f"table meta: keep_inputs is {keeps!r}, expected 0 or 1")
    missing = conn.execute(
        "SELECT min(seq), count(*) FROM records WHERE seq NOT IN (SELECT seq FROM record_inputs)"
    ).fetchone()
    if keeps == 1 and missing[1]:
        check.problem(
            f"record {missing[0]}: the store keeps inputs but this record's are missing"
            f" ({missing[1]} record(s) without inputs)",
            int(missing[0]),
        )
    if keeps == 0 and conn.execute("SELECT count(*) FROM record_inputs").fetchone()[0]:
        check.problem("table meta: keep_inputs is 0, but records carry inputs")
    used: set[tuple[str, int]] = set()
    rows = conn.execute(
        f"SELECT {', '.join('r.' + c for c in RECORD_COLS.split(', '))}, t.hash"
        " FROM record_inputs i JOIN records r ON r.seq = i.seq"
        " LEFT JOIN tree t ON t.level = 0 AND t.idx = r.seq - 1 ORDER BY i.seq"
    )
    for row in rows:
        try:
            record = checked_record(row, where)
            inputs_of(conn, record, where)
            blob = conn.execute(
                "SELECT events FROM record_inputs WHERE seq = ?", (record.seq,)
            ).fetchone()[0]
            used.update((record.loan_id, n) for n in numbers_of(blob, where=where))
        except StoreError as exc:
            check.problem(str(exc).removeprefix(f"{where}: "), int(row[0]))
    orphans = conn.execute(
        "SELECT count(*) FROM record_inputs WHERE seq NOT IN (SELECT seq FROM records)"
    ).fetchone()[0]
    if orphans:
        check.problem(f"table record_inputs: {orphans} row(s) belong to no record")
    for loan_id, n in conn.execute("SELECT loan_id, n FROM input_events"):
        if (loan_id, n) not in used:
            check.problem(f"input event {n} of loan {loan_id!r} is used by no record (extra row)")
            break
