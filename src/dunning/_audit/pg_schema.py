"""The audit store on PostgreSQL: its tables, its append-only guards, and the checks of both.

Theory of operation
-------------------

The tables hold the columns of the SQLite file (`format`), so records, tree nodes, roots,
proofs and exports are the same bytes; `sqlite_rows` moves the rows on both (its SQL is
portable; `_base.db` translates placeholders). What differs is here:

* **One appender at a time.** ``BEGIN IMMEDIATE`` takes the transaction-scoped advisory lock
  `LOCK_KEY` (see `_base.db`): appenders in any process on any host queue on it, read the
  size, insert record size + 1 and its nodes, and commit, which releases it. The sequence is
  contiguous because the next appender reads the size only after the previous one committed
  (READ COMMITTED takes a new snapshot per statement), and a rolled-back append leaves
  nothing. The lock needs no privilege, so the append-only role can take it. (The measured
  alternative, SERIALIZABLE with a bounded retry, is in docs/performance.md.)
* **Nothing is ever updated.** SQLite's one-row ``meta`` (size, root) is rewritten by every
  append; here ``meta`` is a view over ``store_info`` (format version, keep_inputs: written
  once) and the last row of ``heads``, to which every append INSERTs (size, root): a history
  of every tree head, and an append is INSERTs only. `REWRITES` turns the store's
  ``UPDATE meta SET size = ?, root_hash = ?`` into that INSERT.
* **Append-only guards.** `ROLE` may SELECT and INSERT, nothing else (GRANTs), and a trigger
  on every table refuses UPDATE, DELETE and TRUNCATE whoever asks. A table owner can still
  bypass both (``ALTER TABLE ... DISABLE TRIGGER``, ``session_replication_role``); what
  they alter is caught by ``verify(against=checkpoint)``, and `file_problems` makes
  ``verify`` report a guard that is missing or disabled, and any table, column, index,
  trigger or view that is not this version's.

Creating the role needs CREATEROLE; a store owner without it gets the tables and guards, and
the DBA runs `ROLE_SQL` once per server, then the GRANTs (docs/audit.md).
"""

from __future__ import annotations

from .._base.db import Conn
from . import merkle
from .format import FORMAT_VERSION

__all__ = [
    "GUARDED_TABLES",
    "LOCK_KEY",
    "REWRITES",
    "ROLE",
    "create_all",
    "file_problems",
    "schema_problems",
    "tables",
]

# pg_advisory_xact_lock key of the audit store's append lock: b"dunning\x01" as a bigint.
LOCK_KEY = 0x64756E6E696E6701
ROLE = "dunning_appender"
REWRITES = {
    "UPDATE meta SET size = ?, root_hash = ?": "INSERT INTO heads (size, root_hash) VALUES (?, ?)",
}

