"""The audit store: append, read, verify, export/import, and refusing bad input unchanged."""

from __future__ import annotations

import io
import json
import sqlite3
from pathlib import Path

import pytest

from audit_helpers import OTHER_RULES, RULES, StandInRules, make_decision
from dunning import InputError, StoreError
from dunning._audit import merkle
from dunning._audit.log import VerifyReport
from dunning._audit.registry import DirectoryRegistry, MemoryRegistry, rule_set_digest
from dunning._audit.store import AuditStore


def filled(path: Path, n: int = 5) -> AuditStore:
    store = AuditStore(path)
    for i in range(n):
        rules = RULES if i < 3 else OTHER_RULES
        store.append(make_decision(i, loan_id=f"L{i % 2}", rules=rules), rules)
    return store


def sql(path: Path, statement: str, *args: object) -> None:
    """Edit the database behind the store's back, as a tamperer would."""
    conn = sqlite3.connect(path)
    conn.execute(statement, args)
    conn.commit()
    conn.close()


def test_appends_are_numbered_leaves_of_the_tree(tmp_path: Path) -> None:
    """Record n is leaf n - 1: sha256(0x00 || decision JSON); the head is (size, root)."""
    store = filled(tmp_path / "a.sqlite")
    records = list(store.records())
    expected_seqs = [1, 2, 3, 4, 5]
    assert expected_seqs == [r.seq for r in records]
    leaves = [merkle.leaf_hash(r.decision_json.encode()) for r in records]
    assert [leaf.hex() for leaf in leaves] == [r.leaf_hash for r in records]
    assert (5, merkle.root(leaves).hex()) == store.head()
    assert make_decision(0, loan_id="L0") == records[0].decision
    assert OTHER_RULES.sha256 == records[-1].rule_set_sha256


def test_append_returns_a_receipt_matching_the_record(tmp_path: Path) -> None:
    """The receipt names the seq, the chain hash and the decision id that were stored."""
    store = AuditStore(tmp_path / "a.sqlite")
    decision = make_decision(7)
    receipt = store.append(decision, RULES)
    (record,) = store.records()
    assert (receipt.seq, receipt.hash, receipt.decision_id) == (
        1,
        record.leaf_hash,
        record.decision_id,
    )
    assert receipt.root_hash == store.head()[1]
    assert decision.id == receipt.decision_id


def test_a_fresh_and_a_filled_store_verify(tmp_path: Path) -> None:
    """An empty store and a store of five records both verify, counting their records."""
    expected_empty = VerifyReport(ok=True, records=0)
    assert expected_empty == AuditStore(tmp_path / "empty.sqlite").verify()
    expected = VerifyReport(ok=True, records=5)
    assert expected == filled(tmp_path / "a.sqlite").verify()


def test_the_store_survives_reopening(tmp_path: Path) -> None:
    """Closing and reopening keeps every record and the head; appends continue the chain."""
    path = tmp_path / "a.sqlite"
    first = filled(path)
    head = first.head()
    first.close()
    again = AuditStore(path)
    assert head == again.head()
    receipt = again.append(make_decision(9), RULES)
    assert receipt.seq == 6
    assert again.verify().ok


def test_records_filter_by_loan_and_time_range(tmp_path: Path) -> None:
    """records() filters by loan id and by as_of in [start, end), in seq order."""
    store = filled(tmp_path / "a.sqlite")
    by_loan = [r.seq for r in store.records(loan_id="L1")]
    expected_loan = [2, 4]
    assert expected_loan == by_loan
    # make_decision(i).as_of is 2025-03-03 10:00 +08:00 plus i hours (02:00Z + i h).
    in_range = store.records(start="2025-03-03T03:00:00Z", end="2025-03-03T14:00:00+08:00")
    expected_range = [2, 3, 4]
    assert expected_range == [r.seq for r in in_range]
    assert [r.seq for r in store.records(loan_id="L1", end="2025-03-03T04:00:00Z")] == [2]


def test_each_rule_set_is_stored_once_and_given_back(tmp_path: Path) -> None:
    """The canonical JSON of every rule set used is kept once, keyed by its sha256."""
    store = filled(tmp_path / "a.sqlite")
    assert RULES.canonical_json() == store.get_rule_set(RULES.sha256)
    assert OTHER_RULES.canonical_json() == store.get_rule_set(OTHER_RULES.sha256)
    conn = sqlite3.connect(tmp_path / "a.sqlite")
    assert conn.execute("SELECT count(*) FROM rule_sets").fetchone()[0] == 2


def test_append_refuses_a_decision_made_with_other_rules(tmp_path: Path) -> None:
    """A decision must be stored with the rule set it names; the store is left as it was."""
    store = filled(tmp_path / "a.sqlite", 2)
    head = store.head()
    with pytest.raises(InputError, match=r"was made with rule set .* not with 'cn-bank-retail'"):
        store.append(make_decision(3, rules=RULES), OTHER_RULES)
    assert head == store.head()


