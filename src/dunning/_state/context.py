"""What a rule set hands the facts: plain values, so the state stage needs no rule files.

`context_for(rules)` reads a RuleSet-like object (its limitation, steps, breathing-space terms
and the fact names its expressions use) into a `FactContext` of frozen dataclasses; the
facts, the limitation clock and the protections read only that.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from .protection import MoratoriumTerms

__all__ = ["FactContext", "LimitationTerms", "StepTerms", "context_for"]


@dataclass(frozen=True)
class LimitationTerms:
    """How the limitation period runs (a rule file's `limitation:`), as plain values: the
    state stage knows no rule files, so the rule set hands these over."""

    period: str = "P3Y"
    long_stop: str | None = None
    starts_from: str = "oldest_unpaid_due"  # each_due | last_due | oldest_unpaid_due
    restart_on: tuple[str, ...] = ()
    warn_before: str = "P90D"
    revive_on: tuple[str, ...] = ()  # acts that remove the defence once the claim is barred


@dataclass(frozen=True)
class StepTerms:
    """What the facts read of a ladder step: its level, kind and whether it is a written
    demand (which may restart the limitation period)."""

    level: int
    kind: str
    written_demand: bool = False
    threatens_proceedings: bool = False


@dataclass(frozen=True)
class FactContext:
    """What a rule set adds to fact computation: its limitation, steps and family names."""

    limitation: LimitationTerms = field(default_factory=LimitationTerms)
    steps: Mapping[str, StepTerms] = field(default_factory=lambda: MappingProxyType({}))
    names: frozenset[str] = frozenset()
    moratorium: MoratoriumTerms = field(default_factory=MoratoriumTerms)


def context_for(rules: Any) -> FactContext:
    """The FactContext of a RuleSet-like object (`.document.limitation`, `.steps`,
    `.fact_names`), or the defaults for None. Only plain values cross into this stage."""
    if rules is None:
        return FactContext()
    lim = rules.document.limitation
    return FactContext(
        limitation=LimitationTerms(
            period=lim.period,
            long_stop=lim.long_stop,
            starts_from=lim.starts_from,
            restart_on=tuple(lim.restart_on),
            warn_before=lim.warn_before,
            revive_on=tuple(getattr(lim, "revive_on", ())),
        ),
        steps=MappingProxyType(
            {
                sid: StepTerms(
                    level=s.level,
                    kind=s.kind,
                    written_demand=s.written_demand,
                    threatens_proceedings=getattr(s, "threatens_proceedings", False),
                )
                for sid, s in rules.steps.items()
            }
        ),
        names=frozenset(rules.fact_names),
        moratorium=_moratorium(getattr(rules.document, "breathing_space", None)),
    )


def _moratorium(terms: Any) -> MoratoriumTerms:
    if terms is None:
        return MoratoriumTerms()
    return MoratoriumTerms(
        standard=terms.standard,
        after_crisis_treatment=terms.after_crisis_treatment,
        standard_once_per=terms.standard_once_per,
    )
