"""Portfolio commands of the console script: batch, simulate, compare (see _batch, _simulate).

Progress bars go to stderr (only when it is a terminal); results go to stdout as a rich
table or as JSON for programs. Exit codes are `main`'s table: 0 done, 1 some loans set
aside (batch), 2 bad input, 3 bug.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import date
from pathlib import Path
from typing import Any

from .._base.errors import InputError
from .._portfolio.batch import run_batch
from .._portfolio.compare import compare, render_png, render_table, summary
from .._portfolio.feeds import dumps_event, read_records
from .._portfolio.simulate import DEFAULT_MIX, SimConfig, simulate
from .analytics import add_html_args, add_split_args, rules_or_split, write_report
from .common import (
    EXIT_BAD_INPUT,
    EXIT_FINDINGS,
    EXIT_OK,
    add_feed_options,
    console,
    default_rejects,
)

__all__ = ["add_commands"]


def add_commands(sub: Any) -> None:
    """Register the portfolio sub-commands on the `dunning` parser's subparsers."""
    s = sub.add_parser("batch", help="nightly batch: apply new events to snapshots, decide all")
    s.add_argument("events", nargs="?", default="-", help="the day's events (JSON Lines, -)")
    s.add_argument("--store", required=True, help="snapshot store file (SQLite; created)")
    s.add_argument("--rules", required=True, help="rule file (YAML)")
    s.add_argument("--as-of", required=True, help="aware ISO-8601 time of the decisions")
    s.add_argument("--batch-id", required=True, help="re-run with the same id to resume")
    s.add_argument("--out", required=True, help="decisions file (JSON Lines), or - for stdout")
    s.add_argument("--audit", help="also append every decision to this audit store")
    s.add_argument("--chunk", type=int, default=500, help="loans per transaction")
    s.add_argument("--format", choices=("table", "json"), default="table", help="summary")
    s.add_argument(
        "--by",
        choices=("loan", "borrower"),
        default="loan",
        help="one decision per loan, or one per borrower (one contact across their loans)",
    )
    s.add_argument("--transitions", help="write the night's transition events here (JSON Lines)")
    add_split_args(s)
    add_feed_options(s)
    s.set_defaults(func=cmd_batch)

    s = sub.add_parser("simulate", help="simulate a synthetic portfolio under a rule set")
    s.add_argument("--rules", required=True)
    _sim_args(s)
    s.add_argument("--events-out", help="write every simulated event here (JSON Lines)")
    s.set_defaults(func=cmd_simulate)

    s = sub.add_parser("compare", help="champion/challenger: split, simulate, compare")
    s.add_argument("--champion", required=True, help="rule file of the current strategy")
    s.add_argument("--challenger", required=True, help="rule file of the candidate strategy")
    s.add_argument("--share", default="0.5", help="challenger share of loans, 0..1")
    s.add_argument("--salt", default="", help="changes which loans fall in which arm")
    _sim_args(s)
    s.add_argument("--png", help="write charts to this PNG file (needs dunning[sim])")
    add_html_args(s)
    s.set_defaults(func=cmd_compare)


def _sim_args(s: Any) -> None:
    s.add_argument("--accounts", type=int, default=200)
    s.add_argument("--days", type=int, default=60)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--start", default="2025-03-01", help="first simulated day (ISO date)")
    s.add_argument("--mix", help="behaviour weights, e.g. forgetful=0.5,unreachable=0.5")
    s.add_argument("--format", choices=("table", "json"), default="table")


# --- progress --------------------------------------------------------------------------------


@contextmanager
def progress_bar(label: str) -> Iterator[Callable[..., None]]:
    """A callback `(done, total)` or `(arm, done, total)` driving a bar on stderr."""
    if not sys.stderr.isatty():
        yield lambda *_a: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    bar = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console(sys.stderr),
        transient=True,
    )
    tasks: dict[str, Any] = {}

    def update(*args: Any) -> None:
        name, (done, total) = (label, args) if len(args) == 2 else (f"{label} {args[0]}", args[1:])
        if name not in tasks:
            tasks[name] = bar.add_task(name, total=total)
        bar.update(tasks[name], completed=done, total=total)

    with bar:
        yield update


