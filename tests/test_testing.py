"""The public strategies of dunning.testing draw valid input and honour their narrowing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st

import dunning.testing as testing
from dunning._base.errors import InputError
from dunning._base.time import local_date
from dunning._portfolio.feeds import BORROWER_LEVEL, group_by_loan
from dunning._state.account import AccountState
from dunning.events import (
    BorrowerDeceased,
    CeaseContactRequested,
    ContactAttempted,
    Event,
    InstallmentDue,
    LoanOpened,
    PaymentReceived,
    PromiseToPay,
)
from dunning.testing import (
    BEHAVIOURS,
    EDGE_TIMES,
    account_states,
    as_of_times,
    dst_transitions,
    loan_histories,
    portfolios,
)

SMALL = {"max_months": 4, "max_events": 2}


def _of(events: list[Event], kind: type[Event]) -> list[Event]:
    return [e for e in events if isinstance(e, kind)]


def _total(i: InstallmentDue) -> Decimal:
    return i.principal + i.interest + i.fees


# --- narrowing by place and product ------------------------------------------------------------


@given(
    loan_histories(
        currency="JPY", timezone="America/New_York", product=("card", "mortgage"), **SMALL
    )
)
def test_histories_narrowed_by_currency_zone_and_product(events: list[Event]) -> None:
    """A JPY card or mortgage loan in New York: amounts in yen, the zone and product hold."""
    opened = events[0]
    assert isinstance(opened, LoanOpened)
    assert ("JPY", "America/New_York") == (opened.currency, opened.timezone)
    assert opened.product in {"card", "mortgage"}
    assert {"JPY"} >= {getattr(e, "currency", "JPY") for e in events}
    assert "JPY" == AccountState.from_events(events).currency


@given(account_states(currency="GBP", timezone="Europe/London", product="overdraft", **SMALL))
def test_account_states_are_folded_histories(state: AccountState) -> None:
    """account_states gives the state of its history: folding state.events again is the same."""
    assert ("GBP", "Europe/London", "overdraft") == (state.currency, state.timezone, state.product)
    assert state == AccountState.from_events(state.events)


def test_bad_narrowing_is_refused_when_the_strategy_is_built() -> None:
    """Unknown behaviours, currencies and zones are InputErrors naming the value, with a hint."""
    with pytest.raises(
        InputError, match=r"unknown behaviour 'pays_latte'.*did you mean 'pays_late'"
    ):
        loan_histories(behaviours=("pays_latte",))
    with pytest.raises(InputError, match="at least one behaviour"):
        loan_histories(behaviours=())
    with pytest.raises(InputError, match="found 'XXX'"):
        loan_histories(currency="XXX")
    with pytest.raises(InputError, match="found 'Mars/Base'"):
        portfolios(timezones=("Mars/Base",))
    with pytest.raises(InputError, match="n_loans"):
        portfolios(n_loans=0)


# --- behaviours ------------------------------------------------------------------------------


def _pays_on_time(events: list[Event], tz: str) -> bool:
    dues, pays = _of(events, InstallmentDue), _of(events, PaymentReceived)
    return len(dues) == len(pays) and all(
        p.amount == _total(i)
        and i.due_date - timedelta(days=5) <= local_date(p.at, tz) <= i.due_date
        for i, p in zip(dues, pays, strict=True)
    )


def _pays_late(events: list[Event], tz: str) -> bool:
    dues, pays = _of(events, InstallmentDue), _of(events, PaymentReceived)
    return len(dues) == len(pays) and all(
        p.amount == _total(i) and local_date(p.at, tz) > i.due_date
        for i, p in zip(dues, pays, strict=True)
    )


def _partial_payer(events: list[Event], tz: str) -> bool:
    smallest = min(_total(i) for i in _of(events, InstallmentDue))
    pays = _of(events, PaymentReceived)
    return bool(pays) and all(p.amount < smallest for p in pays)


def _keeps(p: PaymentReceived, promise: PromiseToPay, tz: str) -> bool:
    return promise.at <= p.at and local_date(p.at, tz) <= promise.promised_date


def _promises_and_breaks(events: list[Event], tz: str) -> bool:
    promises, pays = _of(events, PromiseToPay), _of(events, PaymentReceived)
    broken = [pr for pr in promises if not any(_keeps(p, pr, tz) for p in pays)]
    every_payment_keeps_one = all(any(_keeps(p, pr, tz) for pr in promises) for p in pays)
    return bool(broken) and every_payment_keeps_one


def _silent(events: list[Event], tz: str) -> bool:
    contacts = _of(events, ContactAttempted)
    answered = {"right_party", "third_party", "refused"}
    return (
        not _of(events, PaymentReceived)
        and not _of(events, PromiseToPay)
        and all(c.direction == "outbound" and c.outcome not in answered for c in contacts)
    )


def _types(events: list[Event]) -> list[str]:
    return [e.type for e in events]


def _after_stop_no_outbound(events: list[Event], stop: type[Event]) -> bool:
    stops = _of(events, stop)
    outbound = [c for c in _of(events, ContactAttempted) if c.direction == "outbound"]

    def ruled_out(c: ContactAttempted, s: Event) -> bool:
        channels = getattr(s, "channels", ("any",))
        return c.at >= s.at and ("any" in channels or c.channel in channels)

    return bool(stops) and not any(ruled_out(c, s) for c in outbound for s in stops)


# What each behaviour must make visible in the events (the borrower's story, checked).
SHOWS: dict[str, Callable[[list[Event], str], bool]] = {
    "pays_on_time": _pays_on_time,
    "pays_late": _pays_late,
    "partial_payer": _partial_payer,
    "promises_and_breaks": _promises_and_breaks,
    "silent": _silent,
    "disputes": lambda ev, tz: "dispute_raised" in _types(ev),
    "hardship_plan": lambda ev, tz: (
        _types(ev).index("hardship_declared") < _types(ev).index("repayment_plan_agreed")
    ),
    "bankruptcy": lambda ev, tz: "bankruptcy_filed" in _types(ev),
    "ceases_contact": lambda ev, tz: _after_stop_no_outbound(ev, CeaseContactRequested),
    "deceased": lambda ev, tz: _after_stop_no_outbound(ev, BorrowerDeceased),
}


def test_the_behaviour_table_covers_every_behaviour() -> None:
    """The test table and the public list name the same behaviours, in the same order."""
    assert list(BEHAVIOURS) == list(SHOWS)


@pytest.mark.parametrize("behaviour", BEHAVIOURS)
@given(data=st.data())
def test_each_behaviour_shows_in_the_history(behaviour: str, data: st.DataObject) -> None:
    """A history narrowed to one behaviour folds and tells that behaviour's story."""
    tz = data.draw(st.sampled_from(["Asia/Shanghai", "America/New_York"]))
    events = data.draw(loan_histories(timezone=tz, behaviours=(behaviour,), **SMALL))
    state = AccountState.from_events(events)
    assert SHOWS[behaviour](events, tz)
    assert len(events) == len({e.event_id for e in events})
    if behaviour == "bankruptcy":
        assert "none" != state.bankruptcy
    if behaviour == "deceased":
        assert state.deceased


