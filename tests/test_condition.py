"""The condition language: parsing, precedence, typing, bounds, and render/parse round trips."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dunning._base.errors import ConditionError
from dunning._rules.condition import MAX_CHARS, Env, Site, compile_condition, render
from dunning._rules.ir import And, Arith, Compare, Const, Expr, FactRef, InSet, Not, Or
from dunning._rules.loader import loads_rules
from dunning._state.catalog import BUCKETS

ENV = Env(frozenset({"lawyer_letter", "sms_reminder"}), currency="CNY")
DPD = FactRef("dpd", "int")
OVERDUE = FactRef("overdue_amount", "money")
DISPUTE = FactRef("dispute_open", "bool")
HARDSHIP = FactRef("hardship", "bool")


def parse(text: str) -> Expr:
    return compile_condition(text, ENV, Site(path="f.yaml", line=7, column=11, rule_id="r"))


def error(text: str) -> ConditionError:
    with pytest.raises(ConditionError) as info:
        parse(text)
    return info.value


def test_analyst_example() -> None:
    """The example from the issue parses to the expected IR."""
    expected = And(
        (
            Compare(">=", DPD, Const(30, "int")),
            Compare(">", OVERDUE, Const(Decimal("500"), "money")),
            Not(DISPUTE),
        )
    )
    assert expected == parse("dpd >= 30 and overdue_amount > 500 and not dispute_open")


def test_precedence_and_binds_tighter_than_or() -> None:
    """`a or b and c` groups as `a or (b and c)`; `not` applies to a whole comparison."""
    assert Or((DISPUTE, And((HARDSHIP, Not(Compare(">", DPD, Const(5, "int"))))))) == parse(
        "dispute_open or hardship and not dpd > 5"
    )


def test_parentheses_keep_structure() -> None:
    """Parenthesised groups stay nested, so rendering and parsing agree."""
    assert And((Or((DISPUTE, HARDSHIP)), DISPUTE)) == parse(
        "(dispute_open or hardship) and dispute_open"
    )


def test_not_in_is_negated_in() -> None:
    """`x not in [..]` means `not (x in [..])`."""
    expected = Not(InSet(FactRef("bucket", "enum"), ("M1", "M2")))
    assert expected == parse("bucket not in ['M1', \"M2\"]")
    assert expected == parse('not bucket in ["M1", "M2"]')


def test_dotted_and_family_facts() -> None:
    """Window counts and per-step facts are addressed with dots."""
    expected = And(
        (
            Compare("<", FactRef("attempts_7d.phone", "int"), Const(3, "int")),
            Compare(">=", FactRef("days_since_step.lawyer_letter", "int", True), Const(15, "int")),
        )
    )
    assert expected == parse("attempts_7d.phone < 3 and days_since_step.lawyer_letter >= 15")


def test_arithmetic_on_money_is_exact() -> None:
    """Money arithmetic keeps Decimal constants; int literals join money as money."""
    expected = Compare(
        ">",
        Arith("-", OVERDUE, FactRef("credit_amount", "money"), "money"),
        Const(Decimal("0.10"), "money"),
    )
    assert expected == parse("overdue_amount - credit_amount > 0.10")


def test_negative_literals() -> None:
    """A minus sign before a number is a negative literal."""
    assert Compare(">", DPD, Arith("-", Const(5, "int"), Const(-2, "int"), "int")) == parse(
        "dpd > 5 - -2"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('dpd > "thirty"', "type mismatch: dpd is int, found string 'thirty'"),
        ("dpd > 2.5", "type mismatch: dpd is int, found decimal 2.5"),
        ("dpd == dispute_open", "type mismatch: dpd is int, found bool dispute_open"),
        (
            "dpd + overdue_amount > 1",
            "cannot mix int and money: dpd is int, overdue_amount is money",
        ),
        ('bucket > "M1"', "'>' needs int or money operands, found enum"),
        ('bucket == "M9"', "bucket is one of M0, M1, M2, M3, M4, M5, M6, M7+; found 'M9'"),
        ("dpd + 1", "expected a true/false condition, found int expression"),
        ("dpd", "expected a true/false condition, found dpd"),
        ("1 < dpd < 5", "chained comparisons are not supported"),
        ("dpd = 5", "unexpected character '='; did you mean '=='?"),
        ("dpd > 5 && hardship", "unexpected character '&'; did you mean 'and'?"),
        ("bucket == 'M1", "unterminated string starting with '"),
        ("dpd > 5 hardship", "unexpected 'hardship' after a complete condition"),
        ("dpd >", "expected a fact, a value or '(', found end of condition"),
        ("(dpd > 5", "expected ')', found end of condition"),
        ("dpd in []", "expected at least one value in the list"),
        ("dpd in [dpd]", "expected a literal value in the list"),
        ("days_since_step.visit > 1", "unknown fact 'days_since_step.visit'"),
        ("overdue_amount > 1.005", "amount 1.005 has more decimals than CNY allows (2)"),
        ("__import__('os') == 1", "unexpected '(' after a complete condition"),
        ("dpd.__class__ > 1", "unknown fact 'dpd.__class__'"),
        ("   ", "expected a condition, found nothing"),
        ("bucket == plan_status", "bucket and plan_status take different values"),
    ],
)
def test_rejections(text: str, message: str) -> None:
    """Bad conditions are ConditionErrors naming the problem, the file and the rule."""
    err = error(text)
    assert message in err.bare_message
    assert ("f.yaml", 7, "r") == (err.path, err.line, err.rule_id)


def test_column_points_into_the_text() -> None:
    """On a one-line plain scalar the column is the scalar's column plus the offset."""
    assert 11 + len("dpd > 5 and ") == error("dpd > 5 and dpdd > 1").column


