"""A day-by-day collections simulator for the pack scenario tests.

Theory of operation. A loan of 12 monthly installments is opened; the borrower misses the
first one (day 0 = its due date). Every simulated day at 10:00 local time the bank asks the
engine for a decision; when the decision says "now" (no `not_before`) the bank takes the step
a minute later: a `step_taken` event, plus a `contact_attempted` event for steps on a contact
channel, whose outcome the borrower's behaviour chooses. A deferred step is not taken: the
bank asks again the next day. The borrower then reacts (pays, promises, disputes, ...) by
returning events for that day. Installments fall due on the 1st of each month at 00:00.

The result is the list of daily decisions; `changes()` keeps the days where the step or its
`not_before` changed, which is what the scenario tests assert. Decisions are made on the
incrementally applied state (`state.apply`), so a 210-day run is a few hundred decisions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
CONTACT_CHANNELS = ("phone", "sms", "email", "letter", "app", "visit")
FIRST_DUE = date(2025, 3, 1)


@dataclass(frozen=True)
class Market:
    """Where the loan lives: the pack, its currency and the borrower's zone."""

    pack: str
    currency: str
    timezone: str

    @property
    def path(self) -> Path:
        return ROOT / "rules" / f"{self.pack}.yaml"


CN = Market("cn-bank-retail", "CNY", "Asia/Shanghai")
US = Market("us-regf", "USD", "America/Chicago")  # the loan's zone, not the pack default
UK = Market("uk-fca", "GBP", "Europe/London")


@dataclass(frozen=True)
class Day:
    """One daily decision: day offset from the missed due date, step, not_before (local)."""

    day: int
    step: str | None
    not_before: str | None  # local 'YYYY-MM-DD HH:MM', None when the step may be taken now
    taken: bool


@dataclass
class World:
    """What a behaviour may look at and add to."""

    market: Market
    day: int
    today: date
    taken: list[tuple[int, str]] = field(default_factory=list)  # (day, step) so far
    due: list[tuple[date, Decimal]] = field(default_factory=list)  # installments so far
    paid: Decimal = Decimal(0)
    seq: int = 0

    def at(self, hh: int, mm: int = 0) -> str:
        tz = ZoneInfo(self.market.timezone)
        return datetime.combine(self.today, time(hh, mm), tzinfo=tz).isoformat()

    def eid(self, kind: str) -> str:
        self.seq += 1
        return f"{kind}-{self.day}-{self.seq}"

    def pay(self, amount: Decimal, hh: int = 12) -> dict[str, Any]:
        self.paid += amount
        return {
            "type": "payment_received",
            "event_id": self.eid("pay"),
            "loan_id": "L1",
            "at": self.at(hh),
            "amount": str(amount),
            "currency": self.market.currency,
        }

    def arrears(self) -> Decimal:
        return sum((a for d, a in self.due if d <= self.today), Decimal(0)) - self.paid

    def event(self, type_: str, hh: int = 11, **fields: Any) -> dict[str, Any]:
        base = {"type": type_, "event_id": self.eid(type_), "loan_id": "L1", "at": self.at(hh)}
        return {**base, **fields}


# A behaviour sees the world and the step the bank just took (None when none) and returns
# (outcome of that step's contact, events the borrower causes that day).
Behaviour = Callable[[World, str | None], tuple[str, list[dict[str, Any]]]]

INSTALLMENT = Decimal("1060.00")  # 1000 principal + 60 interest


