"""The generated-Python evaluator: what source it writes, and that it means what _ir says."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

import pytest

from dunning._backends.python import (
    compile_expr,
    compile_rules,
    compile_ruleset,
    generate_rules_source,
)
from dunning._base.errors import EngineError
from dunning._decide.engine import Engine
from dunning._rules.ir import And, Compare, Const, Expr, FactRef, InSet, Not, Or, evaluate
from dunning._rules.loader import loads_rules

DPD = FactRef("dpd", "int")
PHONE = FactRef("attempts_7d.phone", "int")
LETTER = FactRef("days_since_step.lawyer_letter", "int", True)
OVERDUE = FactRef("overdue_amount", "money")
BUCKET = FactRef("bucket", "enum")


def test_source_reads_facts_by_repr_name_and_hoists_decimals() -> None:
    """Fact names are repr'd string literals, Decimal literals are built once at import."""
    source = generate_rules_source(
        [And((Compare(">=", PHONE, Const(3, "int")),
              Compare(">", OVERDUE, Const(Decimal("500.50"), "money"))))]
    )  # fmt: skip
    assert "_get = itemgetter('attempts_7d.phone', 'overdue_amount')" in source
    assert "    v0, v1 = _get(f)\n" in source
    assert "_k0 = Decimal('500.50')" in source
    assert "if ((v0 >= 3) and (v1 > _k0)): m += 1" in source
    one = generate_rules_source([Compare(">=", PHONE, Const(3, "int"))])
    assert "    v0 = f['attempts_7d.phone']\n" in one


def test_string_literals_cannot_escape_into_code() -> None:
    """A hostile-looking enum literal is data: it is emitted with repr and only compared."""
    sneaky = "M1'); import os; ('"
    fn = compile_rules([Compare("==", BUCKET, Const(sneaky, "enum"))])
    assert () == fn({"bucket": "M1"})
    assert (0,) == fn({"bucket": sneaky})


def test_null_compares_false_and_not_is_classical() -> None:
    """`x >= 7` is False for null x, `not (x >= 7)` True; an in-set never holds for null."""
    ge = Compare(">=", LETTER, Const(7, "int"))
    fn = compile_rules([ge, Not(ge), InSet(LETTER, (1, 2))])
    assert (1,) == fn({"days_since_step.lawyer_letter": None})
    assert (0,) == fn({"days_since_step.lawyer_letter": 9})
    assert (1, 2) == fn({"days_since_step.lawyer_letter": 2})


def test_rules_are_returned_in_the_order_asked() -> None:
    """The engine passes its preference order and gets the matches already ranked."""
    rules = [Compare(">=", DPD, Const(k, "int")) for k in (1, 10, 30)]
    assert (2, 0, 1) == compile_rules(rules, order=(2, 0, 1))({"dpd": 40})


def test_compiled_functions_are_cached() -> None:
    """Same IR, same function object; a rule set is compiled once per sha256."""
    rules = [Or((Compare("<", DPD, Const(5, "int")), Const(False, "bool")))]
    assert compile_rules(rules) is compile_rules(list(rules))
    fake = SimpleNamespace(sha256="f" * 64, rules=[SimpleNamespace(expr=rules[0])])
    assert compile_ruleset(fake) is compile_ruleset(fake)


def test_very_deep_conditions_compile_through_helpers() -> None:
    """Past CPython's nesting limit the generator splits the expression into helpers."""
    cond: Expr = Compare(">", DPD, Const(3, "int"))
    for i in range(150):
        cond = Not(Or((cond, Compare("==", DPD, Const(i + 100, "int")))))
    for dpd in (0, 4, 120):
        assert bool(evaluate(cond, {"dpd": dpd})) == (compile_rules([cond])({"dpd": dpd}) == (0,))
        assert evaluate(cond, {"dpd": dpd}) == compile_expr(cond)({"dpd": dpd})


def test_a_missing_fact_is_an_engine_error() -> None:
    """Matching facts that lack a name the rules read names it."""
    rules = loads_rules(
        "dunning: 1\nid: t\nversion: '1'\njurisdiction: CN\ncurrency: CNY\n"
        "timezone: Asia/Shanghai\nsteps:\n"
        "  - {id: sms_reminder, label: SMS, channel: sms, kind: reminder, level: 1}\n"
        "rules:\n  - {id: r, when: dpd > 1, step: sms_reminder, reason: x, source: y}\n"
    )
    with pytest.raises(EngineError, match="reads fact 'dpd' but it is missing"):
        Engine(rules).match({})
