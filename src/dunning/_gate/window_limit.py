"""The contact-window limit's checker: inside the hours or not, and if not, until when and
why in both languages (the membership and next-opening rules are `windows`').

A contact window's verdict is a function of (instant, zone) alone: no state, no facts. A night's
batch asks it for the same as_of and zone for every loan, so each checker keeps its verdicts
(bounded; cleared when full). Verdicts are frozen, so sharing one is safe.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from .._base.calendars import HolidayCalendar
from .._base.time import to_utc, zone
from .._rules.schema import WEEKDAYS, ContactWindow
from .verdict import _ALLOW, LimitChecker, StateLike, Verdict
from .windows import entries_for, inside, next_opening
from .wording import weekday_text

__all__ = ["contact_window", "window_checker"]

_WINDOW_MEMO_MAX = 4096


def window_checker(limit: ContactWindow, cal: HolidayCalendar) -> LimitChecker:
    memo: dict[tuple[datetime, str], Verdict] = {}

    def ask(
        state: StateLike, facts: Mapping[str, object], at: datetime, as_of: datetime
    ) -> Verdict:
        key = (at, state.timezone)
        v = memo.get(key)
        if v is None:
            if len(memo) >= _WINDOW_MEMO_MAX:
                memo.clear()
            v = memo[key] = contact_window(cal, limit, to_utc(at), state.timezone)
        return v

    return ask


def contact_window(cal: HolidayCalendar, limit: ContactWindow, at: datetime, tz: str) -> Verdict:
    if inside(limit, cal, at, tz):
        return _ALLOW
    local = at.astimezone(zone(tz))
    day = local.date()
    what = "holiday" if cal.is_holiday(day) else WEEKDAYS[day.weekday()]
    spans = ", ".join(f"{h.from_}-{h.to}" for h in entries_for(limit, cal, day))
    until = next_opening(limit, cal, at, tz)
    en_hours = f"contact hours that day: {spans}" if spans else "no contact hours that day"
    zh_hours = f"当日允许联系的时段：{spans}" if spans else "当日不允许联系"
    return Verdict(
        False,
        until,
        f"{local:%H:%M} local time ({tz}, {weekday_text(what, 'en')}) is outside the contact"
        f" window ({en_hours})",
        f"当地时间 {local:%H:%M}（{tz}，{weekday_text(what, 'zh')}）不在允许联系的时段内"
        f"（{zh_hours}）",
    )
