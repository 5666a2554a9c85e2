"""Analytics commands of the console script: outcomes, diff; the split options of `batch`.

`outcomes` and `diff` print a rich table (or JSON with ``--format json``) and, with
``--html PATH``, write one self-contained page (`_portfolio.html_report`). Exit codes are
`_cli`'s table: 0 done, 2 bad input, 3 bug.
"""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import ExitStack
from typing import Any

from .._audit.store import AuditStore
from .._base.errors import InputError
from .._decide.split import KEYS, Split
from .._portfolio.html_report import LANGS, write_html
from .._portfolio.outcomes import outcomes
from .._portfolio.rule_diff import diff
from .common import EXIT_OK, console

__all__ = ["add_commands", "add_html_args", "add_split_args", "rules_or_split", "write_report"]

_SQLITE = b"SQLite format 3\x00"


def add_html_args(s: Any) -> None:
    s.add_argument("--html", metavar="PATH", help="also write a self-contained HTML report")
    s.add_argument("--lang", choices=LANGS, default="en", help="language of the HTML report")


def add_split_args(s: Any) -> None:
    """Champion/challenger options: --rules is the champion, each --challenger an arm."""
    s.add_argument("--challenger", action="append", default=[], metavar="ARM=RULES.yaml",
                   help="decide a share of accounts with this rule file (repeatable)")  # fmt: skip
    s.add_argument("--share", default="0.5", help="each challenger's share of accounts, 0..1")
    s.add_argument("--salt", default="", help="changes which accounts fall in which arm")
    s.add_argument("--experiment", help="experiment id recorded in every decision")
    s.add_argument("--split-by", choices=KEYS, default="loan_id", help="hash this id")


def rules_or_split(args: argparse.Namespace) -> Any:
    """The --rules path, or a Split when --challenger arms are given."""
    if not args.challenger:
        return args.rules
    arms = {}
    for item in args.challenger:
        arm, sep, path = item.partition("=")
        if not sep or not arm or not path:
            raise InputError(f"--challenger: expected ARM=RULES.yaml, found {item!r:.80}")
        arms[arm] = path
    return Split(args.rules, arms, share=args.share, salt=args.salt,
                 experiment=args.experiment, key=args.split_by)  # fmt: skip


def write_report(report: Any, args: argparse.Namespace) -> None:
    if args.html:
        write_html(report, args.html, args.lang)
        sys.stderr.write(f"report: {args.html}\n")


def add_commands(sub: Any) -> None:
    """Register `outcomes` and `diff` on the `dunning` parser's subparsers."""
    s = sub.add_parser("outcomes", help="outcomes per arm and segment of decided accounts")
    s.add_argument("decisions", help="decisions: JSON Lines file or audit store (SQLite)")
    s.add_argument("events", help="events up to now (JSON Lines)")
    s.add_argument("--windows", default="30,60,90", help="days after the decision, e.g. 30,90")
    s.add_argument("--by", default="product,bucket", help="segments: product, bucket, fields")
    s.add_argument("--experiment", help="only decisions of this experiment")
    s.add_argument("--champion", help="the arm the others are tested against")
    s.add_argument("--until", help="aware ISO-8601 end of the data (default: last event)")
    s.add_argument("--min-sample", type=int, default=30)
    s.add_argument("--format", choices=("table", "json"), default="table")
    add_html_args(s)
    s.set_defaults(func=cmd_outcomes)

    s = sub.add_parser("diff", help="which loans a rule change would decide differently, why")
    s.add_argument("old", help="rule file in force (YAML)")
    s.add_argument("new", help="changed rule file (YAML)")
    s.add_argument("events", help="events (JSON Lines)")
    s.add_argument("--as-of", help="aware ISO-8601 instant of the decisions")
    s.add_argument("--from", dest="start", help="first instant of a daily range")
    s.add_argument("--to", dest="end", help="last instant of a daily range (included)")
    s.add_argument("--format", choices=("table", "json"), default="table")
    add_html_args(s)
    s.set_defaults(func=cmd_diff)


def _windows(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in text.split(","))
    except ValueError:
        raise InputError(f"--windows: expected days such as 30,60,90, found {text!r:.80}") from None


