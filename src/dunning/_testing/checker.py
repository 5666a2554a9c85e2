"""An independent limit checker: does taking `step` at instant `at` break a limit of the rule set?

Why it exists: the invariant "no decision breaks a limit" (`invariants`) must not trust the
compliance gate it is checking, so the meaning of each limit kind is written here a second
time, directly from the definitions in `_rules.schema`, as plain yes/no questions about one instant.
Where the schema leaves a detail open the reading below is the *lenient* one (it reports
only breaches every reasonable reading agrees on), so a correct gate never fails it:

==================  ===========================================================================
limit kind          breached when the step is taken at `at` and ...
==================  ===========================================================================
contact_window      the borrower's local wall clock at `at` is outside every `hours` entry of
                    the local date (holidays per `on_holidays`; a make-up working day is a Monday)
frequency_cap       the counted contacts in the window ending at `at` already reach `max`
                    (taking the step makes one more). Debt scope counts only contacts tagged with
                    this loan; day windows are local calendar days including today, hour windows
                    exact elapsed time; contact_point scope is not checked (a step has no point)
quiet_period        the last `after` event (conversations: tagged with this loan) is before `at`,
                    `at` is before its end (event + duration; with first_day_counts the local
                    midnight after day N), and the `while` condition (when given) holds
block_while         the condition holds (conditions read the facts at the decision's as_of,
                    as the gate does: it does not predict how conditions change)
prerequisite        no `requires` step was taken at least `min_gap` before `at` (and, with
                    max_age, at most `max_age` before)
amount_threshold    the fact is below the minimum listed for the loan's currency
limitation          the limit selects the step (legal kinds, threatening steps) and the fact
                    `time_barred` holds
application_window  no `after_steps` step was taken before `at`, or `at`'s local date is
                    more than `period` after the latest act of any kind (lenient reading)
(step cooldown)     the same step was taken before `at` and `at` is before that + cooldown
==================  ===========================================================================
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any

from .._base.calendars import calendar_for
from .._base.time import local_at, local_date, parse_duration, zone
from .._rules import ir as _ir
from .._rules.schema import (
    WEEKDAYS,
    AmountThreshold,
    ApplicationWindow,
    BlockWhile,
    ContactWindow,
    FrequencyCap,
    LimitationBar,
    Prerequisite,
    QuietPeriod,
    Selector,
    Step,
)

__all__ = ["applies", "breaches"]


def applies(selector: Selector, step: Step) -> bool:
    """True when a limit's `applies_to` selects `step` (exact matches only)."""
    if step.id in selector.except_steps:
        return False
    return (
        selector.all
        or step.id in selector.steps
        or step.channel in selector.channels
        or step.kind in selector.kinds
        or (selector.threatening and step.threatens_proceedings)
    )


def breaches(
    rules: Any, state: Any, step_id: str, at: datetime, facts: Mapping[str, object]
) -> list[str]:
    """One line per limit that taking `step_id` at `at` breaks (empty: lawful).

    `facts` are those of the decision's as_of: conditions are judged as the gate judges them
    (it does not predict how conditions change before a deferred step), time-based limits at
    `at`. The step's own `cooldown` counts as a limit too.
    """
    step: Step = rules.steps[step_id]
    out: list[str] = []
    for limit in rules.document.limits:
        if not limit.enabled or not applies(limit.applies_to, step):
            continue
        why = _CHECKS[limit.kind](limit, rules, state, step, at, facts)
        if why:
            out.append(f"limit {limit.id!r} ({limit.kind}, {limit.source.get('en')}): {why}")
    if step.cooldown:
        taken = [s.at for s in state.steps_taken if s.step == step.id and s.at < at]
        if taken and at < parse_duration(step.cooldown).add_to(max(taken), state.timezone):
            out.append(f"cooldown of {step.id!r} ({step.cooldown}) after {max(taken).isoformat()}")
    return out


def _window(limit: Any, rules: Any, state: Any, step: Step, at: datetime, facts: Any) -> str:
    lim: ContactWindow = limit
    local = at.astimezone(zone(state.timezone))
    cal = calendar_for(rules.document.calendar)
    d = local.date()
    day = WEEKDAYS[d.weekday()]
    hours = lim.hours
    if cal.day_type(d) == "holiday":
        if lim.on_holidays == "deny":
            return f"{d} is a public holiday and the limit denies holidays"
        if lim.on_holidays != "same":
            hours = lim.on_holidays
    elif cal.is_makeup_workday(d):
        day = "mon"
    clock = local.time().replace(tzinfo=None)
    for h in hours:
        end = time(23, 59, 59, 999999) if h.to == "24:00" else time.fromisoformat(h.to)
        if (
            day in h.days
            and time.fromisoformat(h.from_) <= clock
            and (clock < end or h.to == "24:00")
        ):
            return ""
    return f"local time {local.isoformat()} ({day}) is outside the allowed hours"


def _cap(limit: Any, rules: Any, state: Any, step: Step, at: datetime, facts: Any) -> str:
    lim: FrequencyCap = limit
    span = parse_duration(lim.window)
    if span.is_calendar:
        first_day = span.add_to_date(at.astimezone(zone(state.timezone)).date())
        days = (first_day - at.astimezone(zone(state.timezone)).date()).days
        start = local_at(
            at.astimezone(zone(state.timezone)).date() - timedelta(days=days - 1),
            time(0, 0),
            state.timezone,
        )
        in_window: Callable[[datetime], bool] = lambda t: start <= t <= at  # noqa: E731
    else:
        in_window = lambda t: at - timedelta(seconds=span.seconds) < t <= at  # noqa: E731
    if lim.scope == "contact_point":
        return ""
    n = sum(1 for c in state.contacts if in_window(c.at) and _counted(lim, state, c))
    if n >= lim.max:
        return f"{n} counted contacts in the {lim.window} window to {at.isoformat()}, max {lim.max}"
    return ""


