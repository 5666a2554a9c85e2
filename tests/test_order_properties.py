"""Events at the same instant are ordered by cause, never by the spelling of their ids.

The property: take any generated history, pile some of its events onto the instant of the
event before (as core banking does when it writes several in one transaction), then relabel
every event id (random UUIDs, or labels whose sort order is the reverse of the original).
The decision's status, step, not_before and blocked list, and every fact, do not change.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from dunning import AccountState, Engine, load_rules
from dunning._state.order import RANK
from dunning.events import EVENT_TYPES
from dunning.testing import as_of_times, loan_histories

RULES = load_rules(Path(__file__).resolve().parents[1] / "rules" / "cn-bank-retail.yaml")
ENGINE = Engine(RULES)


def piled(events: list[Any], pile: list[bool]) -> list[Any]:
    """`events` (in time order) with each flagged event moved to the previous one's instant."""
    out = [events[0]]
    for event, flag in zip(events[1:], pile, strict=False):
        out.append(event.model_copy(update={"at": out[-1].at}) if flag else event)
    out += events[len(out) :]
    return out


def relabelled(events: list[Any], labels: list[str]) -> list[Any]:
    new = dict(zip((e.event_id for e in events), labels, strict=False))
    out = []
    for e in events:
        update: dict[str, Any] = {"event_id": new[e.event_id]}
        if e.type == "payment_reversed":
            update["payment_event_id"] = new[e.payment_event_id]
        out.append(e.model_copy(update=update))
    return out


def outcome(events: list[Any], as_of: Any) -> tuple[Any, ...]:
    d = ENGINE.decide(events, as_of)
    facts = dict(AccountState.from_events(events).facts(as_of, RULES))
    return (d.status, d.step, d.not_before, d.blocked, d.flags, facts)


@st.composite
def cases(draw: st.DrawFn) -> tuple[list[Any], list[Any], Any]:
    events = draw(loan_histories(max_months=6, max_events=4))
    events = piled(events, draw(st.lists(st.booleans(), min_size=len(events))))
    n = len(events)
    if draw(st.booleans()):
        labels = [str(u) for u in draw(st.lists(st.uuids(), min_size=n, max_size=n, unique=True))]
    else:
        labels = [f"x{n - i:05d}" for i in range(n)]  # the reverse of the original id order
    as_of = draw(as_of_times(events, max_days=120))
    return events, relabelled(events, labels), as_of


@given(cases())
def test_relabelling_the_ids_changes_nothing(case: tuple[list[Any], list[Any], Any]) -> None:
    """Same status, step, not_before, blocked, flags and facts under any id spelling."""
    events, other, as_of = case
    assert outcome(events, as_of) == outcome(other, as_of)


def test_the_rank_table_covers_every_event_type() -> None:
    """Every event type has a rank; causes come before their effects."""
    assert set(RANK) == set(EVENT_TYPES)
    before = [
        ("loan_opened", "installment_due"),
        ("repayment_plan_agreed", "installment_due"),
        ("installment_due", "payment_received"),
        ("payment_received", "payment_reversed"),
        ("repayment_plan_agreed", "repayment_plan_cancelled"),
        ("dispute_raised", "dispute_resolved"),
        ("bankruptcy_filed", "bankruptcy_closed"),
        ("breathing_space_started", "breathing_space_ended"),
        ("complaint_opened", "complaint_resolved"),
        ("hardship_declared", "hardship_ended"),
    ]
    assert all(RANK[a] < RANK[b] for a, b in before)


OPEN = {"type": "loan_opened", "event_id": "f3c1e6a0-0000-4000-8000-000000000001",
        "loan_id": "L1", "borrower_id": "B1", "at": "2025-01-10T09:00:00+08:00",
        "principal": "3000.00", "currency": "CNY", "timezone": "Asia/Shanghai"}  # fmt: skip


