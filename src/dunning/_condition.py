"""The condition language: text an analyst writes -> a type-checked `_ir.Expr`.

Grammar (lowest precedence first; hand-written tokenizer and recursive descent, no eval)::

    or_expr    := and_expr ("or" and_expr)*
    and_expr   := not_expr ("and" not_expr)*
    not_expr   := "not" not_expr | comparison
    comparison := sum [ cmp_op sum | "in" list | "not" "in" list ]     (no chaining)
    sum        := unary (("+" | "-") unary)*
    unary      := "-" NUMBER | atom
    atom       := NUMBER | STRING | "true" | "false" | NAME | "(" or_expr ")"
    list       := "[" literal ("," literal)* [","] "]"

NAME is a catalog fact (``dpd``, ``attempts_7d.phone``) or a derived fact of the file; a
derived fact is *inlined* (macro expansion), so evaluators never see derived names.

Typing (see `_ir` for the types): a number literal takes the type of the fact it meets
(``overdue_amount > 500`` compares money with money ``Decimal("500")``); a decimal literal
never meets an int; int and money never mix; enum facts compare only with strings from their
`values`; ordering operators need int or money; the whole condition must be bool.

Bounds: text length (`MAX_CHARS`), nesting depth (`MAX_DEPTH`), tokens, and IR size after
derived facts are inlined (`MAX_NODES`), so a hostile file cannot make evaluators explode.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from . import _catalog
from ._errors import ConditionError, RuleFileError
from ._ir import And, Arith, Compare, Const, Expr, FactRef, FactType, InSet, Not, Or, type_of
from ._money import MINOR_UNITS

__all__ = ["MAX_CHARS", "Env", "Site", "compile_condition", "render"]

MAX_CHARS = 4000
MAX_DEPTH = 32
MAX_TOKENS = 1000
MAX_NODES = 2000


@dataclass(frozen=True)
class Site:
    """Where a condition's text sits: the YAML scalar's position and the owning item id."""

    path: str | None = None
    line: int | None = None
    column: int | None = None
    style: str | None = None  # YAML scalar style (None plain, quotes, '|' or '>')
    rule_id: str | None = None
    owner: str | None = None  # e.g. "limit 'x'" for conditions that do not belong to a rule


@dataclass(frozen=True)
class Env:
    """What names mean while checking: steps of the rule set, derived facts, the currency."""

    step_ids: frozenset[str]
    derived_ids: frozenset[str] = frozenset()
    resolve_derived: Callable[[str], Expr] | None = None
    currency: str | None = None


# -- tokens -----------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""(?P<ws>\s+)
      | (?P<num>\d{1,30}(?:\.\d{1,30})?)
      | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)
      | (?P<op>==|!=|<=|>=|<|>|\+|-|\(|\)|\[|\]|,)
      | (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')""",
    re.VERBOSE,
)
_KEYWORDS = {"and", "or", "not", "in", "true", "false"}
_HINTS = {"=": "'=='", "&": "'and'", "|": "'or'", "!": "'not' or '!='"}


@dataclass(frozen=True)
class _Tok:
    kind: str  # num, name, op, str, kw, end
    text: str
    pos: int


def _tokenize(text: str, fail: Callable[[str, int], ConditionError]) -> list[_Tok]:
    out: list[_Tok] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            ch = text[pos]
            if ch in "\"'":
                raise fail(f"unterminated string starting with {ch}", pos)
            hint = f"; did you mean {_HINTS[ch]}?" if ch in _HINTS else ""
            raise fail(f"unexpected character {ch!r}{hint}", pos)
        kind = m.lastgroup or ""
        if kind != "ws":
            word = m.group()
            kind = "kw" if kind == "name" and word in _KEYWORDS else kind
            out.append(_Tok(kind, word, pos))
        pos = m.end()
        if len(out) > MAX_TOKENS:
            raise fail(f"condition has more than {MAX_TOKENS} tokens", pos)
    out.append(_Tok("end", "", len(text)))
    return out


def _unquote(s: str) -> str:
    return re.sub(r"\\(.)", r"\1", s[1:-1])


# -- syntax tree (untyped, with positions) -----------------------------------------------------


@dataclass(frozen=True)
class _Lit:
    kind: str  # intlit, declit, string, bool
    value: int | Decimal | str | bool
    text: str
    pos: int


