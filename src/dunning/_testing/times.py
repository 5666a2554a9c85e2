"""Decision times for generated histories: `as_of_times`, DST edges and local day edges."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from functools import lru_cache

from hypothesis import strategies as st

from .._base.errors import InputError
from .._base.time import is_zone, local_at, local_date, zone
from .._state.events import Event, LoanOpened
from .strategies import instants

__all__ = ["EDGE_TIMES", "as_of_times", "dst_transitions"]

# Local wall-clock edges where contact windows usually open and close.
EDGE_TIMES: tuple[time, ...] = (time(7, 59), time(8, 0), time(21, 59), time(22, 0))
_NEAR = timedelta(hours=2)


def as_of_times(
    events: Sequence[Event], max_days: int = 400, dst_edges: bool = False
) -> st.SearchStrategy[datetime]:
    """Instants at or after the last of `events`, up to `max_days` later, at any hour.

    With `dst_edges`, a third of the draws fall within two hours of a daylight-saving
    change of the loan's zone (its ``loan_opened.timezone``; see `dst_transitions`) and
    a third on the local edges of a day (`EDGE_TIMES`: 07:59, 08:00, 21:59, 22:00).
    """
    last = max(e.at for e in events)
    end = last + timedelta(days=max_days)
    anywhere = instants(last, end)
    if not dst_edges:
        return anywhere
    tz = next((e.timezone for e in events if isinstance(e, LoanOpened)), "UTC")
    biased: list[st.SearchStrategy[datetime]] = []
    changes = dst_transitions(tz, last - _NEAR, end + _NEAR)
    if changes:
        biased.append(
            st.sampled_from(changes).flatmap(
                lambda t: instants(max(last, t - _NEAR), min(end, t + _NEAR))
            )
        )
    first, final = local_date(last, tz) + timedelta(days=1), local_date(end, tz) - timedelta(days=1)
    if first <= final:
        biased.append(
            st.tuples(st.integers(0, (final - first).days), st.sampled_from(EDGE_TIMES)).map(
                lambda dt: local_at(first + timedelta(days=dt[0]), dt[1], tz)
            )
        )
    return st.one_of(*biased, anywhere)


def dst_transitions(timezone: str, start: datetime, end: datetime) -> tuple[datetime, ...]:
    """The instants in ``[start, end]`` at which `timezone`'s UTC offset changes (UTC, sorted).

    Found by scanning the zone's offset day by day and bisecting to the minute (no clock).
    """
    if not is_zone(timezone):
        raise InputError(
            f"timezone: expected an IANA zone such as 'America/New_York', found {timezone!r}"
        )
    years = range(start.astimezone(UTC).year, end.astimezone(UTC).year + 1)
    return tuple(t for y in years for t in _year_transitions(timezone, y) if start <= t <= end)


@lru_cache(maxsize=512)
def _year_transitions(tz: str, year: int) -> tuple[datetime, ...]:
    z = zone(tz)

    def offset(at: datetime) -> timedelta | None:
        return at.astimezone(z).utcoffset()

    out: list[datetime] = []
    day = datetime(year, 1, 1, tzinfo=UTC)
    while day.year == year:
        nxt = day + timedelta(days=1)
        if offset(day) != offset(nxt):
            lo, hi = day, nxt  # bisect: offset(lo) is the old one, offset(hi) the new one
            while hi - lo > timedelta(minutes=1):
                mid = lo + timedelta(minutes=int((hi - lo).total_seconds() // 120))
                lo, hi = (mid, hi) if offset(mid) == offset(lo) else (lo, mid)
            out.append(hi)
        day = nxt
    return tuple(out)
