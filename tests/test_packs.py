"""The shipped rule packs: they validate, cite their sources, and load (with `extends`).

These tests read the YAML directly (ruamel safe loader + the pydantic schema), so they hold
even before the loader exists; the loader and lint checks run once those modules are there.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

import dunning
from dunning._rules import schema as _schema

ROOT = Path(__file__).resolve().parents[1]
PACKS = {
    "cn-bank-retail": ROOT / "rules" / "cn-bank-retail.yaml",
    "us-regf": ROOT / "rules" / "us-regf.yaml",
    "uk-fca": ROOT / "rules" / "uk-fca.yaml",
}
EXAMPLE = ROOT / "examples" / "bank_extends_cn.yaml"

# REGULATIONS.md rows whose figure (or part of it) has status U; a pack citing them must say
# "UNVERIFIED" close by.
UNVERIFIED_ROWS = ("C9", "C12", "C14", "K8")


def _raw(path: Path) -> dict[str, Any]:
    data = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _merge_items(base: list[dict[str, Any]], over: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Items with the same id are merged field by field onto the base item; new ids appended."""
    out = [dict(item) for item in base]
    index = {item["id"]: i for i, item in enumerate(out)}
    for item in over:
        if item["id"] in index:
            out[index[item["id"]]].update(item)
        else:
            out.append(dict(item))
    return out


def _resolved_example() -> dict[str, Any]:
    """The example's document merged onto the CN pack the way `extends` describes it."""
    over = _raw(EXAMPLE)
    assert over.pop("extends") == "pack:cn-bank-retail"
    doc = _raw(PACKS["cn-bank-retail"])
    for key, value in over.items():
        if key in ("steps", "derived", "rules", "limits", "flags"):
            doc[key] = _merge_items(doc.get(key, []), value)
        elif key == "metadata":
            doc[key] = {**doc.get(key, {}), **value}
        else:
            doc[key] = value
    return doc


@pytest.mark.parametrize("name", sorted(PACKS))
def test_pack_validates_against_the_schema(name: str) -> None:
    """Each pack is a valid rule file: the schema accepts it as written."""
    doc = _schema.RuleFile.model_validate(_raw(PACKS[name]))
    assert doc.steps and doc.rules and doc.limits


@pytest.mark.parametrize("name", sorted(PACKS))
def test_every_rule_limit_and_flag_cites_a_source(name: str) -> None:
    """A compliance officer can trace every rule, limit and flag to a document."""
    doc = _schema.RuleFile.model_validate(_raw(PACKS[name]))
    missing = [
        item.id
        for item in (*doc.rules, *doc.limits, *doc.flags)
        if item.source is None or not item.source.get("en").strip() or item.grade is None
    ]
    assert [] == missing
    assert doc.limitation.source is not None and doc.limitation.source.get("en").strip()


@pytest.mark.parametrize("name", sorted(PACKS))
def test_every_enabled_step_is_proposed_by_an_enabled_rule(name: str) -> None:
    """No dead rung: each step of the ladder is reachable from some rule."""
    doc = _schema.RuleFile.model_validate(_raw(PACKS[name]))
    proposed = {r.step for r in doc.rules if r.enabled}
    unreached = sorted(s.id for s in doc.steps if s.enabled and s.id not in proposed)
    assert [] == unreached


def test_cn_pack_is_bilingual() -> None:
    """The CN pack labels every step and gives every rule's reason in Chinese and English."""
    doc = _schema.RuleFile.model_validate(_raw(PACKS["cn-bank-retail"]))
    half = [s.id for s in doc.steps if not (s.label.zh and s.label.en)]
    half += [r.id for r in doc.rules if not (r.reason.zh and r.reason.en)]
    assert [] == half


def test_cn_pack_carries_the_regulation_figures() -> None:
    """The CN figures of REGULATIONS.md are in the pack as parameters, not hidden constants."""
    doc = _schema.RuleFile.model_validate(_raw(PACKS["cn-bank-retail"]))
    limits = {lim.id: lim for lim in doc.limits}
    window = limits["cn_contact_hours"]
    assert isinstance(window, _schema.ContactWindow)
    assert [("08:00", "22:00")] == [(h.from_, h.to) for h in window.hours]
    unanswered = limits["cn_unanswered_calls_per_day"]
    assert isinstance(unanswered, _schema.FrequencyCap)
    assert (6, "attempts", "1d") == (unanswered.max, unanswered.count, unanswered.window)
    connected = limits["cn_connected_calls_per_day"]
    assert isinstance(connected, _schema.FrequencyCap)
    assert (3, "conversations", "1d") == (connected.max, connected.count, connected.window)
    notice = limits["cn_credit_report_needs_notice"]
    assert isinstance(notice, _schema.Prerequisite)
    assert ("credit_report_notice", ("credit_report",)) == (
        notice.requires,
        notice.applies_to.steps,
    )
    assert ("P3Y", "P20Y") == (doc.limitation.period, doc.limitation.long_stop)
    assert {"payment", "acknowledgement", "promise", "written_demand", "legal_action"} == set(
        doc.limitation.restart_on
    )
    assert "60 installments" in doc.metadata["repayment_plan_max_length"]
    assert "5 years" in doc.metadata["records_retention"]


