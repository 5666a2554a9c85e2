"""Both evaluators against the reference interpreter: generated Python == durable_rules == _ir.

Conditions are generated over a small fake catalog that has every kind of fact a rule can
read (nullable int, money, enum, bool), with arithmetic, in-sets, negations and deep nesting;
fact values are generated to collide with the literals often so boundaries are exercised.
"""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dunning._backends.durable import (
    MAX_COMPOUND,
    compile_durable,
    money_scale,
)
from dunning._backends.python import compile_expr, compile_rules, generate_rules_source
from dunning._base.errors import EngineError
from dunning._rules.ir import And, Arith, Compare, Const, Expr, FactRef, InSet, Not, Or, evaluate

INTS = [FactRef("dpd", "int"), FactRef("ladder_level", "int"),
        FactRef("days_since_step.letter", "int", True),
        FactRef("days_to_time_bar", "int", True)]  # fmt: skip
MONEY = [FactRef("overdue_amount", "money"), FactRef("credit_amount", "money")]
ENUMS = {"bucket": ("M0", "M1", "M2", "M7+"), "promise_status": ("none", "active", "broken")}
BOOLS = [FactRef("dispute_open", "bool"), FactRef("hardship", "bool")]
OPS = ("==", "!=", "<", "<=", ">", ">=")

small_int = st.integers(-3, 40)
amount = st.decimals(min_value=-5, max_value=600, places=2, allow_nan=False)
literal_amount = st.one_of(amount, st.decimals(min_value=0, max_value=600, places=3))


def int_term(depth: int = 2) -> st.SearchStrategy[Expr]:
    base = st.one_of(st.sampled_from(INTS), small_int.map(lambda v: Const(v, "int")))
    if depth == 0:
        return base
    sub = int_term(depth - 1)
    arith = st.builds(lambda op, a, b: Arith(op, a, b, "int"), st.sampled_from("+-"), sub, sub)
    return st.one_of(base, arith)


def money_term(depth: int = 2) -> st.SearchStrategy[Expr]:
    base = st.one_of(st.sampled_from(MONEY), literal_amount.map(lambda v: Const(v, "money")))
    if depth == 0:
        return base
    sub = money_term(depth - 1)
    arith = st.builds(lambda op, a, b: Arith(op, a, b, "money"), st.sampled_from("+-"), sub, sub)
    return st.one_of(base, arith)


def enum_atom() -> st.SearchStrategy[Expr]:
    def build(name: str, data: st.DataObject) -> Expr:
        ref = FactRef(name, "enum")
        values = ENUMS[name]
        other: Expr = data.draw(
            st.one_of(
                st.sampled_from(values).map(lambda v: Const(v, "enum")),
                st.just(FactRef("bucket", "enum")),
            )
        )
        kind = data.draw(st.sampled_from(["eq", "in", "ord"]))
        if kind == "in":
            return InSet(ref, tuple(data.draw(st.lists(st.sampled_from(values), max_size=3))))
        op = data.draw(st.sampled_from(OPS if kind == "ord" else ("==", "!=")))
        return Compare(op, *data.draw(st.permutations([ref, other])))

    return st.builds(build, st.sampled_from(sorted(ENUMS)), st.data())


atoms: st.SearchStrategy[Expr] = st.one_of(
    st.builds(Compare, st.sampled_from(OPS), int_term(), int_term()),
    st.builds(Compare, st.sampled_from(OPS), money_term(), money_term()),
    st.builds(InSet, int_term(1), st.lists(small_int, max_size=4).map(tuple)),
    st.builds(InSet, money_term(1), st.lists(literal_amount, max_size=3).map(tuple)),
    enum_atom(),
    st.sampled_from(BOOLS),
    st.builds(Compare, st.sampled_from(("==", "!=")), st.sampled_from(BOOLS),
              st.one_of(st.sampled_from(BOOLS), st.booleans().map(lambda v: Const(v, "bool")))),
    st.booleans().map(lambda v: Const(v, "bool")),
)  # fmt: skip

conditions: st.SearchStrategy[Expr] = st.recursive(
    atoms,
    lambda sub: st.one_of(
        st.lists(sub, min_size=1, max_size=4).map(lambda xs: And(tuple(xs))),
        st.lists(sub, min_size=1, max_size=4).map(lambda xs: Or(tuple(xs))),
        sub.map(Not),
    ),
    max_leaves=24,
)


