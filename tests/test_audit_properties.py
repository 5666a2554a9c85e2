"""Tampering of any kind is named at the right record.

A template store of N records is built once; each example copies it, tampers with the copy
behind the store's back (plain sqlite UPDATE/DELETE, as an insider with database access
would), and checks that verify() reports the first record touched.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from audit_helpers import OTHER_RULES, RULES, make_decision
from dunning._audit.store import AuditStore

N = 6
COLUMNS = (
    "decision_id",
    "loan_id",
    "as_of",
    "decision_json",
    "rule_set_sha256",
)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "audit.sqlite"
    with AuditStore(path) as store:
        for i in range(N):
            rules = RULES if i < N // 2 else OTHER_RULES
            store.append(make_decision(i, loan_id=f"L{i % 3}", rules=rules), rules)
    return path


class Copy:
    """A private copy of the template store, tampered with through raw SQL."""

    def __init__(self, template: Path, directory: str) -> None:
        self.path = Path(directory) / "audit.sqlite"
        shutil.copy(template, self.path)
        self.conn = sqlite3.connect(self.path)
        self.conn.execute("PRAGMA synchronous=OFF")  # a scratch copy: speed over durability

    def row(self, seq: int) -> dict[str, bytes]:
        cols = ", ".join(f"CAST({c} AS BLOB)" for c in COLUMNS)
        values = self.conn.execute(f"SELECT {cols} FROM records WHERE seq = ?", (seq,)).fetchone()
        return dict(zip(COLUMNS, values, strict=True))

    def set(self, seq: int, column: str, value: bytes | str) -> None:
        self.conn.execute(f"UPDATE records SET {column} = ? WHERE seq = ?", (value, seq))
        self.conn.commit()

    def first_bad(self) -> int | None:
        self.conn.close()
        with AuditStore(self.path) as store:
            report = store.verify()
        assert not report.ok
        return report.first_bad_seq


def copies(template: Path) -> Iterator[Copy]:
    with tempfile.TemporaryDirectory() as d:
        yield Copy(template, d)


def test_the_template_verifies(template: Path) -> None:
    """The untouched store is intact, so every failure below is the tampering's doing."""
    with AuditStore(template) as store:
        assert store.verify().ok


@given(
    seq=st.integers(1, N),
    column=st.sampled_from(COLUMNS),
    position=st.integers(0, 10_000),
    mask=st.integers(1, 255),
)
def test_flipping_any_byte_of_any_record_names_that_record(
    template: Path, seq: int, column: str, position: int, mask: int
) -> None:
    """XOR any byte of any column of record `seq` with any mask: verify names record `seq`."""
    for copy in copies(template):
        value = bytearray(copy.row(seq)[column])
        value[position % len(value)] ^= mask
        # The tables are STRICT (a BLOB is refused), so the flip is stored as text; a byte
        # that is no longer UTF-8 becomes U+FFFD, which changes the value all the same.
        text = bytes(value).decode("utf-8", "replace")
        assume(text != copy.row(seq)[column].decode())
        copy.set(seq, column, text)
        assert seq == copy.first_bad()


@given(seq=st.integers(1, N))
def test_deleting_any_record_names_it(template: Path, seq: int) -> None:
    """Removing record `seq` (middle or last) is reported at `seq`."""
    for copy in copies(template):
        copy.conn.execute("DELETE FROM records WHERE seq = ?", (seq,))
        copy.conn.commit()
        assert seq == copy.first_bad()


@given(seq=st.integers(1, N - 1))
def test_deleting_a_record_and_renumbering_the_rest_is_named(template: Path, seq: int) -> None:
    """Closing the gap after a deletion does not help: record `seq` is not the one its leaf says."""
    for copy in copies(template):
        copy.conn.execute("DELETE FROM records WHERE seq = ?", (seq,))
        copy.conn.execute("UPDATE records SET seq = seq - 1 WHERE seq > ?", (seq,))
        copy.conn.execute("UPDATE meta SET size = size - 1")
        copy.conn.commit()
        assert seq == copy.first_bad()


@given(pair=st.lists(st.integers(1, N), min_size=2, max_size=2, unique=True))
def test_swapping_two_records_names_the_earlier(template: Path, pair: list[int]) -> None:
    """Exchanging the contents of two records is reported at the earlier of the two."""
    a, b = sorted(pair)
    for copy in copies(template):
        row_a, row_b = copy.row(a), copy.row(b)
        for column in COLUMNS:
            copy.set(a, column, row_b[column].decode())
            copy.set(b, column, row_a[column].decode())
        assert a == copy.first_bad()


@given(position=st.integers(0, 10_000), mask=st.integers(1, 255))
def test_flipping_a_byte_of_a_rule_set_names_its_first_record(
    template: Path, position: int, mask: int
) -> None:
    """A rule set that no longer hashes to its key is reported at the first record using it."""
    for copy in copies(template):
        (text,) = copy.conn.execute(
            "SELECT CAST(canonical_json AS BLOB) FROM rule_sets WHERE sha256 = ?",
            (OTHER_RULES.sha256,),
        ).fetchone()
        value = bytearray(text)
        value[position % len(value)] ^= mask
        changed = bytes(value).decode("utf-8", "replace")
        assume(changed != text.decode())
        copy.conn.execute(
            "UPDATE rule_sets SET canonical_json = ? WHERE sha256 = ?",
            (changed, OTHER_RULES.sha256),
        )
        copy.conn.commit()
        assert copy.first_bad() == N // 2 + 1
