"""JSON Lines export and import of an audit store, under the same tree.

The file is one canonical JSON object (RFC 8785) per line, split on "\\n" only::

    {"kind": "dunning-audit", "format_version": 2, "records": N, "root_hash": ..., ...}
    {"kind": "rule_set", "sha256": ..., "canonical_json": "..."}        by sha256
    {"kind": "input_event", "loan_id": ..., "n": 0, "event": "<wire JSON>"}   keep_inputs
    {"kind": "record", "seq": 1, "decision": {...}, "inputs": [0, 1]}    by seq

A record's `decision` is the leaf's content: its canonical JSON is the exact bytes hashed
into leaf seq - 1, so the root (and any inclusion proof) can be checked from the file alone,
with nothing but `hashlib` and `json` (docs/audit.md has such a verifier). Import checks every
line, rebuilds the tree and refuses a file whose root is not the one its header names.
Version 1 exports (hash chain) are imported too: their decisions become the leaves.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from .._base.canonical import canonical_text
from .._base.db import Conn
from .._base.errors import InputError, StoreError
from .borrower import read_decision
from .format import FORMAT_VERSION, RECORD_COLS
from .inputs import decompress, digest_of_wires, numbers_of
from .log import MerkleLog
from .registry import check_digest
from .sqlite_rows import Writer

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


def export_lines(conn: Conn, target: str | os.PathLike[str] | IO[str]) -> int:
    """Write header, rule sets, input events and records; the number of records written."""
    size, root, keeps = conn.execute("SELECT size, root_hash, keep_inputs FROM meta").fetchone()
    header = {
        "kind": FORMAT,
        "format_version": FORMAT_VERSION,
        "records": size,
        "root_hash": root,
        "keep_inputs": bool(keeps),
    }
    count = 0
    with _open(target, "w") as out:
        out.write(canonical_text(header) + "\n")
        for sha, text in conn.execute("SELECT sha256, canonical_json FROM rule_sets ORDER BY 1"):
            out.write(canonical_text({"kind": "rule_set", "sha256": sha, "canonical_json": text}))
            out.write("\n")
        for loan_id, n, blob in conn.execute(
            "SELECT loan_id, n, event FROM input_events ORDER BY loan_id, n"
        ):
            event = decompress(blob, where=f"input event {n} of loan {loan_id!r}")
            line = {"kind": "input_event", "loan_id": loan_id, "n": n, "event": event.decode()}
            out.write(canonical_text(line) + "\n")
        rows = conn.execute(
            f"SELECT {RECORD_COLS}, i.events FROM records r"
            " LEFT JOIN record_inputs i USING (seq) ORDER BY seq"
        )
        for *cols, inputs in rows:
            line = {"kind": "record", "seq": cols[0], "decision": json.loads(cols[5])}
            if inputs is not None:
                line["inputs"] = numbers_of(inputs, where=f"record {cols[0]}")
            out.write(canonical_text(line) + "\n")
            count += 1
    return count


def import_into(conn: Conn, log: MerkleLog, source: str | os.PathLike[str] | IO[str]) -> bool:
    """Check and insert an export into an empty store, inside the caller's transaction;
    True when it carried inputs."""
    name = source if isinstance(source, str | os.PathLike) else getattr(source, "name", "<file>")
    importer = _Importer(conn, log, str(name))
    with _open(source, "r") as f:
        importer.run(f.read().split("\n"))  # JCS leaves U+2028 literal: split on \n only
    return importer.keeps


class _Importer:
    def __init__(self, conn: Conn, log: MerkleLog, name: str) -> None:
        self.conn, self.name = conn, name
        self.writer = Writer(conn, log)
        self.log = log
        self.rule_sets: set[str] = set()
        self.events: dict[tuple[str, int], bytes] = {}
        self.line = 0
        self.keeps = False

    def fail(self, message: str) -> StoreError:
        return StoreError(f"import {self.name}: line {self.line}: {message}")

    def run(self, lines: list[str]) -> None:
        if self.conn.execute("SELECT count(*) FROM records").fetchone()[0]:
            raise StoreError(f"import {self.name}: the target store already holds records")
        header: dict[str, Any] | None = None
        for self.line, text in enumerate(lines, start=1):
            if not text.strip():
                continue
            item = self.parse(text)
            kind = item.get("kind")
            if header is None:
                header = self.header(item)
            elif kind == "rule_set":
                self.rule_set(item)
            elif kind == "input_event":
                self.input_event(item)
            elif kind == "record":
                self.record(item)
            else:
                raise self.fail(
                    f"expected kind 'rule_set', 'input_event' or 'record', found {kind!r}"
                )
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
            raise self.fail(f"field {key!r}: expected {kind.__name__}, found {value!r:.80}")
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
        self.version = version
        return item

    def rule_set(self, item: dict[str, Any]) -> None:
        sha = self.field(item, "sha256", str)
        text = self.field(item, "canonical_json", str)
        try:
            check_digest(sha, text, where="rule_set line")
        except StoreError as exc:
            raise self.fail(str(exc)) from None
        self.rule_sets.add(sha)
        self.conn.execute(
            "INSERT INTO rule_sets VALUES (?, ?) ON CONFLICT (sha256) DO NOTHING", (sha, text)
        )

    def input_event(self, item: dict[str, Any]) -> None:
        key = (self.field(item, "loan_id", str), self.field(item, "n", int))
        self.events[key] = self.field(item, "event", str).encode("utf-8")

    def record(self, item: dict[str, Any]) -> None:
        seq = self.field(item, "seq", int)
        if seq != self.log.size + 1:
            raise self.fail(f"expected record {self.log.size + 1}, found record {seq}")
        try:
            decision_json = canonical_text(self.field(item, "decision", dict))
            decision = read_decision(decision_json)
        except InputError as exc:
            raise self.fail(f"record {seq}: field 'decision': {exc}") from None
        if decision.to_json() != decision_json:
            raise self.fail(f"record {seq}: the decision is not in canonical form")
        if decision.rule_set.sha256 not in self.rule_sets:
            raise self.fail(f"record {seq}: its rule set {decision.rule_set.sha256} is missing")
        self.writer.record(decision, decision_json, None)
        numbers = item.get("inputs")
        if numbers is not None:
            wires = []
            for n in self.field(item, "inputs", list):
                raw = self.events.get((decision.loan_id, n))
                if raw is None:
                    raise self.fail(f"record {seq}: input event {n!r} is not in the file")
                wires.append(raw)
            if digest_of_wires(wires, decision.as_of) != decision.input_digest:
                raise self.fail(
                    f"record {seq}: its input events do not give the decision's input_digest"
                )
            self.writer.inputs(seq, decision.loan_id, wires)
            self.keeps = True

    def finish(self, header: dict[str, Any]) -> None:
        self.line = 1
        count = self.field(header, "records", int)
        if count != self.log.size:
            raise self.fail(f"the header says {count} records, the file holds {self.log.size}")
        root = self.log.frontier.root().hex()
        if self.version >= 2 and header.get("root_hash") != root:
            raise self.fail(
                f"the records give root {root}, the header names {header.get('root_hash')!r}:"
                " a record was changed, removed or added"
            )
        self.conn.execute("UPDATE meta SET size = ?, root_hash = ?", (self.log.size, root))
        keeps = header.get("keep_inputs") is True
        if keeps != self.keeps and self.log.size:
            raise self.fail(
                f"the header says keep_inputs {keeps}, but the records"
                f" {'carry' if self.keeps else 'do not carry'} inputs"
            )
        self.keeps = keeps
