"""The body of the generated match function: rules' conjuncts laid out as nested tests.

Theory of operation. A rule's condition is a conjunction of parts (its top-level ``and``,
flattened; a condition that is not an ``and`` is one part). Rule sets repeat parts a lot
(``collectable`` expands to three parts in thirteen rules of the shipped pack), and every part
is pure and total (`_rules.ir`: no side effects, a null compares False), so a part shared by
several rules can be tested once, with those rules nested under it, and the rules that carry
its negation under its ``else``::

    if (v14 >= 1):                       # dpd >= 1: shared by 20 rules
        if (not (v21 == 'active')):      # not plan_status == "active"
            if (v30 and (not v33)): m += 16
            ...
    if v15: m += 2                       # hardship ...
    else: ...                            # ... and `not hardship`

Which part is shared is chosen greedily: the part found (as itself or negated) in the most
rules still to place, ties to the one seen first in preference order; a part found in one rule
only is tested inline (``if a and b: m += bit``), its parts cheapest first: parts over bool
and enum facts (shared objects, hot in the cache) before int facts (large ints are objects of
each facts dict) before money and arithmetic (a Decimal per dict, and arithmetic allocates), so
``and`` often stops before touching memory no other test needed. Nesting stops at `MAX_NEST`.

Since tests no longer run in preference order, a match sets the rule's bit in ``m`` (bit p for
the rule at position p of the preference order; each bit is added at most once, so ``+=`` is
``|=``) and the function returns the ranked tuple of indices for that mask, from a memo (one
tuple per distinct match set, built on first sight, at most `MEMO_CAP` of them kept). The
ranking is thus fixed at compile time; no sort, list or tuple is built per call.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from .._rules.ir import And, Arith, Compare, Expr, FactRef, InSet, Not, Or, evaluate, facts_read

__all__ = ["MAX_NEST", "MEMO_CAP", "conjuncts", "nested_tests"]

MAX_NEST = 24  # CPython allows 100 indentation levels; deeper sharing is not worth it
MEMO_CAP = 65_536  # distinct match sets remembered per compiled function

Rule = tuple[int, tuple[Expr, ...]]  # (bit, parts still to test)


def conjuncts(e: Expr) -> tuple[Expr, ...] | None:
    """The parts of `e` as a conjunction without constant parts and repeats (None: never holds)."""
    stack, out = [e], []
    while stack:
        x = stack.pop()
        if isinstance(x, And):
            stack += reversed(x.items)
        elif facts_read(x):
            out.append(x)
        elif not evaluate(x, {}):
            return None
    return tuple(dict.fromkeys(out))


_COST = {"bool": 0, "enum": 0, "int": 1, "money": 2}


def _cost(e: Expr) -> int:
    """How much memory a test of `e` is likely to touch: 0 shared objects .. 3 arithmetic."""
    if isinstance(e, FactRef):
        return _COST.get(e.type, 2)
    if isinstance(e, Arith):
        return 3
    if isinstance(e, Compare):
        return max(_cost(e.left), _cost(e.right))
    if isinstance(e, InSet):
        return _cost(e.operand)
    if isinstance(e, And | Or):
        return max((_cost(i) for i in e.items), default=0)
    if isinstance(e, Not):
        return _cost(e.item)
    return 0


def _positive(part: Expr) -> Expr:
    return part.item if isinstance(part, Not) else part


def _pick(rules: Sequence[Rule]) -> Expr | None:
    """The part (positive form) found in most rules, at least two; ties to the first seen."""
    count: dict[Expr, int] = {}
    for _, parts in rules:
        for key in dict.fromkeys(_positive(p) for p in parts):
            count[key] = count.get(key, 0) + 1
    best = max(count.values(), default=0)
    if best < 2:
        return None
    return next(k for k, n in count.items() if n == best)


def nested_tests(rules: Sequence[Rule], truth: Callable[[Expr], str], depth: int = 1) -> list[str]:
    """Source lines (indented `depth` levels) adding each rule's bit to ``m`` when it holds."""
    pad = "    " * depth
    out: list[str] = []
    rest = list(rules)
    while rest:
        out += [f"{pad}m += {bit}" for bit, parts in rest if not parts]
        rest = [r for r in rest if r[1]]
        part = _pick(rest) if depth < MAX_NEST else None
        if part is None:
            for bit, parts in rest:
                parts = tuple(sorted(parts, key=_cost))  # stable: ties keep their order
                out.append(f"{pad}if {truth(parts[0] if len(parts) == 1 else And(parts))}:"
                           f" m += {bit}")  # fmt: skip
            break
        neg = Not(part)
        yes = [(b, tuple(p for p in ps if p != part)) for b, ps in rest if part in ps]
        no = [(b, tuple(p for p in ps if p != neg)) for b, ps in rest
              if part not in ps and neg in ps]  # fmt: skip
        rest = [r for r in rest if part not in r[1] and neg not in r[1]]
        if yes:
            out.append(f"{pad}if {truth(part)}:")
            out += nested_tests(yes, truth, depth + 1)
        if no:
            out.append(f"{pad}else:" if yes else f"{pad}if {truth(neg)}:")
            out += nested_tests(no, truth, depth + 1)
    return out
