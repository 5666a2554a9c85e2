"""The tamper suite: someone with write access to the store file tries to make it lie.

A template store (9 real decisions of 3 loans, with their inputs) is signed by the bank
(`checkpoint`) once. Each case copies the file, tampers with the copy through plain sqlite
(UPDATE, DELETE, writable_schema, rebuilt trees), and checks that the lie is caught: by
`verify(against=checkpoint, public_key=...)`, or by the store refusing to open or to answer.
Covered, for every column of every table: an altered value and a changed type; and rows
deleted (in the middle, at the tail with the store's size and root fixed to match), swapped,
forged and re-chained (the whole tree rebuilt), hidden behind partial indexes, extra
triggers, tables, views, columns and rows.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit_helpers import CN_RULES_PATH, StandInRules, loan_events, real_decisions
from dunning import AuditStore, Checkpoint, Engine, StoreError, VerifyReport, load_rules
from dunning._audit import merkle
from dunning._audit.format import _TABLES
from dunning._audit.inputs import numbers_of

ROOT = Path(__file__).resolve().parent.parent
KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
PUBLIC = KEY.public_key()
N = 9


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Checkpoint]:
    path = tmp_path_factory.mktemp("tamper") / "audit.sqlite"
    rules = load_rules(ROOT / CN_RULES_PATH)
    with AuditStore(path, keep_inputs=True) as store:
        for decision, events in real_decisions():
            store.append(decision, rules, inputs=events)
        cp = store.checkpoint(KEY, "2025-06-01T00:00:00Z")
    return path, cp


def tampered(signed: tuple[Path, Checkpoint], tmp_path: Path, *statements: str) -> Path:
    path = tmp_path / "audit.sqlite"
    shutil.copy(signed[0], path)
    conn = sqlite3.connect(path)
    for s in statements:
        conn.execute(s)
    conn.commit()
    conn.close()
    return path


def caught(path: Path, cp: Checkpoint) -> VerifyReport | StoreError:
    """The report of verify(against=cp), or the StoreError of a store refusing to open."""
    try:
        store = AuditStore(path)
    except StoreError as exc:
        return exc
    with store:
        report = store.verify(against=cp, public_key=PUBLIC)
    assert not report.ok, "the tampering went unnoticed"
    assert report.problems and report.problem == report.problems[0]
    return report


def rebuild_tree(conn: sqlite3.Connection) -> None:
    """What a careful tamperer does after editing records: recompute every node and root."""
    rows = conn.execute("SELECT seq, decision_json FROM records ORDER BY seq").fetchall()
    leaves = [merkle.leaf_hash(text.encode()) for _seq, text in rows]
    conn.execute("DELETE FROM tree")
    for level, hashes in enumerate(merkle.build_levels(leaves) if leaves else []):
        conn.executemany(
            "INSERT INTO tree VALUES (?, ?, ?)", [(level, i, h) for i, h in enumerate(hashes)]
        )
    root = merkle.root(leaves).hex()
    conn.execute("UPDATE meta SET size = ?, root_hash = ?", (len(rows), root))


def drop_unused_events(conn: sqlite3.Connection) -> None:
    """Remove the input events no remaining record uses (a tidy tamperer)."""
    used = set()
    for seq, blob in conn.execute("SELECT r.seq, i.events FROM record_inputs i JOIN records r"
                                  " USING (seq)").fetchall():  # fmt: skip
        (loan,) = conn.execute("SELECT loan_id FROM records WHERE seq = ?", (seq,)).fetchone()
        used.update((loan, n) for n in numbers_of(blob, where="test"))
    for loan, n in conn.execute("SELECT loan_id, n FROM input_events").fetchall():
        if (loan, n) not in used:
            conn.execute("DELETE FROM input_events WHERE loan_id = ? AND n = ?", (loan, n))


def edit(path: Path, change: Callable[[sqlite3.Connection], None]) -> None:
    conn = sqlite3.connect(path)
    change(conn)
    conn.commit()
    conn.close()


def test_the_template_verifies_against_its_checkpoint(signed: tuple[Path, Checkpoint]) -> None:
    """Untouched, the store verifies against the bank's checkpoint: every case below is the
    tampering's doing."""
    path, cp = signed
    with AuditStore(path) as store:
        assert store.verify(against=cp, public_key=PUBLIC).ok
        assert (cp.size, cp.root_hash) == store.head()