def test_origination_and_schedule_in_one_transaction_with_uuid_ids() -> None:
    """Core banking writes the loan and its three dues in one transaction: one `at`, UUID ids
    that sort before the loan's own. The loan opens first and all three dues are charged; a
    payment `zz-pay` and its reversal `aa-rev` at one instant undo each other."""
    dues = [
        {"type": "installment_due", "event_id": f"0a7e{n}d2c-0000-4000-8000-00000000000{n}",
         "loan_id": "L1", "at": OPEN["at"], "due_date": f"2025-0{n + 1}-10",
         "principal": "1000.00", "currency": "CNY"}
        for n in (1, 2, 3)
    ]  # fmt: skip
    pay = {"type": "payment_received", "event_id": "zz-pay", "loan_id": "L1",
           "at": "2025-02-10T12:00:00+08:00", "amount": "1000.00", "currency": "CNY"}  # fmt: skip
    rev = {"type": "payment_reversed", "event_id": "aa-rev", "loan_id": "L1", "at": pay["at"],
           "payment_event_id": "zz-pay"}  # fmt: skip
    state = AccountState.from_events([*dues, rev, pay, OPEN])
    assert state.events[0].type == "loan_opened"
    facts = state.facts("2025-03-20T10:00:00+08:00")
    assert facts["installments_overdue"] == 2 and facts["dpd"] == 38
    assert state.payments[0].reversed


def test_the_feed_sequence_number_orders_what_the_type_cannot() -> None:
    """Two vulnerability flags in one transaction: the feed's `seq` says which came last."""
    flag = {"type": "vulnerability_flagged", "loan_id": "L1", "borrower_id": "B1",
            "at": "2025-02-01T10:00:00+08:00"}  # fmt: skip
    on = {**flag, "event_id": "zz", "active": True, "seq": 1}
    off = {**flag, "event_id": "aa", "active": False, "seq": 2}
    assert not AccountState.from_events([OPEN, on, off]).vulnerable
    assert AccountState.from_events([OPEN, {**on, "seq": 3}, off]).vulnerable


@given(st.data())
def test_a_state_cut_at_any_instant_equals_the_fold_of_the_events_known_then(
    data: st.DataObject,
) -> None:
    """`state.until(t)` equals folding the events with ``at <= t``, for any t from the
    opening on; with the schedule loaded in advance (only dues ahead) and without."""
    events = data.draw(loan_histories(max_months=6, max_events=4))
    if data.draw(st.booleans()):  # the schedule loaded with the loan
        opened = events[0].at
        events = [e.model_copy(update={"at": opened}) if e.type == "installment_due" else e
                  for e in events]  # fmt: skip
    times = sorted({e.at for e in events})
    t = data.draw(st.sampled_from(times))
    if data.draw(st.booleans()):  # the last moment before only dues lie ahead (fast path)
        t = max(e.at for e in events if e.type != "installment_due")
    full = AccountState.from_events(events)
    known = AccountState.from_events([e for e in events if e.at <= t])
    assert full.until(t) == known
    assert dict(full.facts(t, RULES)) == dict(known.facts(t, RULES))


def test_the_concepts_page_prints_the_rank_table() -> None:
    """docs/concepts.md shows the rank table as `_state.order.RANK` has it, row for row."""
    page = (Path(__file__).resolve().parents[1] / "docs" / "concepts.md").read_text("utf-8")
    by_rank: dict[int, list[str]] = {}
    for kind, rank in RANK.items():
        by_rank.setdefault(rank, []).append(f"`{kind}`")
    for rank, kinds in sorted(by_rank.items()):
        assert f"| {rank} | {', '.join(kinds)} |" in page


@given(st.data())
def test_applying_later_events_to_a_schedule_loaded_in_advance_equals_a_full_fold(
    data: st.DataObject,
) -> None:
    """A snapshot holding its whole schedule (dues ahead), then the rest of the history in
    one or two nights: the same state as folding everything at once."""
    events = data.draw(loan_histories(max_months=6, max_events=4))
    dues = [e for e in events if e.type == "installment_due"]
    rest = [e for e in events[1:] if e.type != "installment_due"]
    cut = data.draw(st.integers(0, len(rest)))
    state = AccountState.from_events([events[0], *dues]).apply(rest[:cut]).apply(rest[cut:])
    assert state == AccountState.from_events(events)
