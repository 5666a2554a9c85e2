"""A decision's matches: the rules that held, with the facts they read (`Match`), and which
rule set made the decision (`RuleSetRef`); and the canonical shape of a match, kept per rule
for the engine's fast canonical JSON (`decision.canonical_bytes`)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
)

from .._base.time import aware, iso_utc
from .._gate.outcome import drop_unset

__all__ = ["FactValue", "Match", "RuleSetRef", "bmp_keys", "keep_match_shape", "kept_shape",
           "match_shape_of", "match_static"]  # fmt: skip

FactValue = int | bool | str | None  # money travels as its canonical decimal string


class RuleSetRef(BaseModel):
    """Which rule set made a decision: id, version and the sha256 of its resolved form."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    id: str
    version: str
    sha256: str


class Match(BaseModel):
    """A rule whose condition held, with every fact it read and the value it saw."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    rule_id: str
    step: str
    priority: int
    level: int
    facts: dict[str, FactValue]
    source: str
    reason: dict[str, str] = {}  # the rule's reason text by language ("zh", "en")
    source_zh: str | None = None  # the citation in Chinese, when the rule file gives one
    url: str | None = None
    grade: str | None = None  # verified | secondary | unverified | bank_policy

    @model_serializer(mode="wrap")
    def _lean(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return drop_unset(handler(self))

    @field_validator("facts", mode="before")
    @classmethod
    def _plain_values(cls, v: Any) -> Any:
        # Money facts are Decimal; left to pydantic, Decimal('500.00') would become the int 500
        # and lose its currency scale. Keep them as their exact decimal text instead.
        if isinstance(v, dict):
            return {k: _fact_value(x) for k, x in v.items()}
        return v

    def __repr__(self) -> str:
        return f"<Match {self.rule_id} -> {self.step} pri={self.priority}>"


def _fact_value(v: Any) -> Any:
    if isinstance(v, Decimal):
        return format(v, "f")  # exact, never exponent notation: 500.00, not 5.0000E+2
    if isinstance(v, datetime):
        return iso_utc(aware(v, what="fact value"))
    return v


def bmp_keys(keys: Iterable[str]) -> bool:
    """No key holds an astral character (JCS sorts those by UTF-16, orjson by code point)."""
    text = "".join(keys)
    return text.isascii() or max(text) <= "\uffff"


def match_static(m: Match, facts: dict[str, FactValue] | None) -> dict[str, Any]:
    """A Match's JSON-shaped dict (the #15 fields only when set); without "facts" when None."""
    out = drop_unset(
        {
            "grade": m.grade,
            "level": m.level,
            "priority": m.priority,
            "reason": m.reason,
            "rule_id": m.rule_id,
            "source": m.source,
            "source_zh": m.source_zh,
            "step": m.step,
            "url": m.url,
        }
    )
    if facts is not None:
        out["facts"] = facts
    return out


# Theory of operation of `keep_match_shape`: the engine makes ~5 matches per decision, each of
# a rule whose parts (id, step, priority, reason, citation...) are the same in every decision,
# so their shape without the facts is built once per rule (`match_shape_of`, None when a fact
# name or reason language would need JCS's own key order) and kept on each match made of it,
# tagged with the match's `id()` (as `_KEPT` is on a decision): a copy never reads it.
_MATCH_KEPT = "_canonical_shape"


def match_shape_of(m: Match, read: Iterable[str]) -> dict[str, Any] | None:
    """The shape of `m` without its facts, for a rule reading the facts `read`; None when a
    key needs the reference path."""
    if not bmp_keys(read) or not bmp_keys(m.reason):
        return None
    return match_static(m, None)


def kept_shape(m: Match) -> dict[str, Any] | None:
    """The shape without facts the engine kept on `m` itself (None: not made by the engine,
    or a copy, which never reads its original's)."""
    kept = m.__dict__.get(_MATCH_KEPT)
    return kept[1] if kept is not None and kept[0] == id(m) else None


def keep_match_shape(m: Match, shape: dict[str, Any]) -> None:
    """Keep on `m` (made by the engine, its facts trace values) its shape without the facts."""
    m.__dict__[_MATCH_KEPT] = (id(m), shape)
