"""Position: where a loan stands at a decision's `as_of` — what transitions are made of.

Every decision the engine makes carries its loan's position (`Decision.position`): days past
due gross and net of paused days, the rule set's delinquency bucket of that dpd (its
`buckets:`, default M0 ... M7+), whether anything is overdue, whether collection is paused
(with the reason codes of the pauses in force and when they end) and whether the claim is
time-barred. Two successive decisions' positions give the transitions out
(`dunning.transitions`). A decision written before positions existed has none; it reads back,
replays and keeps its id (the field is left out of the canonical JSON when absent).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, field_serializer, field_validator

from .._base.time import aware, iso_utc, to_utc
from .._gate.outcome import construct
from .._gate.pause import pauses_in_force

__all__ = ["Position", "bucket_in", "position_of"]


class Position(BaseModel):
    """A loan's standing at a decision's as_of (see the module docstring)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    dpd: int
    dpd_net: int
    bucket: str
    bucket_min_dpd: int  # the bucket's dpd range in the rule set
    bucket_max_dpd: int | None  # None for the last, open-ended bucket
    in_arrears: bool
    paused: bool = False
    pause_reasons: tuple[str, ...] = ()  # sorted reason codes of the pauses in force
    paused_until: datetime | None = None  # when they end; None: no end known (or not paused)
    time_barred: bool = False

    @field_validator("paused_until", mode="before")
    @classmethod
    def _aware(cls, v: Any) -> Any:
        return None if v is None else to_utc(aware(v))

    @field_serializer("paused_until")
    def _ser(self, v: datetime | None) -> str | None:
        return None if v is None else iso_utc(v)

    def shape(self) -> dict[str, Any]:
        """The JSON-shaped dict, keys sorted (for the canonical bytes)."""
        return {
            "bucket": self.bucket,
            "bucket_max_dpd": self.bucket_max_dpd,
            "bucket_min_dpd": self.bucket_min_dpd,
            "dpd": self.dpd,
            "dpd_net": self.dpd_net,
            "in_arrears": self.in_arrears,
            "pause_reasons": list(self.pause_reasons),
            "paused": self.paused,
            "paused_until": None if self.paused_until is None else iso_utc(self.paused_until),
            "time_barred": self.time_barred,
        }


def bucket_in(
    table: tuple[tuple[str, int, int | None], ...], dpd: int
) -> tuple[str, int, int | None]:
    """The row (id, min_dpd, max_dpd) of `table` (`RuleFile.bucket_table`) that holds `dpd`."""
    found = table[0]
    for row in table:
        if dpd >= row[1]:
            found = row
    return found


def position_of(
    table: tuple[tuple[str, int, int | None], ...],
    state: Any,
    facts: Mapping[str, Any],
    as_of: datetime,
) -> Position:
    """The position of `state` at `as_of`, from the facts already computed for it."""
    dpd = int(facts["dpd"])
    paused = bool(facts.get("paused", False))
    reasons: tuple[str, ...] = ()
    until = None
    bucket, low, high = bucket_in(table, dpd)
    if paused:
        seen, until = pauses_in_force(state, as_of)
        reasons = tuple(sorted({p.reason for p in seen}))
    # Every field named, values already canonical (UTC instant, sorted reasons): built without
    # re-validation, as the gate builds its Blocks.
    return construct(
        Position,
        {
            "dpd": dpd,
            "dpd_net": int(facts.get("dpd_net", dpd)),
            "bucket": bucket,
            "bucket_min_dpd": low,
            "bucket_max_dpd": high,
            "in_arrears": facts["overdue_amount"] > 0,
            "paused": paused,
            "pause_reasons": reasons,
            "paused_until": None if until is None else to_utc(until),
            "time_barred": facts.get("time_barred") is True,
        },
    )