def _schedule(market: Market) -> list[dict[str, Any]]:
    opened = datetime.combine(date(2025, 2, 1), time(9), tzinfo=ZoneInfo(market.timezone))
    events: list[dict[str, Any]] = [
        {
            "type": "loan_opened",
            "event_id": "open",
            "loan_id": "L1",
            "borrower_id": "B1",
            "at": opened.isoformat(),
            "principal": "12000.00",
            "currency": market.currency,
            "timezone": market.timezone,
            "product": "personal_loan",
        }
    ]
    for i in range(12):
        due = date(2025 + (2 + i) // 12, (2 + i) % 12 + 1, 1)
        events.append(
            {
                "type": "installment_due",
                "event_id": f"due{i + 1}",
                "loan_id": "L1",
                "at": datetime.combine(due, time(0), tzinfo=ZoneInfo(market.timezone)).isoformat(),
                "due_date": due.isoformat(),
                "principal": "1000.00",
                "interest": "60.00",
                "currency": market.currency,
            }
        )
    return events


def simulate(
    engine: Any, market: Market, behaviour: Behaviour, days: int = 210
) -> tuple[list[Day], list[dict[str, Any]], dict[int, Any]]:
    """Run `days` daily decisions; return them, every event, and the state decided each day."""
    from dunning._state.account import AccountState

    tz = ZoneInfo(market.timezone)
    schedule = _schedule(market)
    opening, dues = schedule[0], schedule[1:]
    world = World(market, 0, FIRST_DUE)
    world.due = [(date.fromisoformat(e["due_date"]), INSTALLMENT) for e in dues]
    log: list[dict[str, Any]] = [opening]
    state = AccountState.from_events([opening])
    out: list[Day] = []
    states: dict[int, Any] = {}
    for day in range(days + 1):
        world.day, world.today = day, FIRST_DUE + timedelta(days=day)
        new = [e for e in dues if date.fromisoformat(e["due_date"]) == world.today]
        as_of = datetime.combine(world.today, time(10), tzinfo=tz)
        state = state.apply(new) if new else state
        log += new
        decision = engine.decide(state, as_of)
        states[day] = state
        nb = decision.not_before
        now = decision.step is not None and nb is None
        out.append(Day(day, decision.step, _local(nb, tz), now))
        todays: list[dict[str, Any]] = []
        outcome, reaction = behaviour(world, decision.step if now else None)
        if now:
            todays += _take(world, engine, decision.step, outcome)
            world.taken.append((day, decision.step))
        todays += reaction
        if todays:
            state = state.apply(todays)
            log += todays
    return out, log, states


def _take(world: World, engine: Any, step: str, outcome: str) -> list[dict[str, Any]]:
    channel = engine_step_channel(engine, step)
    events = [world.event("step_taken", 10, step=step)]
    events[0]["at"] = world.at(10, 1)
    if channel in CONTACT_CHANNELS:
        events.append(
            {
                "type": "contact_attempted",
                "event_id": world.eid("contact"),
                "loan_id": "L1",
                "borrower_id": "B1",
                "at": world.at(10, 2),
                "channel": channel,
                "direction": "outbound",
                "outcome": outcome,
            }
        )
    return events


def engine_step_channel(engine: Any, step: str) -> str:
    return str(RULES_OF[id(engine)].steps[step].channel)


RULES_OF: dict[int, Any] = {}  # engine id -> its RuleSet (set by `make_engine`)


def make_engine(market: Market, backend: str = "python", path: Path | None = None) -> Any:
    """An Engine on the market's pack (or `path`), remembered for step channels."""
    from dunning._decide.engine import Engine
    from dunning._rules.loader import load_rules

    rules = load_rules(path or market.path)
    engine = Engine(rules, backend=backend)
    RULES_OF[id(engine)] = rules
    return engine


def _local(nb: datetime | None, tz: ZoneInfo) -> str | None:
    return None if nb is None else nb.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def changes(days: list[Day]) -> list[tuple[int, str | None, str | None]]:
    """The days where the decision (step, not_before) differs from the day before."""
    out: list[tuple[int, str | None, str | None]] = []
    prev: tuple[str | None, str | None] | None = ("<start>", None)
    for d in days:
        key = (d.step, d.not_before)
        if key != prev:
            out.append((d.day, d.step, d.not_before))
        prev = key
    return out


def first_taken(days: list[Day]) -> dict[str, int]:
    """The day each step was first taken."""
    seen: dict[str, int] = {}
    for d in days:
        if d.taken and d.step is not None and d.step not in seen:
            seen[d.step] = d.day
    return seen


# --- Behaviours -------------------------------------------------------------------------------


def silent(world: World, step: str | None) -> tuple[str, list[dict[str, Any]]]:
    """Never answers, never pays."""
    return ("no_answer" if step and _is_voice(world, step) else "delivered"), []


def _is_voice(world: World, step: str) -> bool:
    return step in VOICE_STEPS


VOICE_STEPS = frozenset(
    {"phone_reminder", "phone_collection", "field_visit", "repayment_plan_offer"}
)


def pays_after_reminder(world: World, step: str | None) -> tuple[str, list[dict[str, Any]]]:
    """Pays the arrears the day after the first reminder, then every installment on time."""
    events: list[dict[str, Any]] = []
    reminded = [d for d, s in world.taken if "reminder" in s]
    if reminded and world.day > reminded[0] and world.arrears() > 0:
        events.append(world.pay(world.arrears()))
    return ("no_answer" if step and _is_voice(world, step) else "delivered"), events


def promises_and_breaks(world: World, step: str | None) -> tuple[str, list[dict[str, Any]]]:
    """Answers calls and promises to pay in 5 days, twice; never pays; then goes silent."""
    promises = sum(1 for d, s in world.taken if s in VOICE_STEPS and d < world.day)
    if step in VOICE_STEPS and step != "repayment_plan_offer" and promises < 2:
        promise = world.event(
            "promise_to_pay",
            10,
            amount=str(world.arrears()),
            currency=world.market.currency,
            promised_date=(world.today + timedelta(days=5)).isoformat(),
        )
        promise["at"] = world.at(10, 3)
        return "right_party", [promise]
    return ("no_answer" if step and _is_voice(world, step) else "delivered"), []


def disputes(world: World, step: str | None) -> tuple[str, list[dict[str, Any]]]:
    """Disputes the debt in writing on day 20; the dispute is resolved (verified) on day 50."""
    events: list[dict[str, Any]] = []
    if world.day == 20:
        events.append(world.event("dispute_raised", 15, written=True, reason="amount"))
    if world.day == 50:
        events.append(world.event("dispute_resolved", 15, outcome="verified"))
    return ("no_answer" if step and _is_voice(world, step) else "delivered"), events


def hardship_plan(world: World, step: str | None) -> tuple[str, list[dict[str, Any]]]:
    """Declares hardship on day 5; agrees a 6-month plan the day after an offer; keeps it."""
    events: list[dict[str, Any]] = []
    if world.day == 5:
        events.append(world.event("hardship_declared", 15, reason="job loss"))
    offers = [d for d, s in world.taken if s == "repayment_plan_offer"]
    plan_day = offers[0] + 1 if offers else None
    if plan_day == world.day:
        total = Decimal("12720.00")  # everything still owed, in 6 monthly parts
        part = total / 6
        items = [
            {
                "due_date": (world.today + timedelta(days=30 * (i + 1))).isoformat(),
                "amount": str(part),
            }
            for i in range(6)
        ]
        events.append(
            world.event(
                "repayment_plan_agreed",
                15,
                kind="installments",
                currency=world.market.currency,
                installments=items,
            )
        )
        world.plan = items  # type: ignore[attr-defined]
    for item in getattr(world, "plan", []):
        if item["due_date"] == world.today.isoformat():
            events.append(world.pay(Decimal(item["amount"]), 9))
    outcome = "right_party" if step in VOICE_STEPS else "delivered"
    return outcome, events


def bankruptcy(world: World, step: str | None) -> tuple[str, list[dict[str, Any]]]:
    """Silent, then files for bankruptcy on day 75."""
    events: list[dict[str, Any]] = []
    if world.day == 75:
        events.append(
            {
                "type": "bankruptcy_filed",
                "event_id": world.eid("bk"),
                "borrower_id": "B1",
                "loan_id": "L1",
                "at": world.at(15),
                "case_number": "BK-1",
            }
        )
    return ("no_answer" if step and _is_voice(world, step) else "delivered"), events


BEHAVIOURS: dict[str, Behaviour] = {
    "pays_after_reminder": pays_after_reminder,
    "promises_and_breaks": promises_and_breaks,
    "disputes": disputes,
    "silent": silent,
    "hardship_plan": hardship_plan,
    "bankruptcy": bankruptcy,
}


def checkpoints(days: list[Day], at: tuple[int, ...]) -> dict[int, tuple[str | None, str | None]]:
    """(step, not_before) on the given days."""
    return {d.day: (d.step, d.not_before) for d in days if d.day in at}


def same_on_both_backends(market: Market, states: dict[int, Any], days: list[Day]) -> list[str]:
    """Re-decide on the change days plus every 30th day with both backends; list differences."""
    python, durable = make_engine(market), make_engine(market, "durable")
    tz = ZoneInfo(market.timezone)
    sample = sorted({c[0] for c in changes(days)} | set(range(0, len(days), 30)))
    diffs = []
    for day in sample:
        as_of = datetime.combine(FIRST_DUE + timedelta(days=day), time(10), tzinfo=tz)
        a, b = python.decide(states[day], as_of), durable.decide(states[day], as_of)
        if _view(a) != _view(b):
            diffs.append(f"day {day}: python {_view(a)} != durable {_view(b)}")
    return diffs


def _view(decision: Any) -> tuple[Any, ...]:
    blocked = sorted((b.step, b.limit_id, str(b.until)) for b in decision.blocked)
    return (decision.step, decision.not_before, blocked, sorted(decision.flags))


def assert_ladder(
    days: list[Day],
    expected_first: dict[str, int],
    expected_points: dict[int, tuple[str | None, str | None]],
) -> None:
    """The first day each step is taken, the step and not_before on the listed days, and that
    every listed day (but the last) is one where the decision changed."""
    assert expected_first == first_taken(days)
    actual = {d.day: (d.step, d.not_before) for d in days if d.day in expected_points}
    assert expected_points == actual
    changed = {c[0] for c in changes(days)}
    assert set(expected_points) - {days[-1].day} <= changed
