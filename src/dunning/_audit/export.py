"""JSON Lines export and import of an audit store, keeping the hash chain.

The file is one JSON object per line, in this order::

    {"kind": "dunning-audit", "format_version": 1, "records": N, "head_seq": N, "head_hash": ..., "created": ...}
    {"kind": "rule_set", "sha256": ..., "canonical_json": "..."}      one per rule set, by sha256
    {"kind": "record", "seq": 1, ..., "prev_hash": ..., "hash": ..., "decision": {...}}   by seq

A record's `decision` is its canonical JSON as an object: re-serialised canonically it gives
back the exact bytes that were hashed, so the chain can be checked from the file alone.
Import checks every line with the same `ChainCheck` that `verify` uses, inside one
transaction, and names the line of the first problem.
"""  # noqa: E501

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from .._base.db import Conn
from .._base.errors import StoreError
from .._decide.decision import canonical_dumps
from .chain import ChainCheck, RawRow, StoredRecord
from .format import FORMAT_VERSION
from .registry import check_digest

FORMAT = "dunning-audit"


@contextmanager
def _open(target: str | os.PathLike[str] | IO[str], mode: str) -> Iterator[IO[str]]:
    if isinstance(target, str | os.PathLike):
        try:
            with Path(target).open(mode, encoding="utf-8", newline="\n") as f:
                yield f
        except OSError as exc:
            raise StoreError(f"audit export {target}: cannot open: {exc}") from None
    else:
        yield target


def export_lines(
    target: str | os.PathLike[str] | IO[str],
    meta: dict[str, Any],
    rule_sets: Iterable[tuple[str, str]],
    records: Iterable[StoredRecord],
) -> int:
    """Write header, rule sets and records; return the number of records written."""

    header = {"kind": FORMAT, "format_version": FORMAT_VERSION, "records": meta["head_seq"]}
    count = 0
    with _open(target, "w") as out:
        out.write(canonical_dumps({**header, **meta}) + "\n")
        for sha, text in rule_sets:
            out.write(canonical_dumps({"kind": "rule_set", "sha256": sha, "canonical_json": text}))
            out.write("\n")
        for record in records:
            out.write(canonical_dumps(record.to_export()) + "\n")
            count += 1
    return count


def import_into(
    conn: Conn,
    source: str | os.PathLike[str] | IO[str],
    *,
    on_header: Callable[[str | None], object] | None = None,
) -> None:
    """Check and insert an export into an empty store, inside the caller's transaction.

    Without `on_header` the store's meta row is updated at the end (head, `created`);
    with it, `on_header(created)` is called once the header is read and the store moves its
    own head as records go in (PostgreSQL's head trigger).
    """
    name = source if isinstance(source, str | os.PathLike) else getattr(source, "name", "<file>")
    with _open(source, "r") as lines:
        _Importer(conn, str(name), on_header).run(lines)


class _Importer:
    def __init__(
        self, conn: Conn, name: str, on_header: Callable[[str | None], object] | None
    ) -> None:
        self.conn = conn
        self.on_header = on_header
        self.name = name
        self.rule_sets: dict[str, str | None] = {}
        self.check = ChainCheck(self.rule_sets)
        self.line = 0

    def fail(self, message: str) -> StoreError:
        return StoreError(f"import {self.name}: line {self.line}: {message}")

    def run(self, lines: Iterable[str]) -> None:
        if self.conn.execute("SELECT count(*) FROM records").fetchone()[0]:
            raise StoreError(f"import {self.name}: the target store already holds records")
        header: dict[str, Any] | None = None
        for self.line, text in enumerate(lines, start=1):
            if not text.strip():
                continue
            item = self.parse(text)
            if header is None:
                header = self.header(item)
                if self.on_header is not None:
                    self.on_header(_created(header))
            elif item.get("kind") == "rule_set":
                self.rule_set(item)
            elif item.get("kind") == "record":
                self.record(item)
            else:
                raise self.fail(f"expected kind 'rule_set' or 'record', found {item.get('kind')!r}")
        if header is None:
            raise StoreError(f"import {self.name}: expected a dunning-audit header, found no lines")
        self.finish(header)

    def parse(self, text: str) -> dict[str, Any]:
        try:
            item = json.loads(text)
        except ValueError as exc:
            raise self.fail(f"expected a JSON object, found invalid JSON ({exc})") from None
        if not isinstance(item, dict):
            raise self.fail(f"expected a JSON object, found {type(item).__name__}")
        return item

    def field(self, item: dict[str, Any], key: str, kind: type) -> Any:
        value = item.get(key)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise self.fail(f"field {key!r}: expected {kind.__name__}, found {value!r}")
        return value

    def header(self, item: dict[str, Any]) -> dict[str, Any]:

        if item.get("kind") != FORMAT:
            raise self.fail(f"expected the {FORMAT!r} header line, found {item.get('kind')!r}")
        version = self.field(item, "format_version", int)
        if version > FORMAT_VERSION:
            raise self.fail(
                f"export is format version {version}; this dunning reads format version"
                f" {FORMAT_VERSION} and earlier; upgrade dunning to import it"
            )
        return item

    def rule_set(self, item: dict[str, Any]) -> None:
        sha = self.field(item, "sha256", str)
        text = self.field(item, "canonical_json", str)

        try:
            check_digest(sha, text, where="rule_set line")
        except StoreError as exc:
            raise self.fail(str(exc)) from None
        self.rule_sets[sha] = None
        self.conn.execute(
            "INSERT INTO rule_sets VALUES (?, ?) ON CONFLICT (sha256) DO NOTHING", (sha, text)
        )

    def record(self, item: dict[str, Any]) -> None:
        cols = {k: self.field(item, k, str) for k in _COLS}
        seq = self.field(item, "seq", int)
        try:
            decision_json = canonical_dumps(self.field(item, "decision", dict))
        except TypeError as exc:
            raise self.fail(f"field 'decision': {exc}") from None
        raw = {k: v.encode("utf-8") for k, v in cols.items()}
        row = RawRow(seq=seq, decision_json=decision_json.encode("utf-8"), **raw)
        if not self.check.feed(row):
            raise self.fail(str(self.check.problem))
        self.conn.execute(
            "INSERT INTO records (seq, decision_id, loan_id, as_of, rule_set_sha256,"
            " prev_hash, hash, decision_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (seq, *(cols[k] for k in _COLS), decision_json),
        )

    def finish(self, header: dict[str, Any]) -> None:
        head_seq = self.field(header, "head_seq", int)
        head_hash = self.field(header, "head_hash", str)
        report = self.check.finish(head_seq, head_hash)
        if not report.ok:
            raise StoreError(f"import {self.name}: {report.problem}")
        if self.on_header is None:
            self.conn.execute(
                "UPDATE meta SET head_seq = ?, head_hash = ?, created = ?",
                (head_seq, head_hash, _created(header)),
            )


def _created(header: dict[str, Any]) -> str | None:
    created = header.get("created")
    return created if isinstance(created, str) else None


_COLS = ("decision_id", "loan_id", "as_of", "rule_set_sha256", "prev_hash", "hash")
