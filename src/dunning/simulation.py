"""Public: the seeded borrower simulator and champion/challenger comparison.

`simulate` lets the engine decide every simulated day and feeds modelled outcomes back as
events; `compare` splits a portfolio by a hash of the loan id between two rule sets and
reports them side by side (`render_table`, and `render_png` with the `sim` extra).
See docs/portfolio.md.
"""

from ._portfolio.compare import ArmMetrics, CompareReport, arm_of, compare, render_png, render_table
from ._portfolio.simulate import (
    BEHAVIOURS,
    DEFAULT_MIX,
    Behaviour,
    SimConfig,
    generate_portfolio,
    simulate,
)

__all__ = [
    "ArmMetrics",
    "BEHAVIOURS",
    "Behaviour",
    "CompareReport",
    "DEFAULT_MIX",
    "SimConfig",
    "arm_of",
    "compare",
    "generate_portfolio",
    "render_png",
    "render_table",
    "simulate",
]