def test_append_refuses_rules_whose_digest_is_wrong(tmp_path: Path) -> None:
    """Rules claiming a sha256 their canonical JSON does not hash to are refused."""

    class Liar(StandInRules):
        @property
        def sha256(self) -> str:
            return "f" * 64

    liar = Liar()
    decision = make_decision(1).model_validate(
        {**make_decision(1).model_dump(exclude={"id"}), "rule_set": {**liar.ref().model_dump()}}
    )
    store = AuditStore(tmp_path / "a.sqlite")
    with pytest.raises(InputError, match=r"claims sha256 f+ but its canonical JSON hashes to"):
        store.append(decision, liar)
    assert len(store) == 0


def test_append_refuses_things_that_are_not_decisions(tmp_path: Path) -> None:
    """Passing a dict instead of a Decision is an InputError naming what was found."""
    store = AuditStore(tmp_path / "a.sqlite")
    with pytest.raises(InputError, match="expected a dunning Decision, found dict"):
        store.append({"loan_id": "L1"}, RULES)  # type: ignore[arg-type]


# -- opening bad files: clear errors, files untouched ------------------------------------------


def test_a_text_file_is_not_a_store_and_is_left_alone(tmp_path: Path) -> None:
    """Opening a text file names the path, says it is not a SQLite store, and changes nothing."""
    path = tmp_path / "notes.txt"
    path.write_text("dear regulator,\n")
    with pytest.raises(StoreError, match=r"notes\.txt is not a dunning audit store"):
        AuditStore(path)
    assert path.read_text() == "dear regulator,\n"


def test_a_foreign_sqlite_database_is_refused_unchanged(tmp_path: Path) -> None:
    """A SQLite database without our meta table is refused, byte for byte unchanged."""
    path = tmp_path / "crm.sqlite"
    sql(path, "CREATE TABLE customers (id INTEGER)")
    before = path.read_bytes()
    with pytest.raises(StoreError, match=r"crm\.sqlite is a SQLite database but not a dunning"):
        AuditStore(path)
    assert before == path.read_bytes()


def test_a_store_from_a_newer_format_is_refused(tmp_path: Path) -> None:
    """A store written in format 3 names the version found and the version supported."""
    path = tmp_path / "a.sqlite"
    filled(path, 1).close()
    sql(path, "UPDATE meta SET format_version = 3")
    expected = "format version 3; this dunning supports format version 2"
    with pytest.raises(StoreError, match=expected):
        AuditStore(path)


@pytest.mark.parametrize(("name", "found"), [(".", "found a directory"), ("no/a.sqlite", "no")])
def test_paths_that_cannot_hold_a_store(tmp_path: Path, name: str, found: str) -> None:
    """A directory, or a file in a directory that does not exist, is a StoreError."""
    with pytest.raises(StoreError, match=found):
        AuditStore(tmp_path / name)


# -- verify: the first bad record ---------------------------------------------------------------


def test_verify_names_an_altered_column(tmp_path: Path) -> None:
    """Changing an indexed column (loan id) of record 3 makes verify name record 3."""
    path = tmp_path / "a.sqlite"
    filled(path).close()
    sql(path, "UPDATE records SET loan_id = 'L9' WHERE seq = 3")
    report = AuditStore(path).verify()
    assert (report.ok, report.first_bad_seq) == (False, 3)
    assert "record 3: column loan_id is 'L9' but the decision says 'L0'" in str(report.problem)


def test_verify_names_a_record_cut_off_the_end(tmp_path: Path) -> None:
    """Deleting the last record is noticed: the store's size and tree still count it."""
    path = tmp_path / "a.sqlite"
    filled(path).close()
    sql(path, "DELETE FROM records WHERE seq = 5")
    report = AuditStore(path).verify()
    assert not report.ok
    assert (report.ok, report.first_bad_seq) == (False, 5)
    assert "records 5..5 are missing: the store says it holds 5 records, but it holds 4" in (
        report.problem
    )


def test_appending_to_a_truncated_chain_is_refused(tmp_path: Path) -> None:
    """A store whose last record was removed refuses to extend the chain, unchanged."""
    path = tmp_path / "a.sqlite"
    filled(path).close()
    sql(path, "DELETE FROM records WHERE seq = 5")
    store = AuditStore(path)
    with pytest.raises(StoreError, match="its end is broken"):
        store.append(make_decision(8), RULES)
    assert len(store) == 4


def test_a_tampered_rule_set_is_named_at_its_first_record(tmp_path: Path) -> None:
    """Editing a stored rule set is reported at the first record that used it."""
    path = tmp_path / "a.sqlite"
    filled(path).close()
    sql(path, "UPDATE rule_sets SET canonical_json = '{}' WHERE sha256 = ?", OTHER_RULES.sha256)
    store = AuditStore(path)
    report = store.verify()
    assert (report.ok, report.first_bad_seq) == (False, 4)
    assert f"rule set {OTHER_RULES.sha256} was altered" in str(report.problem)
    with pytest.raises(StoreError, match="was altered"):
        store.get_rule_set(OTHER_RULES.sha256)