# -- every column of every table: an altered value --------------------------------------------

ALTERED = {
    ("meta", "format_version"): "UPDATE meta SET format_version = 1",
    ("meta", "size"): "UPDATE meta SET size = 8",
    ("meta", "root_hash"): "UPDATE meta SET root_hash = replace(root_hash, 'a', 'b')",
    ("meta", "keep_inputs"): "UPDATE meta SET keep_inputs = 0",
    ("rule_sets", "sha256"): "UPDATE rule_sets SET sha256 = '0' || substr(sha256, 2)",
    ("rule_sets", "canonical_json"): "UPDATE rule_sets SET canonical_json = canonical_json || ' '",
    ("records", "seq"): "UPDATE records SET seq = 99 WHERE seq = 4",
    ("records", "decision_id"): "UPDATE records SET decision_id = 'x' WHERE seq = 4",
    ("records", "loan_id"): "UPDATE records SET loan_id = 'L9' WHERE seq = 4",
    ("records", "as_of"): "UPDATE records SET as_of = '2025-01-01' WHERE seq = 4",
    ("records", "rule_set_sha256"): "UPDATE records SET rule_set_sha256 = 'x' WHERE seq = 4",
    ("records", "decision_json"): (
        "UPDATE records SET decision_json = replace(decision_json, '\"act\"', '\"none\"')"
        " WHERE seq = 4"
    ),
    ("tree", "level"): "UPDATE tree SET level = 9 WHERE level = 1 AND idx = 0",
    ("tree", "idx"): "UPDATE tree SET idx = 77 WHERE level = 0 AND idx = 3",
    ("tree", "hash"): "UPDATE tree SET hash = zeroblob(32) WHERE level = 2 AND idx = 0",
    (
        "input_events",
        "loan_id",
    ): ("UPDATE input_events SET loan_id = 'L9' WHERE n = 1 AND loan_id = 'L1'"),
    ("input_events", "n"): "UPDATE input_events SET n = n + 100 WHERE loan_id = 'L2' AND n = 2",
    (
        "input_events",
        "sha256",
    ): ("UPDATE input_events SET sha256 = 'x' WHERE loan_id = 'L1' AND n = 0"),
    ("input_events", "event"): "UPDATE input_events SET event = x'00' WHERE loan_id = 'L3'",
    ("record_inputs", "seq"): "UPDATE record_inputs SET seq = 100 WHERE seq = 5",
    ("record_inputs", "events"): "UPDATE record_inputs SET events = x'28b52ffd' WHERE seq = 5",
}


def test_every_column_of_every_table_is_covered() -> None:
    """The tables above are all the tables, and each of their columns is altered below."""
    expected = {(t, c) for t, (_sql, cols) in _TABLES.items() for c, _ty, _n in cols}
    assert expected == set(ALTERED)


@pytest.mark.parametrize("column", sorted(ALTERED), ids="{0[0]}.{0[1]}".format)
def test_an_altered_value_in_any_column_is_caught(
    signed: tuple[Path, Checkpoint], tmp_path: Path, column: tuple[str, str]
) -> None:
    """Change one value of `column`: the store refuses to open, or verify names it."""
    found = caught(tampered(signed, tmp_path, ALTERED[column]), signed[1])
    assert found  # the report or the refusal names the problem


@pytest.mark.parametrize("column", sorted(ALTERED), ids="{0[0]}.{0[1]}".format)
def test_a_changed_type_in_any_column_is_refused_by_strict_tables(
    signed: tuple[Path, Checkpoint], tmp_path: Path, column: tuple[str, str]
) -> None:
    """Store a value of another type (TEXT as BLOB, INTEGER as TEXT): SQLite refuses it."""
    table, name = column
    ty = dict((c, t) for c, t, _n in _TABLES[table][1])[name]
    other = "CAST(x'4c31' AS BLOB)" if ty != "blob" else "'text'"
    with pytest.raises(sqlite3.IntegrityError, match=r"cannot store|datatype mismatch"):
        tampered(signed, tmp_path, f"UPDATE {table} SET {name} = {other}")


