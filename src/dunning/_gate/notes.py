"""Flag notes the gate makes from the rule set itself: a decision dated outside the rule
set's `effective` window, and the limitation warning (`time_bar_near`)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from functools import lru_cache

from .._base.time import local_date, local_midnight, parse_duration
from .outcome import FlagNote
from .verdict import RulesLike

__all__ = ["NOT_IN_FORCE", "not_in_force", "time_bar_note"]

NOT_IN_FORCE = "rule_set_not_in_force"


def not_in_force(rules: RulesLike, as_of: datetime, tz: str) -> FlagNote | None:
    """The flag of a decision dated outside the rule set's `effective` window (local date)."""
    eff = rules.document.effective
    # Compared as instants (local midnights are cached), so the common case converts nothing.
    if (eff.from_ is None or local_midnight(eff.from_, tz) <= as_of) and (
        eff.until is None or as_of < local_midnight(eff.until + timedelta(days=1), tz)
    ):
        return None
    doc = rules.document
    return _note(doc.id, doc.version, eff.from_, eff.until, local_date(as_of, tz))


@lru_cache(maxsize=4096)
def _note(rule_set: str, version: str, start: date | None, end: date | None, day: date) -> FlagNote:
    """The note (a frozen model), built once per rule set and day."""
    start_en = f"from {start}" if start else ""
    end_en = f" until {end}" if end else ""
    start_zh = f"自{start}起" if start else ""
    end_zh = f"至{end}止" if end else ""
    return FlagNote(
        id=NOT_IN_FORCE,
        text=f"Rule set {rule_set} version {version} is in force {start_en}{end_en}; this"
        f" decision is dated {day}, outside that window: check it against the rules that"
        " applied on that date.",
        text_zh=f"规则集 {rule_set}（版本 {version}）{start_zh}{end_zh}适用；本决定日期为"
        f"{day}，不在适用期内，请按当日适用的规定复核。",
    )


def time_bar_note(
    rules: RulesLike, facts: Mapping[str, object], as_of: datetime, tz: str
) -> FlagNote | None:
    days = facts.get("days_to_time_bar")
    if facts.get("time_barred") is True or not isinstance(days, int) or isinstance(days, bool):
        return None
    lim = rules.document.limitation
    today = local_date(as_of, tz)
    warn_days = (parse_duration(lim.warn_before).add_to_date(today) - today).days
    if days > warn_days:
        return None
    return FlagNote(
        id="time_bar_near",
        text=f"The claim becomes time-barred in {days} days: legal steps must start before then.",
        text_zh=f"诉讼时效将在 {days} 天后届满：法律措施须在此之前启动。",
        source=lim.source.get("en") if lim.source else None,
        source_zh=lim.source.zh if lim.source and lim.source.zh != lim.source.en else None,
        url=lim.url,
        grade=lim.grade,
    )
