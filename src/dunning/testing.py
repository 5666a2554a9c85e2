"""Hypothesis strategies for `dunning` events, loan histories and decision times.

Use them to test your own rule sets and services against realistic, valid input::

    from hypothesis import given, strategies as st
    from dunning.testing import as_of_times, loan_histories

    @given(loan_histories(currency="USD", timezone="America/New_York",
                          behaviours=("pays_late", "promises_and_breaks")), st.data())
    def test_my_rules(events, data):
        as_of = data.draw(as_of_times(events, dst_edges=True))
        ...

Organisation of this module:

* *values*: `amounts` (Decimal exact to the currency), `instants` (aware times at any hour);
* *single events*: `contact_attempts`, `payments`, `promises`, `step_events` — each takes the
  loan, the borrower and a time range, and returns a strategy of one event model;
* *histories*: `loan_histories` — a whole valid loan history (``loan_opened`` first, monthly
  installments, partial and late payments, reversals of earlier payments, promises, contacts
  on every channel at all hours, disputes, fees, steps and a repayment plan), narrowed by
  currency, zone, `product` and `behaviours` (names in `BEHAVIOURS`); `account_states`, the
  same folded into an `AccountState`; `portfolios`, several loans, some sharing a borrower;
* *times*: `as_of_times` — an instant at or after a history's last event, with `dst_edges`
  biased to daylight-saving changes (`dst_transitions`) and local day edges (`EDGE_TIMES`);
* *invariants*: `check_*`, `run_invariant`, `check_all` (defined in `_invariants`).

Every history is accepted by `AccountState.from_events` (the property tests of the library
check it), its event ids are unique, and it holds one loan of one borrower (borrower-level
contacts may carry no loan id or another loan's id, as real feeds do). Bad narrowing
arguments (an unknown currency, zone or behaviour) raise `InputError` when the strategy is
built, not while drawing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from functools import lru_cache

from hypothesis import strategies as st

from ._behaviours import BEHAVIOURS, check_behaviours
from ._errors import InputError
from ._invariants import (
    INVARIANTS,
    InvariantViolation,
    check_all,
    check_cites_a_rule,
    check_deterministic,
    check_monotonic_escalation,
    check_no_contact_on_ceased,
    check_no_limit_broken,
    check_no_step_when_settled,
    check_prerequisites_respected,
    run_invariant,
)
from ._strategies import (
    STEP_IDS,
    account_states,
    amounts,
    check_place,
    contact_attempts,
    instants,
    loan_histories,
    names,
    payments,
    promises,
    step_events,
)
from ._time import is_zone, local_at, local_date, zone
from .events import Event, LoanOpened

# --- portfolios ----------------------------------------------------------------------------


def portfolios(
    n_loans: int | tuple[int, int] = (2, 5),
    currencies: Sequence[str] = ("CNY",),
    timezones: Sequence[str] = ("Asia/Shanghai",),
    behaviours: Sequence[str] | None = None,
    *,
    product: str | Sequence[str] | None = None,
    max_months: int = 6,
    max_events: int = 4,
) -> st.SearchStrategy[list[list[Event]]]:
    """Histories of several loans (`n_loans`: a count or a ``(min, max)`` range).

    Loans are ``L001``, ``L002``, ...; event ids start with the loan id, so they are unique
    across the portfolio. When there are two loans or more, some borrowers (``B001``, ...)
    hold two loans, which share the borrower's zone; each loan draws its currency from
    `currencies`. Flatten the lists to get one feed; `dunning._portfolio.group_by_loan`
    gives each loan its events back, plus its sibling's borrower-level ones.
    """
    lo, hi = (n_loans, n_loans) if isinstance(n_loans, int) else n_loans
    if not 1 <= lo <= hi:
        raise InputError(f"n_loans: expected a count >= 1 or a range (min, max), found {n_loans!r}")
    chosen_currencies, chosen_zones = names(currencies, "currencies"), names(timezones, "timezones")
    assert chosen_currencies is not None and chosen_zones is not None
    for cur in chosen_currencies:
        check_place(cur, chosen_zones[0])
    for tz in chosen_zones:
        check_place(chosen_currencies[0], tz)
    check_behaviours(behaviours)

    @st.composite
    def build_portfolio(draw: st.DrawFn) -> list[list[Event]]:
        n = draw(st.integers(lo, hi))
        pairs = draw(st.integers(1, n // 2)) if n >= 2 else 0
        # Loans 2k and 2k+1 (k < pairs) belong to one borrower; the rest have one loan each.
        owner = [k // 2 if k < 2 * pairs else k - pairs for k in range(n)]
        zones = [draw(st.sampled_from(chosen_zones)) for _ in range(max(owner) + 1)]
        out: list[list[Event]] = []
        for k in range(n):
            loan_id = f"L{k + 1:03d}"
            history = loan_histories(
                draw(st.sampled_from(chosen_currencies)), zones[owner[k]], loan_id,
                f"B{owner[k] + 1:03d}", max_months, max_events, product=product,
                behaviours=behaviours, id_prefix=f"{loan_id}-",
            )  # fmt: skip
            out.append(draw(history))
        return out

    return build_portfolio()


# --- times ---------------------------------------------------------------------------------

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


__all__ = [
    "BEHAVIOURS",
    "EDGE_TIMES",
    "INVARIANTS",
    "STEP_IDS",
    "InvariantViolation",
    "account_states",
    "amounts",
    "as_of_times",
    "check_all",
    "check_cites_a_rule",
    "check_deterministic",
    "check_monotonic_escalation",
    "check_no_contact_on_ceased",
    "check_no_limit_broken",
    "check_no_step_when_settled",
    "check_prerequisites_respected",
    "contact_attempts",
    "dst_transitions",
    "instants",
    "loan_histories",
    "payments",
    "portfolios",
    "promises",
    "run_invariant",
    "step_events",
]