def _is_sqlite(path: str) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(len(_SQLITE)) == _SQLITE
    except OSError as exc:
        raise InputError(f"cannot read {path!r}: {exc.strerror}") from None


def cmd_outcomes(args: argparse.Namespace) -> int:
    with ExitStack() as stack:
        source: Any = args.decisions
        if _is_sqlite(args.decisions):
            source = stack.enter_context(AuditStore(args.decisions))
        by = tuple(p for p in args.by.split(",") if p)
        report = outcomes(source, args.events, _windows(args.windows), by=by,
                          champion=args.champion, experiment=args.experiment,
                          until=args.until, min_sample=args.min_sample)  # fmt: skip
    if args.format == "json":
        sys.stdout.write(json.dumps(report.to_dict(), sort_keys=True, ensure_ascii=False) + "\n")
    else:
        _show_outcomes(report)
    write_report(report, args)
    return EXIT_OK


def _show_outcomes(report: Any) -> None:
    from rich.table import Table

    out = console()
    table = Table(title=f"Cure rate by window (arms: {', '.join(report.arms)})")
    for col in ("segment", "arm", "accounts", *(f"{w} d" for w in report.windows)):
        table.add_column(col)
    for seg, arms in report.groups.items():
        for arm, g in arms.items():
            table.add_row(seg, arm, str(g.accounts), *(g.cure[w].text() for w in report.windows))
    out.print(table)
    tests = Table(title=f"Arm differences against {report.champion} (5% level)")
    for col in ("metric", "segment", "arm", "difference", "test", "p", "significant",
                "p adjusted (BH)", "significant adjusted"):  # fmt: skip
        tests.add_column(col)
    for d in report.diffs:
        tests.add_row(d.metric, d.segment, d.arm, "–" if d.delta is None else f"{d.delta:+.4g}",
                      d.test, "–" if d.p_value is None else f"{d.p_value:.3g}",
                      "yes" if d.significant else "no",
                      "–" if d.p_adjusted is None else f"{d.p_adjusted:.3g}",
                      "yes" if d.significant_adjusted else "no")  # fmt: skip
    if report.diffs:
        out.print(tests)
    for w in report.warnings:
        out.print(f"warning: {w}", markup=False)


def cmd_diff(args: argparse.Namespace) -> int:
    report = diff(args.old, args.new, args.events, as_of=args.as_of, start=args.start,
                  end=args.end)  # fmt: skip
    if args.format == "json":
        sys.stdout.write(json.dumps(report.to_dict(), sort_keys=True, ensure_ascii=False) + "\n")
    else:
        _show_diff(report)
    write_report(report, args)
    return EXIT_OK


def _show_diff(report: Any) -> None:
    from rich.table import Table

    out = console()
    old, new = report.old, report.new
    out.print(f"{old['id']} {old['version']} -> {new['id']} {new['version']}: {len(report.changes)}"
              f" change(s) in {report.decided} decision(s)", markup=False)  # fmt: skip
    pairs = Table(title="Changes per (old -> new) pair")
    for col in ("old", "new", "count"):
        pairs.add_column(col)
    for (o, n), k in sorted(report.pairs.items(), key=lambda kv: (-kv[1], kv[0])):
        pairs.add_row(o, n, str(k))
    out.print(pairs)
    if len(report.instants) > 1:
        days = Table(title="Changes per day")
        days.add_column("as of")
        days.add_column("changes", justify="right")
        for day, k in report.per_day.items():
            days.add_row(day, str(k))
        out.print(days)
    changes = Table(title="Loans whose decision changes")
    for col in ("loan", "as of", "old", "new", "rules", "limits"):
        changes.add_column(col)
    for c in report.changes:
        changes.add_row(c.loan_id, c.as_of, c.old, c.new, ", ".join(c.rules) or "-",
                        ", ".join(c.limits) or "-")  # fmt: skip
    out.print(changes)
    for key, items in (("newly blocked", report.newly_blocked), ("unblocked", report.unblocked)):
        loans = sorted({c.loan_id for c in items})
        out.print(f"{key}: {', '.join(loans) or 'none'}", markup=False)
