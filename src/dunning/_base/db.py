"""Where a store lives: a SQLite file (a path) or a PostgreSQL database (a ``postgresql://`` URL).

Theory of operation
-------------------

The stores (audit trail, snapshots and batch progress) are written once, against the
interface of a stdlib ``sqlite3`` connection in autocommit mode (``isolation_level=None``)
with explicit ``BEGIN``/``COMMIT``/``ROLLBACK``. `PgConnection` offers that same interface
over a psycopg 3 connection, so the proof logic, the chain and the batch loop are one code
for both servers; what differs (DDL, catalog queries, locks) is kept in each store's dialect
module. The translation is a table:

===========================  =============================================================
the store says               PostgreSQL runs
===========================  =============================================================
``?`` placeholder            ``%s`` (literal ``%`` doubled); ``:name`` becomes ``%(name)s``
``BEGIN IMMEDIATE``          ``BEGIN``, then ``pg_advisory_xact_lock(lock_key)`` when the
                             store has a write lock (the audit store: one appender at a
                             time, in any process on any host, held until COMMIT)
``BEGIN DEFERRED``           ``BEGIN ISOLATION LEVEL REPEATABLE READ``: one snapshot for a
                             whole verify or export, as SQLite's read transaction gives
``BEGIN``/``COMMIT``/...     the same
a statement in `rewrites`    its PostgreSQL form (a store's own table of them: the audit
                             store's head is an INSERT there, see `_audit.pg_schema`)
===========================  =============================================================

A service that opens a store per request passes a `psycopg_pool.ConnectionPool` instead of
the URL: the store borrows one of the pool's connections while it is open and gives it back
on close (`is_postgres` says whether a target is either).

Errors from the server are raised as `PgError` (a `StoreError` naming the URL, password
removed); `DB_ERRORS` catches them and sqlite3's. psycopg is
an optional extra (``pip install 'dunning[postgres]'``), imported only when a URL is opened.
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import lru_cache
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

from .errors import InputError, StoreError

__all__ = [
    "DB_ERRORS",
    "Conn",
    "Cursor",
    "PgConnection",
    "PgError",
    "is_pool",
    "is_postgres",
    "is_postgres_url",
    "redact_url",
]

_SCHEMES = ("postgresql://", "postgres://")
INSTALL_HINT = "pip install 'dunning[postgres]' (psycopg 3 and psycopg_pool)"


class PgError(StoreError):
    """A PostgreSQL server error, naming the store's server (the URL without its password);
    `sqlstate` is the server's error code. A StoreError, so callers see a DunningError."""

    def __init__(self, message: str, *, sqlstate: str | None = None) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


DB_ERRORS: tuple[type[Exception], ...] = (sqlite3.Error, PgError)


class Cursor(Protocol):
    """The part of a sqlite3 cursor the stores use."""

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...

    def close(self) -> None: ...


class Conn(Protocol):
    """The part of a sqlite3 connection the stores use (`PgConnection` offers the same)."""

    def execute(self, sql: str, parameters: Any = ..., /) -> Cursor: ...

    def executemany(self, sql: str, parameters: Iterable[Any], /) -> Cursor: ...

    def close(self) -> None: ...


def is_postgres_url(target: object) -> bool:
    """True for a ``postgresql://`` (or ``postgres://``) URL; a path means SQLite."""
    return isinstance(target, str) and target.startswith(_SCHEMES)


def is_pool(target: object) -> bool:
    """True for a connection pool (psycopg_pool's ConnectionPool: getconn, putconn, conninfo)."""
    return all(hasattr(target, a) for a in ("getconn", "putconn", "conninfo"))


def is_postgres(target: object) -> bool:
    """A ``postgresql://`` URL or a connection pool: a store on a PostgreSQL server."""
    return is_postgres_url(target) or is_pool(target)


def redact_url(url: str) -> str:
    """The URL (or key=value conninfo) without its password, for messages and reprs."""
    if not is_postgres_url(url):
        return re.sub(r"(password\s*=\s*)('[^']*'|\S+)", r"\1***", url)
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host += f":{parts.port}"
    netloc = f"{parts.username}:***@{host}" if parts.username else host
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


_TOKEN = re.compile(r"'(?:[^']|'')*'|\$\$.*?\$\$|::|\?|:[A-Za-z_]\w*|%", re.S)


@lru_cache(maxsize=512)
def to_pyformat(sql: str) -> str:
    """qmark / named placeholders as psycopg's ``%s`` / ``%(name)s`` (quoted text untouched)."""

    def sub(m: re.Match[str]) -> str:
        tok = m.group(0)
        if tok == "?":
            return "%s"
        if tok == "%":
            return "%%"
        if tok.startswith(":") and tok != "::":
            return f"%({tok[1:]})s"
        return tok

    return _TOKEN.sub(sub, sql)


