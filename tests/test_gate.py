"""The gate's choice among candidates, blocks, not_before, cooldowns, flags and load checks."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from dunning._decide.decision import Block, FlagNote
from dunning._gate.gate import Candidate, GateResult, evaluate
from dunning._gate.limits import LimitProblem, applies, validate
from dunning._rules.schema import RuleFile, Selector, Step
from gate_support import C, S, State, facts, rule_text, ruleset

SH = ZoneInfo("Asia/Shanghai")

HOURS = """\
limits:
  - id: hours
    kind: contact_window
    applies_to: {channels: [phone, sms, visit]}
    hours: [{from: "08:00", to: "22:00"}]
    source: C10 contact hours
  - id: dispute
    kind: block_while
    applies_to: {all: true}
    when: dispute_open
    source: bank policy (disputes)
"""


def cand(step: str, rule: str = "r", priority: int = 0, level: int = 0) -> Candidate:
    return Candidate(rule_id=f"{rule}_{step}", step=step, priority=priority, level=level)


def test_no_candidates_is_none_with_flags() -> None:
    """No rule proposed anything: status none, but the flags are still shown."""
    rules = ruleset(rule_text(HOURS))
    at = datetime(2025, 3, 3, 10, tzinfo=SH)
    expected = GateResult(
        "none",
        None,
        None,
        None,
        (),
        ("vulnerable",),
        (
            FlagNote(
                id="vulnerable",
                text="Vulnerable customer: adapt the contact and offer support.",
                text_zh="弱势客户：调整沟通方式并提供帮助。",
            ),
        ),
    )
    assert expected == evaluate(rules, State(), facts(vulnerable=True), at, [])


def test_first_allowed_candidate_wins_and_blocked_ones_are_recorded() -> None:
    """At 23:00 the call is outside hours; the letter (no window) goes now; the call's block
    is recorded with the next opening at 08:00 local."""
    rules = ruleset(rule_text(HOURS))
    at = datetime(2025, 3, 3, 23, tzinfo=SH)
    result = evaluate(
        rules, State(), facts(), at, [cand("phone_collection"), cand("overdue_letter")]
    )
    expected = ("act", "overdue_letter", "r_overdue_letter", None)
    assert expected == (
        result.status,
        result.step,
        result.chosen_rule,
        result.not_before,
    )
    expected = (
        Block(
            step="phone_collection",
            limit_id="hours",
            kind="contact_window",
            reason="23:00 local time (Asia/Shanghai, Monday) is outside the contact window"
            " (contact hours that day: 08:00-22:00)",
            citation="C10 contact hours",
            until=datetime(2025, 3, 4, 8, tzinfo=SH),
            reason_zh="当地时间 23:00（Asia/Shanghai，周一）不在允许联系的时段内"
            "（当日允许联系的时段：08:00-22:00）",
        ),
    )
    assert expected == result.blocked


def test_defer_to_earliest_lawful_candidate() -> None:
    """Both the call and the SMS are outside hours at 23:00: the preferred call is deferred to
    08:00 (ties go to preference order)."""
    rules = ruleset(rule_text(HOURS))
    at = datetime(2025, 3, 3, 23, tzinfo=SH)
    result = evaluate(rules, State(), facts(), at, [cand("phone_collection"), cand("sms_reminder")])
    expected = ("defer", "phone_collection", datetime(2025, 3, 4, 8, tzinfo=SH))
    assert expected == (
        result.status,
        result.step,
        result.not_before,
    )
    expected = ["phone_collection", "sms_reminder"]
    assert expected == [b.step for b in result.blocked]


def test_later_candidate_wins_when_it_is_lawful_sooner() -> None:
    """The call is held by its 4h cooldown (taken 22:00) and by the window until 08:00; the
    letter is under a 3-hour quiet period after a promise, ending at 01:00: the letter wins."""
    body = (
        HOURS
        + """\
  - id: promise_quiet
    kind: quiet_period
    applies_to: {kinds: [letter]}
    after: promise
    duration: 3h
    source: bank policy