# name: (CREATE statement, ((column, information_schema data_type, nullable), ...)).
# COLLATE "C" on keys: text compares and sorts by bytes, as in SQLite, whatever the server's
# locale, so range queries (loan_id, as_of) and the export's order are the same.
_C = 'COLLATE "C"'
_TABLES: dict[str, tuple[str, tuple[tuple[str, str, bool], ...]]] = {
    "store_info": (
        "CREATE TABLE store_info (format_version integer NOT NULL, keep_inputs integer NOT NULL)",
        (("format_version", "integer", False), ("keep_inputs", "integer", False)),
    ),
    "heads": (
        f"CREATE TABLE heads (size bigint PRIMARY KEY, root_hash text {_C} NOT NULL)",
        (("size", "bigint", False), ("root_hash", "text", False)),
    ),
    "rule_sets": (
        f"CREATE TABLE rule_sets (sha256 text {_C} PRIMARY KEY, canonical_json text NOT NULL)",
        (("sha256", "text", False), ("canonical_json", "text", False)),
    ),
    "records": (
        f"CREATE TABLE records (seq bigint PRIMARY KEY, decision_id text {_C} NOT NULL,"
        f" loan_id text {_C} NOT NULL, as_of text {_C} NOT NULL,"
        f" rule_set_sha256 text {_C} NOT NULL REFERENCES rule_sets(sha256),"
        " decision_json text NOT NULL)",
        (
            ("seq", "bigint", False),
            ("decision_id", "text", False),
            ("loan_id", "text", False),
            ("as_of", "text", False),
            ("rule_set_sha256", "text", False),
            ("decision_json", "text", False),
        ),
    ),
    "tree": (
        "CREATE TABLE tree (level integer NOT NULL, idx bigint NOT NULL, hash bytea NOT NULL,"
        " PRIMARY KEY (level, idx))",
        (("level", "integer", False), ("idx", "bigint", False), ("hash", "bytea", False)),
    ),
    "input_events": (
        f"CREATE TABLE input_events (loan_id text {_C} NOT NULL, n integer NOT NULL,"
        f" sha256 text {_C} NOT NULL, event bytea NOT NULL, PRIMARY KEY (loan_id, n))",
        (
            ("loan_id", "text", False),
            ("n", "integer", False),
            ("sha256", "text", False),
            ("event", "bytea", False),
        ),
    ),
    "record_inputs": (
        "CREATE TABLE record_inputs (seq bigint PRIMARY KEY REFERENCES records(seq),"
        " events bytea NOT NULL)",
        (("seq", "bigint", False), ("events", "bytea", False)),
    ),
}
GUARDED_TABLES = tuple(_TABLES)
_INDEXES = {
    "records_loan": "CREATE INDEX records_loan ON records (loan_id, as_of)",
    "records_as_of": "CREATE INDEX records_as_of ON records (as_of)",
    "records_decision": "CREATE INDEX records_decision ON records (decision_id)",
    "input_events_sha": "CREATE UNIQUE INDEX input_events_sha ON input_events (loan_id, sha256)",
}
_VIEW = (
    "CREATE VIEW meta AS SELECT i.format_version, coalesce(h.size, 0) AS size,"
    f" coalesce(h.root_hash, '{merkle.EMPTY_ROOT.hex()}') AS root_hash, i.keep_inputs"
    " FROM store_info i LEFT JOIN LATERAL"
    " (SELECT size, root_hash FROM heads ORDER BY size DESC LIMIT 1) h ON true"
)
_REFUSE = (
    "RAISE EXCEPTION 'dunning audit store: % on % refused: the audit log is append-only',"
    " TG_OP, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege'"
)
_FUNCTION = (
    "CREATE FUNCTION dunning_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
    f" {_REFUSE}; END $$"
)
ROLE_SQL = (
    f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{ROLE}')"
    f" THEN CREATE ROLE {ROLE} NOLOGIN; END IF; END $$"
)


def _triggers() -> dict[str, str]:
    out = {}
    for t in GUARDED_TABLES:
        out[f"{t}_append_only"] = (
            f"CREATE TRIGGER {t}_append_only BEFORE UPDATE OR DELETE ON {t}"
            " FOR EACH ROW EXECUTE FUNCTION dunning_append_only()"
        )
        out[f"{t}_no_truncate"] = (
            f"CREATE TRIGGER {t}_no_truncate BEFORE TRUNCATE ON {t}"
            " FOR EACH STATEMENT EXECUTE FUNCTION dunning_append_only()"
        )
    return out


def grant_statements() -> list[str]:
    """GRANTs to `ROLE` (SELECT and INSERT only), run when the role exists."""
    names = ", ".join(GUARDED_TABLES)
    return [
        f"DO $$ BEGIN EXECUTE format('GRANT USAGE ON SCHEMA %I TO {ROLE}', current_schema());"
        " END $$",
        f"GRANT SELECT, INSERT ON {names} TO {ROLE}",
        f"GRANT SELECT ON meta TO {ROLE}",
    ]


def create_all(conn: Conn, *, keep_inputs: bool | None) -> None:
    """Tables, view, guards and (when the role exists or can be made) its GRANTs, in the
    caller's transaction; with `keep_inputs` given, the store_info row too."""
    for statement, *_ in _TABLES.values():
        conn.execute(statement)
    for statement in (*_INDEXES.values(), _VIEW, _FUNCTION, *_triggers().values()):
        conn.execute(statement)
    for t in (*GUARDED_TABLES, "meta"):
        conn.execute(f"REVOKE ALL ON {t} FROM PUBLIC")
    if can_create_role(conn):
        conn.execute(ROLE_SQL)
    if role_exists(conn):
        for statement in grant_statements():
            conn.execute(statement)
    if keep_inputs is not None:
        conn.execute(
            "INSERT INTO store_info VALUES (?, ?)", (FORMAT_VERSION, 1 if keep_inputs else 0)
        )


def tables(conn: Conn) -> list[str]:
    """The tables and views in the connection's schema, sorted."""
    rows = conn.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'v', 'p', 'm', 'f')"
    ).fetchall()
    return sorted(str(r[0]) for r in rows)


def can_create_role(conn: Conn) -> bool:
    row = conn.execute(
        "SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user"
    ).fetchone()
    return bool(row and row[0])


def role_exists(conn: Conn) -> bool:
    return conn.execute("SELECT 1 FROM pg_roles WHERE rolname = ?", (ROLE,)).fetchone() is not None


# -- checks ----------------------------------------------------------------------------------

