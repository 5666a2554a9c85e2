"""lint(): shadowed and contradictory rules, dpd gaps, unused steps; only proven findings."""

from __future__ import annotations

from pathlib import Path

from dunning._rules.lint import HORIZON, Finding, lint
from dunning._rules.loader import loads_rules

BASIC = Path(__file__).parent / "rules" / "basic.yaml"

HEAD = """\
id: lint
version: "1"
jurisdiction: CN
currency: CNY
timezone: Asia/Shanghai
steps:
  - {id: sms, label: SMS, channel: sms, kind: reminder, level: 1}
  - {id: call, label: Call, channel: phone, kind: contact, level: 2}
  - {id: letter, label: Letter, channel: letter, kind: letter, level: 4}
rules:
"""


def rs(*rules: tuple[str, str, str, int]) -> list[Finding]:
    body = "".join(
        f"  - {{id: {rid}, when: '{when}', step: {step}, priority: {prio}, reason: r, source: s}}\n"
        for rid, when, step, prio in rules
    )
    return lint(loads_rules(HEAD + body))


def codes(findings: list[Finding], code: str) -> list[str | None]:
    return [f.rule_id for f in findings if f.code == code]


def test_basic_fixture_is_clean() -> None:
    """The shared fixture covers dpd 1.. with no shadowed, contradictory or unused items."""
    assert [] == lint(BASIC)


def test_shadowed_by_higher_priority() -> None:
    """A rule whose condition implies a higher-priority rule's condition is shadowed."""
    found = rs(
        ("wide", "dpd >= 10", "call", 20),
        ("narrow", "dpd >= 30 and dpd < 60 and not dispute_open", "sms", 10),
        ("all", "dpd >= 1", "letter", 0),
    )
    assert ["narrow"] == codes(found, "RULE_SHADOWED")
    msg = next(f.message for f in found if f.rule_id == "narrow")
    assert "rule 'wide' (priority 20, step 'call') matches too" in msg


def test_equal_priority_higher_level_shadows() -> None:
    """At equal priority the step with the higher ladder level ranks first."""
    found = rs(("a", "dpd > 5", "letter", 10), ("b", "dpd > 6", "call", 10))
    assert ["b"] == codes(found, "RULE_SHADOWED")


def test_not_shadowed_when_not_provable() -> None:
    """Different facts, overlapping intervals, `or`, and lower rank are never reported."""
    found = rs(
        ("a", "dpd > 30 and hardship", "letter", 50),
        ("b", "dpd > 40", "call", 10),  # b does not imply hardship
        ("c", "dpd > 20 and dpd < 50", "sms", 60),
        ("d", "dpd > 25", "call", 5),  # overlaps c, not inside it
        ("e", "dispute_open or hardship", "sms", 0),
    )
    assert [] == codes(found, "RULE_SHADOWED")


def test_enum_and_money_implication() -> None:
    """Enum subsets and money intervals are modelled exactly."""
    found = rs(
        ("a", 'bucket in ["M2", "M3"] and overdue_amount >= 100', "letter", 9),
        ("b", 'bucket == "M2" and overdue_amount > 100.00', "call", 1),
    )
    assert ["b"] == codes(found, "RULE_SHADOWED")


def test_nullable_negation_is_not_an_interval() -> None:
    """`not x > 5` also holds when x is null, so it does not imply `x <= 5`."""
    found = rs(
        ("a", "days_since_conversation <= 5", "letter", 9),
        ("b", "not days_since_conversation > 5", "call", 1),
    )
    assert [] == codes(found, "RULE_SHADOWED")


def test_contradictory_conditions() -> None:
    """Empty intervals, `b and not b`, empty enum sets and `false` never fire."""
    found = rs(
        ("r1", "dpd > 30 and dpd < 10", "sms", 0),
        ("r2", "hardship and not hardship", "sms", 0),
        ("r3", 'bucket == "M1" and bucket == "M2"', "sms", 0),
        ("r4", "dpd > 3 and false", "sms", 0),
        ("r5", "overdue_amount > 5 and overdue_amount <= 5.00", "sms", 0),
        ("ok", "dpd >= 1", "call", 0),
    )
    assert ["r1", "r2", "r3", "r4", "r5"] == codes(found, "RULE_CONTRADICTORY")


def test_dpd_gaps() -> None:
    """Days past due nothing proposes are listed, with the caveat in the message."""
    found = rs(
        ("early", "dpd >= 1 and dpd <= 15", "sms", 0),
        ("mid", "dpd > 30 and dpd <= 60 or dpd == 90", "call", 0),
        ("late", "dpd > 120 and not dispute_open", "letter", 0),
        ("any", "hardship", "letter", 0),
    )
    gaps = [f.message.split(":")[0] for f in found if f.code == "DPD_GAP"]
    assert [
        "no rule proposes a step for dpd 16..30",
        "no rule proposes a step for dpd 61..89",
        "no rule proposes a step for dpd 91..120",
    ] == gaps
    assert "rules that do not read dpd may still fire: any" in found[0].message


def test_dpd_gap_at_the_horizon() -> None:
    """A ladder that stops is reported up to the horizon."""
    found = rs(("r", "dpd in [1, 2, 3]", "sms", 0), ("s", "dpd > 3 and dpd < 100", "call", 0))
    assert [f"no rule proposes a step for dpd 100..{HORIZON}"] == [
        f.message.split(":")[0] for f in found if f.code == "DPD_GAP"
    ]


def test_unused_steps() -> None:
    """Steps no rule proposes are listed by id."""
    found = rs(("r", "dpd >= 1", "sms", 0))
    assert [
        Finding("STEP_UNUSED", None, "step 'call' is proposed by no rule"),
        Finding("STEP_UNUSED", None, "step 'letter' is proposed by no rule"),
    ] == [f for f in found if f.code == "STEP_UNUSED"]


def test_findings_are_sorted_and_deterministic() -> None:
    """The same rule set always yields the same list, sorted by code then rule id."""
    rules = (("b", "dpd > 9 and dpd < 2", "sms", 0), ("a", "dpd > 1", "call", 0))
    first = rs(*rules)
    assert first == rs(*rules)
    assert first == sorted(first, key=lambda f: (f.code, f.rule_id or "", f.message))
