"""What the simulator (`simulate`) simulates: behaviour models, the config, the portfolio.

A portfolio is generated from a seed: each loan is opened months before the start, paid its
installments on time, then missed some so that it starts 1–90 days past due, and is given a
*behaviour* (a row of `BEHAVIOURS`, drawn by the `mix` weights). Every loan has its own
``random.Random`` seeded with ``f"{seed}:{loan_id}"``, so a loan behaves the same whatever
else is in the portfolio, whichever arm of a comparison it is in, and in any process.

`BEHAVIOURS` is the table of archetypes, `_OUTCOMES` the contact outcomes by channel; the
day loop that plays them against a rule set is `simulate`.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from .._base.errors import InputError
from .._base.money import quantize
from .._base.time import local_at
from .._state.events import Event
from .._state.parse import parse_event


@dataclass(frozen=True)
class Behaviour:
    """How a borrower reacts. Probabilities are per reached contact unless said otherwise."""

    name: str
    pays: float  # pays the overdue amount within a few days
    promises: float  # promises to pay by a date ...
    keeps_promise: float  # ... and keeps it with this probability
    disputes: float  # disputes the debt in writing
    hardship: float  # declares hardship (then accepts a plan when offered) ...
    keeps_plan: float  # ... and pays each plan installment with this probability
    unreachable: float  # a contact attempt does not reach the borrower at all
    goes_silent: float  # after a reached contact, stops answering for good
    pays_regular: float  # pays a new installment on its due date while not delinquent


# Theory: a small set of archetypes collectors recognise; mix them to make a portfolio.
# name                 pays  prom  keep  disp  hard  plan  unre  sile  regular
_ROWS = (
    ("forgetful",        0.60, 0.20, 0.90, 0.00, 0.00, 0.90, 0.10, 0.00, 0.90),
    ("promise_breaker",  0.05, 0.70, 0.20, 0.00, 0.00, 0.50, 0.20, 0.05, 0.60),
    ("goes_silent",      0.10, 0.20, 0.50, 0.00, 0.00, 0.50, 0.30, 0.50, 0.50),
    ("disputer",         0.05, 0.05, 0.50, 0.50, 0.00, 0.50, 0.20, 0.00, 0.60),
    ("hardship_keeper",  0.05, 0.10, 0.50, 0.00, 0.60, 0.95, 0.10, 0.00, 0.40),
    ("hardship_breaker", 0.05, 0.10, 0.30, 0.00, 0.60, 0.30, 0.10, 0.05, 0.30),
    ("unreachable",      0.00, 0.00, 0.00, 0.00, 0.00, 0.00, 1.00, 0.00, 0.20),
)  # fmt: skip
BEHAVIOURS: Mapping[str, Behaviour] = {r[0]: Behaviour(*r) for r in _ROWS}
DEFAULT_MIX: Mapping[str, float] = {
    "forgetful": 0.35,
    "promise_breaker": 0.15,
    "goes_silent": 0.15,
    "disputer": 0.05,
    "hardship_keeper": 0.10,
    "hardship_breaker": 0.10,
    "unreachable": 0.10,
}

# Contact outcomes by channel: (reached, not reached).
_OUTCOMES: Mapping[str, tuple[str, tuple[str, ...]]] = {
    "phone": ("right_party", ("no_answer", "voicemail", "wrong_number")),
    "visit": ("right_party", ("no_answer",)),
    "sms": ("delivered", ("bounced",)),
    "email": ("delivered", ("bounced",)),
    "app": ("delivered", ("bounced",)),
    "letter": ("delivered", ("bounced",)),
}


@dataclass(frozen=True)
class SimConfig:
    """A synthetic portfolio and how long to run it."""

    accounts: int = 200
    days: int = 60
    start: date = date(2025, 3, 1)
    seed: int = 0
    mix: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_MIX))
    behaviours: Mapping[str, Behaviour] = field(default_factory=lambda: dict(BEHAVIOURS))
    timezone: str = "Asia/Shanghai"
    currency: str = "CNY"
    decide_hour: int = 10

    def __post_init__(self) -> None:
        unknown = sorted(set(self.mix) - set(self.behaviours))
        if unknown:
            raise InputError(
                f"simulation mix: unknown behaviour {unknown[0]!r}; expected one of"
                f" {', '.join(sorted(self.behaviours))}"
            )
        if self.accounts < 1 or self.days < 1:
            raise InputError(
                f"simulation: expected accounts >= 1 and days >= 1, found accounts"
                f" {self.accounts}, days {self.days}"
            )


@dataclass(frozen=True)
class LoanSpec:
    """One generated loan: its history before the start, its future dues, its behaviour."""

    loan_id: str
    behaviour: str
    history: tuple[Event, ...]
    future_dues: tuple[Event, ...]


# --- portfolio generation --------------------------------------------------------------------


def loan_ids(config: SimConfig) -> list[str]:
    width = max(6, len(str(config.accounts)))
    return [f"SIM{n:0{width}d}" for n in range(1, config.accounts + 1)]


def generate_portfolio(config: SimConfig) -> Iterator[LoanSpec]:
    """The loans of `config`, in loan id order, one at a time (constant memory)."""
    for loan_id in loan_ids(config):
        yield _generate_loan(config, loan_id, random.Random(f"{config.seed}:{loan_id}"))


def _generate_loan(config: SimConfig, loan_id: str, rng: random.Random) -> LoanSpec:
    names = sorted(config.mix)
    behaviour = rng.choices(names, weights=[config.mix[n] for n in names])[0]
    tz, cur = config.timezone, config.currency
    months_ago = rng.randint(4, 18)
    opened = _add_months(config.start, -months_ago)
    day = rng.randint(1, 28)
    principal = Decimal(rng.randint(60, 600) * 100)
    per = quantize(principal / 24, cur)
    interest = quantize(principal * Decimal("0.005"), cur)
    ev = _Ids(loan_id)
    history: list[Event] = [
        _event(ev, "loan_opened", local_at(opened, time(9), tz), borrower_id=f"B{loan_id}",
               principal=str(principal), currency=cur, timezone=tz, product="personal_loan"),
    ]  # fmt: skip
    dues = [_add_months(opened.replace(day=day), m) for m in range(1, 25)]
    missed = rng.choice((1, 1, 1, 2, 2, 3))  # how many of the last dues went unpaid
    past = [d for d in dues if d < config.start]
    future: list[Event] = []
    for n, due in enumerate(dues):
        e = _event(ev, "installment_due", local_at(due, time(0), tz), due_date=due.isoformat(),
                   principal=str(per), interest=str(interest), currency=cur)  # fmt: skip
        if due >= config.start:
            if due < config.start + timedelta(days=config.days):
                future.append(e)
            continue
        history.append(e)
        if n < len(past) - missed:
            history.append(_event(ev, "payment_received", local_at(due, time(12), tz),
                                  amount=str(per + interest), currency=cur))  # fmt: skip
    return LoanSpec(loan_id, behaviour, tuple(history), tuple(future))


class _Ids:
    """Deterministic event ids per loan: SIM000001-0001 (history), SIM000001-s0001 (simulated)."""

    def __init__(self, loan_id: str, tag: str = "") -> None:
        self.loan_id, self.tag, self.n = loan_id, tag, 0

    def __call__(self) -> str:
        self.n += 1
        return f"{self.loan_id}-{self.tag}{self.n:04d}"


def _event(ids: _Ids, type_: str, at: datetime, **fields: Any) -> Event:
    return parse_event(
        {"type": type_, "event_id": ids(), "loan_id": ids.loan_id, "at": at.isoformat(), **fields}
    )


def _add_months(d: date, months: int) -> date:
    y, m = divmod(d.month - 1 + months, 12)
    return date(d.year + y, m + 1, min(d.day, 28))
