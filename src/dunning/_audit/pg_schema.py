"""The audit store on PostgreSQL: its tables, its append-only guards, and the checks of both.

Theory of operation
-------------------

The tables hold the same columns as the SQLite file (`format`), so records, hashes, proofs
and exports are the same bytes. Three things differ, all kept in this module:

* **One appender at a time.** ``BEGIN IMMEDIATE`` takes the transaction-scoped advisory lock
  `LOCK_KEY` (see `_base.db`): appenders in any process on any host queue on it, read the
  head, insert seq = head + 1 and commit, which releases it. The sequence is contiguous
  because the next appender reads the head only after the previous one committed (READ
  COMMITTED takes a new snapshot per statement) and a rolled-back append leaves nothing.
  The lock needs no privilege beyond connecting, so the append-only role can take it.
* **The head moves by trigger.** ``meta`` keeps the head as in SQLite, but an appender never
  writes it: an AFTER INSERT trigger on ``records`` (SECURITY DEFINER, owned by the store's
  owner) sets it to the new record, and meta's guard lets an UPDATE through only from that
  trigger and only one record forward. So an append is INSERTs only, and a record cut off
  the end (the tail deleted with the guards bypassed) is still noticed by ``verify``.
* **Append-only guards.** `ROLE` may SELECT and INSERT, nothing else (GRANTs), and a trigger
  on every table refuses UPDATE, DELETE and TRUNCATE whoever asks. A table owner can still
  bypass both (``ALTER TABLE ... DISABLE TRIGGER``, ``session_replication_role``); what
  they alter is caught by the chain and the checkpoints, and `guard_problems` makes
  ``verify`` report a guard that is missing or disabled.

Creating the role needs CREATEROLE; a store owner without it gets the tables and guards, and
the DBA runs `ROLE_SQL` once per server (docs/audit.md).
"""

from __future__ import annotations

from typing import Any

from .._base.db import Conn

__all__ = [
    "GUARDED_TABLES",
    "LOCK_KEY",
    "ROLE",
    "create_statements",
    "guard_problems",
    "tables",
]

# pg_advisory_xact_lock key of the audit store's append lock: b"dunn" b"ing\x01" as a bigint.
LOCK_KEY = 0x64756E6E696E6701
ROLE = "dunning_appender"
GUARDED_TABLES = ("meta", "records", "rule_sets")

_REFUSE = (
    "RAISE EXCEPTION 'dunning audit store: % on % refused: the audit trail is append-only',"
    " TG_OP, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege'"
)
_TABLES = (
    "CREATE TABLE meta (format_version integer NOT NULL, created text,"
    " head_seq bigint NOT NULL, head_hash text NOT NULL)",
    # COLLATE "C": text compares and sorts by bytes, as in SQLite, whatever the server's locale
    # (range queries on loan_id and as_of, and the export's rule-set order, are the same).
    'CREATE TABLE rule_sets (sha256 text COLLATE "C" PRIMARY KEY, canonical_json text NOT NULL)',
    'CREATE TABLE records (seq bigint PRIMARY KEY, decision_id text COLLATE "C" NOT NULL,'
    ' loan_id text COLLATE "C" NOT NULL, as_of text COLLATE "C" NOT NULL,'
    " decision_json text NOT NULL,"
    ' rule_set_sha256 text COLLATE "C" NOT NULL REFERENCES rule_sets(sha256),'
    " prev_hash text NOT NULL, hash text NOT NULL)",
    "CREATE INDEX records_loan ON records (loan_id, as_of)",
    "CREATE INDEX records_as_of ON records (as_of)",
    "CREATE FUNCTION dunning_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
    f" {_REFUSE}; END $$",
    # meta: only the head trigger below (one level down) may move the head one record on
    "CREATE FUNCTION dunning_meta_guard() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
    " IF TG_OP = 'UPDATE' AND pg_trigger_depth() > 1"
    " AND NEW.format_version = OLD.format_version"
    " AND NEW.created IS NOT DISTINCT FROM OLD.created"
    f" AND NEW.head_seq = OLD.head_seq + 1 THEN RETURN NEW; END IF; {_REFUSE}; END $$",
)


def _head_trigger(schema: str) -> list[str]:
    return [
        "CREATE FUNCTION dunning_advance_head() RETURNS trigger LANGUAGE plpgsql"
        f" SECURITY DEFINER SET search_path = pg_catalog, {schema} AS $$ BEGIN"
        " UPDATE meta SET head_seq = NEW.seq, head_hash = NEW.hash; RETURN NULL; END $$",
        "REVOKE ALL ON FUNCTION dunning_advance_head() FROM PUBLIC",
        "CREATE TRIGGER records_advance_head AFTER INSERT ON records"
        " FOR EACH ROW EXECUTE FUNCTION dunning_advance_head()",
    ]


ROLE_SQL = (
    "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '"
    + ROLE
    + "') THEN CREATE ROLE "
    + ROLE
    + " NOLOGIN; END IF; END $$"
)


def _guards() -> list[str]:
    out: list[str] = []
    for t in GUARDED_TABLES:
        guard = "dunning_meta_guard" if t == "meta" else "dunning_append_only"
        out += [
            f"CREATE TRIGGER {t}_append_only BEFORE UPDATE OR DELETE ON {t}"
            f" FOR EACH ROW EXECUTE FUNCTION {guard}()",
            f"CREATE TRIGGER {t}_no_truncate BEFORE TRUNCATE ON {t}"
            " FOR EACH STATEMENT EXECUTE FUNCTION dunning_append_only()",
            f"REVOKE ALL ON {t} FROM PUBLIC",
        ]
    return out


