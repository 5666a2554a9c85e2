"""Raw SQL on a store's database, behind the store's back: the tests' tamperer and inspector.

`tamper` acts as the table owner who bypasses the guards: on PostgreSQL it disables the
append-only triggers (``ALTER TABLE ... DISABLE TRIGGER USER``, which an owner may do) and,
as the tests' server runs us as a superuser, the foreign-key checks too
(``session_replication_role = replica``) for one transaction; SQLite has no guards.
`query` reads. Statements use ``?`` placeholders on both.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import psycopg

GUARDED = ("meta", "records", "rule_sets")


def is_pg(target: str | Path) -> bool:
    return str(target).startswith("postgresql://")


def _pg(statement: str) -> str:
    return statement.replace("?", "%s")


def tamper(target: str | Path, statement: str, *args: object) -> None:
    """Run one statement as the owner, guards bypassed, and commit it."""
    if not is_pg(target):
        conn = sqlite3.connect(target)
        conn.execute(statement, args)
        conn.commit()
        conn.close()
        return
    with psycopg.connect(str(target)) as pg:  # one transaction: commit on leaving
        pg.execute("SET LOCAL session_replication_role = replica")
        tables = [t for t in GUARDED if _exists(pg, t)]
        for t in tables:
            pg.execute(f"ALTER TABLE {t} DISABLE TRIGGER USER")  # type: ignore[arg-type]
        pg.execute(_pg(statement), args or None)  # type: ignore[arg-type]
        for t in tables:
            pg.execute(f"ALTER TABLE {t} ENABLE TRIGGER USER")  # type: ignore[arg-type]


def execute(target: str | Path, statement: str, *args: object) -> None:
    """Run one statement as the store's owner would, guards in place."""
    if not is_pg(target):
        tamper(target, statement, *args)
        return
    with psycopg.connect(str(target)) as pg:
        pg.execute(_pg(statement), args or None)  # type: ignore[arg-type]


def query(target: str | Path, statement: str, *args: object) -> list[tuple[Any, ...]]:
    if not is_pg(target):
        conn = sqlite3.connect(target)
        rows = conn.execute(statement, args).fetchall()
        conn.close()
        return rows
    with psycopg.connect(str(target)) as pg:
        return pg.execute(_pg(statement), args or None).fetchall()  # type: ignore[arg-type]


def _exists(pg: psycopg.Connection[Any], table: str) -> bool:
    return pg.execute("SELECT to_regclass(%s) IS NOT NULL", (table,)).fetchone() == (True,)
