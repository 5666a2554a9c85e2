"""The condition language: text an analyst writes -> a type-checked `ir.Expr`.

The grammar, tokenizer and parser are in `condition_parse`; this module resolves names,
checks types and builds the IR, and renders IR back to text.

A NAME is a catalog fact (``dpd``, ``attempts_7d.phone``) or a derived fact of the file; a
derived fact is *inlined* (macro expansion), so evaluators never see derived names.

Typing (see `ir` for the types): a number literal takes the type of the fact it meets
(``overdue_amount > 500`` compares money with money ``Decimal("500")``); a decimal literal
never meets an int; int and money never mix; enum facts compare only with strings from their
`values`; ordering operators need int or money; the whole condition must be bool.

Bounds: text length (`MAX_CHARS`), nesting depth (`MAX_DEPTH`), tokens, and IR size after
derived facts are inlined (`MAX_NODES`), so a hostile file cannot make evaluators explode.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from .._base.errors import ConditionError, RuleFileError
from .._base.money import MINOR_UNITS
from .._state import catalog as _catalog
from .condition_parse import _CMP, _Bin, _In, _Lit, _Logic, _Name, _Node, _NotN, _Parser, _tokenize
from .condition_parse import MAX_DEPTH as MAX_DEPTH
from .condition_parse import MAX_TOKENS as MAX_TOKENS
from .ir import And, Arith, Compare, Const, Expr, FactRef, FactType, InSet, Not, Or, type_of

__all__ = ["MAX_CHARS", "Env", "Site", "compile_condition", "render"]

MAX_CHARS = 4000
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