def _grants() -> list[str]:
    names = ", ".join(GUARDED_TABLES)
    return [
        f"DO $$ BEGIN EXECUTE format('GRANT USAGE ON SCHEMA %I TO {ROLE}', current_schema());"
        " END $$",
        f"GRANT SELECT, INSERT ON {names} TO {ROLE}",
        f"REVOKE INSERT ON meta FROM {ROLE}",
    ]


def create_statements(schema: str, can_create_role: bool) -> list[str]:
    """The DDL of a new store (one transaction); the role itself only if we may create it."""
    role = [ROLE_SQL] if can_create_role else []
    return [*_TABLES, *_head_trigger(schema), *_guards(), *role]


def grant_statements() -> list[str]:
    """GRANTs to `ROLE`, run when the role exists."""
    return _grants()


def create_all(conn: Conn) -> None:
    """The tables, guards and (when the role exists or can be made) its GRANTs."""
    schema = str(conn.execute("SELECT quote_ident(current_schema())").fetchone()[0])
    for statement in create_statements(schema, can_create_role(conn)):
        conn.execute(statement)
    if role_exists(conn):
        for statement in grant_statements():
            conn.execute(statement)


def tables(conn: Conn) -> list[str]:
    """The store's tables and views in the current schema, sorted."""
    rows = conn.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'v', 'p')"
    ).fetchall()
    return sorted(str(r[0]) for r in rows)


def can_create_role(conn: Conn) -> bool:
    row = conn.execute(
        "SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user"
    ).fetchone()
    return bool(row and row[0])


def role_exists(conn: Conn) -> bool:
    return conn.execute("SELECT 1 FROM pg_roles WHERE rolname = ?", (ROLE,)).fetchone() is not None


_RAW_COLS = ("decision_id", "loan_id", "as_of", "rule_set_sha256", "prev_hash", "hash")


# Every record and rule set as bytes, as `format.verify_chain` reads SQLite (CAST AS BLOB).
RAW_RECORDS_SQL = "SELECT seq, {} FROM records ORDER BY seq".format(
    ", ".join(f"convert_to({c}, 'UTF8')" for c in (*_RAW_COLS, "decision_json"))
)
RAW_RULE_SETS_SQL = (
    "SELECT convert_to(sha256, 'UTF8'), convert_to(canonical_json, 'UTF8') FROM rule_sets"
)


_REFUSED = ("INSERT", "UPDATE", "DELETE", "TRUNCATE")


def guard_problems(conn: Conn) -> list[str]:
    """What is missing of the append-only guards: triggers absent or disabled, the role absent,
    or a privilege beyond SELECT and INSERT granted to it or to PUBLIC."""
    problems: list[str] = []
    rows = conn.execute(
        "SELECT c.relname, t.tgname, t.tgenabled FROM pg_trigger t"
        " JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = current_schema() AND NOT t.tgisinternal"
    ).fetchall()
    triggers: dict[str, Any] = {str(name): enabled for _t, name, enabled in rows}
    wanted = [
        (t, trig) for t in GUARDED_TABLES for trig in (f"{t}_append_only", f"{t}_no_truncate")
    ]
    for t, trig in [*wanted, ("records", "records_advance_head")]:
        state = triggers.get(trig)  # tgenabled: O/A fire, D disabled, R only on replicas
        if state is None:
            problems.append(f"guard missing: trigger {trig} on {t} does not exist")
        elif str(state) in ("D", "R"):
            problems.append(f"guard disabled: trigger {trig} on {t} is disabled")
    if not role_exists(conn):
        problems.append(
            f"guard missing: role {ROLE} does not exist (the DBA creates it: docs/audit.md)"
        )
        return problems
    for t in GUARDED_TABLES:
        row = conn.execute(
            "SELECT has_table_privilege(?, ?, 'SELECT'), has_table_privilege(?, ?, 'INSERT'),"
            " has_table_privilege(?, ?, 'UPDATE'), has_table_privilege(?, ?, 'DELETE'),"
            " has_table_privilege(?, ?, 'TRUNCATE')",
            (ROLE, t) * 5,
        ).fetchone()
        if not row[0] or (t != "meta" and not row[1]):
            problems.append(f"guard missing: role {ROLE} lacks SELECT or INSERT on {t}")
        refused = (
            ("INSERT", "UPDATE", "DELETE", "TRUNCATE")
            if t == "meta"
            else ("UPDATE", "DELETE", "TRUNCATE")
        )
        extra = [
            p
            for p, has in zip(("INSERT", "UPDATE", "DELETE", "TRUNCATE"), row[1:], strict=True)
            if has and p in refused
        ]
        if extra:
            problems.append(f"guard missing: role {ROLE} may {', '.join(extra)} on {t}")
        public = conn.execute(
            "SELECT a.privilege_type FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace,"
            " LATERAL aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) a"
            " WHERE n.nspname = current_schema() AND c.relname = ? AND a.grantee = 0",
            (t,),
        ).fetchall()
        if public:
            granted = ", ".join(sorted(str(r[0]) for r in public))
            problems.append(f"guard missing: PUBLIC may {granted} on {t}")
    return problems