def nullable(strategy: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    return st.one_of(st.none(), strategy)


fact_values = st.fixed_dictionaries({
    "dpd": small_int,
    "ladder_level": small_int,
    "days_since_step.letter": nullable(small_int),
    "days_to_time_bar": nullable(st.one_of(small_int, st.integers(-(2**40), 2**40))),
    "overdue_amount": amount,
    "credit_amount": st.one_of(amount, st.sampled_from([Decimal("500.00"), Decimal("500.01")])),
    "bucket": st.sampled_from(ENUMS["bucket"]),
    "promise_status": st.sampled_from(ENUMS["promise_status"]),
    "dispute_open": st.booleans(),
    "hardship": st.booleans(),
})  # fmt: skip


@given(st.lists(conditions, min_size=1, max_size=4), st.lists(fact_values, min_size=1, max_size=6))
def test_python_and_durable_agree_with_the_reference_interpreter(
    exprs: list[Expr], samples: list[dict[str, object]]
) -> None:
    """For random conditions and fact values, both backends match exactly the rules the
    reference interpreter says hold (null compares False, `not` classical, exact money)."""
    python = compile_rules(exprs)
    durable = compile_durable(exprs, "CNY")
    try:
        for facts in samples:
            expected = tuple(i for i, e in enumerate(exprs) if evaluate(e, facts))
            assert expected == python(facts)
            assert expected == durable.match(facts)
        assert [] == durable.session_facts()
    finally:
        durable.close()


@given(st.one_of(conditions, int_term(3), money_term(3)), fact_values)
def test_compile_expr_gives_the_reference_value(expr: Expr, facts: dict[str, object]) -> None:
    """compile_expr returns the same value as the interpreter, nulls included."""
    assert evaluate(expr, facts) == compile_expr(expr)(facts)


DPD = FactRef("dpd", "int")
OVERDUE = FactRef("overdue_amount", "money")
LETTER = FactRef("days_since_step.letter", "int", True)
BASE = {"dpd": 0, "ladder_level": 0, "days_since_step.letter": None, "days_to_time_bar": None,
        "overdue_amount": Decimal("0.00"), "credit_amount": Decimal("0.00"), "bucket": "M0",
        "promise_status": "none", "dispute_open": False, "hardship": False}  # fmt: skip


def test_a_money_literal_finer_than_the_currency_converts_exactly() -> None:
    """x > 500.005 on integer cents is x >= 50001: 500.00 and 500.005 fail, 500.01 passes."""
    gt = Compare(">", OVERDUE, Const(Decimal("500.005"), "money"))
    eq = Compare("==", OVERDUE, Const(Decimal("500.005"), "money"))
    prog = compile_durable([gt, eq, Not(eq)], "CNY")
    assert {"$gte": {"f0": 50001}} == prog.definition["r_0"]["all"][0]["m"]
    assert "r_1" not in prog.definition  # never true: no whole number of cents equals it
    for amount_, expected in (("500.00", ()), ("500.01", (0,))):
        facts = {**BASE, "overdue_amount": Decimal(amount_)}
        assert (*expected, 2) == prog.match(facts)
    prog.close()


def test_nullable_facts_are_posted_with_a_null_flag_and_guarded() -> None:
    """A nullable fact travels as a number plus `<field>__null`; `not (x >= 7)` holds when
    x is null, `x >= 7` does not."""
    ge = Compare(">=", LETTER, Const(7, "int"))
    prog = compile_durable([ge, Not(ge)], "CNY")
    assert {"$and": [{"$gte": {"f0": 7}}, {"f0__null": False}]} == prog.definition["r_0"]["all"][0][
        "m"
    ]
    assert {"$or": [{"$lt": {"f0": 7}}, {"f0__null": True}]} == prog.definition["r_1"]["all"][0][
        "m"
    ]
    assert {"sid": "dunning", "id": "decision", "f0": 0, "f0__null": True} == prog.fact(BASE)
    assert (1,) == prog.match(BASE)
    assert (0,) == prog.match({**BASE, "days_since_step.letter": 9})
    prog.close()


def test_arithmetic_is_a_synthetic_field_computed_host_side() -> None:
    """dpd + letter >= 10 posts the sum as field s0 (null when letter is null)."""
    cond = Compare(">=", Arith("+", DPD, LETTER, "int"), Const(10, "int"))
    prog = compile_durable([cond], "CNY")
    assert {"sid": "dunning", "id": "decision", "s0": 0, "s0__null": True} == prog.fact(BASE)
    assert () == prog.match(BASE)
    assert (0,) == prog.match({**BASE, "dpd": 4, "days_since_step.letter": 6})
    prog.close()


def test_constant_rules_never_reach_durable() -> None:
    """A constant-true rule always matches, a constant-false one never; neither is registered."""
    prog = compile_durable([Const(True, "bool"), Not(Const(True, "bool"))], "CNY")
    assert {} == prog.definition
    assert (0,) == prog.match(BASE)
    assert "    m = 0\n    m += 1\n" in generate_rules_source([Const(True, "bool")])


def test_a_condition_over_durables_budget_is_split_host_side() -> None:
    """durable refuses more than 15 and/or nodes in one rule (error 113): a deeply nested
    condition still compiles, with its largest parts moved to synthetic boolean fields."""
    cond: Expr = Compare(">", DPD, Const(0, "int"))
    for i in range(20):
        inner = Or((Compare(">", LETTER, Const(i, "int")), cond))
        cond = And((Compare("<", DPD, Const(100 + i, "int")), inner))
    prog = compile_durable([cond], "CNY")
    text = str(prog.definition["r_0"])
    assert text.count("$and") + text.count("$or") <= MAX_COMPOUND
    for dpd in (0, 1, 50, 150):
        for letter in (None, 0, 10, 30):
            facts = {**BASE, "dpd": dpd, "days_since_step.letter": letter}
            assert bool(evaluate(cond, facts)) == (prog.match(facts) == (0,))
    prog.close()


def test_a_literal_finer_than_the_currency_inside_arithmetic_refines_the_unit() -> None:
    """overdue + 0.005 keeps whole units: money is then posted in thousandths."""
    cond = Compare(">", Arith("+", OVERDUE, Const(Decimal("0.005"), "money"), "money"),
                   Const(Decimal("1.00"), "money"))  # fmt: skip
    assert 3 == money_scale([cond], "CNY")
    prog = compile_durable([cond], "CNY")
    assert (0,) == prog.match({**BASE, "overdue_amount": Decimal("1.00")})
    assert () == prog.match({**BASE, "overdue_amount": Decimal("0.99")})
    prog.close()


def test_two_thousand_sequential_decisions_leave_the_session_clean() -> None:
    """The one reused session is cleaned after each decision: 2,000 decisions in a row give
    the right answers and leave no facts behind."""
    rules = [Compare(">=", DPD, Const(k, "int")) for k in range(0, 40, 4)]
    rules.append(Not(Compare(">=", LETTER, Const(5, "int"))))
    prog = compile_durable(rules, "CNY")
    python = compile_rules(rules)
    for n in range(2000):
        facts = {**BASE, "dpd": n % 45, "days_since_step.letter": None if n % 3 else n % 9}
        assert python(facts) == prog.match(facts)
    assert [] == prog.session_facts()
    prog.close()


def test_many_threads_get_the_sequential_answers() -> None:
    """8 threads x 50 matches on one durable program equal the sequential results (the
    module lock serialises durable, which segfaults under concurrent posts)."""
    rules = [Compare(">=", DPD, Const(k, "int")) for k in range(0, 40, 5)]
    prog = compile_durable(rules, "CNY")
    inputs = [{**BASE, "dpd": n % 41} for n in range(50)]
    expected = [prog.match(f) for f in inputs]
    results: dict[int, list[tuple[int, ...]]] = {}

    def work(t: int) -> None:
        results[t] = [prog.match(f) for f in inputs]

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert {t: expected for t in range(8)} == results
    prog.close()


def test_a_non_boolean_rule_condition_is_refused() -> None:
    """A rule condition must be boolean; compiling `dpd` alone is an EngineError."""
    with pytest.raises(EngineError, match="must be boolean"):
        compile_rules([DPD])
