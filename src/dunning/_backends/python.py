"""The default evaluator: a rule set's condition IR compiled to ONE generated Python function.

Theory of operation. The source text is built from the IR only (never from rule-file text):
fact names appear as repr'd string literals (``f['attempts_7d.phone']``), constants as the
repr of an int, bool or str, and Decimal constants are hoisted to module-level names
(``_k0 = Decimal('500.005')``) so they are built once. The function reads every fact the rule
set uses into locals in one C call (``operator.itemgetter``; a missing fact is a KeyError,
which the engine reports by name), then tests the rules' conditions, a conjunct shared by
several rules once with those rules nested under it (`python_tree`), and returns the ranked
tuple of the match set from a memo::

    _get = itemgetter('days_since_step.lawyer_letter', 'dpd')
    _ORDER = (1, 0)               # preference order: bit p of m is rule _ORDER[p]

    def _match(f):
        v0, v1 = _get(f)
        m = 0
        if (v1 >= 30):
            if (not (v0 is not None and v0 >= 7)): m += 1
            if (v1 >= 60): m += 2
        try:
            return _R[m]          # (1, 0), (1,), (0,) or (): built once per match set
        except KeyError:
            return _rank(m)

The meaning is exactly the one stated in `_rules.ir` (the reference interpreter is the oracle the
tests check against):

====================  ==============================================================
IR node               generated Python
====================  ==============================================================
Compare, no null      ``(a op b)``
Compare, nullable     ``(v is not None and v op b)`` -- null compares False (``t :=``
                      a temporary when the operand is arithmetic, not a fact)
InSet                 ``(x in (v1, v2))``, guarded like Compare when x may be null
Arith, nullable       ``(None if (t1 := a) is None or (t2 := b) is None else t1 + t2)``
And / Or / Not        ``(a and b)`` / ``(a or b)`` / ``(not a)`` over truth values
bool fact as a test   ``v`` (``(v is True)`` when the fact is nullable)
====================  ==============================================================

Very deep expressions are split into helper functions (CPython's parser refuses more than
200 nested parentheses). Compiled functions are cached by the sha256 of their source, and
`compile_ruleset` also by the rule set's sha256.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from types import FunctionType
from typing import Any

from .._base.errors import EngineError
from .._rules.ir import (
    And,
    Arith,
    Compare,
    Const,
    Expr,
    FactRef,
    InSet,
    Not,
    Or,
    Value,
    facts_read,
    type_of,
)
from .._rules.ir import nullable as _nullable
from .python_tree import MEMO_CAP, conjuncts, nested_tests

__all__ = ["compile_expr", "compile_rules", "compile_ruleset", "generate_rules_source"]

MatchFn = Callable[[Mapping[str, object]], tuple[int, ...]]
ExprFn = Callable[[Mapping[str, object]], object]

_MAX_DEPTH = 40  # nesting depth after which a subexpression becomes a helper function
_LOCK = threading.Lock()
_BY_SOURCE: dict[str, Callable[..., Any]] = {}
_BY_SHA: dict[tuple[str, tuple[int, ...]], MatchFn] = {}


@dataclass
class _Gen:
    """Accumulates one generated module: constants, helpers, fact locals, temporaries."""

    consts: dict[tuple[str, str], str] = field(default_factory=dict)
    helpers: list[str] = field(default_factory=list)
    temps: int = 0

    def const(self, value: object) -> str:
        if isinstance(value, bool | int | str):
            return repr(value)
        if isinstance(value, Decimal):
            return self._hoist(repr(value))
        raise EngineError(f"generated code: unsupported constant {value!r} in a condition")

    def _hoist(self, text: str) -> str:
        key = ("k", text)
        if key not in self.consts:
            self.consts[key] = f"_k{len(self.consts)}"
        return self.consts[key]

    def values(self, values: tuple[Value, ...]) -> str:
        parts = [self.const(v) for v in values]
        text = "(" + "".join(p + ", " for p in parts) + ")"
        return self._hoist(text) if any(isinstance(v, Decimal) for v in values) else text

    def temp(self) -> str:
        self.temps += 1
        return f"t{self.temps - 1}"


class _Emitter:
    """Emits Python source for IR nodes; `names` maps fact name -> local variable."""

    def __init__(self, gen: _Gen, names: dict[str, str]):
        self.gen = gen
        self.names = names

    def value(self, e: Expr, depth: int = 0) -> str:
        if depth > _MAX_DEPTH:
            return self._helper(e)
        d = depth + 1
        if isinstance(e, Const):
            return self.gen.const(e.value)
        if isinstance(e, FactRef):
            return self.names[e.name]
        if isinstance(e, Arith):
            a, b = self.value(e.left, d), self.value(e.right, d)
            if not (_nullable(e.left) or _nullable(e.right)):
                return f"({a} {e.op} {b})"
            ta, tb = self.gen.temp(), self.gen.temp()
            return f"(None if ({ta} := {a}) is None or ({tb} := {b}) is None else {ta} {e.op} {tb})"
        if isinstance(e, Compare):
            return self._compare(e, d)
        if isinstance(e, InSet):
            x = self.value(e.operand, d)
            vals = self.gen.values(e.values)
            if not _nullable(e.operand):
                return f"({x} in {vals})"
            guards: list[str] = []
            t = self._guard(x, e.operand, guards)
            return f"({guards[0]} and {t} in {vals})"
        return self.truth(e, depth)

    def _compare(self, e: Compare, d: int) -> str:
        a, b = self.value(e.left, d), self.value(e.right, d)
        guards: list[str] = []
        if _nullable(e.left):
            a = self._guard(a, e.left, guards)
        if _nullable(e.right):
            b = self._guard(b, e.right, guards)
        return "(" + "".join(g + " and " for g in guards) + f"{a} {e.op} {b})"

    def _guard(self, text: str, e: Expr, guards: list[str]) -> str:
        """`text` (the source of nullable `e`) as a name, its not-None test added to `guards`;
        a fact is already a local, anything else gets a temporary."""
        if isinstance(e, FactRef):
            guards.append(f"{text} is not None")
            return text
        t = self.gen.temp()
        guards.append(f"({t} := {text}) is not None")
        return t

    def truth(self, e: Expr, depth: int = 0) -> str:
        """Source whose value is the bool truth of `e` (as `bool(evaluate(e))`)."""
        if depth > _MAX_DEPTH:
            return f"bool({self._helper(e)})"
        d = depth + 1
        if isinstance(e, And | Or):
            word = " and " if isinstance(e, And) else " or "
            if not e.items:
                return "True" if isinstance(e, And) else "False"
            return "(" + word.join(self.truth(i, d) for i in _flat(e)) + ")"
        if isinstance(e, Not):
            return f"(not {self.truth(e.item, d)})"
        if isinstance(e, Compare | InSet):
            return self.value(e, depth)
        if isinstance(e, Const):
            return repr(bool(e.value))
        if isinstance(e, FactRef) and e.type == "bool":
            v = self.names[e.name]
            return f"({v} is True)" if e.nullable else v
        return f"bool({self.value(e, d)})"

    def _helper(self, e: Expr) -> str:
        """Emit `e` as a separate function of `f` (for expressions nested too deeply)."""
        name = f"_h{len(self.gen.helpers)}"
        self.gen.helpers.append("")  # reserve the slot before recursing
        body, _ = _function_body(self.gen, e, "return")
        self.gen.helpers[int(name[2:])] = f"def {name}(f):\n{body}"
        return f"{name}(f)"


def _flat(e: And | Or) -> list[Expr]:
    """Items of nested And-in-And (Or-in-Or) flattened, so the source stays shallow."""
    out: list[Expr] = []
    for i in e.items:
        if type(i) is type(e):
            out += _flat(i)
        else:
            out.append(i)
    return out


def _fact_locals(exprs: Sequence[Expr]) -> dict[str, str]:

    names = sorted({n for e in exprs for n in facts_read(e)})
    return {n: f"v{i}" for i, n in enumerate(names)}


def _function_body(gen: _Gen, expr: Expr, mode: str) -> tuple[str, dict[str, str]]:
    names = _fact_locals([expr])
    em = _Emitter(gen, names)
    code = em.value(expr) if mode == "return" else em.truth(expr)
    lines = [f"    {v} = f[{n!r}]" for n, v in names.items()]
    lines.append(f"    return {code}")
    return "\n".join(lines) + "\n", names


def _module(gen: _Gen, main: str, extra: Sequence[str] = ()) -> str:
    head = ["from decimal import Decimal", "from operator import itemgetter", ""]
    head += [f"{name} = {text}" for (_, text), name in gen.consts.items()]
    return "\n".join([*head, *extra, "", *gen.helpers, main])


def generate_rules_source(
    exprs: Sequence[Expr],
    order: Sequence[int] | None = None,
    read_order: Sequence[str] | None = None,
) -> str:
    """The Python source of the match function for `exprs` ranked in `order` (`python_tree`);
    `read_order` (all the facts read, in a facts dict's own order) is the tuned form (`_tune`)."""
    gen = _Gen()
    names = _fact_locals(exprs)
    em = _Emitter(gen, names)
    ranked = tuple(order) if order is not None else tuple(range(len(exprs)))
    rules = [(1 << p, parts) for p, i in enumerate(ranked)
             if (parts := conjuncts(exprs[i])) is not None]  # fmt: skip
    lines = ["def _match(f):"]
    head = []
    if len(names) > 1:
        unpack = f"    {', '.join(names.values())} = _get(f)"
        head.append(f"_get = itemgetter({', '.join(repr(n) for n in names)})")
        if read_order is None:
            lines.append(unpack)
        else:
            head.append(f"_get_t = itemgetter({', '.join(repr(n) for n in read_order)})")
            lines += ["    try:", f"        {', '.join(names[n] for n in read_order)} = _get_t(f)",
                      "    except KeyError:  # raised again naming the first missing fact by name",
                      "    " + unpack]  # fmt: skip
    lines += [f"    {v} = f[{n!r}]" for n, v in names.items() if len(names) == 1]
    lines.append("    m = 0")
    lines += nested_tests(rules, em.truth)
    lines += [
        "    try:",
        "        return _R[m]",
        "    except KeyError:",
        "        return _rank(m, f)",
    ]
    head += [f"_ORDER = {ranked!r}", f"_CAP = {MEMO_CAP}", "_R = {}", "_TUNE = None", "", "",
             "def _rank(m, f):", "    if _TUNE is not None:", "        _TUNE(f)",
             "    r = tuple([i for p, i in enumerate(_ORDER) if m >> p & 1])",
             "    if len(_R) < _CAP:", "        _R[m] = r", "    return r", ""]  # fmt: skip
    return _module(gen, "\n".join(lines) + "\n", head)


def _tune(fn: FunctionType, exprs: Sequence[Expr], order: Sequence[int] | None, f: Any) -> None:
    """Read the facts in the order of the first facts dict matched (called once, on a memo miss).

    A dict's entries are read fastest in their own order (one sequential pass over memory
    rather than jumps): `compute_facts` always builds the same order, which the matcher cannot
    know before it sees a dict. The meaning does not depend on the read order; a missing fact
    makes the tuned code read again in name order, so the KeyError names the same fact."""
    if type(f) is not dict:
        return  # another mapping may not keep an order: try again on the next miss
    g = fn.__globals__
    names = _fact_locals(exprs)
    got = [n for n in f if n in names]
    with _LOCK:
        if g["_TUNE"] is None:
            return
        g["_TUNE"] = None
        g["_tuned"] = True
        if len(got) != len(names) or got == list(names):
            return
        namespace: dict[str, Any] = {}
        exec(compile(generate_rules_source(exprs, order, got), fn.__code__.co_filename, "exec"),
             namespace)  # fmt: skip
        g["_get_t"] = namespace["_get_t"]  # before the code that reads it
        fn.__code__ = namespace["_match"].__code__


def _compile(source: str, entry: str) -> Callable[..., Any]:
    with _LOCK:
        hit = _BY_SOURCE.get(source)
    if hit is not None:
        return hit
    digest = hashlib.sha256(source.encode()).hexdigest()[:16]
    namespace: dict[str, Any] = {}
    try:
        code = compile(source, f"<dunning-rules-{digest}>", "exec")
    except (SyntaxError, RecursionError, MemoryError) as exc:
        raise EngineError(f"generated rule code does not compile ({exc}); please report") from None
    exec(code, namespace)  # generated from the IR only, never from user text
    fn: Callable[..., Any] = namespace[entry]
    with _LOCK:
        return _BY_SOURCE.setdefault(source, fn)


def compile_rules(exprs: Sequence[Expr], order: Sequence[int] | None = None) -> MatchFn:
    """A function of the facts mapping returning the indices of `exprs` that hold.

    Rules are tested (and returned) in `order` (default: list order), so the engine passes its
    preference order and gets the matches already ranked.
    """
    for e in exprs:
        if type_of(e) != "bool":
            raise EngineError(f"a rule condition must be boolean, found a {type_of(e)} expression")
    fn: MatchFn = _compile(generate_rules_source(exprs, order), "_match")
    if isinstance(fn, FunctionType) and len(_fact_locals(exprs)) > 1:
        with _LOCK:
            if fn.__globals__["_TUNE"] is None and "_tuned" not in fn.__globals__:
                fn.__globals__["_TUNE"] = partial(_tune, fn, tuple(exprs), order)
    return fn


def compile_ruleset(rules: Any, order: Sequence[int] | None = None) -> MatchFn:
    """`compile_rules` over a RuleSet's rule conditions, cached by the rule set's sha256."""
    key = (str(rules.sha256), tuple(order) if order is not None else ())
    with _LOCK:
        hit = _BY_SHA.get(key)
    if hit is not None:
        return hit
    fn = compile_rules([r.expr for r in rules.rules], order)
    with _LOCK:
        _BY_SHA.setdefault(key, fn)
    return fn


def compile_expr(expr: Expr) -> ExprFn:
    """A function of the facts mapping returning the value of `expr` (the `_rules.ir` meaning)."""
    gen = _Gen()
    body, _ = _function_body(gen, expr, "return")
    fn: ExprFn = _compile(_module(gen, "def _expr(f):\n" + body), "_expr")
    return fn