"""
    )
    from gate_support import P

    rules = ruleset(rule_text(body))
    at = datetime(2025, 3, 3, 23, tzinfo=SH)
    state = State(
        steps_taken=(S(at - timedelta(hours=1), "phone_collection"),),
        promises=(P(at - timedelta(hours=1)),),
    )
    result = evaluate(rules, state, facts(), at, [cand("phone_collection"), cand("overdue_letter")])
    expected = ("defer", "overdue_letter", datetime(2025, 3, 4, 1, tzinfo=SH))
    assert expected == (
        result.status,
        result.step,
        result.not_before,
    )
    expected = [
        ("phone_collection", "hours", datetime(2025, 3, 4, 8, tzinfo=SH)),
        ("phone_collection", "cooldown:phone_collection", datetime(2025, 3, 4, 2, tzinfo=SH)),
        ("overdue_letter", "promise_quiet", datetime(2025, 3, 4, 1, tzinfo=SH)),
    ]
    assert expected == [(b.step, b.limit_id, b.until) for b in result.blocked]


def test_every_candidate_blocked_indefinitely() -> None:
    """An open dispute holds every step with no known end: status blocked, no step."""
    rules = ruleset(rule_text(HOURS))
    at = datetime(2025, 3, 3, 10, tzinfo=SH)
    result = evaluate(rules, State(), facts(dispute_open=True), at, [cand("phone_collection")])
    expected = ("blocked", None, None, None)
    assert expected == (
        result.status,
        result.step,
        result.not_before,
        result.chosen_rule,
    )
    expected = [("dispute", None, "bank policy (disputes)")]
    assert expected == [(b.limit_id, b.until, b.citation) for b in result.blocked]
    expected = ("dispute_open",)
    assert expected == result.flags


def test_cap_expiring_into_closed_window_moves_to_next_opening() -> None:
    """A 24h cap releases at 23:30 local, when the window is closed: not_before is the next
    08:00, a time at which neither limit blocks."""
    body = (
        HOURS
        + """\
  - id: daily_cap
    kind: frequency_cap
    applies_to: {channels: [phone]}
    channel: phone
    max: 1
    window: 24h
    source: bank policy
"""
    )
    rules = ruleset(rule_text(body))
    at = datetime(2025, 3, 3, 10, tzinfo=SH)
    state = State(contacts=(C(datetime(2025, 3, 2, 23, 30, tzinfo=SH)),))
    result = evaluate(rules, state, facts(), at, [cand("phone_collection")])
    expected = datetime(2025, 3, 3, 23, 30, tzinfo=SH)
    assert expected == result.blocked[0].until
    expected = ("defer", datetime(2025, 3, 4, 8, tzinfo=SH))
    assert expected == (result.status, result.not_before)


def test_declared_flags_and_time_bar_near() -> None:
    """File flags whose condition holds, built-in fact flags, and time_bar_near within
    limitation.warn_before, sorted by id with their text and source."""
    head = "limitation: {period: P3Y, warn_before: P90D, source: 民法典 §188}\n"
    body = (
        HOURS
        + """\
flags:
  - id: no_third_party
    when: dpd >= 1
    text: {en: Never disclose the debt to third parties., zh: 不得向第三方透露}
    source: C11
"""
    )
    rules = ruleset(rule_text(body, head=head))
    at = datetime(2025, 3, 3, 10, tzinfo=SH)
    result = evaluate(rules, State(), facts(dpd=5, days_to_time_bar=90, hardship=True), at, [])
    expected = ("hardship", "no_third_party", "time_bar_near")
    assert expected == result.flags
    expected = [None, "C11", "民法典 §188"]
    assert expected == [n.source for n in result.flag_notes]
    quiet = evaluate(rules, State(), facts(dpd=5, days_to_time_bar=91), at, [])
    expected = ("no_third_party",)
    assert expected == quiet.flags


def test_selector_semantics() -> None:
    """A limit applies by id, channel (any = every contact step), kind or all, minus except."""
    call = Step(id="call", label="c", channel="phone", kind="contact", level=1)  # type: ignore[arg-type]
    court = Step(id="court", label="c", channel="none", kind="legal", level=9)  # type: ignore[arg-type]
    cases = [
        (Selector(channels=("any",)), (True, False)),
        (Selector(kinds=("legal",)), (False, True)),
        (Selector(steps=("court",)), (False, True)),
        (Selector(all=True, except_steps=("court",)), (True, False)),
        (Selector(channels=("phone",), kinds=("legal",)), (True, True)),
    ]
    assert [c[1] for c in cases] == [(applies(s, call), applies(s, court)) for s, _ in cases]


def test_validate_reports_bad_limits() -> None:
    """Unknown steps (with a suggestion), after_step misuse, bad amounts, an unknown holiday
    country and a nonexistent time zone are reported with the path of the offending field."""
    import yaml

    text = rule_text(
        """\
