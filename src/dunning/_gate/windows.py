"""Contact windows: is a local wall-clock time inside the hours; when is the next opening.

Theory of operation. A `contact_window` limit lists `hours` entries (weekdays, ``from``,
``to``; the window is half-open: 21:59 is inside 08:00-22:00, 22:00 is not) and an
`on_holidays` rule. Membership is decided on the borrower's *wall clock*: the instant is
converted to the borrower's zone, its local date picks the entries, its local time is
compared. The entries that apply to a local date come from this table:

==============================  ==============================================================
day type (see `_base.calendars`)      entries used
==============================  ==============================================================
holiday, on_holidays: same      the entries listing the date's weekday
holiday, on_holidays: deny      none (no contact on a public holiday)
holiday, on_holidays: [hours]   the holiday entries listing the date's weekday
make-up working day (调休)       the entries listing Monday (it is worked like a weekday)
workday / weekend               the entries listing the date's weekday
==============================  ==============================================================

The next opening after an instant is found day by day from its local date. On each day the
window can open only at an entry's ``from`` (via `_base.time.local_at`, which moves a time skipped
by a spring-forward change to the first instant after the gap), at the second occurrence of
``from`` on a fall-back day, or at the clock change itself (the clock falling back into the
window). The earliest such instant after `at` whose wall clock is inside is the opening — so
it is exact across daylight-saving changes, and "tomorrow" is never computed as +24h.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta

from .._base.calendars import HolidayCalendar
from .._base.time import local_at, zone
from .._rules.schema import WEEKDAYS, ContactWindow, Hours

# Far enough to pass a long holiday season or a weekday-only window over a year's holidays.
_SEARCH_DAYS = 400


def entries_for(limit: ContactWindow, cal: HolidayCalendar, d: date) -> tuple[Hours, ...]:
    """The `hours` entries that apply on local date `d` (the table in the module docstring)."""
    weekday = WEEKDAYS[d.weekday()]
    day_type = cal.day_type(d)
    if day_type == "holiday":
        if limit.on_holidays == "deny":
            return ()
        hours = limit.hours if limit.on_holidays == "same" else limit.on_holidays
        return tuple(h for h in hours if weekday in h.days)
    if cal.is_makeup_workday(d):
        weekday = "mon"
    return tuple(h for h in limit.hours if weekday in h.days)


def _seconds(hhmm: str) -> int:
    hh, mm = hhmm.split(":")
    return int(hh) * 3600 + int(mm) * 60


# (id(limit), id(cal), date) -> (limit, cal, [from, to) in microseconds of the day per entry).
# A limit's spans on a date never change (limits and calendars are immutable); the entry holds
# the objects so their ids stay valid, and the cache is cleared when it grows past a bound.
_SPANS: dict[tuple[int, int, date], tuple[object, object, tuple[tuple[int, int], ...]]] = {}
_SPANS_MAX = 20_000


def _spans(limit: ContactWindow, cal: HolidayCalendar, d: date) -> tuple[tuple[int, int], ...]:
    key = (id(limit), id(cal), d)
    hit = _SPANS.get(key)
    if hit is not None and hit[0] is limit and hit[1] is cal:
        return hit[2]
    spans = tuple(
        (_seconds(h.from_) * 10**6, _seconds(h.to) * 10**6) for h in entries_for(limit, cal, d)
    )
    if len(_SPANS) >= _SPANS_MAX:
        _SPANS.clear()
    _SPANS[key] = (limit, cal, spans)
    return spans


def inside(limit: ContactWindow, cal: HolidayCalendar, at: datetime, tz: str) -> bool:
    """True when the borrower's wall clock at `at` is inside an entry of its local date."""
    local = at.astimezone(zone(tz))
    micros = (local.hour * 3600 + local.minute * 60 + local.second) * 10**6 + local.microsecond
    return any(lo <= micros < hi for lo, hi in _spans(limit, cal, local.date()))


def next_opening(
    limit: ContactWindow, cal: HolidayCalendar, at: datetime, tz: str
) -> datetime | None:
    """The earliest instant >= `at` inside the window (None: none within ~a year)."""
    if inside(limit, cal, at, tz):
        return at
    start = at.astimezone(zone(tz)).date()
    for offset in range(_SEARCH_DAYS):
        d = start + timedelta(days=offset)
        found = sorted(
            c for c in _openings(limit, cal, d, tz) if c > at and inside(limit, cal, c, tz)
        )
        if found:
            return found[0].astimezone(at.tzinfo)
    return None


def _openings(limit: ContactWindow, cal: HolidayCalendar, d: date, tz: str) -> Iterator[datetime]:
    """Instants on local date `d` at which the window may open (see the module docstring)."""
    z = zone(tz)
    for h in entries_for(limit, cal, d):
        if h.from_ == "24:00":
            continue
        t = time.fromisoformat(h.from_)
        yield local_at(d, t, tz)
        yield datetime.combine(d, t).replace(tzinfo=z, fold=1).astimezone(UTC)
    change = _clock_change(d, tz)
    if change is not None:
        yield change


def _clock_change(d: date, tz: str) -> datetime | None:
    """The instant the zone's UTC offset changes during local date `d`, if it does."""
    lo = local_at(d, time(0, 0), tz)
    hi = local_at(d + timedelta(days=1), time(0, 0), tz)
    z = zone(tz)
    if lo.astimezone(z).utcoffset() == (hi - timedelta(microseconds=1)).astimezone(z).utcoffset():
        return None
    # Bisect to the minute: offsets change on whole minutes in the tz database.
    while hi - lo > timedelta(minutes=1):
        mid = lo + (hi - lo) / 2
        mid = mid.replace(second=0, microsecond=0)
        if mid <= lo:
            mid = lo + timedelta(minutes=1)
        if mid.astimezone(z).utcoffset() == lo.astimezone(z).utcoffset():
            lo = mid
        else:
            hi = mid
    return hi
