"""What every command shares: exit codes, the console, input files, progress, decision tables."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import IO, Any

from .._base.errors import InputError
from .._base.time import zone
from .._portfolio.feeds import write_rejects

EXIT_OK, EXIT_FINDINGS, EXIT_BAD_INPUT, EXIT_INTERNAL = 0, 1, 2, 3


def console(stream: IO[str] | None = None) -> Any:
    try:
        from rich.console import Console
    except ImportError:  # pragma: no cover - rich is in the cli and dev extras
        raise InputError("the command line needs rich: pip install 'dunning[cli]'") from None
    stream = stream or sys.stdout
    # Piped or captured output has no terminal width; 160 columns keeps tables readable.
    width = None if stream.isatty() else 160
    return Console(file=stream, highlight=False, soft_wrap=True, width=width)


def open_input(name: str) -> IO[str]:
    if name == "-":
        return sys.stdin
    try:
        return open(name, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read {name!r}: {exc.strerror}") from None


def add_feed_options(s: Any) -> None:
    """--strict and --rejects, for the commands that read a feed of events."""
    s.add_argument("--strict", action="store_true",
                   help="reject events with fields dunning does not know (default: ignore"
                        " and count them)")  # fmt: skip
    s.add_argument("--rejects", metavar="PATH",
                   help="dead-letter file (JSON Lines) for rejected lines (default: beside"
                        " the output, or the input for decide)")  # fmt: skip


def default_rejects(events: str, out: str | None) -> str:
    """Where the dead letters go by default: beside the output file, else beside the input
    file; ``-`` (stderr) when both are streams."""
    if out is not None and out != "-":
        return f"{out}.rejects.jsonl"
    if events != "-":
        return f"{events}.rejects.jsonl"
    return "-"


def report_feed(
    *,
    decided: int,
    set_aside: Sequence[str],
    rejects: Sequence[Any],
    ignored: dict[str, int],
    path: str,
    explicit: bool,
    source: str | None,
) -> int:
    """Write the dead letters (when there are any, or when asked for a path) and say on
    stderr what was decided, set aside and ignored; the exit code: 0, or 1 when some loans
    were set aside or lines rejected, 2 when not one loan could be decided."""
    if rejects or explicit:
        write_rejects(rejects, path, source)
    parts = [f"decided {decided} loan{'s' if decided != 1 else ''}"]
    if set_aside or rejects:
        parts.append(f"set aside {len(set_aside)} ({len(rejects)} rejected lines in {path})")
    if ignored:
        parts.append("ignored fields: " + ", ".join(f"{k} x{v}" for k, v in ignored.items()))
    if set_aside or rejects or ignored:
        sys.stderr.write("; ".join(parts) + "\n")
    for r in rejects[:5] if path != "-" else ():
        where = f"{r.source}:{r.line}: " if r.source and r.line else ""
        sys.stderr.write(f"  rejected: {where}{r.error}\n")
    if len(rejects) > 5:
        sys.stderr.write(f"  ... and {len(rejects) - 5} more in {path}\n")
    if not (set_aside or rejects):
        return EXIT_OK
    return EXIT_FINDINGS if decided else EXIT_BAD_INPUT


def progress_bar(total: int, *, enabled: bool) -> Any:
    """A callable advancing a progress bar on stderr (a no-op for short runs or pipes)."""
    if not enabled or not sys.stderr.isatty():
        return lambda _item: None
    from rich.progress import Progress

    bar = Progress(console=console(sys.stderr), transient=True)
    task = bar.add_task("deciding", total=total)
    bar.start()
    done = [0]

    def advance(_item: object) -> None:
        done[0] += 1
        bar.advance(task)
        if done[0] >= total:
            bar.stop()

    return advance


def print_borrower_decisions(
    decisions: Sequence[Any], rules: Any, out: Any, lang: str = "en"
) -> None:
    """Borrower decisions as a table: the one contact, the loans it covers, each loan's step."""
    from rich.table import Table

    table = Table(title=f"Borrower decisions — {rules.id} {rules.version}", show_lines=False)
    for col in ("borrower", "status", "contact", "not before (local)", "covers", "loan steps"):
        table.add_column(col)
    for d in decisions:
        c = d.contact
        nb = "-"
        if c is not None and c.not_before is not None:
            nb = c.not_before.astimezone(zone(d.timezone)).strftime("%Y-%m-%d %H:%M")
        steps = ", ".join(
            f"{line.loan_id}: {line.step.step} ({line.step.status})"
            for line in d.loans
            if line.step.step
        )
        table.add_row(
            d.borrower_id,
            d.status,
            f"{c.step} ({c.status}, by {c.loan_id})" if c else "-",
            nb,
            ", ".join(c.covers) if c else "-",
            steps or "-",
        )
    out.print(table)


def print_decisions(decisions: Sequence[Any], rules: Any, out: Any, lang: str = "en") -> None:
    """Decisions as a readable table (used by `decide --format table` and `make demo`)."""
    from rich.table import Table

    table = Table(title=f"Decisions — {rules.id} {rules.version}", show_lines=False)
    for col in ("loan", "status", "step", "not before (local)", "rule", "blocked", "flags"):
        table.add_column(col)
    for d in decisions:
        label = d.step or "-"
        if d.step and d.step_label.get(lang):  # the decision's own label (any arm's rules)
            label = f"{d.step} ({d.step_label[lang]})"
        elif d.step and d.step in rules.steps:
            label = f"{d.step} ({rules.steps[d.step].label.get(lang)})"
        if getattr(d, "arm", None):
            label = f"{label} [{d.arm}]"
        nb = (
            d.not_before.astimezone(zone(d.timezone)).strftime("%Y-%m-%d %H:%M")
            if d.not_before
            else "-"
        )
        blocked = ", ".join(sorted({b.limit_id for b in d.blocked})) or "-"
        table.add_row(
            d.loan_id, d.status, label, nb, d.chosen_rule or "-", blocked, ", ".join(d.flags) or "-"
        )
    out.print(table)