@given(loan_histories(behaviours=("silent", "pays_on_time"), **SMALL))
def test_a_mix_draws_one_of_its_behaviours(events: list[Event]) -> None:
    """With a mix of two behaviours, each history is one of them."""
    assert SHOWS["silent"](events, "Asia/Shanghai") or SHOWS["pays_on_time"](
        events, "Asia/Shanghai"
    )


# --- as_of times and daylight saving ------------------------------------------------------------


def test_dst_transitions_of_new_york_and_shanghai() -> None:
    """New York changes its offset twice a year (at 2:00 local); Shanghai never does."""
    start, end = datetime(2023, 1, 1, tzinfo=UTC), datetime(2024, 12, 31, tzinfo=UTC)
    expected = (
        datetime(2023, 3, 12, 7, 0, tzinfo=UTC),
        datetime(2023, 11, 5, 6, 0, tzinfo=UTC),
        datetime(2024, 3, 10, 7, 0, tzinfo=UTC),
        datetime(2024, 11, 3, 6, 0, tzinfo=UTC),
    )
    assert expected == dst_transitions("America/New_York", start, end)
    assert () == dst_transitions("Asia/Shanghai", start, end)


NY_HISTORIES = loan_histories(timezone="America/New_York", max_months=2, max_events=2)


@given(NY_HISTORIES, st.data())
def test_dst_edges_stay_in_range(events: list[Event], data: st.DataObject) -> None:
    """Biased or not, an as_of is at or after the last event and at most max_days later."""
    last = max(e.at for e in events)
    as_of = data.draw(as_of_times(events, max_days=100, dst_edges=True))
    assert last <= as_of <= last + timedelta(days=100)


