"""The eight stories of issue #15, day by day: each one broke the law before; now the pack
decides lawfully and the decision carries the citation a regulator can read."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

import dunning
from lawful_support import Story, blocks

LEGAL_OR_THREAT = {"payment_order", "litigation", "arbitration", "enforcement", "lawyer_letter"}


def _barred_cn() -> Story:
    """A CN loan whose only installment fell due on 2020-08-01 and was never paid."""
    s = Story("CN").open(date(2020, 1, 1)).due(date(2020, 8, 1))
    s.step(date(2020, 9, 1), "overdue_letter")
    return s


def test_story1_a_barred_claim_is_not_revived_by_the_banks_own_letter() -> None:
    """Li's loan fell due on 2020-08-01 and she never paid. The bank's last written demand
    was on 2020-09-01, so the 3-year period ran out on 2023-09-01. On 2023-10-01 the bank's
    lawyer sent a letter; on 2024-01-15 the engine is asked what to do. The lawyer's letter
    came after expiry: it interrupts nothing (民法典 §195 needs a running period), so the
    claim stays barred and no payment order may be applied for."""
    s = _barred_cn()
    s.step(date(2023, 10, 1), "lawyer_letter")
    for n in range(0, 106, 7):  # weekly from the lawyer's letter to the day asked
        d = s.decide(date(2023, 10, 2) + timedelta(days=n))
        assert d.step not in LEGAL_OR_THREAT, (n, d.step)
    facts = s.facts(date(2024, 1, 15))
    assert facts["time_barred"] is True
    assert facts["ever_time_barred"] is True
    assert facts["time_bar_date"] == date(2023, 9, 1)
    d = s.decide(date(2024, 1, 15))
    assert d.step not in LEGAL_OR_THREAT
    held = blocks(d, "payment_order")["cn_time_barred"]
    assert held.citation == "Civil Code of the PRC, Arts. 188, 189, 192 and 195"
    assert held.citation_zh is not None and "第一百九十二条" in held.citation_zh
    assert held.grade == "secondary"
    assert "2023-09-01" in held.reason
    assert "time_barred" in d.flags


def test_story1_a_written_agreement_to_perform_removes_the_defence() -> None:
    """Same file, but on 2024-02-01 Li signs a written acknowledgement that she will pay
    (民法典 §192: after expiry, the obligor's agreement to perform ends the defence). From then
    a new 3-year period runs; an oral acknowledgement the bank cannot prove does not count."""
    oral = _barred_cn().add("debt_acknowledged", date(2024, 2, 1), written=False)
    assert oral.facts(date(2024, 3, 1))["time_barred"] is True
    s = _barred_cn().add("debt_acknowledged", date(2024, 2, 1), written=True)
    facts = s.facts(date(2024, 3, 1))
    assert facts["time_barred"] is False
    assert facts["ever_time_barred"] is True
    assert facts["time_bar_date"] == date(2027, 2, 1)
    d = s.decide(date(2024, 3, 1))
    assert "time_bar_defence_waived" in d.flags and "time_barred" not in d.flags
    note = next(n for n in d.flag_notes if n.id == "time_bar_defence_waived")
    assert note.source == "Civil Code of the PRC, Art. 192"


def test_story1_the_20_year_long_stop_holds_whatever_restarts() -> None:
    """Zhou's loan fell due on 2000-08-01; the bank sent a written demand every two years
    until 2024. Each demand came while the period ran, but 民法典 §188 protects no claim more
    than 20 years after it arose: the claim is barred from 2020-08-01."""
    s = Story("CN").open(date(2000, 1, 1)).due(date(2000, 8, 1))
    for year in range(2001, 2025, 2):
        s.step(date(year, 6, 1), "overdue_letter")
    facts = s.facts(date(2024, 7, 1))
    assert facts["time_bar_date"] == date(2020, 8, 1)
    assert facts["time_barred"] is True


def _barred_uk() -> Story:
    """A UK agreement in arrears since 2015-02-01, default notice and letter of claim sent
    in 2016, then nothing: the 6 years ran out on 2021-02-01."""
    s = Story("UK").open(date(2015, 1, 1), "3000.00").due(date(2015, 2, 1), "3000.00")
    s.step(date(2016, 1, 5), "default_notice")
    s.step(date(2016, 3, 1), "lawyer_letter")
    return s


def test_story2_a_small_payment_does_not_revive_a_statute_barred_debt() -> None:
    """Tom's debt became statute-barred on 2021-02-01. On 2022-03-01 he pays £5. Under the
    Limitation Act 1980 s.29(7) a barred right is not revived by a later payment, so on
    2022-06-01 the bank may not issue a county court claim."""
    s = _barred_uk().pay(date(2022, 3, 1), "5.00")
    assert s.facts(date(2022, 6, 1))["time_barred"] is True
    d = s.decide(date(2022, 6, 1))
    assert d.step not in LEGAL_OR_THREAT
    held = blocks(d, "litigation")["uk_time_barred"]
    assert held.citation.startswith("Limitation Act 1980, ss.5 and 29(7)")
    assert held.grade == "verified"
    assert held.url == "https://www.handbook.fca.org.uk/handbook/CONC/7/15.html"


def test_story2_a_payment_while_the_period_runs_restarts_it() -> None:
    """Had Tom paid £5 on 2020-12-01, before the bar, the action would have accrued afresh
    (s.29(5)): the new bar is 2026-12-01."""
    s = _barred_uk().pay(date(2020, 12, 1), "5.00")
    facts = s.facts(date(2022, 6, 1))
    assert facts["time_barred"] is False
    assert facts["time_bar_date"] == date(2026, 12, 1)


def test_story3_no_letter_of_claim_on_a_statute_barred_debt() -> None:
    """Ann's debt is statute-barred since 2021-02-01. The default notice went out on
    2021-05-01; 150 days past due and 28 days after the notice the ladder reaches the letter
    of claim. The Pre-Action Protocol letter announces proceedings: suggesting court action
    on a statute-barred debt misleads (CONC 7.15), so it is held back, and every contact
    carries the statute-barred disclosure."""
    s = Story("UK").open(date(2015, 1, 1), "3000.00").due(date(2015, 2, 1), "3000.00")
    s.step(date(2021, 5, 1), "default_notice")
    d = s.decide(date(2021, 7, 1))
    assert d.step != "lawyer_letter"
    assert "uk_time_barred" in blocks(d, "lawyer_letter")
    assert {"time_barred", "statute_barred_disclosure"} <= set(d.flags)
    note = next(n for n in d.flag_notes if n.id == "statute_barred_disclosure")
    assert note.source == "FCA Handbook, CONC 7.15.4R, 7.15.7G and 7.15.8R"
    assert note.grade == "secondary"


def test_story4_no_implied_threat_of_suit_on_time_barred_debt() -> None:
    """Sam's debt (New York) is time-barred since 2022-02-01. In 2022 the bank sends the
    validation notice and a demand letter; 30 days later the ladder would place the debt with
    an agency and send the attorney demand letter. 1006.26(b) forbids suing and threatening to
    sue: the attorney letter is held back, the debt is not placed, and the state-law
    disclosure is flagged."""
    s = Story("US").open(date(2019, 1, 1), "5000.00").due(date(2019, 2, 1), "5000.00")
    s.step(date(2022, 3, 1), "validation_notice")
    s.step(date(2022, 3, 5), "overdue_letter")
    d = s.decide(date(2022, 5, 1))
    assert d.step not in {"lawyer_letter", "agency_referral", "litigation"}
    held = blocks(d, "lawyer_letter")["us_time_barred"]
    assert held.citation == "12 CFR 1006.26(b) (no suit or threat of suit on time-barred debt)"
    assert held.grade == "verified"
    assert "us_time_barred_no_placement" in blocks(d, "agency_referral")
    assert "time_barred_disclosure" in d.flags


def _furnishing_us() -> Story:
    s = Story("US").open(date(2025, 1, 1), "5000.00").due(date(2025, 2, 1), "500.00")
    s.step(date(2025, 2, 2), "validation_notice")
    s.step(date(2025, 3, 10), "credit_report_notice")
    return s


def test_story5_an_undeliverable_notice_resets_the_furnishing_wait() -> None:
    """Maria's notice of negative reporting was mailed on 2025-03-10 and came back
    undeliverable on 2025-03-13. On 2025-03-28 (18 days after mailing) the bank may not
    furnish: the 14-day wait exists to catch undeliverability (comment 30(a)(1)-3). A new
    notice is mailed on 2025-03-30: furnishing waits until 14 days after it."""
    s = _furnishing_us().contact(date(2025, 3, 13), "letter", "bounced")
    d = s.decide(date(2025, 3, 28))
    assert d.step != "credit_report"
    held = blocks(d, "credit_report")["us_furnishing_wait"]
    assert held.until is None
    assert "undeliverable" in held.reason
    assert held.citation.startswith("12 CFR 1006.30(a)(1)")
    s.step(date(2025, 3, 30), "credit_report_notice")
    later = s.decide(date(2025, 4, 2))
    wait = blocks(later, "credit_report")["us_furnishing_wait"]
    assert wait.until is not None
    assert wait.until.astimezone(s.tz).date() == date(2025, 4, 13)


def test_story5_a_delivered_notice_lets_furnishing_go_ahead() -> None:
    """Without the bounce, on 2025-03-28 the 14 days are over and the bank may furnish."""
    d = _furnishing_us().decide(date(2025, 3, 28))
    assert "us_furnishing_wait" not in blocks(d, "credit_report")


def _payment_order_cn(ordered: date) -> Story:
    s = Story("CN").open(date(2025, 6, 1), "20000.00")
    for m in (7, 8, 9):
        s.due(date(2025, m, 1), "2000.00")
    s.step(date(2025, 9, 1), "overdue_letter").step(date(2025, 11, 1), "lawyer_letter")
    return s.step(ordered, "payment_order")


def test_story6_no_enforcement_after_the_two_year_window() -> None:
    """Wang got a payment order on 2026-02-10 and never paid. On 2028-08-10, 30 months later,
    the ladder proposes enforcement; the 2 years to apply (民事诉讼法 §250) ran out on
    2028-02-10, so the application is held back with the article cited."""
    s = _payment_order_cn(date(2026, 2, 10))
    d = s.decide(date(2028, 8, 10))
    assert d.step != "enforcement"
    held = blocks(d, "enforcement")["cn_enforcement_window"]
    assert held.citation == "Civil Procedure Law of the PRC (2023 amendment), Art. 250"
    assert held.grade == "verified"
    assert "2028-02-10" in held.reason and held.reason_zh and "届满" in held.reason_zh


def test_story6_a_payment_inside_the_window_interrupts_it() -> None:
    """Had Wang paid 100 yuan on 2027-12-01, inside the window, the 2 years would have started
    again: on 2028-08-10 enforcement may be applied for."""
    s = _payment_order_cn(date(2026, 2, 10)).pay(date(2027, 12, 1), "100.00")
    d = s.decide(date(2028, 8, 10))
    assert "cn_enforcement_window" not in blocks(d, "enforcement")
    assert d.step == "enforcement"


def _hardship_cn() -> Story:
    s = Story("CN").open(date(2026, 1, 1), "20000.00").due(date(2026, 2, 1), "5000.00")
    s.step(date(2026, 3, 5), "overdue_letter").step(date(2026, 4, 10), "lawyer_letter")
    s.add("hardship_declared", date(2026, 6, 25))
    return s.step(date(2026, 6, 29), "repayment_plan_offer")


def test_story7_a_hardship_borrower_is_not_taken_to_court_while_negotiating() -> None:
    """Zhao is 150 days late (due 2026-02-01). She declared hardship on 2026-06-25 and the
    bank offered a plan on 2026-06-29. On 2026-07-01 the offer waits out its 14-day cooldown;
    that wait must not hand the decision to the payment order: while she negotiates, no
    legal step, no lawyer's letter and no agency referral."""
    s = _hardship_cn()
    for n in range(30):  # day by day, morning and night, for a month of negotiation
        for hh in (10, 23):
            d = s.decide(date(2026, 7, 1) + timedelta(days=n), hh)
            assert d.step not in LEGAL_OR_THREAT | {"agency_referral"}, (n, hh, d.step)
    d = s.decide(date(2026, 7, 1))
    assert d.step not in LEGAL_OR_THREAT | {"agency_referral"}
    held = blocks(d, "payment_order")["cn_negotiate_first"]
    assert held.grade == "bank_policy"
    assert "第七十条" in (held.citation_zh or "")
    assert "cn_negotiate_first" in blocks(d, "agency_referral")


def test_story7_the_legal_route_opens_when_the_plan_is_refused() -> None:
    """Zhao refuses the plan on 2026-07-02: she can pay and will not, so on 2026-07-03 the
    payment order may be applied for."""
    s = _hardship_cn().add("repayment_plan_refused", date(2026, 7, 2))
    d = s.decide(date(2026, 7, 3))
    assert "cn_negotiate_first" not in blocks(d, "payment_order")
    assert d.step == "payment_order"


def test_story8_no_email_collection_at_night() -> None:
    """Chen is 2 days late on 2026-03-03. At 23:00 the ladder proposes an e-mail reminder;
    the CBA 2026 guideline bans phone, visit or other collection 22:00-08:00, so the e-mail
    waits for 08:00 the next morning, and the Chinese explanation says so in Chinese."""
    s = Story("CN").open(date(2026, 2, 1)).due(date(2026, 3, 1))
    d = s.decide(date(2026, 3, 3), 23)
    assert d.status == "defer"
    assert d.not_before is not None
    assert d.not_before.astimezone(s.tz).isoformat() == "2026-03-04T08:00:00+08:00"
    held = blocks(d, "email_reminder")["cn_contact_hours"]
    assert held.grade == "secondary"
    assert "中国银行业协会" in (held.citation_zh or "")
    assert held.reason_zh and "周二" in held.reason_zh and "08:00-22:00" in held.reason_zh
    zh = d.explain("zh")
    for english in ("blocked while", "local time", "outside the contact window", "tue", "Source"):
        assert english not in zh
    assert "联系时段" in zh


@pytest.mark.parametrize("market", ["CN", "UK", "US"])
def test_every_limit_rule_and_flag_cites_for_a_regulator(market: str) -> None:
    """Every limit, rule and flag of the shipped packs names its instrument, carries a grade
    and holds no internal note (review marks, REGULATIONS.md, seed file names)."""
    from lawful_support import rules

    rs = rules(market)
    doc = rs.document
    items = [*doc.limits, *doc.rules, *doc.flags]
    for item in items:
        assert item.source is not None, item.id
        assert item.grade in ("verified", "secondary", "unverified", "bank_policy"), item.id
        for text in (item.source.en or "", item.source.zh or ""):
            for bad in (
                "UNVERIFIED",
                "REGULATIONS",
                "seeds",
                ".txt",
                "not in ",
                "status V",
                "status S",
                "status U",
            ):
                assert bad not in text, (item.id, text)
    assert doc.limitation.grade is not None


def test_a_decision_outside_the_effective_window_says_so_first() -> None:
    """A CN decision dated 2025-06-01 is made under a pack in force from 2026-01-30: it
    carries the flag, shown first in the explanation; a strict engine refuses it."""
    s = Story("CN").open(date(2025, 5, 1)).due(date(2025, 5, 20))
    d = s.decide(date(2025, 6, 1))
    assert "rule_set_not_in_force" in d.flags
    assert d.explain("en").splitlines()[1].startswith("Attention: Rule set cn_bank_retail")
    assert d.explain("zh").splitlines()[1].startswith("请注意：规则集 cn_bank_retail")
    with pytest.raises(dunning.RuleSetNotInForce, match="outside its effective window"):
        s.decide(date(2025, 6, 1), strict_effective=True)
    inside = Story("CN").open(date(2026, 3, 1)).due(date(2026, 3, 20))
    assert "rule_set_not_in_force" not in inside.decide(date(2026, 4, 1)).flags
    assert inside.decide(date(2026, 4, 1), strict_effective=True).step is not None


def test_cn_reasons_phrase_dpd_thresholds_as_thresholds() -> None:
    """A rule proposing a step at `dpd >= N` says 逾期≥N天 (or N至M天), never 逾期N天 next to a
    larger dpd read: the reason cannot contradict the facts shown beside it."""
    import re

    from lawful_support import rules

    for rule in rules("CN").document.rules:
        m = re.search(r"\bdpd >= (\d+)", rule.when)
        if m is None or int(m.group(1)) <= 1:
            continue
        n = m.group(1)
        zh, en = rule.reason.zh or "", rule.reason.en or ""
        if re.search(r"逾期\d", zh):
            assert f"≥{n}" in zh or f"{n}至" in zh, (rule.id, zh)
        if re.search(r"\d+ days past due", en):
            assert f"At least {n}" in en or f"{n} to" in en or f"least {n}" in en, (rule.id, en)


_ENGLISH = ("blocked while", "local time", "outside the contact window", "was taken", "requires",
            "counted", "quiet period", "time-barred", "Source:", "no end known", "Monday",
            "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")  # fmt: skip


@pytest.mark.parametrize(
    ("day", "hh"), [(date(2026, 3, 3), 23), (date(2026, 5, 2), 10), (date(2026, 9, 9), 7)]
)
def test_a_chinese_explanation_of_the_cn_pack_is_chinese(day: date, hh: int) -> None:
    """Chen's loan at several moments (night, weekend, months late, a dispute open): the
    Chinese explanation holds none of the English phrases limits used to write."""
    s = Story("CN").open(date(2026, 2, 1)).due(date(2026, 3, 1)).due(date(2026, 4, 1))
    s.step(date(2026, 4, 5), "overdue_letter").add("dispute_raised", date(2026, 8, 1))
    s.step(date(2026, 3, 2), "sms_reminder")
    zh = s.decide(day, hh).explain("zh")
    for phrase in _ENGLISH:
        assert phrase not in zh, (phrase, zh)


def test_lint_reports_a_threatening_step_the_time_bar_does_not_cover() -> None:
    """A bank file that narrows the CN time bar back to suits only gets a lint finding: its
    lawyer's letter could go out on a barred claim."""
    from lawful_support import ROOT

    narrowed = dunning.loads_rules(
        "dunning: 1\nid: narrowed\nversion: '1'\njurisdiction: CN\ncurrency: CNY\n"
        "timezone: Asia/Shanghai\nextends: cn-bank-retail.yaml\nlimits:\n"
        "  - id: cn_time_barred\n    kind: limitation\n    applies_to: {kinds: [legal]}\n",
        base_dir=ROOT / "rules",
    )
    codes = [(f.code, f.message) for f in dunning.lint(narrowed)]
    assert any(c == "THREAT_NOT_TIME_BARRED" and "lawyer_letter" in m for c, m in codes)
    assert not [f for f in dunning.lint(rules_cn()) if f.code == "THREAT_NOT_TIME_BARRED"]


def rules_cn() -> dunning.RuleSet:
    from lawful_support import rules

    return rules("CN")


@pytest.mark.parametrize("market", ["UK", "US"])
def test_a_chinese_explanation_of_the_uk_and_us_packs_carries_no_english_reason(
    market: str,
) -> None:
    """A statute-barred UK or US file, 2,000 days late, at night: the Chinese explanation
    shows every rule reason, step label, limit reason and flag in Chinese (citations keep
    the instrument's own name)."""
    from lawful_support import rules

    s = Story(market).open(date(2015, 1, 1), "3000.00").due(date(2015, 2, 1), "3000.00")
    s.step(date(2015, 3, 1), "validation_notice" if market == "US" else "default_notice")
    s.add("dispute_raised", date(2020, 1, 1)).add("dispute_resolved", date(2020, 2, 1))
    zh = s.decide(date(2021, 7, 1), 22).explain("zh")
    doc = rules(market).document
    english = [r.reason.en for r in doc.rules] + [f.text.en for f in doc.flags]
    english += [s.label.en for s in doc.steps] + list(_ENGLISH)
    for text in english:
        assert text and text not in zh, text
