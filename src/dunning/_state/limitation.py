"""The limitation clock: when a claim becomes time-barred, and whether it ever was.

Theory of operation (`limitation_clock`), over the borrower's local dates:

==========================  =================================================================
act (day d)                 effect on the bar (the first day the claim is barred)
==========================  =================================================================
the claim starts (day s)    bar = s + period (capped by s + long_stop)
``restart_on`` act, d < bar  the running period starts again: bar = d + period (capped)
``restart_on`` act, d >= bar nothing: a barred claim is not revived (Limitation Act 1980
                            s.29(7)); an interruption needs a running period (民法典 §195)
``revive_on`` act, d >= bar the defence is removed (民法典 §192: the obligor agrees to
                            perform after expiry); a new period runs: bar = d + period (capped)
==========================  =================================================================

The long stop caps every bar (民法典 §188: 20 years from the start). `ever barred` is true
when some day up to today was on or after the bar in force then.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from .._base.time import local_date, local_midnight, parse_duration

if TYPE_CHECKING:
    from .account import AccountState
    from .context import FactContext

__all__ = ["acts", "limitation_clock", "limitation_facts", "restarts"]


def acts(state: AccountState, ctx: FactContext, on: tuple[str, ...]) -> list[datetime]:
    """The instants of the events of kinds `on` (a `restart_on` / `revive_on` list)."""
    kinds = set(on)
    out: list[datetime] = []
    if "payment" in kinds:
        out += [p.at for p in state.payments if not p.reversed]
    if "acknowledgement" in kinds:
        out += list(state.acknowledgements)
    elif "written_acknowledgement" in kinds:
        out += _written_acknowledgements(state)
    if "promise" in kinds:
        out += [p.at for p in state.promises]
    for rec in state.steps_taken:
        step = ctx.steps.get(rec.step)
        if step is None:
            continue
        if ("written_demand" in kinds and step.written_demand) or (
            "legal_action" in kinds and step.kind == "legal"
        ):
            out.append(rec.at)
    return out


def _written_acknowledgements(state: AccountState) -> list[datetime]:
    """The instants of the written debt acknowledgements; kept in the state's cache of derived
    values (a scan of every event, asked for restarts and revivals alike)."""
    if not state.acknowledgements:  # every debt_acknowledged is there, written or not
        return []
    cache: dict[str, Any] | None = getattr(state, "_derived", None)
    hit: list[datetime] | None = None if cache is None else cache.get("written_acks")
    if hit is None:
        hit = [e.at for e in state.events if e.type == "debt_acknowledged" and e.written]
        if cache is not None:
            cache["written_acks"] = hit
    return hit


def restarts(state: AccountState, ctx: FactContext) -> list[datetime]:
    """The instants of the events that restart the limitation clock under `ctx` (while it
    runs; `limitation_clock` drops those after expiry)."""
    return acts(state, ctx, ctx.limitation.restart_on)


def limitation_clock(
    start: date,
    restarts: list[date],
    revivals: list[date],
    period: str,
    long_stop: str | None,
    today: date,
) -> tuple[date, bool]:
    """(the day the claim is barred, whether it was barred on some day up to `today`).

    Walks the local dates in order: a restart on a day before the bar starts the period
    again from that day (民法典 §195, Limitation Act 1980 s.29(5)); a restart on or after
    the bar changes nothing (s.29(7): a barred right is not revived; §195 needs a running
    period); a revival on or after the bar (民法典 §192: the obligor's agreement to perform)
    starts a new period from its day. Every bar is capped by `start` + `long_stop`.
    """
    span = parse_duration(period)
    cap = parse_duration(long_stop).add_to_date(start) if long_stop is not None else date.max
    bar = min(span.add_to_date(start), cap)
    ever = False
    acts = sorted([(d, False) for d in restarts] + [(d, True) for d in revivals])
    for day, revives in acts:
        if day < start or day > today:
            continue
        if day < bar:
            if not revives:
                bar = max(bar, min(span.add_to_date(day), cap))
        else:
            ever = True
            if revives:
                bar = max(bar, min(span.add_to_date(day), cap))
    return bar, ever or today >= bar


def limitation_facts(
    state: AccountState, today: date, ctx: FactContext, overdue: list[tuple[date, Decimal, bool]]
) -> dict[str, Any]:
    if not overdue:
        return {
            "time_barred": False,
            "days_to_time_bar": None,
            "time_bar_date": None,
            "ever_time_barred": False,
        }
    lim = ctx.limitation
    # each_due: every item runs its own clock and the earliest bar is reported (conservative),
    # which is the oldest item's; last_due: the newest overdue item's due date.
    start = overdue[-1][0] if lim.starts_from == "last_due" else overdue[0][0]
    tz = state.timezone
    revivals = acts(state, ctx, lim.revive_on)
    found = restarts(state, ctx)
    chained = None if revivals else _chain_end(start, found, lim.period, tz)
    if chained is not None:
        # Every restart came well inside the period running before it: the clock is the last
        # one's (or the start's) + period, capped; it was never barred before that bar.
        bar = parse_duration(lim.period).add_to_date(chained)
        if lim.long_stop is not None:
            bar = min(bar, parse_duration(lim.long_stop).add_to_date(start))
        ever = today >= bar
    else:
        bar, ever = limitation_clock(
            start,
            [local_date(at, tz) for at in found],
            [local_date(at, tz) for at in revivals],
            lim.period,
            lim.long_stop,
            today,
        )
    return {
        "time_barred": today >= bar,
        "days_to_time_bar": (bar - today).days,
        "time_bar_date": bar,
        "ever_time_barred": ever,
    }


@lru_cache(maxsize=64)
def _safe_gap(period: str) -> timedelta:
    """A gap surely shorter than `period` from any local date (leap days and month ends move
    a calendar period by at most 3 days, a UTC offset by under 1)."""
    d = date(2001, 3, 1)
    return timedelta(days=(parse_duration(period).add_to_date(d) - d).days - 6)


def _chain_end(start: date, instants: list[datetime], period: str, tz: str) -> date | None:
    """The local date the clock last (re)started, when every restart on or after `start` came
    less than `_safe_gap` after the one before (so each fell inside a running period and only
    the last one needs converting to a local date); None when some gap is too long to tell
    without `limitation_clock`."""
    first = local_midnight(start, tz)  # instants >= this are on or after local date start
    after = sorted(at for at in instants if at >= first)
    if not after:
        return start
    gap = _safe_gap(period)
    prev = first
    for at in after:
        if at - prev >= gap:
            return None
        prev = at
    return max(start, local_date(after[-1], tz))