@dataclass(frozen=True)
class _Name:
    name: str
    pos: int


@dataclass(frozen=True)
class _Bin:
    op: str
    left: _Node
    right: _Node
    pos: int


@dataclass(frozen=True)
class _In:
    operand: _Node
    items: tuple[_Lit, ...]
    negated: bool
    pos: int


@dataclass(frozen=True)
class _Logic:
    op: str  # and / or
    items: tuple[_Node, ...]
    pos: int


@dataclass(frozen=True)
class _NotN:
    item: _Node
    pos: int


_Node = _Lit | _Name | _Bin | _In | _Logic | _NotN
_CMP = ("==", "!=", "<", "<=", ">", ">=")


class _Parser:
    def __init__(self, toks: list[_Tok], fail: Callable[[str, int], ConditionError]):
        self.toks, self.i, self.fail, self.depth = toks, 0, fail, 0

    @property
    def tok(self) -> _Tok:
        return self.toks[self.i]

    def take(self) -> _Tok:
        t = self.toks[self.i]
        self.i += 1
        return t

    def at(self, text: str) -> bool:
        return self.tok.kind in ("op", "kw") and self.tok.text == text

    def expect(self, text: str) -> _Tok:
        if not self.at(text):
            raise self.fail(f"expected {text!r}, found {self._found()}", self.tok.pos)
        return self.take()

    def _found(self) -> str:
        return "end of condition" if self.tok.kind == "end" else repr(self.tok.text)

    def parse(self) -> _Node:
        node = self.or_expr()
        if self.tok.kind != "end":
            raise self.fail(f"unexpected {self._found()} after a complete condition", self.tok.pos)
        return node

    def _logic(self, op: str, sub: Callable[[], _Node]) -> _Node:
        pos = self.tok.pos
        items = [sub()]
        while self.at(op):
            self.take()
            items.append(sub())
        return items[0] if len(items) == 1 else _Logic(op, tuple(items), pos)

    def or_expr(self) -> _Node:
        return self._logic("or", self.and_expr)

    def and_expr(self) -> _Node:
        return self._logic("and", self.not_expr)

    def _enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(f"condition nested deeper than {MAX_DEPTH} levels", self.tok.pos)

    def not_expr(self) -> _Node:
        if self.at("not"):
            pos = self.take().pos
            self._enter()
            item = self.not_expr()
            self.depth -= 1
            return _NotN(item, pos)
        return self.comparison()

    def comparison(self) -> _Node:
        left = self.sum()
        t = self.tok
        if t.kind == "op" and t.text in _CMP:
            self.take()
            node: _Node = _Bin(t.text, left, self.sum(), t.pos)
            if self.tok.kind == "op" and self.tok.text in _CMP:
                raise self.fail(
                    "chained comparisons are not supported; write 'a < b and b < c'",
                    self.tok.pos,
                )
            return node
        if self.at("in"):
            self.take()
            return _In(left, self.list_(), False, t.pos)
        if self.at("not") and self.toks[self.i + 1].text == "in":
            self.i += 2
            return _In(left, self.list_(), True, t.pos)
        return left

    def sum(self) -> _Node:
        node = self.unary()
        while self.tok.kind == "op" and self.tok.text in ("+", "-"):
            t = self.take()
            node = _Bin(t.text, node, self.unary(), t.pos)
        return node

    def unary(self) -> _Node:
        if self.at("-") and self.toks[self.i + 1].kind == "num":
            pos = self.take().pos
            lit = self.atom()
            assert isinstance(lit, _Lit)
            return _Lit(lit.kind, -lit.value, "-" + lit.text, pos)  # type: ignore[operator]
        return self.atom()

    def atom(self) -> _Node:
        t = self.tok
        if t.kind == "num":
            self.take()
            if "." in t.text:
                return _Lit("declit", Decimal(t.text), t.text, t.pos)
            return _Lit("intlit", int(t.text), t.text, t.pos)
        if t.kind == "str":
            self.take()
            return _Lit("string", _unquote(t.text), t.text, t.pos)
        if t.kind == "kw" and t.text in ("true", "false"):
            self.take()
            return _Lit("bool", t.text == "true", t.text, t.pos)
        if t.kind == "name":
            self.take()
            return _Name(t.text, t.pos)
        if self.at("("):
            self.take()
            self._enter()
            node = self.or_expr()
            self.depth -= 1
            self.expect(")")
            return node
        raise self.fail(f"expected a fact, a value or '(', found {self._found()}", t.pos)

    def list_(self) -> tuple[_Lit, ...]:
        self.expect("[")
        items: list[_Lit] = []
        while not self.at("]"):
            node = self.unary()
            if not isinstance(node, _Lit):
                raise self.fail("expected a literal value in the list", node.pos)
            items.append(node)
            if not self.at("]"):
                self.expect(",")
        self.take()
        if not items:
            raise self.fail("expected at least one value in the list", self.tok.pos)
        return tuple(items)


