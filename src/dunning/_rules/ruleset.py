"""RuleSet: a loaded, resolved and compiled rule file (immutable).

Built by `loader` (`load_rules`, `loads_rules`) and `RuleSet.from_canonical`, both through
the phases in `compile`. Identity is
the sha256 of the canonical JSON of the resolved document, so two files that resolve to the
same document are the same rule set wherever they came from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from . import schema as _schema
from .compile import Compiled, build, parse_canonical
from .compile import CompiledRule as CompiledRule
from .compile import canonical_document_json as canonical_document_json
from .ir import Expr
from .yaml import Marks

__all__ = ["CompiledRule", "RuleSet", "canonical_document_json"]


@dataclass(frozen=True, eq=False)
class RuleSet:
    """A compiled rule set; see docs/internals.md for what each attribute holds."""

    id: str
    version: str
    sha256: str
    source_path: str | None
    document: _schema.RuleFile
    steps: Mapping[str, _schema.Step]
    rules: tuple[CompiledRule, ...]
    derived: Mapping[str, Expr]
    limit_exprs: Mapping[str, Expr]
    flag_exprs: Mapping[str, Expr]
    fact_names: frozenset[str]
    _canonical: str = field(repr=False, default="")

    def canonical_json(self) -> str:
        """The canonical JSON of the resolved document (what `sha256` is the hash of)."""
        return self._canonical

    @classmethod
    def from_canonical(cls, json_text: str) -> RuleSet:
        """Rebuild a rule set from its canonical JSON (as kept by the audit store)."""
        data = parse_canonical(json_text)
        compiled = build(data, Marks(), {}, source_path=None, file="<canonical>", canonical=True)
        return cls.from_compiled(compiled, None)

    @classmethod
    def from_compiled(cls, c: Compiled, source_path: str | None) -> RuleSet:
        """The rule set of a compiled document (`compile.build`)."""
        return cls(
            id=c.document.id,
            version=c.document.version,
            sha256=c.sha256,
            source_path=source_path,
            document=c.document,
            steps=c.steps,
            rules=c.rules,
            derived=c.derived,
            limit_exprs=c.limit_exprs,
            flag_exprs=c.flag_exprs,
            fact_names=c.fact_names,
            _canonical=c.canonical,
        )

    def __reduce__(self) -> tuple[Any, tuple[str, str | None]]:
        # Mapping proxies do not pickle; the canonical JSON is the rule set's full content.
        return (_rebuild, (self._canonical, self.source_path))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RuleSet):
            return NotImplemented
        return self.sha256 == other.sha256

    def __hash__(self) -> int:
        return hash(self.sha256)

    def __repr__(self) -> str:
        return (
            f"<RuleSet {self.id} {self.version} sha256={self.sha256[:12]} steps={len(self.steps)}"
            f" rules={len(self.rules)} limits={len(self.document.limits)}"
            f" flags={len(self.document.flags)}>"
        )

    def to_summary(self) -> dict[str, Any]:
        """A small JSON-able description (for logs and the CLI)."""
        return {
            "id": self.id,
            "version": self.version,
            "sha256": self.sha256,
            "source_path": self.source_path,
        }


def _rebuild(canonical: str, source_path: str | None) -> RuleSet:
    return replace(RuleSet.from_canonical(canonical), source_path=source_path)
