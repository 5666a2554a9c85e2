"""Holiday calendars (`_calendar`) and contact-window arithmetic (`_window`)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from dunning._base.calendars import calendar_for, validate_calendar
from dunning._gate.windows import entries_for, inside, next_opening
from dunning._rules.schema import Calendar, ContactWindow

UTC = ZoneInfo("UTC")
NY = ZoneInfo("America/New_York")


def window(**kw: object) -> ContactWindow:
    data = {"id": "w", "kind": "contact_window", "applies_to": {"all": True}, "source": "s"}
    data.update(kw)
    return ContactWindow.model_validate(data)


def test_chinese_spring_festival_2025_day_types() -> None:
    """The State Council's 2025 arrangement as the holidays package gives it: 28 Jan - 4 Feb
    off, Sun 26 Jan and Sat 8 Feb worked (调休), an ordinary Saturday is a weekend."""
    cal = calendar_for(Calendar(country="CN"))
    days = [
        date(2025, 1, 25),
        date(2025, 1, 26),
        date(2025, 1, 28),
        date(2025, 2, 4),
        date(2025, 2, 5),
        date(2025, 2, 8),
        date(2025, 2, 15),
    ]
    expected = ["weekend", "workday", "holiday", "holiday", "workday", "workday", "weekend"]
    assert expected == [cal.day_type(d) for d in days]
    expected_makeup = [False, True, False, False, False, True, False]
    assert expected_makeup == [cal.is_makeup_workday(d) for d in days]


def test_file_dates_override_the_package() -> None:
    """A bank following a new notice before the package knows it: an extra holiday on a
    workday and an extra make-up working Saturday; the file wins over the package."""
    cal = calendar_for(
        Calendar(
            country="CN",
            extra_holidays=(date(2025, 3, 14),),
            extra_workdays=(date(2025, 3, 15), date(2025, 1, 29)),
        )
    )
    expected = ["holiday", "workday", "workday", True]
    assert expected == [
        cal.day_type(date(2025, 3, 14)),
        cal.day_type(date(2025, 3, 15)),
        cal.day_type(date(2025, 1, 29)),
        cal.is_makeup_workday(date(2025, 3, 15)),
    ]


def test_no_country_uses_only_file_dates() -> None:
    """Without a country: Saturday/Sunday weekend, the listed holidays, nothing else."""
    cal = calendar_for(Calendar(extra_holidays=(date(2025, 12, 25),)))
    expected = ["holiday", "workday", "weekend"]
    assert expected == [
        cal.day_type(date(2025, 12, 25)),
        cal.day_type(date(2025, 12, 26)),
        cal.day_type(date(2025, 12, 27)),
    ]


def test_validate_calendar_names_unknown_country_and_conflicts() -> None:
    """An unknown country, an unknown subdivision and a date both holiday and workday."""
    bad = validate_calendar(Calendar(country="XX"))
    sub = validate_calendar(Calendar(country="US", subdivision="ZZ"))
    both = validate_calendar(
        Calendar(extra_holidays=(date(2025, 1, 1),), extra_workdays=(date(2025, 1, 1),))
    )
    expected = [["country"], ["subdivision"], ["extra_workdays"]]
    assert expected == [[f for f, _ in bad], [f for f, _ in sub], [f for f, _ in both]]
    assert "'XX'" in bad[0][1]


def test_holiday_rules_pick_the_entries() -> None:
    """On a US public holiday (4 July 2025, a Friday): same hours, none, or holiday hours."""
    cal = calendar_for(Calendar(country="US"))
    hours = [{"days": ["mon", "tue", "wed", "thu", "fri"], "from": "08:00", "to": "21:00"}]
    july4 = date(2025, 7, 4)
    same = entries_for(window(hours=hours), cal, july4)
    deny = entries_for(window(hours=hours, on_holidays="deny"), cal, july4)
    own = entries_for(
        window(hours=hours, on_holidays=[{"from": "10:00", "to": "12:00"}]), cal, july4
    )
    expected = [["08:00"], [], ["10:00"]]
    assert expected == [[h.from_ for h in e] for e in (same, deny, own)]


def test_window_is_half_open() -> None:
    """08:00-22:00: 07:59:59 out, 08:00 in, 21:59:59.999999 in, 22:00 out."""
    cal = calendar_for(Calendar())
    w = window(hours=[{"from": "08:00", "to": "22:00"}])
    sh = ZoneInfo("Asia/Shanghai")
    times = [
        datetime(2025, 3, 3, 7, 59, 59, tzinfo=sh),
        datetime(2025, 3, 3, 8, tzinfo=sh),
        datetime(2025, 3, 3, 21, 59, 59, 999999, tzinfo=sh),
        datetime(2025, 3, 3, 22, tzinfo=sh),
    ]
    expected = [False, True, True, False]
    assert expected == [inside(w, cal, t, "Asia/Shanghai") for t in times]


def test_window_reopens_when_the_clock_falls_back_into_it() -> None:
    """00:00-01:30 in New York on 2 Nov 2025: at 01:45 EDT the window is closed, but at 02:00
    EDT the clock falls back to 01:00 EST, inside the window again: that instant (06:00 UTC)
    is the next opening, not the next midnight."""
    cal = calendar_for(Calendar())
    w = window(hours=[{"from": "00:00", "to": "01:30"}])
    at = datetime(2025, 11, 2, 5, 45, tzinfo=UTC)  # 01:45 EDT
    expected = datetime(2025, 11, 2, 6, 0, tzinfo=UTC)
    assert expected == next_opening(w, cal, at, "America/New_York")
    assert not inside(w, cal, expected - timedelta(microseconds=1), "America/New_York")


def test_window_opening_inside_a_spring_forward_gap() -> None:
    """02:30-04:00 on 9 March 2025 in New York: 02:30 does not exist; the window opens at the
    first instant after the gap, 03:00 EDT (07:00 UTC)."""
    cal = calendar_for(Calendar())
    w = window(hours=[{"from": "02:30", "to": "04:00"}])
    at = datetime(2025, 3, 9, 1, 0, tzinfo=NY)
    expected = datetime(2025, 3, 9, 7, 0, tzinfo=UTC)
    assert expected == next_opening(w, cal, at, "America/New_York")


def test_lord_howe_half_hour_change() -> None:
    """Lord Howe Island moves its clock by 30 minutes (6 April 2025, 02:00 -> 01:30). A window
    08:00-09:00 opens on the 6th at 08:00 local = 21:30 UTC on the 5th (now +10:30, not +11)."""
    cal = calendar_for(Calendar())
    w = window(hours=[{"from": "08:00", "to": "09:00"}])
    lh = ZoneInfo("Australia/Lord_Howe")
    at = datetime(2025, 4, 5, 10, 0, tzinfo=lh)
    expected = datetime(2025, 4, 5, 21, 30, tzinfo=UTC)
    assert expected == next_opening(w, cal, at, "Australia/Lord_Howe")


def test_no_opening_within_a_year() -> None:
    """A window only on Mondays, denied on holidays, with every Monday a file holiday: none."""
    mondays = tuple(date(2025, 3, 3) + timedelta(weeks=i) for i in range(60))
    cal = calendar_for(Calendar(extra_holidays=mondays))
    w = window(hours=[{"days": ["mon"], "from": "08:00", "to": "09:00"}], on_holidays="deny")
    assert next_opening(w, cal, datetime(2025, 3, 1, tzinfo=UTC), "UTC") is None
