"""Plain-language explanations of a decision, in English or Chinese.

Written for a compliance officer reading one decision: the step, why it was chosen (the
winning rule, its reason and the facts it saw), what else matched, what was held back by
which limit until when and under which citation, and the flags a collector must see.
Times are shown in the borrower's zone, because that is where contact hours are judged.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from .._base.errors import InputError
from .._base.time import zone
from .._gate.wording import GRADE_TEXT, KIND_TEXT

if TYPE_CHECKING:
    from .decision import Decision, FlagNote

NOT_IN_FORCE = "rule_set_not_in_force"  # the gate's flag id (`_gate.gate.NOT_IN_FORCE`)

# Phrases by language; one table so a third language is one more column.
_T: dict[str, dict[str, str]] = {
    "en": {
        "head": "Decision for loan {loan} (borrower {borrower}) as of {as_of}",
        "act": "Next step: {step}, allowed now.",
        "defer": "Next step: {step}, not before {not_before}.",
        "blocked": "No step may be taken: every proposed step is held back by a limit.",
        "none": "No rule proposed a step.",
        "why": "Why: rule {rule} (priority {priority}) — {reason}",
        "saw": "  facts seen: {facts}",
        "cite": "  source: {citation}",
        "also": "Other rules that matched:",
        "also_item": "  - {rule} proposed {step} (priority {priority})",
        "held": "Held back:",
        "held_item": "  - {step} by limit {limit} ({kind}): {reason}; {until}. Source: {citation}",
        "grade": " ({grade})",
        "not_in_force": "Attention: {text}",
        "until": "until {t}",
        "forever": "no end known",
        "flags": "Flags for the collector:",
        "rules": "Rule set {id} version {version} (sha256 {sha}), engine {engine}.",
    },
    "zh": {
        "head": "贷款 {loan}（借款人 {borrower}）截至 {as_of} 的决定",
        "act": "下一步：{step}，现在即可执行。",
        "defer": "下一步：{step}，不早于 {not_before}。",
        "blocked": "暂不能采取任何步骤：所有建议步骤均受合规限制。",
        "none": "没有规则建议任何步骤。",
        "why": "原因：规则 {rule}（优先级 {priority}）— {reason}",
        "saw": "  依据事实：{facts}",
        "cite": "  依据：{citation}",
        "also": "同时命中的其他规则：",
        "also_item": "  - {rule} 建议 {step}（优先级 {priority}）",
        "held": "受限步骤：",
        "held_item": "  - {step} 受限制 {limit}（{kind}）：{reason}；{until}。依据：{citation}",
        "grade": "（{grade}）",
        "not_in_force": "请注意：{text}",
        "until": "至 {t}",
        "forever": "无确定结束时间",
        "flags": "催收员须知：",
        "rules": "规则集 {id} 版本 {version}（sha256 {sha}），引擎 {engine}。",
    },
}


def explain(decision: Decision, lang: str = "en") -> str:
    """The decision in plain language (`lang` is "en" or "zh")."""
    if lang not in _T:
        raise InputError(f"explain: expected lang 'en' or 'zh', found {lang!r}")
    t = _T[lang]
    tz = decision.timezone

    def when(at: datetime) -> str:
        return at.astimezone(zone(tz)).strftime("%Y-%m-%d %H:%M %Z") + f" ({tz})"

    def graded(citation: str, grade: str | None) -> str:
        if not grade:
            return citation
        return citation + t["grade"].format(grade=GRADE_TEXT[lang].get(grade, grade))

    def said(note: FlagNote | None) -> str | None:
        if note is None:
            return None
        return (note.text_zh if lang == "zh" and note.text_zh else None) or note.text

    notes = {n.id: n for n in decision.flag_notes}
    lines = [
        t["head"].format(
            loan=decision.loan_id, borrower=decision.borrower_id, as_of=when(decision.as_of)
        )
    ]
    # A decision dated outside the rule set's effective window says so before anything else.
    if NOT_IN_FORCE in decision.flags:
        lines.append(t["not_in_force"].format(text=said(notes.get(NOT_IN_FORCE)) or NOT_IN_FORCE))
    label = decision.step_label.get(lang) or decision.step_label.get("en")
    step = (
        f"{decision.step}（{label}）"
        if lang == "zh" and label
        else (f"{decision.step} ({label})" if label else decision.step)
    )
    status_line = t[decision.status].format(
        step=step,
        not_before=when(decision.not_before) if decision.not_before else "",
    )
    lines.append(status_line)
    chosen = next((m for m in decision.matched if m.rule_id == decision.chosen_rule), None)
    if chosen is not None:
        reason = chosen.reason.get(lang) or chosen.reason.get("en") or chosen.reason.get("zh", "")
        cite = chosen.source_zh if lang == "zh" and chosen.source_zh else chosen.source
        lines.append(
            t["why"].format(rule=chosen.rule_id, priority=chosen.priority, reason=reason or cite)
        )
        if reason and cite:
            lines.append(t["cite"].format(citation=graded(cite, chosen.grade)))
        facts = ", ".join(f"{k}={v}" for k, v in sorted(chosen.facts.items()))
        lines.append(t["saw"].format(facts=facts or "-"))
    others = [m for m in decision.matched if m is not chosen]
    if others:
        lines.append(t["also"])
        lines += [
            t["also_item"].format(rule=m.rule_id, step=m.step, priority=m.priority) for m in others
        ]
    if decision.blocked:
        lines.append(t["held"])
        for b in decision.blocked:
            until = t["until"].format(t=when(b.until)) if b.until else t["forever"]
            zh = lang == "zh"
            lines.append(
                t["held_item"].format(
                    step=b.step,
                    limit=b.limit_id,
                    kind=KIND_TEXT["zh"].get(b.kind, b.kind) if zh else b.kind,
                    reason=(b.reason_zh if zh and b.reason_zh else b.reason),
                    until=until,
                    citation=graded(
                        (b.citation_zh if zh and b.citation_zh else b.citation), b.grade
                    ),
                )
            )
    if decision.flags:
        lines.append(t["flags"])
        for f in decision.flags:
            note = notes.get(f)
            text = f" — {said(note)}" if said(note) else ""
            src = ""
            if note and note.source:
                cite = note.source_zh if lang == "zh" and note.source_zh else note.source
                src = f" [{graded(cite, note.grade)}]"
            lines.append(f"  - {f}{text}{src}")
    rs = decision.rule_set
    lines.append(
        t["rules"].format(
            id=rs.id, version=rs.version, sha=rs.sha256[:12], engine=decision.engine_version
        )
    )
    return "\n".join(lines) + "\n"
