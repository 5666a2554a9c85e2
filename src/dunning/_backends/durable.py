"""The second evaluator: the condition IR compiled to a durable_rules (2.0.28) ruleset.

It must mean exactly what `_rules.ir` says, like the generated Python. durable_rules' limits, as
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
                                             boolean field (see `durable_translate`)
> 252 properties in one fact: error 302      the rule set is refused for this backend (InputError)
the ``-m.x`` absent operator hung a process  never used: nullable facts carry a flag instead
negative ``pri`` means lowest priority       ``pri`` not used: the engine ranks the matches
==========================================  ===================================================

durable_rules is an optional dependency, the ``durable`` extra (it ships as a source archive
and compiles a C extension at install, so a plain ``pip install dunning`` would need a C
compiler); `require_durable` turns its absence into an EngineError naming the extra.

Translation: how conditions become durable JSON (safe field names, nulls, negation normal
form, money in integer units, host-side synthetic fields, the budget) is described and done
in `durable_translate`; this module registers the result and runs it.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from .._base.errors import EngineError, InputError
from .._rules.ir import Expr
from .durable_translate import MAX_CHILDREN as MAX_CHILDREN
from .durable_translate import MAX_COMPOUND as MAX_COMPOUND
from .durable_translate import MAX_DNF as MAX_DNF
from .durable_translate import Json as Json
from .durable_translate import Tree as Tree
from .durable_translate import _Field as _Field
from .durable_translate import _Node as _Node
from .durable_translate import _Translator as _Translator
from .durable_translate import money_scale as money_scale

__all__ = ["LOCK", "DurableProgram", "compile_durable", "compile_ruleset_durable"]

LOCK = threading.RLock()  # every call into durable_rules holds it (it segfaults otherwise)
_SEQ = itertools.count()
SID = "dunning"  # the one reused session id
INSTALL_HINT = "pip install 'dunning[durable]'"


def require_durable() -> Any:
    """The `durable.engine` module, or an EngineError saying how to install it."""
    try:
        from durable import engine
    except ImportError as exc:
        raise EngineError(
            f"backend='durable' needs durable_rules, the 'durable' extra, which is not"
            f" installed ({exc.msg}); install it with {INSTALL_HINT}, or use backend='python'"
        ) from None
    return engine


MAX_FIELDS = 250  # properties per posted fact (durable refuses more than 252)

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
        engine = require_durable()

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
    require_durable()  # even for a rule set that would not register anything with it
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
