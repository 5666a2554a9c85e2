"""Raw SQL on a store's database, behind the store's back: the tests' tamperer and inspector.

`tamper` acts as the table owner who bypasses the guards: on PostgreSQL it disables the
append-only triggers (``ALTER TABLE ... DISABLE TRIGGER USER``, which an owner may do) and,
as the tests' server runs us as a superuser, the foreign-key checks too
(``session_replication_role = replica``) for one transaction; SQLite has no guards.
`query` reads. Statements are written for SQLite (``?`` placeholders, ``x'..'`` blobs, the
one-row ``meta`` table) and `pg_form` says the same to PostgreSQL, whose ``meta`` is a view
over ``store_info`` and ``heads`` (see dunning._audit.pg_schema).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg

from dunning._audit import pg_schema

GUARDED = pg_schema.GUARDED_TABLES

_META = [
    # the store's own head update, as a tamperer who also cuts the head history would do it
    (r"^UPDATE meta SET size = \?, root_hash = \?$", "HEAD"),
    (r"^UPDATE meta SET (format_version|keep_inputs)", r"UPDATE store_info SET \1"),
    (
        r"^UPDATE meta SET size = (\d+)$",
        r"UPDATE heads SET size = \1 WHERE size = (SELECT max(size) FROM heads)",
    ),
    (
        r"^UPDATE meta SET root_hash = (.*)$",
        r"UPDATE heads SET root_hash = \1 WHERE size = (SELECT max(size) FROM heads)",
    ),
    (
        r"^INSERT INTO meta VALUES \((\d+), \d+, '[^']*', (\d+)\)$",
        r"INSERT INTO store_info VALUES (\1, \2)",
    ),
]


def is_pg(target: str | Path) -> bool:
    return str(target).startswith("postgresql://")


def pg_form(statement: str) -> str:
    """A SQLite statement of the tests in PostgreSQL's words."""
    for pattern, repl in _META:
        if re.match(pattern, statement):
            statement = re.sub(pattern, repl, statement)
            break
    statement = statement.replace("zeroblob(32)", "decode(repeat('00', 32), 'hex')")
    statement = re.sub(r"x'([0-9a-fA-F]*)'", r"decode('\1', 'hex')", statement)
    return statement.replace("%", "%%").replace("?", "%s")


class PgTamperer:
    """A sqlite3-like connection for the tamper helpers (execute / executemany / fetch)."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn

    def execute(self, statement: str, args: Any = ()) -> Any:
        form = pg_form(statement)
        if form == "HEAD":
            size, root = args
            self.conn.execute("DELETE FROM heads WHERE size >= %s", (size,))
            return self.conn.execute("INSERT INTO heads VALUES (%s, %s)", (size, root))
        return self.conn.execute(form, tuple(args) or None)  # type: ignore[arg-type]

    def executemany(self, statement: str, rows: Any) -> None:
        with self.conn.cursor() as cur:
            cur.executemany(pg_form(statement), list(rows))  # type: ignore[arg-type]


@contextmanager
def owner(target: str | Path) -> Iterator[Any]:
    """A connection as the table owner, guards bypassed, committed on leaving."""
    if not is_pg(target):
        conn = sqlite3.connect(target)
        try:
            yield conn
            conn.commit()
        finally:
            conn.close()
        return
    with psycopg.connect(str(target)) as pg:  # one transaction: commit on leaving
        pg.execute("SET LOCAL session_replication_role = replica")
        tables = [t for t in (*GUARDED, "rule_set_registry") if _exists(pg, t)]
        for t in tables:
            pg.execute(f"ALTER TABLE {t} DISABLE TRIGGER USER")  # type: ignore[arg-type]
        yield PgTamperer(pg)
        for t in tables:
            pg.execute(f"ALTER TABLE {t} ENABLE TRIGGER USER")  # type: ignore[arg-type]


def tamper(target: str | Path, statement: str, *args: object) -> None:
    """Run one statement as the owner, guards bypassed, and commit it."""
    with owner(target) as conn:
        conn.execute(statement, args)


def edit(target: str | Path, change: Callable[[Any], None]) -> None:
    """Run `change(conn)` as the owner, guards bypassed, and commit it."""
    with owner(target) as conn:
        change(conn)


def execute(target: str | Path, statement: str, *args: object) -> None:
    """Run one statement as the store's owner would, guards in place."""
    if not is_pg(target):
        tamper(target, statement, *args)
        return
    with psycopg.connect(str(target)) as pg:
        pg.execute(pg_form(statement), args or None)  # type: ignore[arg-type]


def query(target: str | Path, statement: str, *args: object) -> list[tuple[Any, ...]]:
    if not is_pg(target):
        conn = sqlite3.connect(target)
        rows = conn.execute(statement, args).fetchall()
        conn.close()
        return rows
    with psycopg.connect(str(target)) as pg:
        return pg.execute(pg_form(statement), args or None).fetchall()  # type: ignore[arg-type]


def _exists(pg: psycopg.Connection[Any], table: str) -> bool:
    return pg.execute("SELECT to_regclass(%s) IS NOT NULL", (table,)).fetchone() == (True,)
