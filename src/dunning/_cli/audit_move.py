"""`dunning audit export` and `dunning audit import`: move an audit store between stores.

A store is a SQLite file path or a ``postgresql://`` URL, so one pipe moves a store either
way, and the tree is checked on both sides::

    dunning audit export audit.sqlite | dunning audit import postgresql://host/bank?options=...

`export` verifies the store before it writes a line (an export is evidence) and writes the
JSON Lines to stdout (or ``--out``); `import` rebuilds the tree line by line, refuses a file
whose root is not the one its header names, leaves nothing behind on failure, then verifies
the new store: against a checkpoint signed on the old side when ``--checkpoint`` and
``--public-key`` are given. Summaries go to stderr, so stdout stays the data.

Exit codes (`main`'s table): 0 moved and verified, 1 the imported store does not verify,
2 bad input (a store that does not verify for export, an altered or cut export, a target
that already holds a store, an unreadable key or checkpoint).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from .._audit.checkpoint import Checkpoint
from .._audit.keys import public_key, read_key_file
from .._audit.store import AuditStore
from .._base.errors import InputError
from .common import EXIT_FINDINGS, EXIT_OK, open_input

__all__ = ["add_move_commands"]


def add_move_commands(audit_sub: Any) -> None:
    """Register `export` and `import` on the `dunning audit` parser's subparsers."""
    s = audit_sub.add_parser("export", help="write a store as JSON Lines (verified first)")
    s.add_argument("store", help="SQLite file or postgresql:// URL")
    s.add_argument("--out", default="-", help="file to write, or - for stdout (default)")
    s.set_defaults(func=cmd_export)

    s = audit_sub.add_parser("import", help="a new store from an export (tree checked)")
    s.add_argument("store", help="new SQLite file, or postgresql:// URL of an empty schema")
    s.add_argument("source", nargs="?", default="-", help="export file, or - for stdin")
    s.add_argument("--checkpoint", help="a checkpoint (JSON) to verify the new store against")
    s.add_argument("--public-key", help="the bank's Ed25519 public key (PEM) for --checkpoint")
    s.set_defaults(func=cmd_import)


def cmd_export(args: argparse.Namespace) -> int:
    with AuditStore(args.store) as store:
        if args.out == "-":
            count = store.export_jsonl(sys.stdout)
            sys.stdout.flush()
        else:
            count = store.export_jsonl(args.out)
        _size, root = store.head()
    sys.stderr.write(f"exported {count} records from {store.path} (root {root})\n")
    return EXIT_OK


def cmd_import(args: argparse.Namespace) -> int:
    if (args.checkpoint is None) != (args.public_key is None):
        raise InputError("audit import: --checkpoint and --public-key go together")
    checkpoint = key = None
    if args.checkpoint is not None:
        checkpoint = Checkpoint.from_json(read_key_file(args.checkpoint, "checkpoint"))
        key = public_key(read_key_file(args.public_key, "public key"))
    source = args.source if args.source == "-" else str(Path(args.source))
    stream = open_input(source)
    try:
        store = AuditStore.import_jsonl(stream, args.store)
    finally:
        if stream is not sys.stdin:
            stream.close()
    with store:
        report = store.verify(against=checkpoint, public_key=key)
        size, root = store.head()
    if not report.ok:
        sys.stderr.write(f"imported into {store.path}, but it does not verify: {report}\n")
        return EXIT_FINDINGS
    against = "" if checkpoint is None else f", against the checkpoint of {checkpoint.size}"
    sys.stderr.write(
        f"imported {size} records into {store.path} (root {root}; verified{against})\n"
    )
    return EXIT_OK