def _near_change(at: datetime) -> bool:
    return any(
        abs(t - at) <= timedelta(hours=2)
        for t in dst_transitions("America/New_York", at - timedelta(days=1), at + timedelta(days=1))
    )


def _on_edge(at: datetime) -> bool:
    return at.astimezone(ZONE_NY).time() in EDGE_TIMES


ZONE_NY = ZoneInfo("America/New_York")
# A loan opened in New York on a winter morning (two changes fall in the next 400 days).
OPENED_NY = LoanOpened(
    event_id="e0000", loan_id="L1", borrower_id="B1", at=datetime(2023, 1, 16, 15, 0, tzinfo=UTC),
    principal=Decimal("1000.00"), currency="USD", timezone="America/New_York",
)  # fmt: skip
FIND = settings(database=None, derandomize=True, max_examples=200)


def test_dst_edges_reach_transitions_and_day_edges() -> None:
    """With dst_edges, draws land within two hours of a New York change and on 22:00 edges."""
    events = [OPENED_NY]
    biased = as_of_times(events, max_days=400, dst_edges=True)
    assert _near_change(find(biased, _near_change, settings=FIND))
    assert _on_edge(find(biased, _on_edge, settings=FIND))
    at_ten = find(biased, lambda at: at.astimezone(ZONE_NY).time() == time(22, 0), settings=FIND)
    assert time(22, 0) == at_ten.astimezone(ZONE_NY).time()


def test_without_dst_edges_the_times_are_unbiased() -> None:
    """By default as_of_times is a plain range: its simplest draw is the last event itself."""
    events: list[Event] = [OPENED_NY]
    assert max(e.at for e in events) == find(as_of_times(events), lambda at: True, settings=FIND)


# --- portfolios ------------------------------------------------------------------------------


@given(
    portfolios(
        n_loans=(2, 5),
        currencies=("CNY", "USD"),
        timezones=("Asia/Shanghai", "America/New_York"),
        behaviours=("pays_late", "bankruptcy", "ceases_contact"),
        max_months=3,
        max_events=2,
    )
)
def test_portfolios_share_borrowers_and_group_back(histories: list[list[Event]]) -> None:
    """A portfolio has a borrower with two loans; grouping the feed gives each loan its events."""
    opened = [h[0] for h in histories]
    assert all(isinstance(o, LoanOpened) for o in opened)
    loans = [o.loan_id for o in opened]
    borrowers = [getattr(o, "borrower_id", None) for o in opened]
    assert len(loans) == len(set(loans))
    assert len(set(borrowers)) < len(borrowers)
    grouped = group_by_loan([e for h in histories for e in h])
    assert sorted(loans) == list(grouped)
    for history, borrower in zip(histories, borrowers, strict=True):
        group = grouped[history[0].loan_id]
        extra = [e for e in group if e not in history]
        assert set(history) <= set(group)
        assert all(e.type in BORROWER_LEVEL for e in extra)
        assert {borrower} >= {getattr(e, "borrower_id", None) for e in extra}
        AccountState.from_events(group)


@given(portfolios(n_loans=3, max_months=1, max_events=1))
def test_a_fixed_count_of_loans(histories: list[list[Event]]) -> None:
    """n_loans=3 gives loans L001 to L003; event ids start with the loan id and are unique."""
    loans = [getattr(h[0], "loan_id", None) for h in histories]
    assert ["L001", "L002", "L003"] == loans
    assert all(e.event_id.startswith(f"{h[0].event_id[:4]}-") for h in histories for e in h)
    ids = [e.event_id for h in histories for e in h]
    assert len(ids) == len(set(ids))


def test_all_is_sorted_and_complete() -> None:
    """__all__ is one sorted list (constants, then classes, then functions) of real names."""

    def key(name: str) -> tuple[int, str]:
        return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)

    assert sorted(testing.__all__, key=key) == testing.__all__
    assert [] == [name for name in testing.__all__ if not hasattr(testing, name)]
    assert {"account_states", "portfolios", "dst_transitions", "BEHAVIOURS"} <= set(testing.__all__)
