"""The words a blocked step's reason is made of, in English and Chinese.

A limit's reason is written once per language by its checker (`_limits`), from these tables,
so `explain("zh")` never shows an English fragment: weekdays, durations, what a cap counts,
the citation grades. One table per vocabulary; a third language is one more column.
"""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["GRADE_TEXT", "KIND_TEXT", "duration_text", "weekday_text"]

WEEKDAY_TEXT: dict[str, dict[str, str]] = {
    "en": {"mon": "Monday", "tue": "Tuesday", "wed": "Wednesday", "thu": "Thursday",
           "fri": "Friday", "sat": "Saturday", "sun": "Sunday", "holiday": "a public holiday"},
    "zh": {"mon": "周一", "tue": "周二", "wed": "周三", "thu": "周四", "fri": "周五",
           "sat": "周六", "sun": "周日", "holiday": "法定节假日"},
}  # fmt: skip

# Limit kinds as a Chinese explanation names them (an English one shows the kind's id).
KIND_TEXT: dict[str, dict[str, str]] = {
    "zh": {"contact_window": "联系时段", "frequency_cap": "联系频次", "quiet_period": "静默期",
           "block_while": "暂停条件", "prerequisite": "前置步骤", "amount_threshold": "金额门槛",
           "limitation": "诉讼时效", "application_window": "申请期限", "cooldown": "冷却期",
           "step_catalog": "步骤目录"},
}  # fmt: skip

# Citation grades, said politely to a reader outside the bank.
GRADE_TEXT: dict[str, dict[str, str]] = {
    "en": {"verified": "checked against the official text",
           "secondary": "based on consistent secondary sources; the official text is being"
                        " confirmed",
           "unverified": "not yet confirmed in an official text; applied as a precaution",
           "bank_policy": "the bank's own policy, not a figure set by law"},
    "zh": {"verified": "已核对官方文本",
           "secondary": "依据多个一致的公开资料，官方文本正在核实",
           "unverified": "尚未在官方文本中确认，作为审慎措施执行",
           "bank_policy": "本行内部政策，并非法律规定的数值"},
}  # fmt: skip

_UNITS = {
    "en": {"Y": ("year", "years"), "M": ("month", "months"), "W": ("week", "weeks"),
           "D": ("day", "days"), "H": ("hour", "hours"), "MIN": ("minute", "minutes")},
    "zh": {"Y": ("年", "年"), "M": ("个月", "个月"), "W": ("周", "周"), "D": ("天", "天"),
           "H": ("小时", "小时"), "MIN": ("分钟", "分钟")},
}  # fmt: skip
_SHORT = re.compile(r"^(\d+)([dhwm])$")
_ISO = re.compile(r"^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?$")


@lru_cache(maxsize=1024)
def duration_text(text: str, lang: str) -> str:
    """'14d' -> '14 days' / '14天', 'P2Y' -> '2 years' / '2年' (other forms as written).
    Cached: a pure function of a rule set's few durations, written into every blocked reason."""
    units = _UNITS["zh" if lang == "zh" else "en"]
    parts: list[tuple[int, str]] = []
    m = _SHORT.match(text)
    if m:
        parts = [(int(m.group(1)), {"d": "D", "h": "H", "w": "W", "m": "MIN"}[m.group(2)])]
    else:
        m = _ISO.match(text)
        if not m or not any(m.groups()):
            return text
        parts = [(int(v), u) for v, u in zip(m.groups(), "YMWD", strict=True) if v]
    sep = "" if lang == "zh" else " "
    out = []
    for n, unit in parts:
        one, many = units[unit]
        out.append(f"{n}{sep}{one if n == 1 else many}")
    return ("" if lang == "zh" else " ").join(out)


def weekday_text(day: str, lang: str) -> str:
    """'wed' -> 'Wednesday' / '周三' ('holiday' for a public holiday)."""
    return WEEKDAY_TEXT["zh" if lang == "zh" else "en"].get(day, day)
