"""Condition text -> an untyped syntax tree with positions: the tokenizer and the parser.

Grammar (lowest precedence first; hand-written tokenizer and recursive descent, no eval)::

    or_expr    := and_expr ("or" and_expr)*
    and_expr   := not_expr ("and" not_expr)*
    not_expr   := "not" not_expr | comparison
    comparison := sum [ cmp_op sum | "in" list | "not" "in" list ]     (no chaining)
    sum        := unary (("+" | "-") unary)*
    unary      := "-" NUMBER | atom
    atom       := NUMBER | STRING | "true" | "false" | NAME | "(" or_expr ")"
    list       := "[" literal ("," literal)* [","] "]"

Names are neither resolved nor typed here: `condition` checks the tree against the catalog
and the file's derived facts and turns it into `ir.Expr`. Bounds enforced here: tokens
(`MAX_TOKENS`) and nesting depth (`MAX_DEPTH`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from .._base.errors import ConditionError

MAX_DEPTH = 32
MAX_TOKENS = 1000


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
