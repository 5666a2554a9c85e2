"""Properties of #15 over generated histories, on all three packs:

* no decision proposes a legal step, or one that threatens proceedings, on a claim that is
  time-barred at `as_of` (and no deferral lands on or after the bar);
* no legal step while hardship is declared and no plan was refused or broken (CN, UK);
* the limitation clock never un-bars a claim by a restart after the bar, only by a revival.
"""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

import dunning
from dunning._state.limitation import limitation_clock
from dunning.testing import loan_histories
from lawful_support import PACKS, rules

_MARKETS = ("CN", "UK", "US")
_EXTRA = ("hardship_declared", "repayment_plan_refused", "debt_acknowledged", "step_taken",
          "hardship_ended")  # fmt: skip
_STEPS = ("lawyer_letter", "overdue_letter", "payment_order", "default_notice")


@st.composite
def _cases(draw: st.DrawFn) -> tuple[str, list[object], str]:
    market = draw(st.sampled_from(_MARKETS))
    _, currency, tz = PACKS[market]
    events = draw(loan_histories(currency, tz, max_months=6, max_events=6))
    last = max(e.at for e in events)  # type: ignore[attr-defined]
    extra: list[dict[str, object]] = []
    n = 0

    def add(type_: str, days: int, **fields: object) -> None:
        nonlocal n
        n += 1
        at = (last + timedelta(days=days)).isoformat()
        extra.append({"type": type_, "event_id": f"x{n}", "loan_id": "L1", "at": at, **fields})

    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(_EXTRA))
        days = draw(st.integers(1, 3000))
        if kind == "step_taken":
            add(kind, days, step=draw(st.sampled_from(_STEPS)))
        elif kind == "debt_acknowledged":
            add(kind, days, written=draw(st.booleans()))
        else:
            add(kind, days)
    later = draw(st.integers(0, 4000))
    as_of = (last + timedelta(days=later, minutes=draw(st.integers(0, 1440)))).isoformat()
    keep = [e for e in events if e.type != "loan_closed"]  # type: ignore[attr-defined]
    return market, [*keep, *extra], as_of


def _known_steps(market: str, events: list[object]) -> list[object]:
    steps = rules(market).steps
    return [e for e in events if not (isinstance(e, dict) and e.get("type") == "step_taken"
                                      and e["step"] not in steps)]  # fmt: skip


@settings(max_examples=120, deadline=None)
@given(_cases())
def test_no_legal_or_threatening_step_on_a_barred_claim_nor_against_negotiation(
    case: tuple[str, list[object], str],
) -> None:
    market, events, as_of = case
    events = _known_steps(market, events)
    rs = rules(market)
    parsed = [dunning.events.parse_event(e) for e in events]  # type: ignore[arg-type]
    d = dunning.Engine(rs).decide(parsed, as_of)
    state = dunning.AccountState.from_events([e for e in parsed if e.at <= d.as_of])
    facts = state.facts(as_of, rs)
    if d.step is None:
        return
    step = rs.steps[d.step]
    forbidden = step.kind == "legal" or step.threatens_proceedings
    if facts["time_barred"]:
        assert not forbidden, (d.step, facts["time_bar_date"])
    if forbidden and isinstance(facts["days_to_time_bar"], int) and d.not_before is not None:
        bar = facts["time_bar_date"]
        assert d.not_before.astimezone(ZoneInfo(state.timezone)).date() < bar
    negotiating = (
        facts["hardship"] and not facts["plan_refused"] and facts["plan_status"] != "broken"
    )
    if market in ("CN", "UK") and negotiating:
        assert step.kind != "legal", d.step
        assert d.step != "agency_referral"


@given(
    st.dates(date(2000, 1, 1), date(2030, 1, 1)),
    st.lists(st.integers(0, 4000), max_size=6),
    st.lists(st.integers(0, 4000), max_size=3),
    st.integers(0, 6000),
)
def test_restarts_after_the_bar_never_unbar_only_revivals_do(
    start: date, restarts: list[int], revivals: list[int], later: int
) -> None:
    """Adding a restart dated on or after the current bar never changes the bar; the bar
    never moves earlier than start + period, nor later than the long stop."""
    today = start + timedelta(days=later)
    r = [start + timedelta(days=x) for x in restarts]
    v = [start + timedelta(days=x) for x in revivals]
    bar, ever = limitation_clock(start, r, v, "P3Y", "P20Y", today)
    assert date(start.year + 3, start.month, min(start.day, 28)) <= bar or start.day > 28
    assert bar <= date(start.year + 20, start.month, start.day if start.month != 2 else 28)
    if bar <= today:
        late = bar + timedelta(days=1)
        if late <= today:
            again, _ = limitation_clock(start, [*r, late], v, "P3Y", "P20Y", today)
            assert again == bar
    assert ever == (ever or today >= bar)


_ZONES = ("Asia/Shanghai", "America/Goose_Bay", "America/Sao_Paulo", "Europe/London", "UTC")


@given(
    st.dates(date(1990, 1, 1), date(2030, 1, 1)),
    st.lists(st.integers(0, 3 * 366 * 24 * 60 * 4), max_size=10),
    st.sampled_from(_ZONES),
    st.sampled_from(["P3Y", "P6Y", "P2Y"]),
    st.integers(0, 9000),
)
def test_the_fast_chain_gives_the_exact_clock(
    start: date, minutes: list[int], tz: str, period: str, later: int
) -> None:
    """`limitation_facts` skips converting restarts that each came well inside the running
    period (`_chain_end`); whenever it does, the bar and `ever` equal the exact day-by-day
    walk (`limitation_clock`) over the restarts' local dates — across zones whose clocks
    fall back over midnight (Goose Bay before 2011, Sao Paulo before 2019)."""
    from datetime import datetime

    from dunning._base.time import local_date
    from dunning._state.limitation import _chain_end

    base = datetime(start.year, start.month, start.day, tzinfo=ZoneInfo(tz))
    instants = sorted(base + timedelta(minutes=m) - timedelta(days=2) for m in minutes)
    today = start + timedelta(days=later)
    instants = [i for i in instants if local_date(i, tz) <= today]
    chained = _chain_end(start, instants, period, tz)
    exact_bar, exact_ever = limitation_clock(
        start, [local_date(i, tz) for i in instants], [], period, "P20Y", today
    )
    if chained is not None:
        from dunning._base.time import parse_duration

        bar = min(
            parse_duration(period).add_to_date(chained),
            parse_duration("P20Y").add_to_date(start),
        )
        assert (bar, today >= bar) == (exact_bar, exact_ever)
