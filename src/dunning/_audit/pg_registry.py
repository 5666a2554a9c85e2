"""The rule-set registry in a PostgreSQL schema: `open_registry` picks it for a URL.

One table, ``rule_set_registry (sha256, canonical_json)``, append-only like the audit log
(a trigger refuses UPDATE, DELETE and TRUNCATE; the appender role may SELECT and INSERT), so
services on several hosts share one registry that the DBAs back up with the audit store. The
digest is checked both ways, as in the other registries: `put` refuses text that does not hash
to its claimed sha256, `get` refuses stored text that no longer hashes to its key.
"""

from __future__ import annotations

import os
import threading

from .._base.db import DB_ERRORS, PgConnection, is_postgres_url
from .._base.errors import StoreError
from .pg_schema import ROLE, role_exists
from .registry import (
    DirectoryRegistry,
    RuleSetLike,
    RuleSetRegistry,
    _as_text,
    check_digest,
    check_sha256,
)

__all__ = ["PgRegistry", "open_registry"]

_LOCK = 0x64756E6E696E6703
_DDL = (
    'CREATE TABLE IF NOT EXISTS rule_set_registry (sha256 text COLLATE "C" PRIMARY KEY,'
    " canonical_json text NOT NULL)",
    "CREATE OR REPLACE FUNCTION dunning_registry_append_only() RETURNS trigger"
    " LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'dunning rule-set registry: % refused:"
    " the registry is append-only', TG_OP USING ERRCODE = 'insufficient_privilege'; END $$",
    "DROP TRIGGER IF EXISTS rule_set_registry_append_only ON rule_set_registry",
    "CREATE TRIGGER rule_set_registry_append_only BEFORE UPDATE OR DELETE ON rule_set_registry"
    " FOR EACH ROW EXECUTE FUNCTION dunning_registry_append_only()",
    "DROP TRIGGER IF EXISTS rule_set_registry_no_truncate ON rule_set_registry",
    "CREATE TRIGGER rule_set_registry_no_truncate BEFORE TRUNCATE ON rule_set_registry"
    " FOR EACH STATEMENT EXECUTE FUNCTION dunning_registry_append_only()",
    "REVOKE ALL ON rule_set_registry FROM PUBLIC",
)


class PgRegistry:
    """Rule sets by sha256 in a table of the URL's schema (created when missing)."""

    def __init__(self, url: str) -> None:
        self._lock = threading.Lock()
        self._conn = PgConnection(url, lock_key=_LOCK)
        self.where = f"rule-set registry {self._conn.where}"
        try:
            if self._conn.execute("SELECT to_regclass('rule_set_registry')").fetchone()[0] is None:
                self._conn.execute("BEGIN IMMEDIATE")  # one creator at a time
                try:
                    for statement in _DDL:
                        self._conn.execute(statement)
                    if role_exists(self._conn):
                        grant = f"GRANT SELECT, INSERT ON rule_set_registry TO {ROLE}"
                        self._conn.execute(grant)
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
                self._conn.execute("COMMIT")
        except DB_ERRORS as exc:
            self._conn.close()
            raise StoreError(f"{self.where}: cannot open: {exc}") from None

    def put(self, rules: RuleSetLike | str) -> str:
        sha, text = _as_text(rules)
        with self._lock:
            try:
                self._conn.execute(
                    "INSERT INTO rule_set_registry VALUES (?, ?) ON CONFLICT (sha256) DO NOTHING",
                    (sha, text),
                )
            except DB_ERRORS as exc:
                raise StoreError(f"{self.where}: cannot write {sha}: {exc}") from None
        check_digest(sha, self.get(sha), where=self.where)
        return sha

    def get(self, sha256: str) -> str:
        check_sha256(sha256)
        with self._lock:
            try:
                row = self._conn.execute(
                    "SELECT canonical_json FROM rule_set_registry WHERE sha256 = ?", (sha256,)
                ).fetchone()
            except DB_ERRORS as exc:
                raise StoreError(f"{self.where}: cannot read {sha256}: {exc}") from None
        if row is None:
            raise StoreError(f"{self.where}: no rule set {sha256}")
        check_digest(sha256, str(row[0]), where=self.where)
        return str(row[0])

    def __contains__(self, sha256: object) -> bool:
        if not isinstance(sha256, str):
            return False
        with self._lock:
            row = self._conn.execute(
                "SELECT 1 FROM rule_set_registry WHERE sha256 = ?", (sha256,)
            ).fetchone()
        return row is not None

    def close(self) -> None:
        self._conn.close()


def open_registry(target: str | os.PathLike[str]) -> RuleSetRegistry:
    """A directory path: `DirectoryRegistry`; a ``postgresql://`` URL: `PgRegistry`."""
    if is_postgres_url(target):
        return PgRegistry(str(target))
    return DirectoryRegistry(target)