# --- commands --------------------------------------------------------------------------------


def cmd_batch(args: argparse.Namespace) -> int:

    out = Path(args.store).with_suffix(".stdout.jsonl") if args.out == "-" else Path(args.out)
    dead = args.rejects or default_rejects(args.events, args.out)
    with progress_bar("deciding") as tick:
        # A file is read by path (so dead letters found after reading get their line).
        events: Any = args.events if args.events != "-" else read_records(sys.stdin, name="-")
        summary = run_batch(
            events,
            store=args.store,
            rules=rules_or_split(args),
            as_of=args.as_of,
            out=out,
            audit=args.audit,
            batch_id=args.batch_id,
            chunk=args.chunk,
            progress=tick,
            strict=args.strict,
            rejects=dead,
            by=args.by,
            transitions=args.transitions,
        )
    if args.out == "-":
        with open(out, encoding="utf-8") as fh:
            sys.stdout.writelines(fh)
        out.unlink()
    facts = {k: v for k, v in vars(summary).items() if k != "out"}
    if args.format == "json":
        sys.stderr.write(json.dumps(facts, sort_keys=True) + "\n")
    else:
        _show_pairs(f"Batch {summary.batch_id}", facts, sys.stderr)
    if not (summary.set_aside or summary.rejected_lines):
        return EXIT_OK
    return EXIT_FINDINGS if summary.decided_now or summary.resumed_from else EXIT_BAD_INPUT


def _config(args: argparse.Namespace) -> Any:

    try:
        start = date.fromisoformat(args.start)
    except ValueError:
        raise InputError(
            f"--start: expected an ISO date such as 2025-03-01, found {args.start!r}"
        ) from None
    mix = dict(DEFAULT_MIX) if not args.mix else _parse_mix(args.mix)
    return SimConfig(accounts=args.accounts, days=args.days, seed=args.seed, start=start, mix=mix)


def _parse_mix(text: str) -> dict[str, float]:
    mix: dict[str, float] = {}
    for part in text.split(","):
        name, sep, weight = part.partition("=")
        try:
            value = float(weight)
        except ValueError:
            value = -1.0
        if not sep or value < 0:
            raise InputError(
                f"--mix: expected name=weight pairs such as forgetful=0.5, found {part!r}"
            )
        mix[name.strip()] = value
    return mix


def cmd_simulate(args: argparse.Namespace) -> int:

    config = _config(args)
    with ExitStack() as stack:
        sink = None
        if args.events_out:
            sink = stack.enter_context(open(args.events_out, "w", encoding="utf-8"))

        def write(_loan: str, events: list[Any]) -> None:
            if sink is not None:
                sink.writelines(dumps_event(e) + "\n" for e in events)

        tick = stack.enter_context(progress_bar("simulating"))
        metrics = simulate(args.rules, config, on_events=write, progress=tick)
    if args.format == "json":
        sys.stdout.write(json.dumps(metrics.to_dict(), sort_keys=True) + "\n")
    else:
        data = {**summary(metrics), "digest": metrics.digest}
        _show_pairs(f"Simulation: seed {config.seed}, {config.days} days", data, None)
    return EXIT_OK


def cmd_compare(args: argparse.Namespace) -> int:

    config = _config(args)
    with progress_bar("simulating") as tick:
        report = compare(args.champion, args.challenger, config, share=args.share,
                         salt=args.salt, progress=tick)  # fmt: skip
    if args.format == "json":
        sys.stdout.write(json.dumps(report.to_dict(), sort_keys=True) + "\n")
    else:
        console().print(render_table(report))
    if args.png:
        render_png(report, args.png)
        sys.stderr.write(f"charts: {args.png}\n")
    write_report(report, args)
    return EXIT_OK


def _show_pairs(title: str, data: dict[str, Any], stream: Any) -> None:
    from rich.table import Table

    table = Table(title=title, show_header=False)
    table.add_column("what")
    table.add_column("value", justify="right")
    for key, value in data.items():
        text = ", ".join(f"{k} {v}" for k, v in value.items()) if isinstance(value, dict) else value
        table.add_row(key.replace("_", " "), str(text))
    console(stream).print(table)
