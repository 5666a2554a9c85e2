"""Time: aware instants, borrower time zones, and the durations written in rule files.

Why this module exists: every time the library handles is timezone-aware, and every
calendar question (days past due, "7 consecutive days", contact hours) is asked in the
*borrower's* zone. Parsing is delegated to pendulum (ISO-8601 instants and durations);
arithmetic on calendar days uses `zoneinfo` so daylight-saving changes are handled by the
tz database, not by us.

Durations in YAML:

* ``7d`` / ``72h`` / ``30m`` / ``2w`` — short forms;
* ``P3Y``, ``P1Y6M``, ``P60D``, ``PT12H`` — ISO-8601.

A duration whose only units are days/weeks/months/years is *calendar*: it is applied to
local dates in the borrower's zone (``7d`` after 2025-03-08 10:00 is 2025-03-15 10:00 local,
even across a clock change). A duration with hours or minutes is *exact* (elapsed seconds).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pendulum

from .errors import InputError

UTC = UTC

# Instants the library accepts (as_of, event times): far enough from datetime's limits that
# calendar arithmetic (limitation periods, windows) never overflows.
MIN_YEAR, MAX_YEAR = 1900, 2200

_SHORT = re.compile(r"^\s*(\d+)\s*([wdhm])\s*$")


@dataclass(frozen=True, order=True)
class Duration:
    """A span written in a rule file: calendar part (years, months, days) plus exact seconds."""

    years: int = 0
    months: int = 0
    days: int = 0
    seconds: int = 0

    @property
    def is_calendar(self) -> bool:
        """True when the span has no hour/minute part, so it is counted in local dates."""
        return self.seconds == 0

    @property
    def is_zero(self) -> bool:
        return not (self.years or self.months or self.days or self.seconds)

    def __str__(self) -> str:
        if self.years == self.months == self.seconds == 0:
            return f"{self.days}d"
        if self.years == self.months == self.days == 0 and self.seconds % 3600 == 0:
            return f"{self.seconds // 3600}h"
        parts = "P"
        parts += f"{self.years}Y" if self.years else ""
        parts += f"{self.months}M" if self.months else ""
        parts += f"{self.days}D" if self.days else ""
        if self.seconds:
            parts += f"T{self.seconds}S"
        return parts if parts != "P" else "0d"

    def add_to(self, at: datetime, tz: str) -> datetime:
        """`at` plus this span: calendar units on the local wall clock of `tz`, then seconds."""
        local = at.astimezone(zone(tz))
        if self.years or self.months or self.days:
            d = add_months(local.date(), self.years * 12 + self.months) + timedelta(days=self.days)
            local = datetime.combine(d, local.timetz().replace(tzinfo=None), tzinfo=zone(tz))
            # Re-normalise: a wall time that does not exist (spring forward) moves forward.
            local = local.astimezone(UTC).astimezone(zone(tz))
        return (local.astimezone(UTC) + timedelta(seconds=self.seconds)).astimezone(at.tzinfo)

    def add_to_date(self, d: date) -> date:
        """`d` plus the calendar part of the span (seconds are ignored)."""
        return add_months(d, self.years * 12 + self.months) + timedelta(days=self.days)


def add_months(d: date, months: int) -> date:
    """Calendar month arithmetic, clamping the day (Jan 31 + 1 month = Feb 28/29)."""
    if not months:
        return d
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    for day in (d.day, 30, 29, 28):
        try:
            return date(year, month, min(d.day, day))
        except ValueError:
            continue
    raise AssertionError("unreachable")  # pragma: no cover


def parse_duration(text: object, *, what: str = "duration") -> Duration:
    """Parse ``7d``, ``72h``, ``P3Y`` ... into a Duration; raise InputError otherwise."""
    if isinstance(text, Duration):
        return text
    if isinstance(text, str):
        return _parse_duration_text(text, what)
    return _parse_duration(text, what)


@lru_cache(maxsize=1024)
def _parse_duration_text(text: str, what: str) -> Duration:
    # Rule sets parse the same few strings on every decision; Duration is immutable.
    return _parse_duration(text, what)


def _parse_duration(text: object, what: str) -> Duration:
    if isinstance(text, bool) or not isinstance(text, str):
        raise InputError(
            f"{what}: expected a duration such as '7d', '72h' or 'P3Y', found {text!r}"
        )
    m = _SHORT.match(text)
    if m:
        n, unit = int(m.group(1)), m.group(2)
        if unit == "w":
            return Duration(days=7 * n)
        if unit == "d":
            return Duration(days=n)
        return Duration(seconds=n * (3600 if unit == "h" else 60))
    if text.strip().upper().startswith("P"):
        try:
            parsed = pendulum.parse(text.strip().upper())
        except Exception as exc:  # pendulum raises several types for bad input
            raise InputError(f"{what}: {text!r} is not an ISO-8601 duration ({exc})") from None
        if isinstance(parsed, pendulum.Duration):
            secs = parsed.hours * 3600 + parsed.minutes * 60 + parsed.remaining_seconds
            return Duration(
                years=parsed.years,
                months=parsed.months,
                days=parsed.remaining_days + 7 * parsed.weeks,
                seconds=secs,
            )
    raise InputError(f"{what}: expected a duration such as '7d', '72h' or 'P3Y', found {text!r}")


@lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo:
    """The tz-database zone `name`; InputError (with a hint) when it does not exist."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise InputError(
            f"time zone {name!r} does not exist in the tz database;"
            " expected an IANA name such as 'Asia/Shanghai' or 'America/New_York'"
        ) from None


