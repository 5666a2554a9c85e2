"""lint(rules): findings an analyst should look at before a rule set goes live.

Every finding is *proved*, never guessed: the analysis abstracts each condition and reports
only what holds for every possible state. Whatever it cannot model it treats as unknown, which
can only make it report less.

Theory of operation. A rule's condition is flattened into a conjunction of *atoms*:

==========================================  =================================================
condition part                              abstraction
==========================================  =================================================
``f <op> c`` / ``c <op> f`` (int, money)    interval on f (int bounds made inclusive); a
                                            comparison also implies f is not null
``not (f <op> c)``, f not nullable          the complementary interval (``!=`` stays opaque)
``b`` / ``not b`` / ``b == true`` (bool)    b must be True / False
``e == "v"``, ``e in [..]`` (enum)          e in a set of values (``!=``/``not in``: the rest)
``true`` / ``false``                        nothing / unsatisfiable
anything else (``or``, arithmetic, ...)     an opaque atom, matched only by equality
==========================================  =================================================

* RULE_CONTRADICTORY: the conjunction is unsatisfiable (an empty interval, ``b and not b``,
  an empty enum set, ``false``).
* RULE_SHADOWED: rule B is shadowed by rule A when A ranks strictly higher (priority, then
  ladder level of its step) and B's conjunction implies A's: every constraint of A is implied
  by one of B's (interval inside interval, same bool, enum subset, identical opaque atom).
  Then whenever B matches A matches too, so B's step is chosen only when the gate blocks A's.
* DPD_GAP: days past due 1..`HORIZON` where no rule whose condition reads ``dpd`` can match,
  judging each rule by its conditions on dpd alone (``and`` intersects, ``or`` unites, other
  facts ignored, which only widens a rule's range, so a reported gap is real for those rules).
* STEP_UNUSED: an enabled step that no rule proposes.
* THREAT_NOT_TIME_BARRED: a step marked `threatens_proceedings` that no enabled `limitation`
  limit selects, so it could go out on a time-barred claim (Reg F 1006.26(b), CONC 7.15).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from .._state.catalog import lookup
from .ir import And, Compare, Const, Expr, FactRef, InSet, Not, Or, facts_read
from .loader import load_rules
from .ruleset import CompiledRule, RuleSet

__all__ = ["HORIZON", "Finding", "lint"]

HORIZON = 3650  # days past due considered by DPD_GAP (ten years)

_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}
_NEG = {"<": ">=", "<=": ">", ">": "<=", ">=": "<", "==": "!=", "!=": "=="}
_Num = int | Decimal
_Bound = tuple[_Num, bool]  # (value, strict)


@dataclass(frozen=True, order=True)
class Finding:
    """One lint finding; `rule_id` is None for findings about steps or the whole set."""

    code: str
    rule_id: str | None
    message: str

    def __str__(self) -> str:
        return f"{self.code} {self.rule_id or '-'}: {self.message}"


@dataclass
class _Conj:
    """A conjunction of abstract atoms (see the table in the module docstring)."""

    lo: dict[str, _Bound] = field(default_factory=dict)
    hi: dict[str, _Bound] = field(default_factory=dict)
    ints: set[str] = field(default_factory=set)  # facts whose bounds are integers
    bools: dict[str, bool] = field(default_factory=dict)
    enums: dict[str, frozenset[object]] = field(default_factory=dict)
    opaque: list[Expr] = field(default_factory=list)
    false: bool = False

    def bound(self, name: str, op: str, value: _Num, is_int: bool) -> None:
        if is_int:
            self.ints.add(name)
        if op in (">", ">=", "=="):
            b: _Bound = (value + 1, False) if is_int and op == ">" else (value, op == ">")
            cur = self.lo.get(name)
            if cur is None or b[0] > cur[0] or (b[0] == cur[0] and b[1]):
                self.lo[name] = b
        if op in ("<", "<=", "=="):
            b = (value - 1, False) if is_int and op == "<" else (value, op == "<")
            cur = self.hi.get(name)
            if cur is None or b[0] < cur[0] or (b[0] == cur[0] and b[1]):
                self.hi[name] = b

    def unsat(self) -> bool:
        if self.false or any(not s for s in self.enums.values()):
            return True
        for name in sorted(set(self.lo) & set(self.hi)):
            (lv, ls), (hv, hs) = self.lo[name], self.hi[name]
            if lv > hv or (lv == hv and (ls or hs)):
                return True
        return False


def _atoms(expr: Expr, c: _Conj) -> None:
    if isinstance(expr, And):
        for item in expr.items:
            _atoms(item, c)
    elif isinstance(expr, Const) and expr.type == "bool":
        c.false = c.false or not expr.value
    elif not _atom(expr, c, negated=False):
        c.opaque.append(expr)


def _atom(expr: Expr, c: _Conj, *, negated: bool) -> bool:
    """Record `expr` (or its negation) as a modelled atom; False when it cannot be modelled."""
    if isinstance(expr, Not):
        return _atom(expr.item, c, negated=not negated)
    if isinstance(expr, FactRef) and expr.type == "bool" and not expr.nullable:
        return _set_bool(c, expr.name, not negated)
    if isinstance(expr, InSet) and isinstance(expr.operand, FactRef):
        return _enum(c, expr.operand, frozenset(expr.values), negated)
    if not isinstance(expr, Compare):
        return False
    op: str = expr.op
    left, right = expr.left, expr.right
    if isinstance(left, Const) and isinstance(right, FactRef):
        op, left, right = _FLIP[op], right, left
    if not (isinstance(left, FactRef) and isinstance(right, Const)):
        return False
    if negated:
        if left.nullable:
            return False  # not (x > 5) also holds when x is null: not an interval
        op = _NEG[op]
    if left.type == "bool" and op in ("==", "!=") and not left.nullable:
        return _set_bool(c, left.name, bool(right.value) == (op == "=="))
    if left.type == "enum" and op in ("==", "!="):
        return _enum(c, left, frozenset([right.value]), op == "!=")
    if left.type in ("int", "money") and op != "!=":
        value = right.value
        assert isinstance(value, int | Decimal) and not isinstance(value, bool)
        c.bound(left.name, op, value, left.type == "int")
        return True
    return False


def _set_bool(c: _Conj, name: str, value: bool) -> bool:
    if c.bools.get(name, value) != value:
        c.false = True
    c.bools[name] = value
    return True


def _enum(c: _Conj, fact: FactRef, values: frozenset[object], negated: bool) -> bool:
    if fact.type != "enum" or fact.nullable:
        return False

    spec = lookup(fact.name, ())
    if spec is None or not spec.values:
        return False
    allowed = frozenset(spec.values) - values if negated else values
    c.enums[fact.name] = c.enums.get(fact.name, frozenset(spec.values)) & allowed
    return True


def _conj(expr: Expr) -> _Conj:
    c = _Conj()
    _atoms(expr, c)
    return c


def _inside(
    b_lo: _Bound | None, b_hi: _Bound | None, a_lo: _Bound | None, a_hi: _Bound | None
) -> bool:
    """B's interval lies within A's (None = unbounded)."""
    if a_lo is not None and (
        b_lo is None or b_lo[0] < a_lo[0] or (b_lo[0] == a_lo[0] and a_lo[1] and not b_lo[1])
    ):
        return False
    return not (
        a_hi is not None
        and (b_hi is None or b_hi[0] > a_hi[0] or (b_hi[0] == a_hi[0] and a_hi[1] and not b_hi[1]))
    )


def _implies(b: _Conj, a: _Conj) -> bool:
    """Every state satisfying B satisfies A (sufficient check; False means 'not proved')."""
    for name in sorted(set(a.lo) | set(a.hi)):
        if name not in b.lo and name not in b.hi:
            return False
        if not _inside(b.lo.get(name), b.hi.get(name), a.lo.get(name), a.hi.get(name)):
            return False
    if any(b.bools.get(n) != v for n, v in sorted(a.bools.items())):
        return False
    if any(n not in b.enums or not b.enums[n] <= s for n, s in sorted(a.enums.items())):
        return False
    return all(any(o == p for p in b.opaque) for o in a.opaque)


# -- dpd ranges: sorted lists of disjoint inclusive integer ranges within 1..HORIZON ---------

_Ranges = list[tuple[int, int]]
_ALL: _Ranges = [(1, HORIZON)]


def _intersect(x: _Ranges, y: _Ranges) -> _Ranges:
    out = [(max(a, c), min(b, d)) for a, b in x for c, d in y if max(a, c) <= min(b, d)]
    return sorted(out)


def _union(x: _Ranges, y: _Ranges) -> _Ranges:
    out: _Ranges = []
    for a, b in sorted(x + y):
        if out and a <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def _complement(x: _Ranges) -> _Ranges:
    out, start = [], 1
    for a, b in x:
        if a > start:
            out.append((start, a - 1))
        start = b + 1
    return out + ([(start, HORIZON)] if start <= HORIZON else [])


def _dpd(expr: Expr) -> _Ranges:
    """An over-approximation of the dpd values (1..HORIZON) at which `expr` can be true."""
    if isinstance(expr, And):
        out = _ALL
        for item in expr.items:
            out = _intersect(out, _dpd(item))
        return out
    if isinstance(expr, Or):
        out = []
        for item in expr.items:
            out = _union(out, _dpd(item))
        return out
    if isinstance(expr, Not) and isinstance(expr.item, Compare):
        inner = _dpd_compare(expr.item)
        return _ALL if inner is None else _complement(inner)
    if isinstance(expr, Compare):
        hit = _dpd_compare(expr)
        return _ALL if hit is None else hit
    if isinstance(expr, InSet) and expr.operand == FactRef("dpd", "int"):
        vals = sorted({v for v in expr.values if isinstance(v, int) and 1 <= v <= HORIZON})
        return _union([], [(v, v) for v in vals])
    if isinstance(expr, Const) and expr.value is False:
        return []
    return _ALL


def _dpd_compare(expr: Compare) -> _Ranges | None:
    """The exact dpd set of `dpd <op> const` within 1..HORIZON, else None."""
    c = _Conj()
    if not _atom(expr, c, negated=False) or set(c.lo) | set(c.hi) != {"dpd"} or expr.op == "!=":
        return None
    lo = int(c.lo["dpd"][0]) if "dpd" in c.lo else 1
    hi = int(c.hi["dpd"][0]) if "dpd" in c.hi else HORIZON
    lo, hi = max(lo, 1), min(hi, HORIZON)
    return [(lo, hi)] if lo <= hi else []


# -- the checks --------------------------------------------------------------------------------


def _rank(rules: RuleSet, r: CompiledRule) -> tuple[int, int]:
    step = rules.steps.get(r.rule.step)
    return (r.rule.priority, step.level if step is not None else 0)


def lint(rules: RuleSet | str | Path) -> list[Finding]:
    """Findings about `rules` (a RuleSet or a path to a rule file), sorted."""
    if not isinstance(rules, RuleSet):
        rules = load_rules(rules)
    findings: list[Finding] = []
    conj = {r.id: _conj(r.expr) for r in rules.rules}
    live = [r for r in rules.rules if not conj[r.id].unsat()]
    for r in rules.rules:
        if conj[r.id].unsat():
            findings.append(
                Finding(
                    "RULE_CONTRADICTORY",
                    r.id,
                    "the condition can never be"
                    " true (its constraints contradict each other); the rule"
                    " never fires",
                )
            )
    for b, a in _shadowing(rules, live, conj):
        findings.append(
            Finding(
                "RULE_SHADOWED",
                b.id,
                f"whenever it matches, rule {a.id!r} (priority {a.rule.priority}, step"
                f" {a.rule.step!r}) matches too and ranks higher, so its step"
                f" {b.rule.step!r} is chosen only when the gate blocks {a.rule.step!r}",
            )
        )
    findings += _gaps(rules, live)
    proposed = {r.rule.step for r in rules.rules}
    for sid in sorted(rules.steps):
        if sid not in proposed:
            findings.append(Finding("STEP_UNUSED", None, f"step {sid!r} is proposed by no rule"))
    findings += _unbarred_threats(rules)
    return sorted(findings, key=lambda f: (f.code, f.rule_id or "", f.message))


def _unbarred_threats(rules: RuleSet) -> list[Finding]:
    bars = [lim for lim in rules.document.limits if lim.enabled and lim.kind == "limitation"]
    out = []
    for sid, step in sorted(rules.steps.items()):
        if not step.threatens_proceedings:
            continue
        sel = [b.applies_to for b in bars]
        if not any(
            sid not in a.except_steps and (a.all or a.threatening or sid in a.steps) for a in sel
        ):
            out.append(
                Finding(
                    "THREAT_NOT_TIME_BARRED",
                    None,
                    f"step {sid!r} threatens proceedings but no limitation limit selects it"
                    " (add `threatening: true` to the time-bar limit's applies_to)",
                )
            )
    return out


def _tokens(c: _Conj) -> frozenset[object]:
    """What a conjunction constrains; A can imply-cover B only if A's tokens are all B's."""
    out: set[object] = {("num", n) for n in (*c.lo, *c.hi)}
    out.update(("bool", n, v) for n, v in c.bools.items())
    out.update(("enum", n) for n in c.enums)
    out.update(("opaque", o) for o in c.opaque)
    return frozenset(out)


def _shadowing(
    rules: RuleSet, live: list[CompiledRule], conj: dict[str, _Conj]
) -> list[tuple[CompiledRule, CompiledRule]]:
    """(B, A) for every shadowed live rule B and the highest-ranked live rule A shadowing it.

    Comparing every pair with `_implies` is quadratic (5,000 rules: 25 million proofs). A
    proof needs A's tokens (`_tokens`) to be a subset of B's, so each A is filed under its
    rarest token, and B is compared only with the rules filed under one of its own tokens
    (plus those with no token at all): the same pairs pass, in the same ranked order.
    """
    ranks = {r.id: _rank(rules, r) for r in live}
    ranked = sorted(live, key=lambda r: (-ranks[r.id][0], -ranks[r.id][1], r.id))
    tokens = {r.id: _tokens(conj[r.id]) for r in live}
    freq: dict[object, int] = {}
    for t in tokens.values():
        for tok in t:
            freq[tok] = freq.get(tok, 0) + 1
    # Filed entries are (position in ranked order, rank, tokens, conjunction, rule); each
    # list is in ranked order, so merging a rule's lists walks its candidates best first.
    _Entry = tuple[int, tuple[int, int], frozenset[object], _Conj, CompiledRule]
    filed: dict[object, list[_Entry]] = {}
    free: list[_Entry] = []
    for i, a in enumerate(ranked):
        t = tokens[a.id]
        entry = (i, ranks[a.id], t, conj[a.id], a)
        if t:
            filed.setdefault(min(t, key=lambda k: (freq[k], repr(k))), []).append(entry)
        else:
            free.append(entry)
    out: list[tuple[CompiledRule, CompiledRule]] = []
    for b in live:
        mine, rank_b, conj_b = tokens[b.id], ranks[b.id], conj[b.id]
        lists = [free, *(filed[tok] for tok in mine if tok in filed)]
        for _i, rank_a, tokens_a, conj_a, a in heapq.merge(*lists, key=lambda e: e[0]):
            if rank_a <= rank_b:
                break  # ranked order: no later rule ranks higher than B
            if a is not b and tokens_a <= mine and _implies(conj_b, conj_a):
                out.append((b, a))
                break
    return out


def _gaps(rules: RuleSet, live: list[CompiledRule]) -> list[Finding]:
    with_dpd = [r for r in live if "dpd" in facts_read(r.expr)]
    if not with_dpd:
        return []
    covered: _Ranges = []
    for r in with_dpd:
        covered = _union(covered, _dpd(r.expr))
    reads_dpd = {r.id for r in with_dpd}  # by id: comparing rules by value is quadratic
    others = sorted(r.id for r in live if r.id not in reads_dpd)
    note = (
        " (rules that do not read dpd may still fire: " + ", ".join(others) + ")" if others else ""
    )
    return [
        Finding(
            "DPD_GAP",
            None,
            f"no rule proposes a step for dpd {a}..{b}: judged by the rules'"
            f" conditions on dpd alone, other facts ignored{note}",
        )
        for a, b in _complement(covered)
    ]