def test_block_scalar_line() -> None:
    """In a `|` block the line is the line inside the block; the column is unknown."""
    site = Site(path="f.yaml", line=7, column=11, style="|", rule_id="r")
    with pytest.raises(ConditionError) as info:
        compile_condition("dpd > 1 and\n  dpdd > 1\n", ENV, site)
    assert (9, None) == (info.value.line, info.value.column)


def test_bounds() -> None:
    """Overlong and overdeep conditions are refused before they cost anything."""
    assert "expected at most 4000" in error("dpd > 1 or " * 400 + "dpd > 1").bare_message
    assert MAX_CHARS == 4000
    assert "nested deeper than 32" in error("(" * 40 + "dpd > 1" + ")" * 40).bare_message
    assert "nested deeper than 32" in error("not " * 40 + "hardship").bare_message


def test_derived_facts_are_inlined() -> None:
    """A derived fact is replaced by its expression; evaluators never see its name."""
    rs = loads_rules(
        "id: d\nversion: '1'\njurisdiction: CN\ncurrency: CNY\ntimezone: Asia/Shanghai\n"
        "steps: [{id: s, label: S, kind: reminder, level: 1}]\n"
        "derived:\n  - {id: late, expr: dpd > 30}\n  - {id: owed, expr: overdue_amount - 1}\n"
        "rules:\n  - {id: r, when: late and owed > 5, step: s, reason: x, source: y}\n"
    )
    expected = And(
        (
            Compare(">", DPD, Const(30, "int")),
            Compare(
                ">",
                Arith("-", OVERDUE, Const(Decimal(1), "money"), "money"),
                Const(Decimal(5), "money"),
            ),
        )
    )
    assert expected == rs.rules[0].expr
    assert ("dpd", "overdue_amount") == rs.rules[0].facts_read


def test_derived_blowup_is_bounded() -> None:
    """Derived facts that double in size at each level are refused, not expanded."""
    derived = "".join(f"  - {{id: d{i}, expr: d{i - 1} and d{i - 1}}}\n" for i in range(1, 30))
    text = (
        "id: d\nversion: '1'\njurisdiction: CN\ncurrency: CNY\ntimezone: Asia/Shanghai\n"
        "steps: [{id: s, label: S, kind: reminder, level: 1}]\n"
        "derived:\n  - {id: d0, expr: dpd > 1}\n" + derived
    )
    with pytest.raises(ConditionError) as info:
        loads_rules(text)
    assert "too large after inlining derived facts" in str(info.value)


# -- round trip: IR -> render -> parse -> same IR ----------------------------------------------

INT_FACTS = [
    DPD,
    FactRef("attempts_7d.phone", "int"),
    FactRef("days_since_step.lawyer_letter", "int", True),
]
MONEY_FACTS = [OVERDUE, FactRef("credit_amount", "money")]
BOOL_FACTS = [DISPUTE, HARDSHIP, FactRef("step_done.sms_reminder", "bool")]
OPS = st.sampled_from(["==", "!=", "<", "<=", ">", ">="])
ints = st.integers(-1000, 100000).map(lambda v: Const(v, "int"))
money = st.integers(-(10**7), 10**9).map(lambda c: Const(Decimal(c).scaleb(-2), "money"))


def _numeric(
    facts: list[FactRef], const: st.SearchStrategy[Const], typ: str
) -> st.SearchStrategy[Expr]:
    """Numeric expressions whose leftmost leaf is a fact (so their type is never ambiguous)."""
    leaf = st.sampled_from(facts)
    return st.recursive(
        leaf,
        lambda inner: st.builds(
            Arith, st.sampled_from(["+", "-"]), inner, st.one_of(const, inner), st.just(typ)
        ),
        max_leaves=4,
    )


def _compare(
    facts: list[FactRef], const: st.SearchStrategy[Const], typ: str
) -> st.SearchStrategy[Expr]:
    side = _numeric(facts, const, typ)
    return st.one_of(
        st.builds(Compare, OPS, side, st.one_of(const, side)),
        st.builds(
            InSet, side, st.lists(const.map(lambda c: c.value), min_size=1, max_size=3).map(tuple)
        ),
    )


enum_atoms = st.one_of(
    st.builds(
        Compare,
        st.sampled_from(["==", "!="]),
        st.just(FactRef("bucket", "enum")),
        st.sampled_from(BUCKETS).map(lambda v: Const(v, "enum")),
    ),
    st.builds(
        InSet,
        st.just(FactRef("bucket", "enum")),
        st.lists(st.sampled_from(BUCKETS), min_size=1, max_size=3).map(tuple),
    ),
)
bool_atoms = st.one_of(
    st.sampled_from(BOOL_FACTS),
    st.booleans().map(lambda b: Const(b, "bool")),
    st.builds(
        Compare,
        st.sampled_from(["==", "!="]),
        st.sampled_from(BOOL_FACTS),
        st.booleans().map(lambda b: Const(b, "bool")),
    ),
    _compare(INT_FACTS, ints, "int"),
    _compare(MONEY_FACTS, money, "money"),
    enum_atoms,
)
conditions = st.recursive(
    bool_atoms,
    lambda inner: st.one_of(
        st.builds(Not, inner),
        st.lists(inner, min_size=2, max_size=3).map(lambda xs: And(tuple(xs))),
        st.lists(inner, min_size=2, max_size=3).map(lambda xs: Or(tuple(xs))),
    ),
    max_leaves=8,
)


@given(conditions)
def test_render_parse_round_trip(expr: Expr) -> None:
    """Rendering any well-typed IR and parsing the text gives the same IR back."""
    assert expr == parse(render(expr))