# -- type checking: syntax tree -> IR ----------------------------------------------------------

_SHOW = {"intlit": "int", "declit": "decimal", "string": "string", "bool": "bool"}
_NUMERIC = {"int", "money", "intlit", "declit"}


class _Checker:
    def __init__(self, env: Env, fail: Callable[[str, int], ConditionError]):
        self.env, self.fail, self.size = env, fail, 0

    def grow(self, n: int, pos: int) -> None:
        self.size += n
        if self.size > MAX_NODES:
            raise self.fail(
                f"condition is too large after inlining derived facts (over {MAX_NODES} nodes)",
                pos,
            )

    def spec(self, n: _Name) -> tuple[FactType, tuple[str, ...]] | Expr:
        if n.name in self.env.derived_ids and self.env.resolve_derived is not None:
            return self.env.resolve_derived(n.name)
        s = _catalog.lookup(n.name, self.env.step_ids)
        if s is None:
            hint = _catalog.suggest(n.name, self.env.step_ids, sorted(self.env.derived_ids))
            tail = f"; did you mean {hint!r}?" if hint else ""
            raise self.fail(f"unknown fact {n.name!r}{tail}", n.pos)
        return (s.type, s.values)

    def kind(self, node: _Node) -> str:
        """Static type, with literal kinds (intlit, declit, string) not yet coerced."""
        if isinstance(node, _Lit):
            return node.kind
        if isinstance(node, _Name):
            s = self.spec(node)
            return s[0] if isinstance(s, tuple) else type_of(s)
        if isinstance(node, _Bin) and node.op in "+-":
            kl, kr = self.kind(node.left), self.kind(node.right)
            return (
                kl
                if kl in ("int", "money")
                else kr
                if kr in ("int", "money")
                else ("declit" if "declit" in (kl, kr) else kl)
            )
        return "bool"

    def show(self, node: _Node) -> str:
        if isinstance(node, _Name):
            return node.name
        if isinstance(node, _Lit):
            text = repr(node.value) if node.kind == "string" else node.text
            return f"{_SHOW[node.kind]} {text}"
        return f"{self.kind(node)} expression"

    def mismatch(self, a: _Node, ka: str, b: _Node, pos: int) -> ConditionError:
        if isinstance(b, _Name) and not isinstance(a, _Name):
            a, b = b, a
            ka = self.kind(a)
        what = a.name if isinstance(a, _Name) else "the left side"
        kb = self.kind(b)
        found = f"{_SHOW.get(kb, kb)} {b.name}" if isinstance(b, _Name) else self.show(b)
        return self.fail(f"type mismatch: {what} is {_SHOW.get(ka, ka)}, found {found}", b.pos)

    def check(self, node: _Node, want: str | None = None) -> Expr:
        self.grow(1, node.pos)
        if isinstance(node, _Lit):
            return self.literal(node, want)
        if isinstance(node, _Name):
            s = self.spec(node)
            if isinstance(s, tuple):
                spec = _catalog.lookup(node.name, self.env.step_ids)
                assert spec is not None
                return FactRef(node.name, spec.type, spec.nullable)
            self.grow(_size(s), node.pos)
            return s
        if isinstance(node, _Logic):
            items = tuple(self.boolean(i) for i in node.items)
            return And(items) if node.op == "and" else Or(items)
        if isinstance(node, _NotN):
            return Not(self.boolean(node.item))
        if isinstance(node, _In):
            return self.in_(node)
        if node.op in ("+", "-"):
            return self.arith(node, want)
        return self.compare(node)

    def boolean(self, node: _Node) -> Expr:
        k = self.kind(node)
        if k != "bool":
            raise self.fail(f"expected a true/false condition, found {self.show(node)}", node.pos)
        return self.check(node)

    def literal(self, lit: _Lit, want: str | None) -> Const:
        if lit.kind == "bool":
            return Const(bool(lit.value), "bool")
        if lit.kind == "string":
            return Const(str(lit.value), "enum")
        if want == "money" or (want is None and lit.kind == "declit"):
            amount = Decimal(lit.text)
            cur = self.env.currency
            if cur in MINOR_UNITS and -amount.as_tuple().exponent > MINOR_UNITS[cur]:  # type: ignore[operator]
                raise self.fail(
                    f"amount {lit.text} has more decimals than {cur} allows ({MINOR_UNITS[cur]})",
                    lit.pos,
                )
            return Const(amount, "money")
        return Const(int(lit.text), "int")

    def arith(self, node: _Bin, want: str | None) -> Expr:
        kl, kr = self.kind(node.left), self.kind(node.right)
        for side, k in ((node.left, kl), (node.right, kr)):
            if k not in _NUMERIC:
                raise self.fail(f"'{node.op}' needs numbers, found {self.show(side)}", side.pos)
        ks = {kl, kr}
        if "int" in ks and ("money" in ks or "declit" in ks):
            a, b = (node.left, node.right) if kl == "int" else (node.right, node.left)
            raise self.fail(
                f"cannot mix int and money: {self.show(a)} is int, {self.show(b)}"
                f" is {'decimal' if 'declit' in ks else 'money'}",
                node.pos,
            )
        typ: FactType = "money" if ks & {"money", "declit"} or want == "money" else "int"
        left, right = self.check(node.left, typ), self.check(node.right, typ)
        return Arith("+" if node.op == "+" else "-", left, right, typ)

    def compare(self, node: _Bin) -> Expr:
        kl, kr = self.kind(node.left), self.kind(node.right)
        typ = self.unify(node.left, kl, node.right, kr, node.pos)
        if node.op not in ("==", "!=") and typ not in ("int", "money"):
            raise self.fail(
                f"'{node.op}' needs int or money operands, found {_SHOW.get(typ, typ)}", node.pos
            )
        if typ == "enum" and isinstance(node.left, _Name) and isinstance(node.right, _Name):
            lv, rv = self.spec(node.left), self.spec(node.right)
            if isinstance(lv, tuple) and isinstance(rv, tuple) and lv[1] != rv[1]:
                raise self.fail(
                    f"{node.left.name} and {node.right.name} take different values;"
                    " expected enum facts of the same kind",
                    node.pos,
                )
        if typ == "enum":
            self.enum_values(node.left, node.right)
            self.enum_values(node.right, node.left)
        op = node.op
        assert op in _CMP
        return Compare(op, self.check(node.left, typ), self.check(node.right, typ))  # type: ignore[arg-type]

    def unify(self, a: _Node, ka: str, b: _Node, kb: str, pos: int) -> str:
        """The common type of two operands, or a type-mismatch error."""
        fits = {
            "int": {"int", "intlit"},
            "money": {"money", "intlit", "declit"},
            "bool": {"bool"},
            "enum": {"enum", "string"},
        }
        if ka in fits and kb in fits:
            if ka != kb:
                raise self.mismatch(a, ka, b, pos)
            return ka
        if ka in fits:
            if kb not in fits[ka]:
                raise self.mismatch(a, ka, b, pos)
            return ka
        if kb in fits:
            if ka not in fits[kb]:
                raise self.mismatch(b, kb, a, pos)
            return kb
        if {ka, kb} <= {"intlit", "declit"}:
            return "money" if "declit" in (ka, kb) else "int"
        raise self.fail(f"cannot compare {self.show(a)} with {self.show(b)}; compare a fact", pos)

    def enum_values(self, fact: _Node, other: _Node) -> None:
        if not (isinstance(other, _Lit) and other.kind == "string" and isinstance(fact, _Name)):
            return
        s = self.spec(fact)
        if isinstance(s, FactRef):  # a derived fact that is just another fact's name
            spec = _catalog.lookup(s.name, self.env.step_ids)
            s = (spec.type, spec.values) if spec is not None else s
        values = s[1] if isinstance(s, tuple) else ()
        if values and other.value not in values:
            from difflib import get_close_matches

            hit = get_close_matches(str(other.value), values, n=1, cutoff=0.3)
            tail = f"; did you mean {hit[0]!r}?" if hit else ""
            raise self.fail(
                f"{fact.name} is one of {', '.join(values)}; found {other.value!r}{tail}",
                other.pos,
            )

    def in_(self, node: _In) -> Expr:
        k = self.kind(node.operand)
        if k not in ("int", "money", "enum", "bool"):
            raise self.fail(
                f"'in' needs a fact on the left, found {self.show(node.operand)}", node.operand.pos
            )
        values: list[int | Decimal | bool | str] = []
        for item in node.items:
            self.unify(node.operand, k, item, item.kind, item.pos)
            if k == "enum":
                self.enum_values(node.operand, item)
            values.append(self.literal(item, k).value)
        out: Expr = InSet(self.check(node.operand), tuple(values))
        return Not(out) if node.negated else out


