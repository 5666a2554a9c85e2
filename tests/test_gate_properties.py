"""Property tests: whatever the history and the moment, the gate never returns a step that
breaks a limit of its rule set, and its not_before / until instants are exact.

The oracle (`Oracle.breaks`) is written here, from the limit definitions in the rule-file
documentation, by brute force: it converts the instant to the borrower's wall clock and asks
the `holidays` package directly, counts contacts by comparing local dates, and compares
instants — it calls nothing from `_gate`, `_limits`, `_window` or `_calendar`.

Generated: rule files with contact windows (weekdays, holidays same/deny/own hours, a CN
calendar with 调休 and file dates), frequency caps (attempts/conversations, channels, scopes,
day and hour windows, inbound/consented/outcome filters), quiet periods (conversation,
promise, payment, step; days with the event's day as day 1, or hours; with a `while`),
block-while conditions, prerequisites and step cooldowns; histories of contacts at any hour on
every channel for this loan, another loan or none, steps, promises and payments; `as_of`
instants around the Spring Festival and both daylight-saving changes of New York, London and
Lord Howe Island (a 30-minute change).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import holidays
from hypothesis import given
from hypothesis import strategies as st

from dunning._gate.gate import Candidate, evaluate
from gate_support import STEPS_YAML, C, P, S, State, facts, hand_ruleset

ZONES = ("Asia/Shanghai", "America/New_York", "Europe/London", "Australia/Lord_Howe")
BASES = (
    datetime(2025, 1, 24, tzinfo=ZoneInfo("UTC")),  # Spring Festival and the 调休 Saturday
    datetime(2025, 3, 5, tzinfo=ZoneInfo("UTC")),  # US spring forward 9 March
    datetime(2025, 3, 27, tzinfo=ZoneInfo("UTC")),  # EU spring forward 30 March
    datetime(2025, 4, 1, tzinfo=ZoneInfo("UTC")),  # Lord Howe falls back 6 April
    datetime(2025, 10, 1, tzinfo=ZoneInfo("UTC")),  # Lord Howe springs forward 5 October
    datetime(2025, 10, 23, tzinfo=ZoneInfo("UTC")),  # EU fall back 26 Oct, US 2 Nov
)
STEP_IDS = ("sms_reminder", "phone_collection", "overdue_letter", "visit_notice", "field_visit")
STEP_CHANNEL = {
    "sms_reminder": "sms",
    "phone_collection": "phone",
    "overdue_letter": "letter",
    "visit_notice": "letter",
    "field_visit": "visit",
}
CHANNELS = ("phone", "sms", "visit", "letter")
OUTCOMES = ("right_party", "no_answer", "voicemail", "refused", "third_party")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
EPS = timedelta(microseconds=1)
UTC = ZoneInfo("UTC")

# -- generated rule files ----------------------------------------------------------------------


def u(t: datetime) -> datetime:
    """The instant in UTC: Python compares and adds same-zone datetimes on the wall clock."""
    return t.astimezone(UTC)


def hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@st.composite
def hours_entry(draw: st.DrawFn) -> dict[str, Any]:
    start = draw(st.integers(0, 46)) * 30
    end = draw(st.integers(start // 30 + 1, 48)) * 30
    days = draw(st.lists(st.sampled_from(WEEKDAYS), min_size=1, max_size=7, unique=True))
    return {"days": sorted(days, key=WEEKDAYS.index), "from": hhmm(start), "to": hhmm(end)}


def selector() -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(
        st.just({"all": True}),
        st.builds(
            lambda c: {"channels": c},
            st.lists(
                st.sampled_from(("phone", "sms", "visit", "letter", "any")),
                min_size=1,
                max_size=2,
                unique=True,
            ),
        ),
        st.builds(
            lambda s: {"steps": s},
            st.lists(st.sampled_from(STEP_IDS), min_size=1, max_size=3, unique=True),
        ),
    )


def window() -> st.SearchStrategy[str]:
    return st.one_of(
        st.integers(1, 7).map(lambda n: f"{n}d"), st.integers(1, 48).map(lambda n: f"{n}h")
    )


@st.composite
def limit(draw: st.DrawFn, i: int) -> dict[str, Any]:
    kind = draw(
        st.sampled_from(
            ("contact_window", "frequency_cap", "quiet_period", "block_while", "prerequisite")
        )
    )
    base = {"id": f"l{i}", "kind": kind, "applies_to": draw(selector()), "source": f"S{i}"}
    if kind == "contact_window":
        base["hours"] = draw(st.lists(hours_entry(), min_size=1, max_size=2))
        base["on_holidays"] = draw(
            st.one_of(
                st.sampled_from(("same", "deny")), st.lists(hours_entry(), min_size=1, max_size=1)
            )
        )
    elif kind == "frequency_cap":
        base.update(
            count=draw(st.sampled_from(("attempts", "conversations"))),
            channel=draw(st.sampled_from(("any", "phone", "sms"))),
            max=draw(st.integers(0, 4)),
            window=draw(window()),
            scope=draw(st.sampled_from(("debt", "borrower", "contact_point"))),
            outcomes=draw(st.sampled_from(((), ("no_answer", "voicemail"), ("right_party",)))),
            exclude_inbound=draw(st.booleans()),
            exclude_consented=draw(st.booleans()),
        )
    elif kind == "quiet_period":
        after = draw(st.sampled_from(("conversation", "promise", "payment", "step")))
        days = draw(st.booleans())
        base.update(
            after=after,
            after_channel=draw(st.sampled_from(("any", "phone"))),
            duration=f"{draw(st.integers(1, 7))}d" if days else f"{draw(st.integers(1, 72))}h",
            first_day_counts=days,
        )
        if after == "step":
            base["after_step"] = draw(st.sampled_from(STEP_IDS))
        if draw(st.booleans()):
            base["while"] = 'plan_status == "active"'
    elif kind == "block_while":
        base["when"] = draw(st.sampled_from(("dispute_open", "hardship and dpd > 10")))
    else:
        gap = draw(st.integers(0, 96))
        base.update(requires=draw(st.sampled_from(STEP_IDS)), min_gap=f"{gap}h")
        if draw(st.booleans()):
            base["max_age"] = f"{gap + draw(st.integers(1, 200))}h"
    return base


@st.composite
def rule_file(draw: st.DrawFn, tz: str) -> dict[str, Any]:
    import yaml

    steps = yaml.safe_load(STEPS_YAML)["steps"]
    for s in steps:
        s.pop("cooldown", None)
        if draw(st.booleans()):
            s["cooldown"] = f"{draw(st.integers(1, 48))}h"
    n = draw(st.integers(1, 5))
    cal: dict[str, Any] = {"extra_holidays": [], "extra_workdays": []}
    if draw(st.booleans()):
        cal["country"] = "CN"
    cal["extra_holidays"] = draw(st.lists(st.sampled_from(EXTRA_DATES), max_size=2, unique=True))
    return {
        "dunning": 1,
        "id": "prop",
        "version": "1",
        "jurisdiction": "CN",
        "currency": "CNY",
        "timezone": tz,
        "calendar": cal,
        "steps": steps,
        "limits": [draw(limit(i)) for i in range(n)],
    }


EXTRA_DATES = tuple(
    date(2025, m, d) for m, d in ((1, 27), (3, 10), (4, 3), (10, 24), (10, 27), (11, 3))
)

# -- generated histories -------------------------------------------------------------------------


@st.composite
def history(draw: st.DrawFn, as_of: datetime) -> State:
    def before() -> datetime:
        return as_of - timedelta(seconds=draw(st.integers(0, 10 * 86400)))

    contacts = [
        C(
            at=before(),
            channel=draw(st.sampled_from(CHANNELS)),
            direction=draw(st.sampled_from(("outbound", "outbound", "inbound"))),
            outcome=draw(st.sampled_from(OUTCOMES)),
            consented=draw(st.booleans()),
            loan_id=draw(st.sampled_from(("L1", "L1", "L2", None))),
            contact_point=draw(st.sampled_from((None, "p1", "p2"))),
        )
        for _ in range(draw(st.integers(0, 14)))
    ]
    steps = [S(before(), draw(st.sampled_from(STEP_IDS))) for _ in range(draw(st.integers(0, 4)))]
    promises = [P(before()) for _ in range(draw(st.integers(0, 1)))]
    payments = [P(before(), draw(st.booleans())) for _ in range(draw(st.integers(0, 2)))]
    return State(
        timezone=str(as_of.tzinfo),
        contacts=tuple(sorted(contacts, key=lambda c: c.at)),
        steps_taken=tuple(sorted(steps, key=lambda s: s.at)),
        promises=tuple(promises),
        payments=tuple(payments),
    )


@lru_cache(maxsize=8)
def _cn_holidays(year: int) -> Any:
    return holidays.country_holidays("CN", years=year)


# -- the independent oracle ----------------------------------------------------------------------


@dataclass
class Oracle:
    doc: dict[str, Any]
    state: State
    facts: dict[str, Any]

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.doc["timezone"])

    def wall(self, t: datetime) -> datetime:
        return t.astimezone(self.zone)

    def selected(self, lim: dict[str, Any], step: str) -> bool:
        sel = lim["applies_to"]
        chans = sel.get("channels", [])
        return bool(
            sel.get("all")
            or step in sel.get("steps", [])
            or STEP_CHANNEL[step] in chans
            or "any" in chans
        )

    def breaks(self, step: str, t: datetime) -> set[str]:
        """The ids of the limits (and cooldown) that taking `step` at `t` would break."""
        t = u(t)
        out = {
            lim["id"]
            for lim in self.doc["limits"]
            if self.selected(lim, step) and self.held(lim, step, t)
        }
        spec = next(s for s in self.doc["steps"] if s["id"] == step)
        if "cooldown" in spec:
            hours = int(spec["cooldown"][:-1])
            if any(
                r.step == step and u(r.at) <= t < u(r.at) + timedelta(hours=hours)
                for r in self.state.steps_taken
            ):
                out.add(f"cooldown:{step}")
        return out

    def held(self, lim: dict[str, Any], step: str, t: datetime) -> bool:
        t, kind = u(t), lim["kind"]
        if kind == "contact_window":
            return not self.in_window(lim, t)
        if kind == "frequency_cap":
            return self.cap_reached(lim, t)
        if kind == "quiet_period":
            return self.quiet(lim, t)
        if kind == "block_while":
            if lim["when"] == "dispute_open":
                return bool(self.facts["dispute_open"])
            return bool(self.facts["hardship"] and self.facts["dpd"] > 10)
        gap, age = int(lim["min_gap"][:-1]), lim.get("max_age")
        return not any(
            r.step == lim["requires"]
            and u(r.at) + timedelta(hours=gap) <= t
            and (age is None or t < u(r.at) + timedelta(hours=int(age[:-1])))
            for r in self.state.steps_taken
        )

    def day_kind(self, d: date) -> str:
        cal = self.doc["calendar"]
        cn = _cn_holidays(d.year) if cal.get("country") == "CN" else None
        if d in cal["extra_holidays"] or (cn is not None and d in cn):
            return "holiday"
        if cn is not None and d in cn.weekend_workdays:  # 调休: a weekend day worked
            return "makeup"
        return "plain"

    def in_window(self, lim: dict[str, Any], t: datetime) -> bool:
        w = self.wall(t)
        kind, weekday = self.day_kind(w.date()), WEEKDAYS[w.weekday()]
        entries = lim["hours"]
        if kind == "holiday":
            if lim["on_holidays"] == "deny":
                return False
            if lim["on_holidays"] != "same":
                entries = lim["on_holidays"]
        elif kind == "makeup":
            weekday = "mon"
        now = w.strftime("%H:%M:%S.%f")
        return any(
            weekday in e["days"] and e["from"] + ":00.000000" <= now < e["to"] + ":00.000000"
            for e in entries
        )

    def counted(self, lim: dict[str, Any], c: C, t: datetime) -> bool:
        unit, n = lim["window"][-1], int(lim["window"][:-1])
        if u(c.at) > t:
            return False
        if unit == "d":
            age_days = (self.wall(t).date() - self.wall(c.at).date()).days
            in_window = age_days < n
        else:
            in_window = t - u(c.at) < timedelta(hours=n)
        return (
            in_window
            and (lim["scope"] != "debt" or c.loan_id in ("L1", None))
            and (lim["channel"] == "any" or c.channel == lim["channel"])
            and (lim["count"] == "attempts" or c.outcome == "right_party")
            and (not lim["outcomes"] or c.outcome in lim["outcomes"])
            and not (lim["exclude_inbound"] and c.direction == "inbound")
            and not (lim["exclude_consented"] and c.consented)
        )

    def cap_reached(self, lim: dict[str, Any], t: datetime) -> bool:
        counted = [c for c in self.state.contacts if self.counted(lim, c, t)]
        if lim["scope"] != "contact_point":
            return len(counted) >= lim["max"]
        points = {c.contact_point for c in counted}
        return lim["max"] == 0 or any(
            sum(1 for c in counted if c.contact_point == p) >= lim["max"] for p in points
        )

    def quiet(self, lim: dict[str, Any], t: datetime) -> bool:
        after = lim["after"]
        if after == "conversation":
            times = [
                c.at
                for c in self.state.contacts
                if c.outcome == "right_party"
                and c.loan_id in ("L1", None)
                and lim["after_channel"] in ("any", c.channel)
            ]
        elif after == "promise":
            times = [p.at for p in self.state.promises]
        elif after == "payment":
            times = [p.at for p in self.state.payments if not p.reversed]
        else:
            times = [r.at for r in self.state.steps_taken if r.step == lim["after_step"]]
        times = [u(x) for x in times if u(x) <= t]
        if not times or ("while" in lim and self.facts["plan_status"] != "active"):
            return False
        e = max(times)
        unit, n = lim["duration"][-1], int(lim["duration"][:-1])
        if unit == "d":  # the event's local day is day 1
            return (self.wall(t).date() - self.wall(e).date()).days < n
        return t < e + timedelta(hours=n)


# -- the properties ------------------------------------------------------------------------------


@st.composite
def case(
    draw: st.DrawFn,
) -> tuple[dict[str, Any], State, dict[str, Any], datetime, list[Candidate]]:
    tz = draw(st.sampled_from(ZONES))
    base = draw(st.sampled_from(BASES))
    as_of = (base + timedelta(minutes=draw(st.integers(0, 20 * 24 * 60)))).astimezone(ZoneInfo(tz))
    doc = draw(rule_file(tz))
    state = draw(history(as_of))
    f = facts(
        dispute_open=draw(st.booleans()) and draw(st.booleans()),
        hardship=draw(st.booleans()),
        dpd=draw(st.integers(0, 30)),
        plan_status=draw(st.sampled_from(("none", "active", "broken"))),
    )
    steps = draw(st.lists(st.sampled_from(STEP_IDS), min_size=1, max_size=4, unique=True))
    cands = [Candidate(rule_id=f"r{i}", step=s, priority=0, level=0) for i, s in enumerate(steps)]
    return doc, state, f, as_of, cands


@given(case())
def test_no_returned_step_breaks_a_limit(c: tuple[Any, ...]) -> None:
    """The step the gate returns breaks no limit at not_before (or as_of when acting now); no
    earlier instant after as_of would have been lawful for it; preferred candidates are not
    lawful at that instant; and an act/blocked answer means what it says."""
    doc, state, f, as_of, cands = c
    result = evaluate(hand_ruleset(doc), state, f, as_of, cands)
    oracle = Oracle(doc, state, f)
    lawful_now = [x for x in cands if not oracle.breaks(x.step, as_of)]
    if result.status == "act":
        expected = lawful_now[0].step
        assert expected == result.step
        expected = set()
        assert expected == oracle.breaks(result.step, as_of)
    elif result.status == "defer":
        expected = []
        assert expected == lawful_now
        assert result.step is not None and result.not_before is not None
        assert result.not_before > as_of
        expected = set()
        assert expected == oracle.breaks(result.step, result.not_before)
        assert oracle.breaks(result.step, result.not_before - EPS)  # exact: not a moment earlier
        earlier = cands[: [x.step for x in cands].index(result.step)]
        assert all(oracle.breaks(x.step, result.not_before) for x in earlier)
    else:
        expected_status = "blocked"
        assert expected_status == result.status
        expected = []
        assert expected == lawful_now


@given(case())
def test_blocks_are_exactly_the_broken_limits_and_until_is_exact(c: tuple[Any, ...]) -> None:
    """Every (candidate, limit) pair the oracle finds broken at as_of is recorded once, and
    nothing else; a block's `until` is the first instant that limit stops holding the step."""
    doc, state, f, as_of, cands = c
    rules = hand_ruleset(doc)
    result = evaluate(rules, state, f, as_of, cands)
    oracle = Oracle(doc, state, f)
    expected = sorted((x.step, lid) for x in cands for lid in oracle.breaks(x.step, as_of))
    assert expected == sorted((b.step, b.limit_id) for b in result.blocked)
    limits = {lim["id"]: lim for lim in doc["limits"]}
    for b in result.blocked:
        if b.until is None or b.limit_id.startswith("cooldown:"):
            continue
        lim = limits[b.limit_id]
        assert b.until > as_of
        assert not oracle.held(lim, b.step, b.until)
        assert oracle.held(lim, b.step, b.until - EPS)
