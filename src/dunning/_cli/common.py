"""What every command shares: exit codes, the console, input files, progress, decision tables."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import IO, Any

from .._base.errors import InputError
from .._base.time import zone

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


def print_decisions(decisions: Sequence[Any], rules: Any, out: Any, lang: str = "en") -> None:
    """Decisions as a readable table (used by `decide --format table` and `make demo`)."""
    from rich.table import Table

    table = Table(title=f"Decisions — {rules.id} {rules.version}", show_lines=False)
    for col in ("loan", "status", "step", "not before (local)", "rule", "blocked", "flags"):
        table.add_column(col)
    for d in decisions:
        label = d.step or "-"
        if d.step and d.step in rules.steps:
            label = f"{d.step} ({rules.steps[d.step].label.get(lang)})"
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
