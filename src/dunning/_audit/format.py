"""The SQLite audit store's file format, and the checks that read it without trusting it.

Tables (all STRICT: SQLite itself refuses a value of another type)::

    meta          one row: format_version, size, root_hash, keep_inputs (0 or 1)
    rule_sets     sha256 PRIMARY KEY, canonical_json         every rule set a record uses
    records       seq INTEGER PRIMARY KEY, decision_id, loan_id, as_of, rule_set_sha256,
                  decision_json                              leaf seq - 1 of the tree
    tree          (level, idx) PRIMARY KEY, hash             every node appends created
    input_events  (loan_id, n) PRIMARY KEY, sha256, event    a loan's events, zstd, once each
    record_inputs seq PRIMARY KEY, events                    which of them a decision saw

`_check_file` refuses a path before SQLite opens it; `check_schema` an opened database that is
not an audit store this version reads. `file_problems` is what `verify` adds to the log check
for this file: `PRAGMA integrity_check` (the tables and every index entry), the schema exactly
as this version writes it (no extra table, column, index, trigger or view, no index made
partial), `typeof()` of every column of every row, and exactly one meta row.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from .._base.errors import StoreError

FORMAT_VERSION = 2
_SQLITE_HEADER = b"SQLite format 3\x00"

# The schema, statement by statement: sqlite_master keeps each CREATE text verbatim, and
# `schema_problems` compares it to these, so the text is the format.
_TABLES: dict[str, tuple[str, tuple[tuple[str, str, bool], ...]]] = {
    # name: (CREATE statement, ((column, type, nullable), ...))
    "meta": (
        "CREATE TABLE meta (format_version INTEGER NOT NULL, size INTEGER NOT NULL,"
        " root_hash TEXT NOT NULL, keep_inputs INTEGER NOT NULL) STRICT",
        (
            ("format_version", "integer", False),
            ("size", "integer", False),
            ("root_hash", "text", False),
            ("keep_inputs", "integer", False),
        ),
    ),
    "rule_sets": (
        "CREATE TABLE rule_sets (sha256 TEXT PRIMARY KEY, canonical_json TEXT NOT NULL) STRICT",
        (("sha256", "text", False), ("canonical_json", "text", False)),
    ),
    "records": (
        "CREATE TABLE records (seq INTEGER PRIMARY KEY, decision_id TEXT NOT NULL,"
        " loan_id TEXT NOT NULL, as_of TEXT NOT NULL,"
        " rule_set_sha256 TEXT NOT NULL REFERENCES rule_sets(sha256),"
        " decision_json TEXT NOT NULL) STRICT",
        (
            ("seq", "integer", False),
            ("decision_id", "text", False),
            ("loan_id", "text", False),
            ("as_of", "text", False),
            ("rule_set_sha256", "text", False),
            ("decision_json", "text", False),
        ),
    ),
    "tree": (
        "CREATE TABLE tree (level INTEGER NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL,"
        " PRIMARY KEY (level, idx)) STRICT, WITHOUT ROWID",
        (("level", "integer", False), ("idx", "integer", False), ("hash", "blob", False)),
    ),
    "input_events": (
        "CREATE TABLE input_events (loan_id TEXT NOT NULL, n INTEGER NOT NULL,"
        " sha256 TEXT NOT NULL, event BLOB NOT NULL, PRIMARY KEY (loan_id, n))"
        " STRICT, WITHOUT ROWID",
        (
            ("loan_id", "text", False),
            ("n", "integer", False),
            ("sha256", "text", False),
            ("event", "blob", False),
        ),
    ),
    "record_inputs": (
        "CREATE TABLE record_inputs (seq INTEGER PRIMARY KEY REFERENCES records(seq),"
        " events BLOB NOT NULL) STRICT",
        (("seq", "integer", False), ("events", "blob", False)),
    ),
}
_INDEXES = {
    "records_loan": ("records", "CREATE INDEX records_loan ON records (loan_id, as_of)"),
    "records_as_of": ("records", "CREATE INDEX records_as_of ON records (as_of)"),
    "records_decision": ("records", "CREATE INDEX records_decision ON records (decision_id)"),
    "input_events_sha": (
        "input_events",
        "CREATE UNIQUE INDEX input_events_sha ON input_events (loan_id, sha256)",
    ),
}
SCHEMA = (*(t[0] for t in _TABLES.values()), *(i[1] for i in _INDEXES.values()))
RECORD_COLS = "seq, decision_id, loan_id, as_of, rule_set_sha256, decision_json"


def _reference() -> tuple[frozenset[tuple[str, str, str, str | None]], dict[str, list[Any]]]:
    """sqlite_master and every table's columns as this SQLite writes them for `SCHEMA`."""
    conn = sqlite3.connect(":memory:")
    for statement in SCHEMA:
        conn.execute(statement)
    master = frozenset(
        (str(t), str(n), str(tb), None if s is None else str(s))
        for t, n, tb, s in conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master")
    )
    columns = {name: _columns(conn, name) for name in _TABLES}
    conn.close()
    return master, columns


