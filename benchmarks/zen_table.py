"""A rule set's conditions as a zen-engine decision table, for bench_engine's peer figures.

    pip install 'dunning[bench]'        # zen-engine (GoRules ZEN), an optional extra

zen-engine is a rules engine with a Rust core (decision tables in JDM, the ZEN expression
language). `ZenTable` writes one table row per rule, hit policy ``collect``: the row's cell is
the rule's whole condition as a ZEN expression (an input column with no field evaluates its
cell as an expression over the whole context), its output the rule's index. Two ways to run
it are timed; the benchmark reports zen's faster one:

* ``table``: `ZenDecision.evaluate` of the table without trace (what a zen user deploys);
* ``list``: all rows' expressions as one ZEN list expression, compiled once
  (`zen.compile_expression`): one call into zen per decision, a list of booleans back (the
  fastest way found; a compiled expression per row costs one call per rule, ~25x slower).

Both include turning the fact dict into zen's context (as durable's figure includes posting
its fact).

Translation from the compiled conditions (``RuleSet.rules[i].expr``, the condition IR both of
dunning's backends compile; read here by node class name, since the benchmarks use public
names only). Its meaning must be kept exactly, so bench_engine checks the match sets equal:

=============================  ===============================================================
condition IR                   ZEN expression
=============================  ===============================================================
fact ``attempts_7d.sms``       ``f3`` (facts renamed to identifiers; the context is flat)
int / enum / bool constant     ``3`` / ``"M1"`` / ``true``
money (fact or constant)       integer minor units (x 10^scale): ZEN numbers are decimals but
                               Python floats are not, so no amount crosses as a float
``a <op> b``, ``x in [..]``    the same, guarded ``(f != null and ...)`` for every nullable
                               fact inside: a null operand makes a comparison False in
                               dunning, and an error in ZEN
bool fact as a condition       ``(f == true)``
``and`` / ``or`` / ``not``     the same, parenthesised
``a + b``, ``a - b``           the same (inside a guarded comparison)
=============================  ===============================================================
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

SCALE = 2  # minor-unit decimals; every money value and constant must be a whole number of them


def _minor(value: Any) -> int:
    exact = Decimal(value).scaleb(SCALE)
    if exact != exact.to_integral_value():
        raise ValueError(f"money {value} has more than {SCALE} decimals")
    return int(exact)


class ZenTable:
    """The conditions of `rules` (a RuleSet) as a zen decision table and as compiled rows."""

    def __init__(self, rules: Any) -> None:
        import zen  # the `bench` extra

        self.names: dict[str, str] = {}  # fact name -> identifier
        self.money: set[str] = set()
        self.exprs = [self._bool(r.expr) for r in rules.rules]
        self.content = {
            "nodes": [
                {"id": "in", "type": "inputNode", "name": "request", "position": _ORIGIN},
                {"id": "dt", "type": "decisionTableNode", "name": "rules", "position": _ORIGIN,
                 "content": {"hitPolicy": "collect",
                             "inputs": [{"id": "c", "name": "condition"}],
                             "outputs": [{"id": "o", "name": "rule", "field": "rule"}],
                             "rules": [{"_id": f"r{i}", "c": e, "o": str(i)}
                                       for i, e in enumerate(self.exprs)]}},
                {"id": "out", "type": "outputNode", "name": "response", "position": _ORIGIN},
            ],
            "edges": [{"id": "e1", "sourceId": "in", "targetId": "dt", "type": "edge"},
                      {"id": "e2", "sourceId": "dt", "targetId": "out", "type": "edge"}],
        }  # fmt: skip
        self.decision = zen.ZenEngine().create_decision(json.dumps(self.content))
        self.listed = zen.compile_expression("[" + ", ".join(self.exprs) + "]")
        self._fields = [(n, i, n in self.money) for n, i in self.names.items()]

    def context(self, facts: Mapping[str, object]) -> dict[str, object]:
        """The flat ZEN context of a fact dict (money in minor units)."""
        out: dict[str, object] = {}
        for name, ident, money in self._fields:
            v = facts[name]
            out[ident] = _minor(v) if money and v is not None else v
        return out

    def match_table(self, facts: Mapping[str, object]) -> set[int]:
        result = self.decision.evaluate(self.context(facts), _NO_TRACE)["result"]
        return {int(row["rule"]) for row in result}

    def match_list(self, facts: Mapping[str, object]) -> set[int]:
        hits = self.listed.evaluate(self.context(facts))
        return {i for i, hit in enumerate(hits) if hit is True}

    # -- translation ------------------------------------------------------------------------

    def _fact(self, e: Any) -> str:
        if e.name not in self.names:
            self.names[e.name] = f"f{len(self.names)}"
            if e.type == "money":
                self.money.add(e.name)
        return self.names[e.name]

    def _value(self, e: Any) -> str:
        kind = type(e).__name__
        if kind == "Const":
            if e.type == "money":
                return str(_minor(e.value))
            if isinstance(e.value, bool):
                return "true" if e.value else "false"
            return json.dumps(e.value) if isinstance(e.value, str) else str(e.value)
        if kind == "FactRef":
            return self._fact(e)
        if kind == "Arith":
            return f"({self._value(e.left)} {e.op} {self._value(e.right)})"
        return self._bool(e)

    def _nullable(self, e: Any) -> list[str]:
        kind = type(e).__name__
        if kind == "FactRef":
            return [self._fact(e)] if e.nullable else []
        if kind == "Arith":
            return self._nullable(e.left) + self._nullable(e.right)
        return []

    def _guarded(self, nullable: list[str], test: str) -> str:
        guards = [f"{n} != null" for n in dict.fromkeys(nullable)]
        return f"({' and '.join([*guards, test])})" if guards else f"({test})"

    def _bool(self, e: Any) -> str:
        kind = type(e).__name__
        if kind == "Const":
            return "true" if e.value else "false"
        if kind == "FactRef":
            return self._guarded(self._nullable(e), f"{self._fact(e)} == true")
        if kind == "Compare":
            test = f"{self._value(e.left)} {e.op} {self._value(e.right)}"
            return self._guarded(self._nullable(e.left) + self._nullable(e.right), test)
        if kind == "InSet":
            values = ", ".join(json.dumps(v) for v in e.values)
            return self._guarded(
                self._nullable(e.operand), f"{self._value(e.operand)} in [{values}]"
            )
        if kind in ("And", "Or"):
            return "(" + f" {kind.lower()} ".join(self._bool(i) for i in e.items) + ")"
        if kind == "Not":
            return f"(not {self._bool(e.item)})"
        raise TypeError(f"not a condition node: {e!r}")


_ORIGIN = {"x": 0, "y": 0}
_NO_TRACE = {"trace": False}
