"""Public: strategy analytics on real decisions (the `analytics` extra brings scipy).

`outcomes` reads decisions (an AuditStore, a decisions JSON Lines file or Decision objects)
and the events that followed, and reports per arm of a `dunning.Split` and per segment: cure
rates per window, roll-rate matrices, amount recovered, promise-kept rate, contacts per cure,
complaints and disputes per 1,000 accounts, each rate with a Wilson interval and each arm
difference with a test. `diff` decides every loan with an old and a new rule set and lists
the loans whose decision changes, with the rules and limits responsible. `write_html` writes
any of these reports (and the simulator's `compare`) as one self-contained page, en or zh.
See docs/portfolio.md.
"""

from ._portfolio.html_report import to_html, write_html
from ._portfolio.outcome_report import GroupFigures, OutcomeReport
from ._portfolio.outcomes import LoanOutcome, outcomes, read_decisions
from ._portfolio.rule_diff import Change, DiffReport, diff
from ._portfolio.stats import Diff, Rate

__all__ = [
    "Change",
    "Diff",
    "DiffReport",
    "GroupFigures",
    "LoanOutcome",
    "OutcomeReport",
    "Rate",
    "diff",
    "outcomes",
    "read_decisions",
    "to_html",
    "write_html",
]