def test_a_missing_rule_set_is_a_store_error(tmp_path: Path) -> None:
    """A record whose rule set was deleted fails verify, and fetching that rule set raises."""
    path = tmp_path / "a.sqlite"
    filled(path).close()
    sql(path, "DELETE FROM rule_sets WHERE sha256 = ?", RULES.sha256)
    store = AuditStore(path)
    report = store.verify()
    assert (report.ok, report.first_bad_seq) == (False, 1)
    assert any("is missing from the store" in p for p in report.problems)
    with pytest.raises(StoreError, match=f"rule set {RULES.sha256} is missing"):
        store.get_rule_set(RULES.sha256)


# -- JSON Lines export and import ---------------------------------------------------------------


def test_export_then_import_keeps_the_tree(tmp_path: Path) -> None:
    """An exported store imports into a new store with the same records, hashes and head."""
    store = filled(tmp_path / "a.sqlite")
    assert store.export_jsonl(tmp_path / "audit.jsonl") == 5
    copy = AuditStore.import_jsonl(tmp_path / "audit.jsonl", tmp_path / "b.sqlite")
    assert list(store.records()) == list(copy.records())
    assert store.head() == copy.head()
    assert copy.verify().ok


def test_export_to_a_file_object(tmp_path: Path) -> None:
    """export_jsonl also writes to an open text file: a header, rule sets, then records."""
    buf = io.StringIO()
    filled(tmp_path / "a.sqlite", 3).export_jsonl(buf)
    kinds = [json.loads(line)["kind"] for line in buf.getvalue().splitlines()]
    expected = ["dunning-audit", "rule_set", "record", "record", "record"]
    assert expected == kinds


def _edited_export(tmp_path: Path, edit: str) -> Path:
    filled(tmp_path / "a.sqlite").export_jsonl(tmp_path / "audit.jsonl")
    lines = (tmp_path / "audit.jsonl").read_text(encoding="utf-8").splitlines()
    if edit == "drop-last":
        lines.pop()
    elif edit == "drop-middle":
        del lines[5]  # header, 2 rule sets, records 1 and 2, then record 3
    else:
        lines[5] = lines[5].replace('"dpd":32', '"dpd":33')
    (tmp_path / "edited.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return tmp_path / "edited.jsonl"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ("alter", "line 6: record 3: field 'decision'.*does not match its content"),
        ("drop-middle", "line 6: expected record 3, found record 4"),
        ("drop-last", "line 1: the header says 5 records, the file holds 4"),
    ],
)
def test_import_refuses_an_altered_export_and_leaves_nothing(
    tmp_path: Path, edit: str, message: str
) -> None:
    """An edited or cut export is refused with the line and record, and no store is created."""
    source = _edited_export(tmp_path, edit)
    with pytest.raises(StoreError, match=message):
        AuditStore.import_jsonl(source, tmp_path / "b.sqlite")
    assert not (tmp_path / "b.sqlite").exists()


def test_import_refuses_an_existing_target(tmp_path: Path) -> None:
    """Import only creates new stores; an existing file is left as it was."""
    store = filled(tmp_path / "a.sqlite", 2)
    store.export_jsonl(tmp_path / "audit.jsonl")
    with pytest.raises(StoreError, match="already exists; expected a new path"):
        AuditStore.import_jsonl(tmp_path / "audit.jsonl", tmp_path / "a.sqlite")
    assert len(store) == 2


def test_export_of_a_broken_store_is_refused(tmp_path: Path) -> None:
    """An export is evidence: a store that does not verify is not exported."""
    path = tmp_path / "a.sqlite"
    filled(path).close()
    sql(path, "UPDATE records SET as_of = 'x' WHERE seq = 2")
    with pytest.raises(StoreError, match=r"it does not verify .*record 2"):
        AuditStore(path).export_jsonl(tmp_path / "audit.jsonl")


# -- the rule-set registry -----------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["memory", "directory"])
def test_registry_gives_back_rule_sets_by_digest(tmp_path: Path, kind: str) -> None:
    """put() returns the sha256 of the canonical JSON; get() gives the same text back."""
    registry = MemoryRegistry() if kind == "memory" else DirectoryRegistry(tmp_path / "rules")
    sha = registry.put(RULES)
    assert RULES.sha256 == sha
    assert sha in registry
    assert RULES.canonical_json() == registry.get(sha)
    assert rule_set_digest("{}") == registry.put("{}")


def test_directory_registry_notices_an_edited_file(tmp_path: Path) -> None:
    """A rule-set file edited on disk no longer hashes to its name and is refused."""
    registry = DirectoryRegistry(tmp_path / "rules")
    sha = registry.put(RULES)
    (tmp_path / "rules" / f"{sha}.json").write_text('{"edited":true}')
    with pytest.raises(StoreError, match=f"rule set {sha} was altered"):
        registry.get(sha)


def test_registry_refuses_bad_digests_and_unknown_ones(tmp_path: Path) -> None:
    """A malformed digest is an InputError (no path tricks); an unknown one a StoreError."""
    registry = DirectoryRegistry(tmp_path / "rules")
    with pytest.raises(InputError, match=r"expected 64 lowercase hex digits, found '\.\./etc'"):
        registry.get("../etc")
    with pytest.raises(StoreError, match=r"no rule set 0+"):
        registry.get("0" * 64)