def _size(expr: Expr) -> int:
    """Node count of an expression tree (as evaluators would expand it)."""
    if isinstance(expr, Compare | Arith):
        return 1 + _size(expr.left) + _size(expr.right)
    if isinstance(expr, And | Or):
        return 1 + sum(_size(i) for i in expr.items)
    if isinstance(expr, Not):
        return 1 + _size(expr.item)
    if isinstance(expr, InSet):
        return 1 + _size(expr.operand)
    return 1


def _failer(text: str, site: Site) -> Callable[[str, int], ConditionError]:
    """Builds located errors: column within the text when it sits on one YAML line."""

    def fail(message: str, pos: int) -> ConditionError:
        line, col = site.line, None
        one_line = "\n" not in text.rstrip("\n")
        if line is not None and site.style in (None, "'", '"') and one_line:
            col = (site.column or 1) + pos + (1 if site.style else 0)
        elif line is not None and site.style == "|":
            line += 1 + text.count("\n", 0, pos)
        owner = f"{site.owner}: " if site.owner else ""
        return ConditionError(
            f"{owner}{message} (in condition {_excerpt(text)})",
            path=site.path,
            line=line,
            column=col,
            rule_id=site.rule_id,
        )

    return fail


def _excerpt(text: str) -> str:
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= 80 else flat[:77] + "...")