def test_a_changed_type_behind_a_rewritten_schema_is_caught(
    signed: tuple[Path, Checkpoint], tmp_path: Path
) -> None:
    """The issue's hidden record: drop STRICT through writable_schema, then store record 1's
    loan_id as a BLOB so `records(loan_id="L1")` would skip it. The store refuses queries
    and verify names both the schema and the type."""
    path = tampered(signed, tmp_path)

    def change(conn: sqlite3.Connection) -> None:
        conn.execute("PRAGMA writable_schema = ON")
        conn.execute(
            "UPDATE sqlite_master SET sql = replace(sql, ') STRICT', ')') WHERE name = 'records'"
        )

    edit(path, change)
    edit(
        path,
        lambda c: c.execute("UPDATE records SET loan_id = CAST(loan_id AS BLOB) WHERE seq = 1"),
    )
    report = caught(path, signed[1])
    assert isinstance(report, VerifyReport)
    assert any("schema: altered table 'records'" in p for p in report.problems)
    with AuditStore(path) as store, pytest.raises(StoreError, match="schema is not this version"):
        list(store.records(loan_id="L1"))


# -- rows: deleted, swapped, forged, re-chained -------------------------------------------------


def test_a_record_deleted_in_the_middle_is_named(
    signed: tuple[Path, Checkpoint], tmp_path: Path
) -> None:
    report = caught(tampered(signed, tmp_path, "DELETE FROM records WHERE seq = 5"), signed[1])
    assert isinstance(report, VerifyReport) and report.first_bad_seq == 5


def test_the_tail_deleted_with_size_root_and_tree_fixed_is_caught_by_the_checkpoint(
    signed: tuple[Path, Checkpoint], tmp_path: Path
) -> None:
    """Cut the last two records and make the rest consistent: the file alone now looks fine,
    but it holds fewer records than the bank signed."""
    path = tampered(signed, tmp_path, "DELETE FROM record_inputs WHERE seq > 7",
                    "DELETE FROM records WHERE seq > 7")  # fmt: skip
    edit(path, rebuild_tree)
    edit(path, drop_unused_events)
    with AuditStore(path) as store:
        assert store.verify().ok  # without the checkpoint nothing can tell
    report = caught(path, signed[1])
    assert isinstance(report, VerifyReport)
    assert "records 8..9 are missing: the signed checkpoint covers 9 records" in report.problem


def test_two_records_swapped_are_named(signed: tuple[Path, Checkpoint], tmp_path: Path) -> None:
    cols = "decision_id, loan_id, as_of, rule_set_sha256, decision_json"
    path = tampered(signed, tmp_path)

    def swap(conn: sqlite3.Connection) -> None:
        a = conn.execute(f"SELECT {cols} FROM records WHERE seq = 2").fetchone()
        b = conn.execute(f"SELECT {cols} FROM records WHERE seq = 6").fetchone()
        sets = ", ".join(f"{c} = ?" for c in cols.split(", "))
        conn.execute(f"UPDATE records SET {sets} WHERE seq = 2", b)
        conn.execute(f"UPDATE records SET {sets} WHERE seq = 6", a)

    edit(path, swap)
    report = caught(path, signed[1])
    assert isinstance(report, VerifyReport) and report.first_bad_seq == 2
    edit(path, rebuild_tree)  # and re-chained: only the checkpoint can tell now
    report = caught(path, signed[1])
    assert isinstance(report, VerifyReport)
    assert any("no longer give the checkpoint's root" in p for p in report.problems)


def test_a_forged_record_re_chained_is_caught_by_the_checkpoint(
    signed: tuple[Path, Checkpoint], tmp_path: Path
) -> None:
    """Replace record 4 by a decision made from other events (it reads back, its columns
    agree, its inputs are stored), rebuild the tree and the root: the checkpoint's root
    no longer comes out."""
    rules = load_rules(ROOT / CN_RULES_PATH)
    events = loan_events("L1", 4)[:-1]  # the payment left out: a different decision
    forged = Engine(rules).decide(events, "2025-04-02T10:00:00+08:00")
    path = tampered(signed, tmp_path)
    edit(path, lambda c: c.execute(
        "UPDATE records SET decision_id = ?, decision_json = ? WHERE seq = 4",
        (forged.id, forged.to_json())))  # fmt: skip
    edit(path, rebuild_tree)
    report = caught(path, signed[1])
    assert isinstance(report, VerifyReport)
    assert any("no longer give the checkpoint's root" in p for p in report.problems)