def test_us_and_uk_packs_carry_their_figures() -> None:
    """7-in-7, the 7-day wait after a conversation (day 1 counted), 08:00-21:00; UK 6 years."""
    us = _schema.RuleFile.model_validate(_raw(PACKS["us-regf"]))
    limits = {lim.id: lim for lim in us.limits}
    cap = limits["us_seven_in_seven"]
    assert isinstance(cap, _schema.FrequencyCap)
    assert (7, "7d", "debt", True, True) == (
        cap.max,
        cap.window,
        cap.scope,
        cap.exclude_inbound,
        cap.exclude_consented,
    )
    quiet = limits["us_after_conversation"]
    assert isinstance(quiet, _schema.QuietPeriod)
    assert ("conversation", "7d", True) == (quiet.after, quiet.duration, quiet.first_day_counts)
    furnish = limits["us_furnishing_wait"]
    assert isinstance(furnish, _schema.Prerequisite)
    assert ("credit_report_notice", "14d") == (furnish.requires, furnish.min_gap)
    uk = _schema.RuleFile.model_validate(_raw(PACKS["uk-fca"]))
    assert "P6Y" == uk.limitation.period
    assert "5 years" in uk.metadata["scotland"]
    kinds = {lim.id: lim.kind for lim in uk.limits}
    assert "block_while" == kinds["uk_breathing_space"]


@pytest.mark.parametrize("name", sorted(PACKS))
def test_unverified_figures_say_so(name: str) -> None:
    """Wherever a pack cites a row with status U, the word UNVERIFIED is within three lines."""
    lines = PACKS[name].read_text(encoding="utf-8").splitlines()
    unmarked = []
    for i, line in enumerate(lines):
        for row in UNVERIFIED_ROWS:
            if re.search(rf"\b{row}\b", line):
                near = lines[max(0, i - 3) : i + 4]
                if not any("UNVERIFIED" in n for n in near):
                    unmarked.append((i + 1, row))
    assert [] == unmarked


def test_extends_example_validates_when_merged_by_hand() -> None:
    """The bank's file, merged onto the CN pack by id, is a valid rule file."""
    doc = _schema.RuleFile.model_validate(_resolved_example())
    assert "example_bank_cn" == doc.id


@pytest.mark.parametrize("name", sorted(PACKS))
def test_pack_loads(name: str) -> None:
    """`load_rules` accepts each pack: every fact and step a condition names exists."""
    rules = dunning.load_rules(PACKS[name])
    doc = _schema.RuleFile.model_validate(_raw(PACKS[name]))
    assert doc.id == rules.id
    assert sorted(s.id for s in doc.steps if s.enabled) == sorted(rules.steps)


def test_extends_example_loads_with_its_changes() -> None:
    """Two thresholds changed, a step and its rule added, the e-mail rule (and step) disabled."""
    base = dunning.load_rules(PACKS["cn-bank-retail"])
    bank = dunning.load_rules(EXAMPLE)
    limits = {lim.id: lim for lim in bank.document.limits}
    assert {"CNY": "20000.00"} == limits["cn_litigation_min_amount"].min
    assert "outstanding_amount" == limits["cn_litigation_min_amount"].fact
    assert 4 == limits["cn_unanswered_calls_per_day"].max
    assert "borrower" == limits["cn_unanswered_calls_per_day"].scope
    assert sorted({*base.steps, "app_push"} - {"email_reminder"}) == sorted(bank.steps)
    base_rules = {r.id for r in base.rules}
    bank_rules = {r.id for r in bank.rules}
    assert ({"bank_app_push_first"}, {"cn_email_reminder"}) == (
        bank_rules - base_rules,
        base_rules - bank_rules,
    )


@pytest.mark.parametrize("path", [*sorted(PACKS.values()), EXAMPLE], ids=lambda p: p.stem)
def test_lint_finds_nothing(path: Path) -> None:
    """Every pack (and the bank example) passes lint with no findings."""
    assert [] == list(dunning.lint(dunning.load_rules(path)))