def _columns(conn: sqlite3.Connection, table: str) -> list[Any]:
    return [tuple(r) for r in conn.execute(f"PRAGMA table_xinfo({table})")]


EXPECTED_MASTER, EXPECTED_COLUMNS = _reference()


def check_schema(conn: sqlite3.Connection, path: Path, tables: list[str]) -> None:
    """Refuse a database that is not an audit store, or one in another format version."""
    if "meta" not in tables:
        raise StoreError(
            f"{path} is a SQLite database but not a dunning audit store"
            f" (expected a 'meta' table, found tables {tables[:10]})"
        )
    try:
        row = conn.execute("SELECT format_version FROM meta").fetchone()
    except sqlite3.Error:
        row = None
    version = None if row is None else row[0]
    if not isinstance(version, int) or version < 1:
        raise StoreError(
            f"audit store {path}: expected a format_version in its meta table, found {version!r}"
        )
    if version > FORMAT_VERSION:
        raise StoreError(
            f"audit store {path} was written in format version {version}; this"
            f" dunning supports format version {FORMAT_VERSION}; upgrade dunning to read it"
        )
    if version < FORMAT_VERSION:
        raise StoreError(
            f"audit store {path} is in format version {version} (a hash chain); this dunning"
            f" writes version {FORMAT_VERSION} (a Merkle tree): export it with the dunning"
            " that wrote it and import the export (AuditStore.import_jsonl reads version 1)"
        )


def schema_problems(conn: sqlite3.Connection) -> list[str]:
    """Every difference between the file's schema and the one this version writes."""
    found = {
        (str(t), str(n), str(tb), None if s is None else str(s))
        for t, n, tb, s in conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master")
    }
    problems = []
    for kind, name, _table, sql in sorted(found - EXPECTED_MASTER, key=str):
        known = any(e[1] == name for e in EXPECTED_MASTER)
        what = "altered" if known else "unexpected"
        problems.append(f"schema: {what} {kind} {name!r}: {_short(sql)}")
    for kind, name, _table, _sql in sorted(EXPECTED_MASTER - found, key=str):
        if not any(f[1] == name for f in found):
            problems.append(f"schema: {kind} {name!r} is missing")
    for name in _TABLES:
        if not any(f[1] == name for f in found):
            continue
        info = _columns(conn, name)
        if info != EXPECTED_COLUMNS[name]:
            cols_found = [str(r[1]) for r in info]
            problems.append(f"schema: table {name!r} has columns {cols_found}, or other types")
    for name, (_table, _sql) in _INDEXES.items():
        rows = conn.execute(
            "SELECT partial FROM pragma_index_list(?) WHERE name = ?", (_table, name)
        )
        row = rows.fetchone()
        if row is not None and row[0]:
            problems.append(f"schema: index {name!r} is partial (it would hide rows)")
    return problems


def file_problems(conn: sqlite3.Connection) -> list[str]:
    """Integrity, schema, types and the meta row (the caller holds a read transaction)."""
    problems = [
        f"integrity_check: {str(r[0])[:200]}"
        for r in conn.execute("PRAGMA integrity_check(50)")
        if r[0] != "ok"
    ]
    schema = schema_problems(conn)
    problems += schema
    if schema:
        return problems  # the typeof queries below assume the expected columns
    for name, (_sql, cols) in _TABLES.items():
        wrong = " OR ".join(
            f"typeof({c}) NOT IN ('{t}'{_NULL if null else ''})" for c, t, null in cols
        )
        key = "rowid" if "WITHOUT ROWID" not in _sql else ", ".join(c for c, _t, _n in cols[:2])
        rows = conn.execute(f"SELECT {key} FROM {name} WHERE {wrong} LIMIT 5").fetchall()
        for r in rows:
            problems.append(f"table {name} row {tuple(r)}: a column holds a value of another type")
    for table, rowid, parent, _fk in conn.execute("PRAGMA foreign_key_check"):
        problems.append(f"table {table} row {rowid}: refers to no row of {parent}")
    (count,) = conn.execute("SELECT count(*) FROM meta").fetchone()
    if count != 1:
        problems.append(f"table meta: expected exactly one row, found {count}")
    return problems


_NULL = ", 'null'"


def _short(text: str | None) -> str:
    return "(no SQL)" if text is None else text if len(text) <= 80 else text[:77] + "..."


def _check_file(path: Path) -> None:
    """Refuse, without touching it, a path that cannot be an audit store."""
    if path.is_dir():
        raise StoreError(f"audit store {path}: expected a file, found a directory")
    if not path.parent.is_dir():
        raise StoreError(f"audit store {path}: directory {path.parent} does not exist")
    if not path.exists() or path.stat().st_size == 0:
        return
    try:
        with path.open("rb") as f:
            head = f.read(len(_SQLITE_HEADER))
    except OSError as exc:
        raise StoreError(f"audit store {path}: cannot read: {exc}") from None
    if head != _SQLITE_HEADER:
        raise StoreError(
            f"{path} is not a dunning audit store: expected a SQLite database, found a file"
            f" starting with {head[:16]!r}"
        )
