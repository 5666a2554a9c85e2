"""The condition IR: what `condition` parses text into and what both evaluators compile.

Types are those of the fact catalog: ``int`` (whole numbers, days), ``money`` (Decimal in the
rule set's currency), ``bool``, ``enum`` (a string from a fixed set). A fact may be nullable
(``days_since_step.lawyer_letter`` before any letter was sent).

Meaning (both backends must implement exactly this):

* a comparison with a null operand is False;
* ``not`` is classical negation of its operand's truth value (so ``not (x >= 5)`` is True
  when x is null);
* ``and`` / ``or`` are the usual boolean operators; all operands are evaluated (no side
  effects, so short-circuiting is an optimisation only);
* arithmetic (+, -) on int or money; money and int never mix; a null operand makes null;
* ``x in ["a", "b"]`` is True when x equals one of the listed values (False when null).

Nodes are frozen dataclasses, hashable, so compiled forms can be cached per expression.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal, TypeAlias

from .._state.catalog import FactType as FactType

CompareOp = Literal["==", "!=", "<", "<=", ">", ">="]
Value: TypeAlias = int | Decimal | bool | str


@dataclass(frozen=True)
class Const:
    value: Value
    type: FactType


@dataclass(frozen=True)
class FactRef:
    name: str  # the full catalog name, e.g. "attempts_7d.phone"
    type: FactType
    nullable: bool = False


@dataclass(frozen=True)
class Compare:
    op: CompareOp
    left: Expr
    right: Expr


@dataclass(frozen=True)
class InSet:
    operand: Expr
    values: tuple[Value, ...]


@dataclass(frozen=True)
class Arith:
    op: Literal["+", "-"]
    left: Expr
    right: Expr
    type: FactType  # int or money


@dataclass(frozen=True)
class And:
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class Not:
    item: Expr


Expr: TypeAlias = Const | FactRef | Compare | InSet | Arith | And | Or | Not


def facts_read(expr: Expr) -> tuple[str, ...]:
    """The fact names an expression reads, sorted and without repeats (for decision traces)."""
    out: set[str] = set()
    stack: list[Expr] = [expr]
    while stack:
        e = stack.pop()
        if isinstance(e, FactRef):
            out.add(e.name)
        elif isinstance(e, Compare | Arith):
            stack += [e.left, e.right]
        elif isinstance(e, InSet):
            stack.append(e.operand)
        elif isinstance(e, And | Or):
            stack += list(e.items)
        elif isinstance(e, Not):
            stack.append(e.item)
    return tuple(sorted(out))


def type_of(expr: Expr) -> FactType:
    """The static type of an expression (the checker guarantees it is consistent)."""
    if isinstance(expr, Const | FactRef | Arith):
        return expr.type
    return "bool"


def nullable(e: Expr) -> bool:
    """True when a value expression may be null: a nullable fact, or arithmetic over one."""
    if isinstance(e, FactRef):
        return e.nullable
    if isinstance(e, Arith):
        return nullable(e.left) or nullable(e.right)
    return False


# -- the reference interpreter ----------------------------------------------------------------
# Slow and obviously correct: the gate uses it for limit conditions (compliance must not depend
# on the chosen backend) and the tests use it as the oracle both backends are checked against.


def evaluate(expr: Expr, facts: Mapping[str, object]) -> object:
    """The value of `expr` given fact values (the meaning stated in this module's docstring)."""
    if isinstance(expr, Const):
        return expr.value
    if isinstance(expr, FactRef):
        return facts[expr.name]
    if isinstance(expr, Arith):
        a, b = evaluate(expr.left, facts), evaluate(expr.right, facts)
        if a is None or b is None:
            return None
        return a + b if expr.op == "+" else a - b  # type: ignore[operator]
    if isinstance(expr, Compare):
        a, b = evaluate(expr.left, facts), evaluate(expr.right, facts)
        if a is None or b is None:
            return False
        return bool(_OPS[expr.op](a, b))
    if isinstance(expr, InSet):
        v = evaluate(expr.operand, facts)
        return v is not None and v in expr.values
    if isinstance(expr, And):
        return all([bool(evaluate(i, facts)) for i in expr.items])
    if isinstance(expr, Or):
        return any([bool(evaluate(i, facts)) for i in expr.items])
    if isinstance(expr, Not):
        return not bool(evaluate(expr.item, facts))
    raise TypeError(f"not an IR node: {expr!r}")  # pragma: no cover


_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
