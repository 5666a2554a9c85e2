"""The audit store's file format, and the checks that read it without trusting it (`store`).

Tables::

    meta      (format_version, created, head_seq, head_hash)   one row
    rule_sets (sha256 PRIMARY KEY, canonical_json)             every rule set a record used
    records   (seq INTEGER PRIMARY KEY, decision_id, loan_id, as_of, decision_json,
               rule_set_sha256, prev_hash, hash)

`_check_file` refuses a path before SQLite opens it, `check_schema` an opened database that is
not an audit store this version can read, and `verify_chain` walks every record as raw bytes
(CAST AS BLOB, so an altered type or encoding is a finding, not a crash) through
`chain.ChainCheck`. Errors are `StoreError` naming the path.
"""

from __future__ import annotations

from pathlib import Path

from .._base.db import Conn
from .._base.errors import StoreError
from . import pg_schema
from .chain import ChainCheck, RawRow, VerifyReport
from .registry import rule_set_digest

FORMAT_VERSION = 1
_SQLITE_HEADER = b"SQLite format 3\x00"
_SCHEMA = (
    "CREATE TABLE meta (format_version INTEGER NOT NULL, created TEXT,"
    " head_seq INTEGER NOT NULL, head_hash TEXT NOT NULL)",
    "CREATE TABLE rule_sets (sha256 TEXT PRIMARY KEY, canonical_json TEXT NOT NULL)",
    "CREATE TABLE records (seq INTEGER PRIMARY KEY, decision_id TEXT NOT NULL,"
    " loan_id TEXT NOT NULL, as_of TEXT NOT NULL, decision_json TEXT NOT NULL,"
    " rule_set_sha256 TEXT NOT NULL REFERENCES rule_sets(sha256),"
    " prev_hash TEXT NOT NULL, hash TEXT NOT NULL)",
    "CREATE INDEX records_loan ON records (loan_id, as_of)",
    "CREATE INDEX records_as_of ON records (as_of)",
)
_RECORD_COLS = "seq, decision_id, loan_id, as_of, rule_set_sha256, prev_hash, hash, decision_json"


def check_schema(conn: Conn, path: Path | str, tables: list[str], *, pg: bool = False) -> None:
    """Refuse a database that is not an audit store, or one in a newer format version."""
    if "meta" not in tables:
        kind = "PostgreSQL" if pg else "SQLite"
        raise StoreError(
            f"{path} is a {kind} database but not a dunning audit store"
            f" (expected a 'meta' table, found tables {tables})"
        )
    row = conn.execute("SELECT format_version FROM meta").fetchone()
    version = None if row is None else row[0]
    if not isinstance(version, int) or version < 1:
        raise StoreError(
            f"audit store {path}: expected a format_version in its meta table, found {version!r}"
        )
    if version > FORMAT_VERSION:
        raise StoreError(
            f"audit store {path} was written in format version {version}; this"
            f" dunning supports format version {FORMAT_VERSION} and earlier;"
            " upgrade dunning to read it"
        )
    missing = sorted({"records", "rule_sets"} - set(tables))
    if missing:
        raise StoreError(f"audit store {path}: tables {missing} are missing")


def verify_chain(conn: Conn, *, pg: bool = False) -> VerifyReport:
    """Walk the whole chain (the caller holds a read transaction); see `chain`."""
    rule_sets: dict[str, str | None] = {}
    raw_rule_sets = (
        pg_schema.RAW_RULE_SETS_SQL
        if pg
        else "SELECT CAST(sha256 AS BLOB), CAST(canonical_json AS BLOB) FROM rule_sets"
    )
    for sha, text in conn.execute(raw_rule_sets):
        rule_sets[sha.decode("utf-8", "replace")] = _rule_set_problem(sha, text)
    check = ChainCheck(rule_sets)
    blob = ", ".join(f"CAST({c} AS BLOB)" for c in _RECORD_COLS.split(", ")[1:])
    raw_records = (
        pg_schema.RAW_RECORDS_SQL if pg else f"SELECT seq, {blob} FROM records ORDER BY seq"
    )
    cursor = conn.execute(raw_records)
    for row in cursor:
        if not check.feed(RawRow(*row)):
            break
    cursor.close()
    head_seq, head_hash = conn.execute("SELECT head_seq, head_hash FROM meta").fetchone()
    return check.finish(int(head_seq), str(head_hash))


def _rule_set_problem(sha: bytes, text: bytes) -> str | None:
    try:
        key, body = sha.decode("utf-8"), text.decode("utf-8")
    except UnicodeDecodeError:
        return f"rule set {sha!r} was altered: it is not UTF-8 text"
    if rule_set_digest(body) != key:
        return f"rule set {key} was altered: its canonical JSON no longer hashes to its key"
    return None


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
