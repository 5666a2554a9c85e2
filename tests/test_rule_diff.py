"""Rule-change impact: the shipped CN pack against itself with one threshold moved."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dunning import Engine, InputError, load_rules, loads_rules
from dunning.analytics import diff
from dunning.simulation import SimConfig, generate_portfolio

ROOT = Path(__file__).resolve().parents[1]
PACK = ROOT / "rules" / "cn-bank-retail.yaml"
AS_OF = "2025-03-01T10:00:00+08:00"
OLD_WHEN = "when: collectable and dpd >= 16\n"
NEW_WHEN = "when: collectable and dpd >= 21\n"


def moved_threshold() -> Any:
    """Version 2026.2 of the pack: collection calls from 21 days past due instead of 16."""
    text = PACK.read_text(encoding="utf-8")
    assert text.count(OLD_WHEN) == 1
    text = text.replace(OLD_WHEN, NEW_WHEN).replace('version: "2026.1"', 'version: "2026.2"')
    return loads_rules(text, path="cn-2026.2.yaml")


@pytest.fixture(scope="module")
def events() -> list[Any]:
    return [e for s in generate_portfolio(SimConfig(accounts=300, seed=5)) for e in s.history]


def expected_changes(events: list[Any], as_of: str) -> set[str]:
    """Independently of `diff`: the loans whose old decision was the collection call of
    rule cn_phone_collection at 16 to 20 days past due (no other rule reads that threshold,
    and under 16 days the rule never fired)."""
    engine = Engine(load_rules(PACK))
    by_loan: dict[str, list[Any]] = {}
    for e in events:
        by_loan.setdefault(e.loan_id, []).append(e)
    out = set()
    for loan, evs in by_loan.items():
        d = engine.decide(evs, as_of)
        if d.chosen_rule == "cn_phone_collection":
            dpd = next(m.facts["dpd"] for m in d.matched if m.rule_id == "cn_phone_collection")
            if 16 <= int(dpd) <= 20:  # type: ignore[arg-type]
                out.add(loan)
    return out


def test_the_exact_loans_that_change_and_why(events: list[Any]) -> None:
    """The loans between 16 and 20 days past due lose their collection call, and only those;
    each change names the rule responsible and its source line."""
    report = diff(PACK, moved_threshold(), events, as_of=AS_OF)
    expected = expected_changes(events, AS_OF)
    assert len(expected) >= 5, expected
    assert report.loans() == expected
    assert report.decided == 300
    for c in report.changes:
        assert c.old == "phone_collection" and c.old_rule == "cn_phone_collection"
        assert "cn_phone_collection" in c.rules
        assert c.new != "phone_collection"
    assert sum(report.pairs.values()) == len(expected)
    assert report.old["version"] == "2026.1" and report.new["version"] == "2026.2"


def test_a_date_range_reports_the_changes_of_each_day(events: list[Any]) -> None:
    """Over four days, each day's changes are that day's single-instant diff."""
    new = moved_threshold()
    events = [e for e in events if e.loan_id <= "SIM000150"]  # the first 150 loans
    report = diff(PACK, new, events, start=AS_OF, end="2025-03-04T10:00:00+08:00")
    assert len(report.instants) == 4
    for day, count in report.per_day.items():
        assert count == len(expected_changes(events, day)), day
    assert sum(report.per_day.values()) == len(report.changes)


def test_the_same_rules_change_nothing(events: list[Any]) -> None:
    report = diff(PACK, PACK, events, as_of=AS_OF)
    assert report.changes == [] and report.pairs == {}
    assert report.to_dict()["changed"] == 0


def test_a_changed_limit_is_named_as_responsible(events: list[Any]) -> None:
    """Contact hours from 11:00 instead of 08:00: at 10:00 a call or message is deferred, or
    the gate falls back to an unrestricted step (an e-mail); every change names the limit
    cn_contact_hours, and no rule changed."""
    text = PACK.read_text(encoding="utf-8").replace(
        '{from: "08:00", to: "22:00"}', '{from: "11:00", to: "22:00"}', 1
    )
    report = diff(PACK, loads_rules(text, path="late.yaml"), events, as_of=AS_OF)
    assert report.changes
    for c in report.changes:
        assert c.limits == ("cn_contact_hours",), c
        assert c.new == f"{c.old} (defer)" or c.new == "email_reminder", c
        assert c.rules == () or c.new_rule == "cn_email_reminder", c
    assert any(c.new.endswith("(defer)") for c in report.changes)


def test_newly_blocked_and_unblocked_are_the_changes_into_and_out_of_blocked() -> None:
    from dunning.analytics import Change, DiffReport

    def change(loan: str, old: str, new: str) -> Change:
        return Change(loan, AS_OF, old, new, None, None, (), (), ("cap",))

    changes = [change("L1", "phone_collection", "blocked"), change("L2", "blocked", "sms_reminder"),
               change("L3", "none", "x")]  # fmt: skip
    report = DiffReport({}, {}, [AS_OF], 3, changes)
    assert [c.loan_id for c in report.newly_blocked] == ["L1"]
    assert [c.loan_id for c in report.unblocked] == ["L2"]
    d = report.to_dict()
    assert (d["newly_blocked"], d["unblocked"], d["changed"]) == (["L1"], ["L2"], 3)


def test_bad_ranges_are_named(events: list[Any]) -> None:
    with pytest.raises(InputError, match="expected either as_of or a start/end range"):
        diff(PACK, PACK, events, as_of=AS_OF, start=AS_OF)
    with pytest.raises(InputError, match="expected as_of, or both start and end"):
        diff(PACK, PACK, events, start=AS_OF)
    with pytest.raises(InputError, match="expected end at or after start"):
        diff(PACK, PACK, events, start=AS_OF, end="2025-02-01T10:00:00+08:00")