def is_zone(name: str) -> bool:
    try:
        zone(name)
    except InputError:
        return False
    return True


def aware(value: object, *, what: str = "as_of") -> datetime:
    """Coerce `value` (aware datetime or ISO-8601 string with offset) to an aware datetime."""
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise InputError(
                f"{what}: expected a timezone-aware datetime, found naive {value.isoformat()}"
                "; add an offset or a zone, e.g. '2025-03-03T10:00:00+08:00'"
            )
        if not MIN_YEAR <= value.year <= MAX_YEAR:
            raise InputError(
                f"{what}: expected a time in the years {MIN_YEAR} to {MAX_YEAR},"
                f" found {value.isoformat()}"
            )
        return value
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise InputError(
                f"{what}: expected an ISO-8601 time such as '2025-03-03T10:00:00+08:00',"
                f" found {value[:80]!r}"
            ) from None
        return aware(parsed, what=what)
    raise InputError(
        f"{what}: expected an aware datetime or ISO-8601 string, found {repr(value)[:80]}"
    )


def to_utc(at: datetime) -> datetime:
    # Most instants the gate and facts pass around are already UTC: skip the conversion.
    return at if at.tzinfo is UTC else at.astimezone(UTC)


def local_date(at: datetime, tz: str) -> date:
    """The calendar date of instant `at` in zone `tz`."""
    return at.astimezone(zone(tz)).date()


@lru_cache(maxsize=1 << 16)
def local_midnight(d: date, tz: str) -> datetime:
    """The first instant of local date `d` in `tz` (as an aware UTC datetime); cached, as
    `local_at` is, but keyed without the time of day (asked ~5 times a decision)."""
    return local_at(d, _MIDNIGHT, tz)


_MIDNIGHT = time(0, 0)


@lru_cache(maxsize=1 << 16)
def local_at(d: date, t: time, tz: str) -> datetime:
    """The instant when the wall clock in `tz` shows `d` `t`, as aware UTC.

    A wall time that does not exist (skipped by a spring-forward change) maps to the first
    instant after the gap; an ambiguous one (fall back) maps to its first occurrence.
    Cached: a pure function of its arguments, asked for the same local midnights and window
    openings again and again (~4 us each uncached).
    """
    z = zone(tz)
    naive = datetime.combine(d, t)
    first = naive.replace(tzinfo=z, fold=0).astimezone(UTC)
    if first.astimezone(z).replace(tzinfo=None) == naive:
        return first
    # In a gap: walk from the earlier reading to the first instant whose wall time is >= naive.
    # Gaps are at most a few hours and rare, so a minute walk is simple and exact enough.
    cur = min(first, naive.replace(tzinfo=z, fold=1).astimezone(UTC))
    cur = cur.replace(second=0, microsecond=0)
    while cur.astimezone(z).replace(tzinfo=None) < naive:
        cur += timedelta(minutes=1)
    return cur


def iso_utc(at: datetime) -> str:
    """Canonical text of an instant: UTC, ISO-8601, 'Z', microseconds only when present."""
    global _LAST_ISO
    last = _LAST_ISO
    if at is last[0]:  # a batch asks for its one as_of again and again
        return last[1]
    u = at if at.tzinfo is UTC else at.astimezone(UTC)
    # isoformat pads the year to four digits and writes microseconds only when present;
    # a UTC instant always ends "+00:00".
    text = datetime.isoformat(u)[:-6] + "Z"  # the base method: pendulum's writes otherwise
    _LAST_ISO = (at, text)
    return text


# The last instant asked and its text (a tuple swapped whole, so threads never see a torn
# pair); `is` on an object the tuple holds alive cannot be fooled by a reused id.
_LAST_ISO: tuple[datetime | None, str] = (None, "")
