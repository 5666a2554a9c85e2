"""Plain-language explanations of a borrower decision, in English or Chinese.

First the borrower's one contact (the step, when, the loan that drives it and the loans it
covers), then one paragraph per loan: its own step, whether the contact covers it and why
not, then the loan's own decision explained as `Decision.explain` does (indented).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .._base.errors import InputError
from .._base.time import zone
from .explain import explain

_T: dict[str, dict[str, str]] = {
    "en": {
        "head": "Borrower decision for {borrower} ({n} loans) as of {as_of}",
        "contact_act": "Contact: {step}, allowed now, driven by loan {loan} (level {level},"
        " priority {priority}); it covers {covers}.",
        "contact_defer": "Contact: {step}, not before {not_before}, driven by loan {loan}"
        " (level {level}, priority {priority}); it covers {covers}.",
        "no_contact": "Contact: none (no loan has a contact step the limits allow).",
        "loan": "Loan {loan}: dpd {dpd}{arrears}; {covered}.",
        "arrears": ", in arrears",
        "covered": "covered by the contact",
        "not_covered": "not covered by the contact",
        "own": "  Own step: {outcome}.",
        "option": "  Best contact of this loan alone: {outcome}.",
        "act": "{step} now",
        "defer": "{step} not before {t}",
        "blocked": "held back by limits",
        "none": "none proposed",
    },
    "zh": {
        "head": "借款人 {borrower}（{n} 笔贷款）截至 {as_of} 的决定",
        "contact_act": "联系：{step}，现在即可执行，由贷款 {loan} 决定（层级 {level}，"
        "优先级 {priority}）；涵盖 {covers}。",
        "contact_defer": "联系：{step}，不早于 {not_before}，由贷款 {loan} 决定（层级 {level}，"
        "优先级 {priority}）；涵盖 {covers}。",
        "no_contact": "联系：无（没有贷款的联系步骤获合规允许）。",
        "loan": "贷款 {loan}：逾期 {dpd} 天{arrears}；{covered}。",
        "arrears": "，有欠款",
        "covered": "包含在本次联系中",
        "not_covered": "不包含在本次联系中",
        "own": "  本贷款自身步骤：{outcome}。",
        "option": "  仅就本贷款而言的最佳联系：{outcome}。",
        "act": "{step}，现在",
        "defer": "{step}，不早于 {t}",
        "blocked": "受合规限制",
        "none": "无建议",
    },
}


def explain_borrower(decision: Any, lang: str = "en") -> str:
    """A `BorrowerDecision` in plain language (`lang` is "en" or "zh"); typed Any because the
    model imports this module (no import cycle inside the stage)."""
    if lang not in _T:
        raise InputError(f"explain: expected lang 'en' or 'zh', found {lang!r}")
    t = _T[lang]
    tz = decision.timezone

    def when(at: datetime) -> str:
        return at.astimezone(zone(tz)).strftime("%Y-%m-%d %H:%M %Z") + f" ({tz})"

    def outcome(o: Any) -> str:
        text = t[o.status]
        return text.format(step=o.step, t=when(o.not_before) if o.not_before else "")

    lines = [
        t["head"].format(
            borrower=decision.borrower_id, n=len(decision.loans), as_of=when(decision.as_of)
        )
    ]
    c = decision.contact
    if c is None:
        lines.append(t["no_contact"])
    else:
        label = c.step_label.get(lang) or c.step_label.get("en")
        step = f"{c.step} ({label})" if label else c.step
        lines.append(
            t[f"contact_{c.status}"].format(
                step=step,
                not_before=when(c.not_before) if c.not_before else "",
                loan=c.loan_id,
                level=c.level,
                priority=c.priority,
                covers=", ".join(c.covers),
            )
        )
    for line in decision.loans:
        lines.append(
            t["loan"].format(
                loan=line.loan_id,
                dpd=line.dpd,
                arrears=t["arrears"] if line.in_arrears else "",
                covered=t["covered"] if line.covered else t["not_covered"],
            )
        )
        lines.append(t["own"].format(outcome=outcome(line.step)))
        lines.append(t["option"].format(outcome=outcome(line.contact_option)))
        lines += ["    " + x for x in explain(line.decision, lang).splitlines()]
    return "\n".join(lines) + "\n"
