"""`dunning audit ...`: the audit store for a compliance officer, without writing Python.

Subcommands and what they print (exit codes are the console script's: 0 success, 1 the
command ran and found problems, 2 bad input, 3 internal failure):

==========================  ===================================================  ==========
command                     prints                                               exit 1 when
==========================  ===================================================  ==========
verify STORE                ok and the record count, or every problem            any problem
  [--checkpoint F --public-key F]   ... and that no record under F changed
show STORE LOAN_ID          the loan's decisions as a table                      -
explain STORE DECISION     the decision in plain language (--lang en|zh)        -
export STORE [OUT]          JSON Lines (stdout when OUT is - or absent)          -
import EXPORT NEW_STORE     the record count and root of the new store, verified  it does
  [--checkpoint F --public-key F]   ... against a checkpoint signed on the old store  not verify
keygen --out KEY.pem        writes KEY.pem (0600) and KEY.pub.pem                -
checkpoint STORE --key F    the signed checkpoint as JSON (--timestamp, or now)  -
prove STORE DECISION       the inclusion proof as JSON (--size N)               -
replay STORE [--events F]   how many records re-decided, and each difference     a difference
==========================  ===================================================  ==========

DECISION is the record number `show` prints (seq), a decision id, or a unique id prefix of
8 or more hex digits.

STORE is a SQLite file or a ``postgresql://`` URL, so ``dunning audit export OLD | dunning audit
import - NEW`` moves a store between SQLite and PostgreSQL, checked on both sides: export
verifies before it writes, import rebuilds the tree, refuses a root other than the export's,
and verifies the new store (against the old side's checkpoint when given).
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from .._audit.checkpoint import Checkpoint
from .._audit.keys import read_key_file
from .._audit.store import AuditStore
from .._base.db import is_postgres_url
from .._base.errors import InputError, StoreError
from .._base.time import zone
from .._decide.borrower_decision import BorrowerDecision
from .._portfolio.feeds import group_by_loan, read_jsonl
from .common import EXIT_FINDINGS, EXIT_OK, console, open_input

__all__ = ["add_audit_command"]


def _store(path: str) -> AuditStore:
    if not is_postgres_url(path) and not Path(path).is_file():
        raise StoreError(f"audit store {path}: no such file; expected an existing audit store")
    return AuditStore(path)


def _checkpoint(path: str) -> Checkpoint:
    try:
        return Checkpoint.from_json(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"--checkpoint {path}: cannot read it ({exc.strerror})") from None
    except InputError as exc:
        raise InputError(f"--checkpoint {path}: not a dunning checkpoint ({exc})") from None


def cmd_verify(args: argparse.Namespace) -> int:
    if (args.checkpoint is None) != (args.public_key is None):
        raise InputError("verify: --checkpoint and --public-key go together; give both or neither")
    cp = None if args.checkpoint is None else _checkpoint(args.checkpoint)
    key = None if args.public_key is None else read_key_file(args.public_key, "--public-key")
    with _store(args.store) as store:
        report = store.verify(against=cp, public_key=key)
    out = sys.stdout
    if report.ok:
        out.write(f"ok: {args.store}: {report.records} records verified")
        if cp is not None:
            out.write(
                f"; the first {cp.size} match the checkpoint signed at {cp.timestamp}"
                f" (root {cp.root_hash[:16]}...)"
            )
        out.write("\n")
        return EXIT_OK
    out.write(f"FAILED: {args.store}: {len(report.problems)} problem(s)\n")
    for p in report.problems:
        out.write(f"  - {p}\n")
    return EXIT_FINDINGS


def cmd_show(args: argparse.Namespace) -> int:
    from rich.table import Table

    with _store(args.store) as store:
        records = list(store.records(loan_id=args.loan_id))
    if not records:
        raise InputError(f"show: no decisions of loan {args.loan_id!r} in {args.store}")
    table = Table(title=f"Decisions of loan {args.loan_id} in {args.store}")
    for col in ("seq", "as of (local)", "status", "step", "not before", "rule", "held by", "id"):
        table.add_column(col)
    for r in records:
        d = r.decision
        if isinstance(d, BorrowerDecision):  # its contact stands for the step
            tz = zone(d.timezone)
            c = d.contact
            when = c.not_before if c is not None else None
            nb = when.astimezone(tz).strftime("%Y-%m-%d %H:%M") if when else "-"
            table.add_row(
                str(r.seq), d.as_of.astimezone(tz).strftime("%Y-%m-%d %H:%M"), d.status,
                c.step if c else "-", nb, c.chosen_rule if c else "-", "-", r.decision_id[:12],
            )  # fmt: skip
            continue
        tz = zone(d.timezone)
        nb = d.not_before.astimezone(tz).strftime("%Y-%m-%d %H:%M") if d.not_before else "-"
        held = ", ".join(sorted({b.limit_id for b in d.blocked})) or "-"
        table.add_row(
            str(r.seq), d.as_of.astimezone(tz).strftime("%Y-%m-%d %H:%M"), d.status,
            d.step or "-", nb, d.chosen_rule or "-", held, r.decision_id[:12],
        )  # fmt: skip
    console().print(table)
    return EXIT_OK


def _record_by_prefix(store: AuditStore, decision_id: str) -> Any:
    """A record by decision id, a unique id prefix of 8+ hex digits, or its seq (`show`)."""
    if decision_id.isdigit() and len(decision_id) < 8:
        return store.get(int(decision_id))
    if len(decision_id) == 64:
        return store.get(decision_id)
    if len(decision_id) < 8:
        raise InputError(
            f"decision {decision_id!r}: expected a record number (the seq `show` prints),"
            " 64 hex digits, or a unique prefix of 8 or more"
        )
    hits = [r for r in store.records() if r.decision_id.startswith(decision_id)]
    if len({r.decision_id for r in hits}) != 1:
        what = "no decision" if not hits else "several decisions"
        raise InputError(f"decision id prefix {decision_id!r}: {what} in {store.path} start so")
    return hits[0]


def cmd_explain(args: argparse.Namespace) -> int:
    with _store(args.store) as store:
        record = _record_by_prefix(store, args.decision_id)
    sys.stdout.write(f"record {record.seq}, decision {record.decision_id}\n")
    sys.stdout.write(record.decision.explain(args.lang) + "\n")
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    with _store(args.store) as store:
        if args.out in (None, "-"):
            store.export_jsonl(sys.stdout)
        else:
            n = store.export_jsonl(args.out)
            sys.stderr.write(f"exported {n} records to {args.out}\n")
    return EXIT_OK


def cmd_import(args: argparse.Namespace) -> int:
    if (args.checkpoint is None) != (args.public_key is None):
        raise InputError("import: --checkpoint and --public-key go together; give both or neither")
    cp = None if args.checkpoint is None else _checkpoint(args.checkpoint)
    key = None if args.public_key is None else read_key_file(args.public_key, "--public-key")
    with open_input(args.export) as fh, AuditStore.import_jsonl(fh, args.new_store) as store:
        size, root = store.head()
        report = store.verify(against=cp, public_key=key)
    where = store.path
    if not report.ok:
        sys.stdout.write(f"FAILED: imported into {where}, but it does not verify:\n")
        for p in report.problems:
            sys.stdout.write(f"  - {p}\n")
        return EXIT_FINDINGS
    against = "" if cp is None else f"; the first {cp.size} match the checkpoint"
    sys.stdout.write(f"imported {size} records into {where}; root {root}; verified{against}\n")
    return EXIT_OK


def cmd_keygen(args: argparse.Namespace) -> int:
    private = Path(args.out)
    public = private.with_name(private.name.removesuffix(".pem") + ".pub.pem")
    for p in (private, public):
        if p.exists():
            raise InputError(f"keygen: {p} already exists; expected a new file name")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    sys.stdout.write(f"wrote {private} (keep it secret) and {public} (give it to auditors)\n")
    return EXIT_OK


def cmd_checkpoint(args: argparse.Namespace) -> int:
    when = args.timestamp or datetime.now(UTC).replace(microsecond=0).isoformat()
    with _store(args.store) as store:
        cp = store.checkpoint(read_key_file(args.key, "--key"), when)
    sys.stdout.write(cp.to_json() + "\n")
    return EXIT_OK


def cmd_prove(args: argparse.Namespace) -> int:
    with _store(args.store) as store:
        record = _record_by_prefix(store, args.decision_id)
        proof = store.prove(record.decision_id, size=args.size)
    sys.stdout.write(proof.to_json() + "\n")
    return EXIT_OK


def cmd_replay(args: argparse.Namespace) -> int:
    events_for = None
    if args.events is not None:
        with open_input(args.events) as fh:
            loans = group_by_loan(read_jsonl(fh, name=args.events))
        events_for = lambda loan_id: loans.get(loan_id, [])  # noqa: E731
    with _store(args.store) as store:
        report = store.replay_all(events_for, loan_id=args.loan_id)
    if report.ok:
        sys.stdout.write(f"ok: {report.checked} decisions re-made, all identical\n")
        return EXIT_OK
    sys.stdout.write(f"FAILED: {len(report.problems)} of {report.checked} decisions differ\n")
    for p in report.problems:
        sys.stdout.write(f"  - record {p.seq} (loan {p.loan_id}): {p.message}\n")
    return EXIT_FINDINGS


def add_audit_command(sub: Any) -> None:
    audit = sub.add_parser("audit", help="verify, read, export, sign and prove an audit store")
    cmds = audit.add_subparsers(dest="audit_command", required=True, metavar="SUBCOMMAND")

    s = cmds.add_parser("verify", help="check the whole store file (and against a checkpoint)")
    s.add_argument("store")
    s.add_argument("--checkpoint", help="a checkpoint JSON file signed by the bank")
    s.add_argument("--public-key", help="the bank's Ed25519 public key (PEM)")
    s.set_defaults(func=cmd_verify)

    s = cmds.add_parser("show", help="a loan's decisions as a table")
    s.add_argument("store")
    s.add_argument("loan_id")
    s.set_defaults(func=cmd_show)

    s = cmds.add_parser("explain", help="one stored decision in plain language")
    s.add_argument("store")
    s.add_argument("decision_id", metavar="DECISION", help="seq, decision id, or id prefix")
    s.add_argument("--lang", choices=("en", "zh"), default="en")
    s.set_defaults(func=cmd_explain)

    s = cmds.add_parser("export", help="write the store as JSON Lines")
    s.add_argument("store")
    s.add_argument("out", nargs="?", help="file to write, or - (default) for stdout")
    s.set_defaults(func=cmd_export)

    s = cmds.add_parser("import", help="read an export into a new store, checking it")
    s.add_argument("export", help="JSON Lines file, or - for stdin")
    s.add_argument("new_store", help="a new SQLite file, or a postgresql:// URL (empty schema)")
    s.add_argument("--checkpoint", help="a checkpoint (JSON) of the old store to verify against")
    s.add_argument("--public-key", help="the bank's Ed25519 public key (PEM) for --checkpoint")
    s.set_defaults(func=cmd_import)

    s = cmds.add_parser("keygen", help="make an Ed25519 key pair for signing checkpoints")
    s.add_argument("--out", required=True, help="private key file; the public key goes next to it")
    s.set_defaults(func=cmd_keygen)

    s = cmds.add_parser("checkpoint", help="sign the store's current size and root")
    s.add_argument("store")
    s.add_argument("--key", required=True, help="the bank's Ed25519 private key (PEM)")
    s.add_argument("--timestamp", help="ISO-8601 UTC time to sign (default: now)")
    s.set_defaults(func=cmd_checkpoint)

    s = cmds.add_parser("prove", help="the inclusion proof of one decision")
    s.add_argument("store")
    s.add_argument("decision_id", metavar="DECISION", help="seq, decision id, or id prefix")
    s.add_argument("--size", type=int, help="prove inside the tree of this many records")
    s.set_defaults(func=cmd_prove)

    s = cmds.add_parser("replay", help="re-decide stored decisions and compare")
    s.add_argument("store")
    s.add_argument("--events", help="JSON Lines of the loans' events (default: stored inputs)")
    s.add_argument("--loan-id", help="only this loan's decisions")
    s.set_defaults(func=cmd_replay)
