"""Decision.explain: a compliance officer reads one decision in English or Chinese."""

from __future__ import annotations

from pathlib import Path

import pytest

import dunning
from dunning._cli.demo import load_portfolio

ROOT = Path(__file__).resolve().parent.parent
AS_OF = "2025-06-30T10:00:00+08:00"


@pytest.fixture(scope="module")
def decisions() -> dict[str, dunning.Decision]:
    rules = dunning.load_rules(ROOT / "rules" / "cn-bank-retail.yaml")
    engine = dunning.Engine(rules)
    loans = load_portfolio()
    return {loan: engine.decide(events, AS_OF) for loan, events in loans.items()}


def test_chinese_explanation_names_step_rule_and_flags_in_chinese(
    decisions: dict[str, dunning.Decision],
) -> None:
    """L-1004 (95 dpd, overdue letter unanswered) gets a lawyer's letter, explained in zh."""
    text = decisions["L-1004"].explain("zh")
    assert "下一步：lawyer_letter（律师函），现在即可执行。" in text
    assert "原因：规则 cn_lawyer_letter" in text
    assert "不得向无关第三方透露债务信息" in text  # the flag's Chinese text
    assert "dpd=95" in text


def test_english_explanation_lists_blocks_with_citation_and_no_end(
    decisions: dict[str, dunning.Decision],
) -> None:
    """L-1005 has an open dispute: every proposed step is held, with the limit and citation."""
    d = decisions["L-1005"]
    text = d.explain("en")
    assert "blocked" == d.status
    assert "No step may be taken" in text
    assert "by limit cn_dispute_open (block_while)" in text
    assert "no end known" in text
    assert "Credit Reporting Regulation, Art. 25" in text
    assert "征信业管理条例" in d.explain("zh")


def test_step_held_by_contact_hours_says_until_when_in_local_time() -> None:
    """At 22:30 Shanghai phone, SMS and e-mail all wait for 08:00 (the CBA guideline's night
    window covers every borrower-facing channel, #15)."""
    rules = dunning.load_rules(ROOT / "rules" / "cn-bank-retail.yaml")
    events = load_portfolio()["L-1002"]
    late = dunning.Engine(rules).decide(events, "2025-06-30T22:30:00+08:00")
    assert "defer" == late.status
    held = [b for b in late.blocked if b.limit_id == "cn_contact_hours"]
    assert ["email_reminder", "phone_reminder", "sms_reminder"] == sorted(b.step for b in held)
    text = late.explain("en")
    assert "phone_reminder by limit cn_contact_hours" in text
    assert "until 2025-07-01 08:00 CST (Asia/Shanghai)" in text


def test_unknown_language_is_an_input_error(decisions: dict[str, dunning.Decision]) -> None:
    """Only en and zh exist; anything else says so."""
    with pytest.raises(dunning.InputError, match="expected lang 'en' or 'zh', found 'fr'"):
        decisions["L-1004"].explain("fr")