limits:
  - id: cap
    kind: frequency_cap
    applies_to: {steps: [phone_colection]}
    max: 3
    window: 1d
    source: s
  - id: quiet
    kind: quiet_period
    applies_to: {all: true}
    after: step
    duration: 7d
    source: s
  - id: money
    kind: amount_threshold
    applies_to: {steps: [litigation]}
    min: {CNY: "-5"}
    source: s
""",
        tz="Mars/Olympus",
        head="calendar: {country: XX}\n",
    )
    doc = RuleFile.model_validate(yaml.safe_load(text))
    problems = validate(doc)
    expected = [
        (None, "timezone", ("timezone",), None),
        (None, "calendar.country", ("calendar", "country"), None),
        ("cap", "applies_to.steps", ("limits", 0, "applies_to", "steps", 0), "phone_collection"),
        ("quiet", "after_step", ("limits", 1, "after_step"), None),
        ("money", "min.CNY", ("limits", 2, "min", "CNY"), None),
    ]
    assert expected == [(p.limit_id, p.field, p.path, p.suggestion) for p in problems]
    assert all(isinstance(p, LimitProblem) and p.message for p in problems)


def test_validate_accepts_the_chinese_pack() -> None:
    """The shipped CN rule pack's limits pass the load-time checks."""
    import pathlib

    import yaml

    from dunning._rules.schema import RuleFile as RF

    path = pathlib.Path(__file__).parent.parent / "rules" / "cn-bank-retail.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data.pop("extends", None)
    expected = []
    assert expected == validate(RF.model_validate(data))


def test_amount_threshold_per_currency() -> None:
    """Litigation needs 10000 CNY outstanding; a USD loan has no minimum listed: blocked with a
    reason naming the currency."""
    body = """\
limits:
  - id: min_amount
    kind: amount_threshold
    applies_to: {steps: [litigation]}
    fact: outstanding_amount
    min: {CNY: "10000.00"}
    source: bank policy
"""
    rules = ruleset(rule_text(body))
    at = datetime(2025, 3, 3, 10, tzinfo=SH)
    lit = [cand("litigation")]
    expected = "act"
    assert (
        expected
        == evaluate(rules, State(), facts(outstanding_amount=Decimal("10000.00")), at, lit).status
    )
    low = evaluate(rules, State(), facts(outstanding_amount=Decimal("9999.99")), at, lit)
    expected = ("blocked", "outstanding_amount 9999.99 CNY is below the minimum 10000.00 CNY")
    assert expected == (
        low.status,
        low.blocked[0].reason,
    )
    usd = evaluate(rules, State(currency="USD"), facts(outstanding_amount=Decimal("1e6")), at, lit)
    expected = "no minimum outstanding_amount for currency USD (listed: CNY)"
    assert expected == usd.blocked[0].reason


def test_zero_length_windows_are_load_errors() -> None:
    """A rolling window or quiet period of zero length is refused by the loader with the file
    line of the offending field."""
    import pytest

    from dunning._base.errors import RuleFileError
    from dunning._rules.loader import loads_rules

    cap = """\
limits:
  - id: cap
    kind: frequency_cap
    applies_to: {all: true}
    max: 3
    window: 0h
    source: s
"""
    with pytest.raises(RuleFileError) as err:
        loads_rules(rule_text(cap))
    expected = (21, "limit 'cap': limits[0].window: a rolling window of zero length")
    assert expected == (err.value.line, err.value.bare_message[: len(expected[1])])
