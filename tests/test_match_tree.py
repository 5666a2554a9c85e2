"""The generated matcher's nested tests and match-set memo against the reference interpreter.

The python backend tests a conjunct shared by several rules once, nests those rules under it
(their negations under its ``else``), and returns the ranked tuple for the match set from a
memo (`_backends.python_tree`). Rule sets here are built from a small pool of parts, so parts
repeat across rules, negated or not, inside nested ``and``s and next to constants: exactly
what the nesting rearranges. Every answer must be the reference interpreter's, in the order
asked, and stay so when the memo is full.
"""

from __future__ import annotations

import pytest
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
        assert expected == fn(facts)  # the first call also tunes the read order to this dict's
        assert expected == fn(facts)  # the second time from the memo
        assert expected == fn(dict(reversed(facts.items())))  # read order is not meaning
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


def test_the_first_facts_dict_sets_the_read_order_and_a_missing_fact_is_named_as_before() -> None:
    """The matcher reads the facts in the first dict's own order (tuned once); the answers, and
    the missing fact a KeyError names (the first by name), are those of the untuned code."""
    ge1 = Compare(">=", DPD, Const(1, "int"))
    letter = Compare("<", FactRef("days_since_step.letter", "int", True), Const(5, "int"))
    rules = [And((ge1, Not(HARDSHIP))), And((letter, HARDSHIP)), letter, Not(ge1)]
    fn = compile_rules(rules, order=(3, 2, 1, 0))
    assert "_get_t" not in fn.__code__.co_names
    first = {"hardship": False, "x": 1, "dpd": 4, "days_since_step.letter": None}
    assert (0,) == fn(first)
    assert "_get_t" in fn.__code__.co_names
    assert ("hardship", "dpd", "days_since_step.letter") == fn.__globals__["_get_t"].__reduce__()[1]
    for facts in [first, {**first, "days_since_step.letter": 2}, {**first, "hardship": True},
                  {"days_since_step.letter": 9, "dpd": 0, "hardship": True}]:  # fmt: skip
        assert tuple(i for i in (3, 2, 1, 0) if evaluate(rules[i], facts)) == fn(facts)
    with pytest.raises(KeyError, match=r"'days_since_step\.letter'"):
        fn({"hardship": True})
    with pytest.raises(KeyError, match="'hardship'"):
        fn({"dpd": 1, "days_since_step.letter": 3})


def test_a_shared_part_is_tested_once_and_its_negation_goes_to_else() -> None:
    """`dpd >= 1` in three rules is one test; `hardship` and `not hardship` are if/else."""
    ge1 = Compare(">=", DPD, Const(1, "int"))
    rules = [
        And((ge1, HARDSHIP)),
        And((ge1, Not(HARDSHIP))),
        And((ge1, Compare("<=", DPD, Const(15, "int")))),
    ]
    source = generate_rules_source(rules)
    # Three rules share `dpd >= 1`: the generated matcher must test it once (the rules nested
    # under it), not once per rule as the flat matcher did (three times).
    assert source.count("(v0 >= 1)") == 1, source
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
