"""The generated matcher's nested tests and match-set memo against the reference interpreter.

The python backend tests a conjunct shared by several rules once, nests those rules under it
(their negations under its ``else``), and returns the ranked tuple for the match set from a
memo (`_backends.python_tree`). Rule sets here are built from a small pool of parts, so parts
repeat across rules, negated or not, inside nested ``and``s and next to constants: exactly
what the nesting rearranges. Every answer must be the reference interpreter's, in the order
asked, and stay so when the memo is full.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from dunning._backends.python import compile_rules, generate_rules_source
from dunning._backends.python_tree import conjuncts
from dunning._rules.ir import And, Compare, Const, Expr, FactRef, Not, evaluate
from test_backends import conditions, fact_values

DPD = FactRef("dpd", "int")
HARDSHIP = FactRef("hardship", "bool")


def _rule(pool: list[Expr]) -> st.SearchStrategy[Expr]:
    part = st.one_of(
        st.sampled_from(pool),
        st.sampled_from(pool).map(Not),
        st.booleans().map(lambda v: Const(v, "bool")),
    )
    parts = st.lists(part, min_size=1, max_size=5)
    return st.one_of(
        parts.map(lambda ps: And(tuple(ps))),
        parts.map(lambda ps: And((And(tuple(ps[:2])), *ps[2:]))),  # nested and: flattened
        part,
    )


@st.composite
def rule_sets(draw: st.DrawFn) -> tuple[list[Expr], list[int]]:
    pool = draw(st.lists(conditions, min_size=1, max_size=5))
    rules = draw(st.lists(_rule(pool), min_size=1, max_size=14))
    return rules, draw(st.permutations(range(len(rules))))


@given(rule_sets(), st.lists(fact_values, min_size=1, max_size=8))
def test_nested_tests_give_the_reference_matches_in_the_order_asked(
    ruleset: tuple[list[Expr], list[int]], samples: list[dict[str, object]]
) -> None:
    """For rule sets sharing parts, the matcher returns exactly the rules the interpreter says
    hold, ranked as asked; again from the memo, and again with the memo full."""
    rules, order = ruleset
    fn = compile_rules(rules, order)
    for facts in samples:
        expected = tuple(i for i in order if evaluate(rules[i], facts))
        assert expected == fn(facts)
        assert expected == fn(facts)  # the second time from the memo
    memo = fn.__globals__["_R"]
    cap = fn.__globals__["_CAP"]
    try:
        fn.__globals__["_CAP"] = 0
        memo.clear()
        for facts in samples:
            assert tuple(i for i in order if evaluate(rules[i], facts)) == fn(facts)
        assert {} == memo
    finally:
        fn.__globals__["_CAP"] = cap


def test_a_shared_part_is_tested_once_and_its_negation_goes_to_else() -> None:
    """`dpd >= 1` in three rules is one test; `hardship` and `not hardship` are if/else."""
    ge1 = Compare(">=", DPD, Const(1, "int"))
    rules = [
        And((ge1, HARDSHIP)),
        And((ge1, Not(HARDSHIP))),
        And((ge1, Compare("<=", DPD, Const(15, "int")))),
    ]
    source = generate_rules_source(rules)
    assert 1 == source.count("(v0 >= 1)")
    assert "        if v1:\n            m += 1\n        else:\n            m += 2\n" in source
    fn = compile_rules(rules, order=(2, 1, 0))
    assert (2, 1) == fn({"dpd": 3, "hardship": False})
    assert (2, 0) == fn({"dpd": 3, "hardship": True})
    assert () == fn({"dpd": 0, "hardship": True})


def test_conjuncts_flatten_and_drop_constants() -> None:
    """A constant-true part is dropped, a constant-false one makes the rule never hold."""
    ge1 = Compare(">=", DPD, Const(1, "int"))
    assert (ge1, HARDSHIP) == conjuncts(And((And((ge1, Const(True, "bool"))), HARDSHIP, ge1)))
    assert conjuncts(And((ge1, Not(Const(True, "bool"))))) is None
    assert () == conjuncts(Const(True, "bool"))
    never = And((ge1, Const(False, "bool")))
    fn = compile_rules([Const(True, "bool"), Const(False, "bool"), never])
    assert (0,) == fn({"dpd": 5})