class _Rows:
    """A fetched result, iterable like a sqlite3 cursor."""

    def __init__(self, rows: list[Any]) -> None:
        self._rows = rows
        self._pos = 0

    def fetchone(self) -> Any:
        if self._pos >= len(self._rows):
            return None
        self._pos += 1
        return self._rows[self._pos - 1]

    def fetchall(self) -> list[Any]:
        rest, self._pos = self._rows[self._pos :], len(self._rows)
        return rest

    def __iter__(self) -> Iterator[Any]:
        while (row := self.fetchone()) is not None:
            yield row

    def close(self) -> None:
        self._rows = []


class PgConnection:
    """A psycopg 3 connection with the sqlite3 interface the stores use (see module doc).

    `lock_key` is the advisory lock ``BEGIN IMMEDIATE`` takes (None: a plain ``BEGIN``).
    `where` names the store in messages (the URL without its password).
    """

    kind = "postgresql"

    def __init__(
        self,
        url: Any,
        *,
        lock_key: int | None = None,
        rewrites: Mapping[str, str] | None = None,
        connect_timeout: int = 30,
    ):
        self._pool: Any = url if is_pool(url) else None
        self.where = redact_url(str(url.conninfo) if self._pool is not None else url)
        self.lock_key = lock_key
        self.rewrites = dict(rewrites or {})
        try:
            import psycopg
        except ImportError:
            raise InputError(
                f"store {self.where}: a PostgreSQL URL needs psycopg: {INSTALL_HINT}"
            ) from None
        self._psycopg = psycopg
        if self._pool is not None:
            try:
                self._conn = self._pool.getconn()
                if self._conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                    self._conn.rollback()
                self._conn.autocommit = True  # the stores issue BEGIN/COMMIT themselves
            except psycopg.Error as exc:
                raise self._error(exc) from None
            except Exception as exc:  # the pool's own errors (PoolTimeout, PoolClosed)
                raise PgError(f"{self.where}: no connection from the pool: {exc}") from None
            return
        try:
            self._conn = psycopg.connect(
                url,
                autocommit=True,
                connect_timeout=connect_timeout,
                application_name=os.environ.get("DUNNING_APPLICATION_NAME", "dunning"),
            )
        except psycopg.Error as exc:
            raise self._error(exc) from None

    def _error(self, exc: Exception) -> PgError:
        sqlstate = getattr(exc, "sqlstate", None)
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return PgError(f"{self.where}: {text}", sqlstate=sqlstate)

    def _statements(self, sql: str) -> list[str]:
        head = sql.strip().upper()
        if head == "BEGIN IMMEDIATE":
            if self.lock_key is None:
                return ["BEGIN"]
            return ["BEGIN", f"SELECT pg_advisory_xact_lock({int(self.lock_key)})"]
        if head == "BEGIN DEFERRED":
            return ["BEGIN ISOLATION LEVEL REPEATABLE READ"]
        return [self.rewrites.get(sql, sql)]

    def execute(self, sql: str, parameters: Any = (), /) -> _Rows:
        try:
            statements = self._statements(sql)
            cur = None
            for statement in statements:
                if parameters:
                    cur = self._conn.execute(to_pyformat(statement), parameters)
                else:
                    cur = self._conn.execute(statement)
            assert cur is not None
            rows = cur.fetchall() if cur.description is not None else []
            return _Rows(rows)
        except self._psycopg.Error as exc:
            raise self._error(exc) from None

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> _Rows:
        rows = list(parameters)
        if not rows:
            return _Rows([])
        try:
            with self._conn.cursor() as cur:
                cur.executemany(to_pyformat(self.rewrites.get(sql, sql)), rows)
        except self._psycopg.Error as exc:
            raise self._error(exc) from None
        return _Rows([])

    def executescript(self, script: Iterable[str]) -> None:
        """Run DDL statements one by one (no parameters)."""
        for statement in script:
            self.execute(statement)

    def in_transaction(self) -> bool:
        status = self._conn.info.transaction_status
        return bool(status != self._psycopg.pq.TransactionStatus.IDLE)

    def close(self) -> None:
        """Close the connection, or give it back to its pool (rolled back if mid-transaction)."""
        if self._pool is None:
            self._conn.close()
            return
        if not self._conn.closed and self.in_transaction():
            self._conn.rollback()
        self._pool.putconn(self._conn)

    @property
    def closed(self) -> bool:
        return bool(self._conn.closed)
