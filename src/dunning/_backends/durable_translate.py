"""IR -> durable_rules JSON for `durable`: fields, negation normal form, the budget.

Translation. Field names are safe: ``f0``, ``f1`` ... for fact names in sorted order (names
contain dots), ``s0`` ... for synthetic fields. A nullable fact is posted as a value (0, "" or
False when null) plus ``<field>__null``; a comparison is guarded by ``__null == False``.
``not`` is pushed down to negation normal form (De Morgan, negated operators); a negated
comparison on a nullable operand becomes ``(negated op) or __null``, which is the classical
negation of "null compares False". ``x in [a, b]`` becomes an ``$or`` of equalities. Money
literals are converted exactly to minor units: ``x > 500.005`` on integer cents is
``x >= 50001`` and ``x == 500.005`` is False (the loader refuses such literals in the rule
set's own currency, but a state in a currency with fewer decimals meets them: the engine
compiles one program per currency it sees). When arithmetic adds a literal finer than the
currency, money is posted in that finer unit instead, so sums stay whole. Comparisons of
two fields use durable's ``$m`` reference. What durable cannot express is computed host-side
(by the generated-Python evaluator, so with the same meaning) into a *synthetic field*:
arithmetic (``a + b``) becomes a numeric field, and a subexpression over the budget, an
ordering on enums, or a non-boolean used as a test becomes a boolean field the rule then
tests. Constant-true rules always match and
constant-false rules never, without durable.

The budget (`MAX_COMPOUND`, `MAX_DNF`, `MAX_CHILDREN`) is the one the limits table in
`durable` measured; `_Translator.fit` keeps every rule under it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

from .._base.money import MINOR_UNITS
from .._rules.ir import (
    And,
    Arith,
    Compare,
    CompareOp,
    Const,
    Expr,
    FactRef,
    FactType,
    InSet,
    Not,
    Or,
    evaluate,
    facts_read,
)
from .._rules.ir import nullable as _nullable
from .python import ExprFn, compile_expr

MAX_COMPOUND, MAX_DNF, MAX_CHILDREN = 12, 64, 200

_NEG: dict[str, CompareOp] = {"==": "!=", "!=": "==", "<": ">=", ">=": "<", ">": "<=", "<=": ">"}
_FLIP: dict[str, CompareOp] = {"==": "==", "!=": "!=", "<": ">", ">": "<", "<=": ">=", ">=": "<="}
_DOP = {"<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte", "!=": "$neq"}

Json = dict[str, Any]


@dataclass
class _Node:
    """A translated condition: a durable leaf (`json`) or an $and/$or of children.

    `ir`/`pos` say which IR subexpression (with which polarity) the node stands for, so the
    budget pass can replace it by a host-side synthetic boolean field.
    """

    ir: Expr
    pos: bool
    json: Json | None = None
    kind: str = ""  # "and" | "or" for compound nodes
    children: list[_Node] = field(default_factory=list)

    def compound(self) -> int:
        return 0 if self.json is not None else 1 + sum(c.compound() for c in self.children)

    def dnf(self) -> int:
        if self.json is not None:
            return 1
        sizes = [c.dnf() for c in self.children]
        if self.kind == "or":
            return sum(sizes)
        out = 1
        for s in sizes:
            out *= s
        return out

    def widest(self) -> int:
        if self.json is not None:
            return 0
        return max([len(self.children), *(c.widest() for c in self.children)])

    def to_json(self) -> Json:
        if self.json is not None:
            return self.json
        return {f"${self.kind}": [c.to_json() for c in self.children]}


Tree = _Node | bool


@dataclass(frozen=True)
class _Field:
    """One property of the posted fact: a catalog fact or a host-side synthetic value."""

    name: str
    type: FactType
    nullable: bool
    fact: str | None = None  # catalog fact read directly
    fn: ExprFn | None = None  # synthetic: computed from the facts mapping
    test: bool = False  # synthetic boolean (truth of `fn`)


class _Translator:
    def __init__(self, exprs: Sequence[Expr], currency: str):
        fact_names = sorted({n for e in exprs for n in facts_read(e)})
        self.scale = money_scale(exprs, currency)
        self.fact_field = {n: f"f{i}" for i, n in enumerate(sorted(fact_names))}
        self.fields: dict[str, _Field] = {}
        self.synth: dict[tuple[Expr, bool], str] = {}

    # -- fields ------------------------------------------------------------------------------

    def term(self, e: Expr) -> _Field | None:
        """The field holding the value of an int/money/enum/bool term, or None for a const."""
        if isinstance(e, FactRef):
            name = self.fact_field[e.name]
            return self.fields.setdefault(name, _Field(name, e.type, e.nullable, fact=e.name))
        if isinstance(e, Arith):
            return self._synthetic(e, e.type, test=False)
        return None

    def _synthetic(self, e: Expr, type_: FactType, *, test: bool) -> _Field:
        key = (e, test)
        if key not in self.synth:
            name = f"s{len(self.synth)}"
            nullable = not test and _nullable(e)
            self.synth[key] = name
            self.fields[name] = _Field(name, type_, nullable, fn=compile_expr(e), test=test)
        return self.fields[self.synth[key]]

    def host_side(self, e: Expr, pos: bool) -> _Node:
        f = self._synthetic(e, "bool", test=True)
        return _Node(e, pos, json={f.name: pos})

    # -- translation to negation normal form ---------------------------------------------------

    def tr(self, e: Expr, pos: bool) -> Tree:
        if not facts_read(e):
            return bool(evaluate(e, {})) == pos
        if isinstance(e, Not):
            return self.tr(e.item, not pos)
        if isinstance(e, And | Or):
            kind = "and" if isinstance(e, And) == pos else "or"
            return _combine(e, pos, kind, [self.tr(i, pos) for i in e.items])
        if isinstance(e, FactRef) and e.type == "bool":
            f = self.term(e)
            assert f is not None
            return _Node(e, pos, json={f.name: pos})  # null is posted False: bool(None) is False
        if isinstance(e, Compare):
            return self._compare(e, pos)
        if isinstance(e, InSet):
            return self._inset(e, pos)
        return self.host_side(e, pos)  # a non-boolean used as a test

    def _compare(self, e: Compare, pos: bool) -> Tree:
        left, right, op = e.left, e.right, e.op
        if not isinstance(left, FactRef | Arith):
            left, right, op = right, left, _FLIP[op]
        if not isinstance(left, FactRef | Arith) or not isinstance(right, FactRef | Arith | Const):
            return self.host_side(e, pos)
        lf = self.term(left)
        assert lf is not None
        if op not in ("==", "!=") and lf.type not in ("int", "money"):
            return self.host_side(e, pos)  # an ordering on enums or bools
        rf = self.term(right)
        eff = op if pos else _NEG[op]
        core = self._cmp(eff, lf.name, lf.type, rf.name if rf else None, right)
        return self._guard(e, pos, core, [f for f in (lf, rf) if f is not None and f.nullable])

    def _cmp(self, op: str, name: str, type_: str, other: str | None, right: Expr) -> Tree:
        if other is not None:
            ref = {"$m": other}
            return _leaf(op, name, ref)
        assert isinstance(right, Const)
        value: object = right.value
        if type_ == "money":
            exact = Decimal(str(value)).scaleb(self.scale)
            if exact != exact.to_integral_value():
                return self._fractional(op, name, exact)
            value = int(exact)
        return _leaf(op, name, value)

    def _fractional(self, op: str, name: str, exact: Decimal) -> Tree:
        """A comparison of integer minor units with a literal between two of them."""
        if op == "==":
            return False
        if op == "!=":
            return True
        if op in (">", ">="):
            return _leaf(">=", name, int(exact.to_integral_value(ROUND_CEILING)))
        return _leaf("<=", name, int(exact.to_integral_value(ROUND_FLOOR)))

    def _guard(self, e: Expr, pos: bool, core: Tree, nullable: list[_Field]) -> Tree:
        """`core and not null` (positive) or `core or null` (negated) for nullable fields."""
        guards = [_Node(e, pos, json={f"{f.name}__null": not pos}) for f in nullable]
        return _combine(e, pos, "and" if pos else "or", [core, *guards])

    def _inset(self, e: InSet, pos: bool) -> Tree:
        f = self.term(e.operand)
        if f is None:
            return self.host_side(e, pos)
        eqs: list[Tree] = [
            self._cmp("==" if pos else "!=", f.name, f.type, None, Const(v, f.type))
            for v in e.values
        ]
        core = _combine(e, pos, "or" if pos else "and", eqs)
        return self._guard(e, pos, core, [f] if f.nullable else [])

    # -- budget ---------------------------------------------------------------------------------

    def fit(self, node: _Node) -> _Node:
        """Move the largest subexpressions host-side until durable can take the rule."""
        while (
            node.compound() > MAX_COMPOUND or node.dnf() > MAX_DNF or node.widest() > MAX_CHILDREN
        ):
            victim = _largest_child(node)
            if victim is None:
                return self.host_side(node.ir, node.pos)
            parent, index = victim
            child = parent.children[index]
            parent.children[index] = self.host_side(child.ir, child.pos)
        return node


def _leaf(op: str, name: str, value: object) -> _Node:
    json: Json = {name: value} if op == "==" else {_DOP[op]: {name: value}}
    return _Node(Const(True, "bool"), True, json=json)


def _combine(e: Expr, pos: bool, kind: str, items: list[Tree]) -> Tree:
    """Fold constants and flatten same-kind children: and(False, ...) is False, and so on."""
    absorbing = kind == "or"  # True absorbs an or; False absorbs an and
    children: list[_Node] = []
    for item in items:
        if isinstance(item, bool):
            if item == absorbing:
                return absorbing
            continue
        if item.json is None and item.kind == kind:
            children += item.children
        else:
            children.append(item)
    if not children:
        return not absorbing
    if len(children) == 1:
        return children[0]
    return _Node(e, pos, kind=kind, children=children)


def _largest_child(root: _Node) -> tuple[_Node, int] | None:
    """(parent, index) of the compound descendant with the most compound nodes below it."""
    best: tuple[int, _Node, int] | None = None
    stack = [root]
    while stack:
        node = stack.pop()
        for i, c in enumerate(node.children):
            if c.json is None:
                size = c.compound() + len(c.children)
                if best is None or size > best[0]:
                    best = (size, node, i)
                stack.append(c)
    return None if best is None else (best[1], best[2])


def money_scale(exprs: Sequence[Expr], currency: str) -> int:
    """Decimals of the integer unit money is posted in: the currency's minor unit, or finer
    when an arithmetic term adds a literal with more decimals (so the sum stays whole)."""
    scale = MINOR_UNITS[currency]
    stack: list[tuple[Expr, bool]] = [(e, False) for e in exprs]
    while stack:
        e, in_arith = stack.pop()
        if isinstance(e, Const) and in_arith and isinstance(e.value, Decimal):
            scale = max(scale, -int(e.value.normalize().as_tuple().exponent))
        elif isinstance(e, Arith):
            stack += [(e.left, True), (e.right, True)]
        elif isinstance(e, Compare):
            stack += [(e.left, False), (e.right, False)]
        elif isinstance(e, InSet):
            stack.append((e.operand, False))
        elif isinstance(e, And | Or):
            stack += [(i, False) for i in e.items]
        elif isinstance(e, Not):
            stack.append((e.item, False))
    return scale
