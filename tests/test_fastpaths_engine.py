"""The engine's own fast paths give the bytes and verdicts of the reference paths (#20).

* A decision the engine makes keeps each match's shape without its facts, built once per rule
  (`keep_match_shape`); its canonical JSON (content id and `to_json`) must still be the
  generic serialisation's byte for byte, on generated histories of all three packs, and a
  copy of a match (whose content may differ) must never read its original's shape.
* `iso_utc` (isoformat, and a memo of the last instant) writes what the hand formatting did.
* A contact window's verdict is memoised per (instant, zone) inside its checker: the verdict
  must be the one a fresh computation gives, whatever was asked before.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pendulum
from hypothesis import given
from hypothesis import strategies as st

import dunning
from dunning._base.calendars import calendar_for
from dunning._base.time import iso_utc
from dunning._decide.decision import _reference_bytes, canonical_bytes
from dunning._decide.match import _MATCH_KEPT
from dunning._gate.limits import checker
from dunning._gate.window_limit import contact_window
from dunning._rules.schema import ContactWindow
from dunning.testing import loan_histories
from lawful_support import PACKS, rules

_MARKETS = ("CN", "UK", "US")


@st.composite
def _decisions(draw: st.DrawFn) -> dunning.Decision:
    market = draw(st.sampled_from(_MARKETS))
    _, currency, tz = PACKS[market]
    events = draw(loan_histories(currency, tz, max_months=6, max_events=8))
    last = max(e.at for e in events)
    as_of = last + timedelta(days=draw(st.integers(0, 400)), minutes=draw(st.integers(0, 1440)))
    return _engine(market).decide(events, as_of)


_ENGINES: dict[str, dunning.Engine] = {}


def _engine(market: str) -> dunning.Engine:
    if market not in _ENGINES:
        _ENGINES[market] = dunning.Engine(rules(market))
    return _ENGINES[market]


@given(_decisions())
def test_engine_decisions_serialise_as_the_reference(d: dunning.Decision) -> None:
    """Content id and to_json from the kept match shapes equal the generic path's bytes."""
    assert all(_MATCH_KEPT in m.__dict__ for m in d.matched)
    assert canonical_bytes(d) == _reference_bytes(d, with_id=False)
    assert canonical_bytes(d, with_id=True) == _reference_bytes(d, with_id=True)
    assert d.id == d.with_id().id


@given(_decisions(), st.data())
def test_a_copied_match_never_reads_its_originals_shape(
    d: dunning.Decision, data: st.DataObject
) -> None:
    """A match copied with other parts, in a copied decision, serialises as its own content."""
    if not d.matched:
        return
    i = data.draw(st.integers(0, len(d.matched) - 1))
    update = data.draw(
        st.sampled_from(
            [
                {"rule_id": "other_rule"},
                {"priority": 7},
                {"reason": {"en": "changed"}},
                {"grade": "bank_policy"},
                {"source_zh": None},
                {"url": "https://example.org/x"},
            ]
        )
    )
    matched = list(d.matched)
    matched[i] = matched[i].model_copy(update=update)
    copy = d.model_copy(update={"matched": tuple(matched)})
    assert canonical_bytes(copy) == _reference_bytes(copy, with_id=False)
    if matched[i].model_dump() != d.matched[i].model_dump():
        assert canonical_bytes(copy) != canonical_bytes(d)


@given(
    st.lists(
        st.datetimes(
            min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
        ),
        min_size=1,
        max_size=12,
    ),
    st.sampled_from(_MARKETS),
)
def test_the_window_memo_answers_as_a_fresh_computation(at: list[datetime], market: str) -> None:
    """Asked again and again, in any order, the memoised verdict is the fresh one."""
    rs = rules(market)
    tz = PACKS[market][2]
    cal = calendar_for(rs.document.calendar)
    windows = [lim for lim in rs.document.limits if isinstance(lim, ContactWindow)]
    assert windows

    class _State:  # the window checker reads only the state's zone
        timezone = tz

    for limit in windows:
        ask = checker(rs, limit)
        for t in [*at, *reversed(at)]:
            assert ask(_State(), {}, t, t) == contact_window(cal, limit, t, tz)  # type: ignore[arg-type]


def _iso_by_hand(at: datetime) -> str:
    """The formatting `iso_utc` had before #20 (the reference)."""
    u = at.astimezone(UTC)
    text = f"{u.year:04d}-{u.month:02d}-{u.day:02d}T{u.hour:02d}:{u.minute:02d}:{u.second:02d}"
    if u.microsecond:
        text += f".{u.microsecond:06d}"
    return text + "Z"


@given(
    st.lists(
        st.datetimes(min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31),
                     timezones=st.sampled_from([UTC, ZoneInfo("Asia/Shanghai"),
                                                ZoneInfo("America/St_Johns"), ZoneInfo("UTC")])),
        min_size=1, max_size=6,
    )
)  # fmt: skip
def test_iso_utc_writes_the_reference_text(instants: list[datetime]) -> None:
    """Every instant, asked once or twice in a row, in any zone, with or without microseconds
    and with years below 1000, gives the reference text."""
    for at in [*instants, *instants[::-1], instants[0], instants[0]]:
        assert iso_utc(at) == _iso_by_hand(at)
    moment = pendulum.datetime(2026, 3, 8, 1, 30, 5, tz="America/New_York")
    assert iso_utc(moment) == _iso_by_hand(moment) == "2026-03-08T06:30:05Z"
