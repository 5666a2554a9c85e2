"""The `dunning` console script.

Exit codes (a table, because services and CI scripts branch on them):

    0  success (decide, batch: every loan decided)
    1  the command ran and found problems (lint findings, a failed audit verify; decide and
       batch: some records rejected, their loans set aside, see the dead-letter file)
    2  nothing could run: unreadable or invalid rule file, argument, input file (missing,
       invalid UTF-8), decision; decide and batch: records rejected and not one loan decided
    3  internal failure: a bug in dunning or a dependency; please report it

Output for people goes through rich (tables, progress); output for programs (JSON Lines)
is written plainly to stdout so it can be piped.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .._audit.borrower import read_decision
from .._base.errors import DunningError, InputError, RuleFileError
from .._base.time import aware
from .._decide.borrower_feed import decide_grouped_by_borrower
from .._decide.engine import Engine
from .._decide.feed import decide_grouped
from .._portfolio.feeds import read_records
from .._rules.lint import lint
from .._rules.loader import load_rules
from .._rules.schema import rule_file_json_schema
from .._state.catalog import FAMILIES, SCALARS, catalog_markdown
from .._state.intake import group_feed
from .._state.parse import event_json_schema
from .analytics import add_commands as add_analytics_commands
from .analytics import add_split_args, rules_or_split
from .audit import add_audit_command
from .common import (
    EXIT_BAD_INPUT,
    EXIT_FINDINGS,
    EXIT_INTERNAL,
    EXIT_OK,
    add_feed_options,
    console,
    default_rejects,
    open_input,
    print_borrower_decisions,
    print_decisions,
    progress_bar,
    report_feed,
)
from .demo import run_demo
from .portfolio import add_commands


def _show_rule_error(err: RuleFileError, out: Any) -> None:
    """The error, then the offending YAML line with a caret under the column."""
    out.print(f"[bold red]error[/]: {err}", markup=True)
    if err.path and err.line and Path(err.path).is_file():
        lines = Path(err.path).read_text(encoding="utf-8", errors="replace").splitlines()
        if 0 < err.line <= len(lines):
            text = lines[err.line - 1]
            out.print(f"  {err.line:>5} | {text}", markup=False)
            if err.column:
                out.print(" " * (10 + err.column - 1) + "^", markup=False)


def cmd_validate(args: argparse.Namespace) -> int:

    out = console()
    bad = 0
    for path in args.files:
        try:
            rs = load_rules(path)
        except RuleFileError as err:
            _show_rule_error(err, out)
            bad += 1
            continue
        out.print(
            f"ok: {path} ({rs.id} {rs.version}, {len(rs.rules)} rules,"
            f" {len(rs.document.limits)} limits, sha256 {rs.sha256[:12]})",
            markup=False,
        )
    return EXIT_BAD_INPUT if bad else EXIT_OK


def cmd_lint(args: argparse.Namespace) -> int:

    out = console()
    found = 0
    for path in args.files:
        try:
            rs = load_rules(path)
        except RuleFileError as err:
            _show_rule_error(err, out)
            return EXIT_BAD_INPUT
        for f in lint(rs):
            found += 1
            out.print(f"{path}: {f.code}: {f.message}", markup=False)
    if not found:
        out.print("no findings", markup=False)
    return EXIT_FINDINGS if found else EXIT_OK


def cmd_decide(args: argparse.Namespace) -> int:

    rules = load_rules(args.rules)
    split = rules_or_split(args)  # --challenger arms: each account decided by its arm
    engine = Engine(rules, backend=args.backend) if isinstance(split, str) else split
    as_of = aware(args.as_of, what="--as-of")
    ignored: Counter[str] = Counter()
    with open_input(args.events) as fh:
        grouped = group_feed(read_records(fh, name=args.events, strict=args.strict,
                                          ignored=ignored))  # fmt: skip
    grouped.ignored.update(ignored)
    total = len(grouped.loans)
    progress = progress_bar(total, enabled=args.format == "table" and total > 200)
    result: Any
    if args.by == "borrower":
        result = decide_grouped_by_borrower(engine, grouped, as_of, progress)
    else:
        result = decide_grouped(engine, grouped, as_of, progress)
    if args.format == "jsonl":
        for d in result.decisions:
            sys.stdout.write(d.to_json() + "\n")
    elif args.by == "borrower":
        print_borrower_decisions(result.decisions, rules, console())
    else:
        print_decisions(result.decisions, rules, console())
    rejects = args.rejects or default_rejects(args.events, None)
    return report_feed(
        decided=len(result.decisions),
        set_aside=[s.loan_id for s in result.set_aside],
        rejects=result.rejects,
        ignored=result.ignored_fields,
        path=rejects,
        explicit=bool(args.rejects),
        source=None if args.events == "-" else args.events,
    )


def cmd_explain(args: argparse.Namespace) -> int:

    with open_input(args.decisions) as fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                d = read_decision(line.strip())
            except InputError as exc:
                raise InputError(f"{args.decisions}:{n}: {exc}") from None
            sys.stdout.write(d.explain(args.lang) + "\n")
    return EXIT_OK


def cmd_schema(args: argparse.Namespace) -> int:
    schema = rule_file_json_schema() if args.what == "rules" else event_json_schema()
    sys.stdout.write(json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    return EXIT_OK


def cmd_facts(args: argparse.Namespace) -> int:

    if args.markdown:
        sys.stdout.write(catalog_markdown())
        return EXIT_OK
    from rich.table import Table

    table = Table(title="Fact catalog")
    for col in ("fact", "type", "unit", "meaning"):
        table.add_column(col)
    for f in (*SCALARS.values(), *FAMILIES):
        table.add_row(f.name, f.type + ("?" if f.nullable else ""), f.unit, f.description)
    console().print(table)
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:

    run_demo(as_of=args.as_of)
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="dunning", description="Debt collection by declarative rules.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("validate", help="load rule files and report errors with the YAML line")
    s.add_argument("files", nargs="+")
    s.set_defaults(func=cmd_validate)

    s = sub.add_parser("lint", help="report rules that can never fire, dpd gaps, unused steps")
    s.add_argument("files", nargs="+")
    s.set_defaults(func=cmd_lint)

    s = sub.add_parser("decide", help="decide the next step for every loan in an event stream")
    s.add_argument("events", nargs="?", default="-", help="JSON Lines file, or - for stdin")
    s.add_argument("--rules", required=True, help="rule file (YAML)")
    s.add_argument(
        "--as-of", required=True, help="aware ISO-8601 time, e.g. 2025-06-30T10:00+08:00"
    )
    s.add_argument("--format", choices=("jsonl", "table"), default="jsonl")
    s.add_argument("--backend", choices=("python", "durable"), default="python")
    s.add_argument(
        "--by",
        choices=("loan", "borrower"),
        default="loan",
        help="one decision per loan, or one per borrower (one contact across their loans)",
    )
    add_feed_options(s)
    add_split_args(s)
    s.set_defaults(func=cmd_decide)

    s = sub.add_parser("explain", help="explain decisions (JSON Lines) in plain language")
    s.add_argument("decisions", nargs="?", default="-")
    s.add_argument("--lang", choices=("en", "zh"), default="en")
    s.set_defaults(func=cmd_explain)

    s = sub.add_parser("schema", help="print the JSON Schema of rule files or events")
    s.add_argument("what", choices=("rules", "events"))
    s.set_defaults(func=cmd_schema)

    s = sub.add_parser("facts", help="list the fact catalog")
    s.add_argument("--markdown", action="store_true")
    s.set_defaults(func=cmd_facts)

    s = sub.add_parser("demo", help="decide the embedded sample portfolio and print a table")
    s.add_argument("--as-of", default="2025-06-30T10:00:00+08:00")
    s.set_defaults(func=cmd_demo)

    add_commands(sub)
    add_audit_command(sub)
    add_analytics_commands(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except RuleFileError as err:
        _show_rule_error(err, console(sys.stderr))
        return EXIT_BAD_INPUT
    except DunningError as err:
        sys.stderr.write(f"error: {err}\n")
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:  # pragma: no cover
        return 130
    except Exception as err:  # a bug: say so plainly, keep the traceback for the report
        import traceback

        traceback.print_exc()
        sys.stderr.write(f"internal error ({type(err).__name__}); please report it\n")
        return EXIT_INTERNAL
    return code
