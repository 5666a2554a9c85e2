"""`make demo` / `python -m dunning demo`: fold the sample portfolio and print its accounts.

The portfolio is `examples/portfolio.jsonl` (JSON Lines in the wire format of DESIGN.md):
eight Chinese retail loans and one American card account, each with a short story, dated so
that deciding at 2025-06-30 10:00 Shanghai time is meaningful. The demo prints the folded
account state of each loan, then the decisions of the shipped CN pack for them.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, TextIO

from .._base.errors import InputError
from .._base.paths import PACKAGE_DIR, REPO_DIR
from .._base.time import aware
from .._decide.engine import Engine
from .._portfolio.feeds import group_by_loan, read_jsonl
from .._rules.loader import loads_rules
from .._state.account import AccountState
from .._state.events import Event
from .common import console, print_decisions

__all__ = ["DEFAULT_AS_OF", "PORTFOLIO", "load_portfolio", "portfolio_states", "run_demo"]

# Inside a wheel the sample is packaged as dunning/_data/portfolio.jsonl; in a checkout it is
# examples/portfolio.jsonl.
_PACKAGED = PACKAGE_DIR / "_data" / "portfolio.jsonl"
PORTFOLIO = _PACKAGED if _PACKAGED.is_file() else REPO_DIR / "examples" / "portfolio.jsonl"
DEMO_PACKS = {"CNY": "pack:cn-bank-retail", "USD": "pack:us-regf", "GBP": "pack:uk-fca"}
DEFAULT_AS_OF = "2025-06-30T10:00:00+08:00"

# Boolean facts shown in the flags column, in this order.
_FLAGS = (
    "dispute_open", "hardship", "bankruptcy_stay", "bankruptcy_discharged", "deceased",
    "vulnerable", "attorney_represented", "complaint_open", "breathing_space", "closed",
    "written_off", "settled", "time_barred",
)  # fmt: skip


def load_portfolio(path: str | Path = PORTFOLIO) -> dict[str, list[Event]]:
    """Events per loan id (sorted) from a JSON Lines file; errors name file and line.

    Borrower-level events reach every loan of their borrower, except those dated before a
    loan was opened that do not name it (they belong to the borrower's older loans).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(
            f"portfolio: expected a JSON Lines file of events at {path}, found nothing there"
        )
    return group_by_loan(read_jsonl(path))


def portfolio_states(path: str | Path = PORTFOLIO) -> dict[str, AccountState]:
    """The folded state of every loan of the portfolio at `path`."""
    return {loan: AccountState.from_events(ev) for loan, ev in load_portfolio(path).items()}


def _row(state: AccountState, facts: Any) -> list[str]:
    flags = [f for f in _FLAGS if facts[f]]
    flags += [f"ceased:{c}" for c in state.ceased_channels]
    plan = facts["plan_status"]
    if facts["plan_installments_missed"]:
        plan += f" ({facts['plan_installments_missed']} missed)"
    return [
        state.loan_id,
        state.borrower_id,
        str(facts["dpd"]),
        facts["bucket"],
        f"{facts['overdue_amount']} {state.currency}",
        f"{facts['outstanding_amount']} {state.currency}",
        facts["promise_status"],
        plan,
        ", ".join(flags) or "-",
    ]


_HEAD = ["loan", "borrower", "dpd", "bucket", "overdue", "outstanding", "promise", "plan", "flags"]
_RIGHT = {2, 4, 5}  # numeric columns are right-aligned


def format_table(rows: list[list[str]]) -> str:
    """Rows under `_HEAD` as an aligned plain-text table."""
    table = [_HEAD, *rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(_HEAD))]

    def line(r: list[str]) -> str:
        cells = [
            c.rjust(w) if i in _RIGHT else c.ljust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        ]
        return "  ".join(cells).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(_HEAD), rule, *(line(r) for r in rows)]) + "\n"


def run_demo(
    out: TextIO | None = None, as_of: str = DEFAULT_AS_OF, path: str | Path = PORTFOLIO
) -> None:
    """Print the folded accounts of the sample portfolio at `as_of`, then their decisions."""

    out = out or sys.stdout
    when = aware(as_of)
    states = portfolio_states(path)
    rows = [_row(s, s.facts(when)) for _, s in sorted(states.items())]
    out.write(f"Sample portfolio {path if path != PORTFOLIO else 'examples/portfolio.jsonl'}")
    out.write(f" at {when.isoformat()} ({len(rows)} loans)\n\n")
    out.write(format_table(rows))
    out.write("\n")
    # Each loan is decided by the shipped pack of its currency's jurisdiction.
    by_pack: dict[str, list[AccountState]] = {}
    for _, state in sorted(states.items()):
        by_pack.setdefault(DEMO_PACKS.get(state.currency, DEMO_PACKS["CNY"]), []).append(state)
    screen = console(out)
    for pack, group in sorted(by_pack.items()):
        rules = loads_rules(f"extends: {pack}\n", path="<demo>")
        engine = Engine(rules)
        print_decisions([engine.decide(s, when) for s in group], rules, screen)
