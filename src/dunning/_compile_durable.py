"""The second evaluator: the condition IR compiled to a durable_rules (2.0.28) ruleset.

It must mean exactly what `_ir` says, like the generated Python. durable_rules' limits, as
measured here (experiments run under ``timeout 60``), and what this module does about each:

==========================================  ===================================================
measured limit                              workaround
==========================================  ===================================================
segfaults when several threads post          one module lock serialises every durable call
<= 1,024 live session ids per ruleset;       ONE session id per ruleset, reused: the facts are
ids with colliding 32-bit hashes share       asserted as a fact and retracted after each
state                                        decision (test: 2,000 decisions leave no facts)
an event fires one rule only                 facts are asserted (assert_fact), not posted
exceptions in actions are swallowed          actions only append the rule's index to a list
Decimal / datetime refused; numeric          money posted as integer minor units, ints as ints,
strings compare as text                      bools as bools, enums as (never numeric) strings
``Host`` starts timer threads that call      no Host: `durable.engine.Ruleset` is driven
into the engine concurrently                 directly (assert, do_actions, retract)
asserting a fact no rule matches raises      caught: no match, nothing stored
an ``$or`` fires its rule once per true      matches are de-duplicated; disjunctive-normal-form
disjunct (DNF expansion)                     size is capped (below) to bound repeated firings
> 15 ``$and``/``$or`` nodes in one rule:     budget per rule: <= 12 compound nodes, <= 64 DNF
"Could not create ruleset, error 113"        terms, <= 200 children; past it the largest
an ``$or`` with > 512 children hangs         subexpression is computed host-side as a synthetic
                                             boolean field (see below)
> 252 properties in one fact: error 302      the rule set is refused for this backend (InputError)
the ``-m.x`` absent operator hung a process  never used: nullable facts carry a flag instead
negative ``pri`` means lowest priority       ``pri`` not used: the engine ranks the matches
==========================================  ===================================================

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
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

from ._compile_py import ExprFn, compile_expr
from ._errors import EngineError, InputError
from ._ir import (
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
from ._money import MINOR_UNITS

__all__ = ["LOCK", "DurableProgram", "compile_durable", "compile_ruleset_durable"]

LOCK = threading.RLock()  # every call into durable_rules holds it (it segfaults otherwise)
_SEQ = itertools.count()
SID = "dunning"  # the one reused session id
MAX_COMPOUND, MAX_DNF, MAX_CHILDREN, MAX_FIELDS = 12, 64, 200, 250

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


def _nullable(e: Expr) -> bool:
    if isinstance(e, FactRef):
        return e.nullable
    if isinstance(e, Arith):
        return _nullable(e.left) or _nullable(e.right)
    return False


# -- the compiled program ---------------------------------------------------------------------


class DurableProgram:
    """A rule set's conditions registered with durable_rules; `match(facts)` is thread-safe."""

    def __init__(self, exprs: Sequence[Expr], currency: str, order: Sequence[int], tag: str):
        tr = _Translator(exprs, currency)
        self.scale = tr.scale
        self.always: tuple[int, ...] = ()
        self.definition: dict[str, Json] = {}
        for i, e in enumerate(exprs):
            tree = tr.tr(e, True)
            if tree is True:
                self.always += (i,)
            elif isinstance(tree, _Node):
                self.definition[f"r_{i}"] = {"all": [{"m": tr.fit(tree).to_json()}]}
        self.fields = tuple(sorted(tr.fields.values(), key=lambda f: (f.name[0], int(f.name[1:]))))
        used = sum(1 + f.nullable for f in self.fields)
        if used > MAX_FIELDS:
            raise InputError(
                f"rule set {tag}: the durable backend takes at most {MAX_FIELDS} fact fields"
                f" per decision (durable_rules limit), this rule set needs {used};"
                " use backend='python'"
            )
        self.rank = {idx: r for r, idx in enumerate(order)}
        self.name = f"dunning_{tag[:16]}_{next(_SEQ)}"
        self._sink: list[int] = []
        self._ruleset: Any = self._register() if self.definition else None

    def _register(self) -> Any:
        from durable import engine

        def action(index: int) -> Callable[[Any], None]:
            def run(c: Any) -> None:  # must not raise: durable swallows exceptions
                self._sink.append(index)

            return run

        rules = {k: {**v, "run": action(int(k[2:]))} for k, v in self.definition.items()}
        with LOCK:
            try:
                return engine.Ruleset(self.name, None, rules)
            except Exception as exc:  # durable_rules_engine.error (a C extension error)
                raise EngineError(f"durable_rules refused ruleset {self.name}: {exc}") from None

    def fact(self, facts: Mapping[str, object]) -> Json:
        """The durable fact posted for `facts` (see the module docstring for the encoding)."""
        out: Json = {"sid": SID, "id": "decision"}
        for f in self.fields:
            value = facts[f.fact] if f.fact is not None else f.fn(facts)  # type: ignore[misc]
            if f.test:
                out[f.name] = bool(value)
                continue
            if f.nullable:
                out[f.name + "__null"] = value is None
            out[f.name] = self._encode(value, f.type)
        return out

    def _encode(self, value: object, type_: str) -> object:
        if value is None:
            return {"int": 0, "money": 0, "bool": False}.get(type_, "")
        if type_ == "money":
            exact = Decimal(value).scaleb(self.scale)  # type: ignore[arg-type]
            if exact != exact.to_integral_value():
                raise EngineError(f"money value {value} has more than {self.scale} decimals")
            return int(exact)
        return value

    def match(self, facts: Mapping[str, object]) -> tuple[int, ...]:
        """Indices of the rules whose condition holds, in preference (`order`) order."""
        hits = set(self.always)
        if self._ruleset is not None:
            hits.update(self._run(self.fact(facts)))
        return tuple(sorted(hits, key=self.rank.__getitem__))

    def _run(self, fact: Json) -> list[int]:
        from durable.engine import MessageNotHandledException

        rs = self._ruleset
        errors: list[object] = []
        with LOCK:
            self._sink.clear()
            try:
                handle = rs.assert_fact(fact)
            except MessageNotHandledException:
                return []  # no rule matched; durable stored nothing
            except Exception as exc:
                raise EngineError(f"durable_rules refused a fact for {self.name}: {exc}") from None
            try:
                rs.do_actions(handle, lambda e, _s: errors.append(e) if e else None)
            finally:
                self._clean(fact)
            hits = list(self._sink)
        if errors:
            raise EngineError(f"durable_rules failed while matching ({self.name}): {errors[0]}")
        return hits

    def _clean(self, fact: Json) -> None:
        """Retract the decision's fact so the reused session is empty for the next call."""
        try:
            self._ruleset.retract_fact(fact)
        except Exception:
            self._ruleset.delete_state(SID)  # last resort: drop the session entirely

    def session_facts(self) -> list[Json]:
        """Facts durable holds in the reused session (empty between decisions)."""
        if self._ruleset is None:
            return []
        with LOCK:
            facts: list[Json] = self._ruleset.get_facts(SID)
        return facts

    def close(self) -> None:
        """Unregister the ruleset from durable_rules (the program is unusable afterwards)."""
        import durable_rules_engine  # type: ignore[import-not-found]

        with LOCK:
            if self._ruleset is not None:
                durable_rules_engine.delete_ruleset(self._ruleset._handle)
                self._ruleset = None


_PROGRAMS: dict[tuple[str, str, tuple[int, ...]], DurableProgram] = {}


def compile_durable(
    exprs: Sequence[Expr], currency: str, order: Sequence[int] | None = None, *, tag: str = ""
) -> DurableProgram:
    """A durable_rules program for `exprs`; `tag` (a rule set's sha256) names and caches it."""
    order = tuple(order) if order is not None else tuple(range(len(exprs)))
    if not tag:
        return DurableProgram(exprs, currency, order, "adhoc")
    key = (tag, currency, order)
    with LOCK:
        hit = _PROGRAMS.get(key)
        if hit is None:
            hit = _PROGRAMS[key] = DurableProgram(exprs, currency, order, tag)
    return hit


def compile_ruleset_durable(rules: Any, order: Sequence[int] | None = None) -> DurableProgram:
    """`compile_durable` over a RuleSet, cached by its sha256 (one ruleset per process)."""
    exprs = [r.expr for r in rules.rules]
    return compile_durable(exprs, rules.document.currency, order, tag=str(rules.sha256))