def _counted(lim: FrequencyCap, state: Any, c: Any) -> bool:
    if lim.channel != "any" and c.channel != lim.channel:
        return False
    if lim.exclude_inbound and c.direction == "inbound":
        return False
    if lim.count == "attempts" and c.direction == "inbound":
        return False
    if lim.exclude_consented and c.consented:
        return False
    if lim.count == "conversations" and c.outcome != "right_party":
        return False
    if lim.outcomes and c.outcome not in lim.outcomes:
        return False
    return not (lim.scope == "debt" and c.loan_id != state.loan_id)


def _quiet(limit: Any, rules: Any, state: Any, step: Step, at: datetime, facts: Any) -> str:
    lim: QuietPeriod = limit
    starts = sorted(t for t in _quiet_starts(lim, state) if t < at)
    if not starts:
        return ""
    last = starts[-1]
    span = parse_duration(lim.duration)
    if lim.first_day_counts and span.is_calendar:
        first = last.astimezone(zone(state.timezone)).date()
        end = local_at(span.add_to_date(first), time(0, 0), state.timezone)
    else:
        end = span.add_to(last, state.timezone)
    if at >= end:
        return ""
    if lim.while_ is not None and not _ir.evaluate(rules.limit_exprs[lim.id], facts):
        return ""
    return f"quiet after the {lim.after} at {last.isoformat()} until {end.isoformat()}"


def _quiet_starts(lim: QuietPeriod, state: Any) -> list[datetime]:
    if lim.after == "conversation":
        return [
            c.at
            for c in state.contacts
            if c.outcome == "right_party"
            and lim.after_channel in ("any", c.channel)
            and c.loan_id == state.loan_id
        ]
    if lim.after == "plan_agreed":
        return [p.agreed_at for p in state.plans]
    if lim.after == "promise":
        return [p.at for p in state.promises]
    if lim.after == "payment":
        return [p.at for p in state.payments if not p.reversed]
    return [s.at for s in state.steps_taken if lim.after_step in (None, s.step)]


def _block(limit: Any, rules: Any, state: Any, step: Step, at: datetime, facts: Any) -> str:
    lim: BlockWhile = limit
    if _ir.evaluate(rules.limit_exprs[lim.id], facts):
        return f"its condition {lim.when!r} holds"
    return ""


def _prereq(limit: Any, rules: Any, state: Any, step: Step, at: datetime, facts: Any) -> str:
    lim: Prerequisite = limit
    if prerequisite_met(lim, state, at):
        return ""
    return f"needs {lim.requires!r} taken at least {lim.min_gap} before" + (
        f" and at most {lim.max_age} before" if lim.max_age else ""
    )


def prerequisite_met(lim: Prerequisite, state: Any, at: datetime) -> bool:
    """A `requires` step taken at least min_gap (and at most max_age) before `at`."""
    gap = parse_duration(lim.min_gap)
    age = parse_duration(lim.max_age) if lim.max_age else None
    return any(
        s.step == lim.requires
        and gap.add_to(s.at, state.timezone) <= at
        and (age is None or at <= age.add_to(s.at, state.timezone))
        for s in state.steps_taken
    )


def _amount(limit: Any, rules: Any, state: Any, step: Step, at: datetime, facts: Any) -> str:
    lim: AmountThreshold = limit
    minimum = lim.min.get(state.currency)
    if minimum is None:
        return ""
    value = facts[lim.fact]
    if value is not None and Decimal(str(value)) < Decimal(minimum):
        return f"{lim.fact} {value} is below the minimum {minimum} {state.currency}"
    return ""


def _bar(limit: Any, rules: Any, state: Any, step: Step, at: datetime, facts: Any) -> str:
    lim: LimitationBar = limit
    if facts["time_barred"]:
        return f"the claim is time-barred ({lim.id})"
    return ""


def _deadline(limit: Any, rules: Any, state: Any, step: Step, at: datetime, facts: Any) -> str:
    lim: ApplicationWindow = limit
    tz = state.timezone
    started = [s.at for s in state.steps_taken if s.step in lim.after_steps and s.at <= at]
    if not started:
        return f"none of {list(lim.after_steps)} was taken before"
    # Lenient: the latest act of any kind after the start reopens the window.
    acts = [max(started), *(p.at for p in state.payments if p.at <= at),
            *(p.at for p in state.promises if p.at <= at),
            *(s.at for s in state.steps_taken if s.at <= at)]  # fmt: skip
    last = local_date(max(acts), tz)
    if local_date(at, tz) > parse_duration(lim.period).add_to_date(last):
        return f"more than {lim.period} after the last act ({last})"
    return ""


_CHECKS: dict[str, Callable[[Any, Any, Any, Step, datetime, Any], str]] = {
    "contact_window": _window,
    "frequency_cap": _cap,
    "quiet_period": _quiet,
    "block_while": _block,
    "prerequisite": _prereq,
    "amount_threshold": _amount,
    "limitation": _bar,
    "application_window": _deadline,
}