_RELATIONS = """
SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'v', 'm', 'p', 'f', 'S', 'i')
"""
_COLUMNS = """
SELECT table_name, column_name, data_type, is_nullable = 'YES' FROM information_schema.columns
WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position
"""
_INDEX_INFO = """
SELECT i.relname, t.relname, x.indpred IS NOT NULL, pg_get_indexdef(x.indexrelid)
FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace WHERE n.nspname = current_schema()
"""
_TRIGGERS = """
SELECT c.relname, t.tgname, t.tgenabled FROM pg_trigger t
JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema() AND NOT t.tgisinternal
"""
_RULES = """
SELECT r.rulename, c.relname FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema() AND r.rulename <> '_RETURN'
"""


def schema_problems(conn: Conn) -> list[str]:
    """Every difference between the schema and the one this version writes: tables, columns
    and their types, indexes (none partial), views, triggers and rewrite rules."""
    problems: list[str] = []
    found = {str(name): str(kind) for name, kind in conn.execute(_RELATIONS)}
    expected = {**dict.fromkeys(_TABLES, "r"), "meta": "v"}
    indexes = {str(r[0]): (str(r[1]), bool(r[2]), str(r[3])) for r in conn.execute(_INDEX_INFO)}
    for name, kind in sorted(found.items()):
        if kind == "i":
            continue
        if name not in expected:
            problems.append(f"schema: unexpected {_KINDS.get(kind, kind)} {name!r}")
        elif expected[name] != kind:
            problems.append(f"schema: {name!r} is a {_KINDS.get(kind, kind)}, not a table/view")
    for name in sorted(set(expected) - set(found)):
        problems.append(f"schema: {'view' if name == 'meta' else 'table'} {name!r} is missing")
    columns: dict[str, list[tuple[str, str, bool]]] = {}
    for table, col, kind, null in conn.execute(_COLUMNS):
        columns.setdefault(str(table), []).append((str(col), str(kind), bool(null)))
    for name, (_sql, cols) in _TABLES.items():
        if name in found and columns.get(name) != list(cols):
            names = [c for c, _k, _n in columns.get(name, [])]
            problems.append(f"schema: table {name!r} has columns {names}, or other types")
    for name, (table, partial, definition) in sorted(indexes.items()):
        if partial:
            problems.append(f"schema: index {name!r} is partial (it would hide rows)")
        if name.endswith("_pkey") and table in _TABLES:
            continue
        if name not in _INDEXES:
            problems.append(f"schema: unexpected index {name!r} on {table}: {definition[:80]}")
    for name in sorted(set(_INDEXES) - set(indexes)):
        problems.append(f"schema: index {name!r} is missing")
    triggers = {str(name): str(table) for table, name, _e in conn.execute(_TRIGGERS)}
    for name, table in sorted(triggers.items()):
        if name not in _triggers():
            problems.append(f"schema: unexpected trigger {name!r} on {table}")
    for name, table in conn.execute(_RULES):
        problems.append(f"schema: unexpected rewrite rule {name!r} on {table}")
    return problems


_KINDS = {"r": "table", "v": "view", "m": "materialized view", "p": "table", "S": "sequence"}
_REFUSED = ("UPDATE", "DELETE", "TRUNCATE")


def guard_problems(conn: Conn) -> list[str]:
    """What is missing of the append-only guards: a trigger absent or disabled, the role
    absent, or a privilege beyond SELECT and INSERT held by it or by PUBLIC."""
    problems: list[str] = []
    triggers = {str(name): str(enabled) for _t, name, enabled in conn.execute(_TRIGGERS)}
    for name in _triggers():
        state = triggers.get(name)  # tgenabled: O/A fire, D disabled, R only on replicas
        if state is None:
            problems.append(f"guard missing: trigger {name} does not exist")
        elif state in ("D", "R"):
            problems.append(f"guard disabled: trigger {name} is disabled")
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
        if not (row[0] and row[1]):
            problems.append(f"guard missing: role {ROLE} lacks SELECT or INSERT on {t}")
        extra = [p for p, has in zip(_REFUSED, row[2:], strict=True) if has]
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


def file_problems(conn: Conn) -> list[str]:
    """What `verify` adds for a PostgreSQL store (the caller holds a read transaction): the
    schema exactly, the guards, and exactly one store_info row."""
    problems = schema_problems(conn)
    if problems:
        return problems  # the queries below assume the expected tables
    problems += guard_problems(conn)
    (count,) = conn.execute("SELECT count(*) FROM store_info").fetchone()
    if count != 1:
        problems.append(f"table store_info: expected exactly one row, found {count}")
    return problems
