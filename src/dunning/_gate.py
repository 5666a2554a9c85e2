"""The compliance gate: limits dispose of the candidate steps the rules proposed.

(Stub with the final signature; the full gate follows.)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from ._decision import Block, FlagNote

Status = Literal["act", "defer", "blocked", "none"]


@dataclass(frozen=True)
class Candidate:
    """A step a rule proposed; the engine passes candidates in preference order."""

    rule_id: str
    step: str
    priority: int
    level: int


@dataclass(frozen=True)
class GateResult:
    """What the gate decided: the step to take (now or at `not_before`) and why others wait."""

    status: Status
    step: str | None
    chosen_rule: str | None
    not_before: datetime | None
    blocked: tuple[Block, ...]
    flags: tuple[str, ...]
    flag_notes: tuple[FlagNote, ...]


def evaluate(
    rules: Any,
    state: Any,
    facts: Mapping[str, object],
    as_of: datetime,
    candidates: Sequence[Candidate],
) -> GateResult:
    """Choose among `candidates` (preference order) under the rule set's limits."""
    if not candidates:
        return GateResult("none", None, None, None, (), (), ())
    first = candidates[0]
    return GateResult("act", first.step, first.rule_id, None, (), (), ())