def test_a_checkpoint_signed_by_another_key_proves_nothing(
    signed: tuple[Path, Checkpoint],
) -> None:
    other = Ed25519PrivateKey.generate().public_key()
    with AuditStore(signed[0]) as store:
        report = store.verify(against=signed[1], public_key=other)
    assert not report.ok and "signature does not verify" in str(report.problem)


# -- partial indexes, extra objects and rows ----------------------------------------------------


def test_a_partial_index_dressed_as_a_full_one_is_caught(
    signed: tuple[Path, Checkpoint], tmp_path: Path
) -> None:
    """Rebuild records_loan without record 1 and restore its SQL in sqlite_master: queries
    through the index would skip record 1; integrity_check finds the missing entry."""
    partial = "CREATE INDEX records_loan ON records (loan_id, as_of) WHERE seq != 1"
    path = tampered(signed, tmp_path, "DROP INDEX records_loan", partial)

    def restore(conn: sqlite3.Connection) -> None:
        conn.execute("PRAGMA writable_schema = ON")
        conn.execute(
            "UPDATE sqlite_master SET sql = 'CREATE INDEX records_loan ON records (loan_id,"
            " as_of)' WHERE name = 'records_loan'"
        )

    edit(path, restore)
    report = caught(path, signed[1])
    assert isinstance(report, VerifyReport)
    assert any("integrity_check" in p and "records_loan" in p for p in report.problems)


def test_a_plain_partial_index_is_named(signed: tuple[Path, Checkpoint], tmp_path: Path) -> None:
    path = tampered(signed, tmp_path, "DROP INDEX records_as_of",
                    "CREATE INDEX records_as_of ON records (as_of) WHERE seq > 1")  # fmt: skip
    report = caught(path, signed[1])
    assert isinstance(report, VerifyReport)
    assert any("records_as_of" in p for p in report.problems)


EXTRA = {
    "trigger": "CREATE TRIGGER t AFTER INSERT ON records BEGIN DELETE FROM records; END",
    "table": "CREATE TABLE notes (x)",
    "view": "CREATE VIEW v AS SELECT * FROM records",
    "index": "CREATE INDEX extra ON records (decision_json)",
    "column": "ALTER TABLE records ADD COLUMN note TEXT",
    "meta row": "INSERT INTO meta VALUES (2, 9, 'x', 1)",
    "rule set row": "INSERT INTO rule_sets VALUES ('{sha}', '{text}')",
    "input event row": "INSERT INTO input_events VALUES ('L1', 50, 'x', x'00')",
    "record_inputs row": "INSERT INTO record_inputs VALUES (10, x'00')",
    "tree row": "INSERT INTO tree VALUES (0, 9, zeroblob(32))",
}


@pytest.mark.parametrize("kind", sorted(EXTRA))
def test_an_extra_object_or_row_is_named(
    signed: tuple[Path, Checkpoint], tmp_path: Path, kind: str
) -> None:
    extra = StandInRules(body="extra")
    statement = EXTRA[kind].format(sha=extra.sha256, text=extra.canonical_json())
    path = tampered(signed, tmp_path, statement)
    report = caught(path, signed[1])
    assert report


def test_the_hidden_record_of_the_issue_is_impossible_and_queries_recheck_rows(
    signed: tuple[Path, Checkpoint], tmp_path: Path
) -> None:
    """A record altered in place (its decision and leaf node both rewritten) is refused by
    the query that would return it, naming the record."""
    path = tampered(signed, tmp_path, "UPDATE records SET loan_id = 'L1', decision_json ="
                    " replace(decision_json, '\"BL2\"', '\"BL1\"') WHERE seq = 2")  # fmt: skip
    with AuditStore(path) as store, pytest.raises(StoreError, match="record 2 was altered"):
        list(store.records(loan_id="L1"))