def compile_condition(text: str, env: Env, site: Site = Site(), *, want_bool: bool = True) -> Expr:
    """Parse and type-check `text`; ConditionError (located at `site`) when it is not valid."""
    fail = _failer(text, site)
    if not isinstance(text, str) or not text.strip():
        raise fail("expected a condition, found nothing", 0)
    if len(text) > MAX_CHARS:
        raise fail(f"condition is {len(text)} characters; expected at most {MAX_CHARS}", 0)
    tree = _Parser(_tokenize(text, fail), fail).parse()
    checker = _Checker(env, fail)
    if want_bool:
        return checker.boolean(tree)
    return checker.check(tree)


# -- rendering: IR -> text (round-trips through compile_condition) -----------------------------

_PREC = {Or: 1, And: 2, Not: 3, Compare: 4, InSet: 4, Arith: 5}


def _lit(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return str(value)


def render(expr: Expr, _ctx: int = 0) -> str:
    """Condition text for an IR expression (derived facts appear inlined)."""
    prec = _PREC.get(type(expr), 6)
    if isinstance(expr, Const):
        text = _lit(expr.value)
    elif isinstance(expr, FactRef):
        text = expr.name
    elif isinstance(expr, Arith):
        text = f"{render(expr.left, 5)} {expr.op} {render(expr.right, 6)}"
    elif isinstance(expr, Compare):
        text = f"{render(expr.left, 5)} {expr.op} {render(expr.right, 5)}"
    elif isinstance(expr, InSet):
        text = f"{render(expr.operand, 5)} in [{', '.join(_lit(v) for v in expr.values)}]"
    elif isinstance(expr, And | Or):
        word, sub = (" and ", 3) if isinstance(expr, And) else (" or ", 2)
        text = word.join(render(i, sub) for i in expr.items)
    else:
        text = f"not {render(expr.item, 3)}"
    return f"({text})" if prec < _ctx else text


def derived_cycle_error(chain: list[str], site: Site) -> RuleFileError:
    """The error for a cycle among derived facts, naming every link."""
    owner = f"{site.owner}: " if site.owner else ""
    return RuleFileError(
        f"{owner}cyclic derived facts: {' -> '.join(chain)};"
        " expected derived facts to form no cycle",
        path=site.path,
        line=site.line,
        column=site.column,
        rule_id=site.rule_id,
    )
