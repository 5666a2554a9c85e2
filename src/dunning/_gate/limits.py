"""Per-limit checkers: does one limit allow one step at one instant, and if not, until when.

`check(rules, limit, step, state, facts, at)` returns a `Verdict`; when the step is held back,
`until` is the EXACT earliest instant >= `at` at which this limit alone stops blocking, or None
when no end is known (a condition must change first). The gate (`gate`) combines verdicts.

Theory of operation, one row per kind:

================  ==================================================  =========================
kind              blocks at `at` when                                 until
================  ==================================================  =========================
contact_window    the borrower's wall clock is outside the hours of   the next opening
                  its local date (`windows`)                          (`windows.next_opening`)
frequency_cap     counted contacts in the window >= max               the instant enough of the
                                                                      oldest leave the window
quiet_period      the `while` condition holds and `at` is before the  the end of the period
                  end of the period after the last `after` event
block_while       the condition holds                                 None
prerequisite      `requires` not taken at least `min_gap` before     its due date; None when
                  (and less than `max_age` before)                    never (or only too long
                                                                      ago) taken
amount_threshold  facts[fact] below the minimum for the currency      None
limitation        facts["time_barred"], or `at` is on/after local day  None
                  as_of + days_to_time_bar (a deferral past the bar)
application_      `at` is on/after the end of `period` after the      None
window            last `after_steps` step (restarted by `restart_on`
                  acts while it ran); or none of them was taken
================  ==================================================  =========================

Every reason is written in English and Chinese (`Verdict.reason` / `reason_zh`), from the
word tables of `_wording`, so an explanation in either language reads in that language.

Counting contacts (frequency caps, conversation quiet periods), decided here once:

* scope ``debt`` counts contacts whose `loan_id` is this loan *or is missing* (a contact not
  tied to a loan is taken to be about every debt of the borrower — the conservative reading);
  ``borrower`` counts every contact in the state; ``contact_point`` counts per contact point
  (a missing point is its own group) and blocks while *any* point is at its cap, because a
  decision does not say which number will be dialled.
* ``attempts`` counts every contact, ``conversations`` only outcome ``right_party``; inbound
  contacts are left out when `exclude_inbound` (the default), consented ones when
  `exclude_consented`; `outcomes` narrows further; `channel: any` counts every channel.
* a window in days (or months/years) is *local calendar days including today*: a contact on
  local date D is counted through D + window - 1 and leaves at the local midnight starting
  D + window; a window with hours/minutes is exact: counted while `at` < contact + window.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from .._backends.python import compile_expr
from .._base.calendars import calendar_for
from .._base.errors import EngineError
from .._base.time import Duration, local_date, local_midnight, parse_duration, to_utc
from .._rules.limit_checks import LimitProblem, validate
from .._rules.schema import (
    AmountThreshold,
    ApplicationWindow,
    BlockWhile,
    ContactWindow,
    FrequencyCap,
    Limit,
    LimitationBar,
    Prerequisite,
    QuietPeriod,
    Selector,
    Step,
)
from .limits_order import amount_threshold, application_window, limitation, prerequisite
from .verdict import _ALLOW as _ALLOW  # the structural types live there
from .verdict import ContactLike as ContactLike
from .verdict import LimitChecker as LimitChecker
from .verdict import RulesLike as RulesLike
from .verdict import StateLike as StateLike
from .verdict import Verdict as Verdict
from .window_limit import window_checker
from .wording import duration_text

__all__ = [
    "LimitChecker",
    "LimitProblem",
    "Verdict",
    "applies",
    "check",
    "checker",
    "validate",
]


def applies(selector: Selector, step: Step) -> bool:
    """True when a limit with this `applies_to` covers `step` (union of criteria minus except)."""
    if step.id in selector.except_steps:
        return False
    contact = step.channel != "none"
    return (
        selector.all
        or step.id in selector.steps
        or step.channel in selector.channels
        or ("any" in selector.channels and contact)
        or step.kind in selector.kinds
        or (selector.threatening and step.threatens_proceedings)
    )


# A checker answers for one limit (`LimitChecker`, in `verdict`): one verdict per (limit,
# instant) serves every step the limit covers.


def check(
    rules: RulesLike,
    limit: Limit,
    step: str,
    state: StateLike,
    facts: Mapping[str, object],
    at: datetime,
    as_of: datetime | None = None,
) -> Verdict:
    """The verdict of `limit` on taking `step` at instant `at` (see the module table).

    `facts` are those of `as_of` (default: `at`); only the limitation bar needs to know when
    they were taken, to turn `days_to_time_bar` into the instant the claim becomes barred.
    """
    return checker(rules, limit)(state, facts, at, as_of or at)


def checker(rules: RulesLike, limit: Limit) -> LimitChecker:
    """The checker of `limit`, with the work that depends only on the rule set done once
    (durations parsed, calendar built, condition compiled); the gate keeps one per limit."""
    # Instants are compared in UTC: two datetimes sharing a ZoneInfo compare by wall clock,
    # which is wrong in the repeated hour of a fall-back night.
    if isinstance(limit, ContactWindow):
        return window_checker(limit, calendar_for(rules.document.calendar))
    if isinstance(limit, FrequencyCap):
        window = parse_duration(limit.window)
        return lambda state, facts, at, as_of: _frequency_cap(limit, window, state, to_utc(at))
    if isinstance(limit, QuietPeriod):
        cond = _condition(rules, limit.id) if limit.while_ is not None else None
        span = parse_duration(limit.duration)
        return lambda state, facts, at, as_of: _quiet_period(
            limit, span, cond, state, facts, to_utc(at)
        )
    if isinstance(limit, BlockWhile):
        holds = _condition(rules, limit.id)
        held = Verdict(False, None, *_said(limit, f"blocked while: {limit.when}",
                                           f"以下条件成立期间暂停：{limit.when}"))  # fmt: skip
        return lambda state, facts, at, as_of: held if holds(facts) else _ALLOW
    if isinstance(limit, Prerequisite):
        gap = parse_duration(limit.min_gap)
        age = parse_duration(limit.max_age) if limit.max_age else None
        label = _label(rules, limit.requires)
        return lambda state, facts, at, as_of: prerequisite(
            limit, gap, age, label, state, to_utc(at)
        )
    if isinstance(limit, AmountThreshold):
        return lambda state, facts, at, as_of: amount_threshold(limit, state, facts)
    if isinstance(limit, LimitationBar):
        return lambda state, facts, at, as_of: limitation(
            facts, to_utc(at), to_utc(as_of), state.timezone
        )
    if isinstance(limit, ApplicationWindow):
        labels = [_label(rules, s) for s in limit.after_steps]
        written = {sid for sid, st in rules.steps.items() if st.written_demand}
        return lambda state, facts, at, as_of: application_window(
            limit, labels, written, state, to_utc(at)
        )
    raise EngineError(f"limit {limit.id!r}: unknown kind {limit.kind!r}")  # pragma: no cover


def _said(limit: Limit, en: str, zh: str) -> tuple[str, str]:
    """The limit's own description (en, zh) when it has one, else the generic reason."""
    d = limit.description
    if d is None:
        return en, zh
    # The explanation adds its own punctuation after a reason.
    return (d.en or en).rstrip(". "), (d.zh or zh).rstrip("。 ")


def _label(rules: RulesLike, step_id: str) -> tuple[str, str]:
    """A step's label (en, zh) for a reason; the id when the step is unknown."""
    st = rules.steps.get(step_id)
    if st is None:
        return step_id, step_id
    return st.label.get("en"), st.label.get("zh")


def _condition(rules: RulesLike, limit_id: str) -> Callable[[Mapping[str, object]], object]:
    """The limit's compiled condition (generated Python, same meaning as `_rules.ir.evaluate`,
    which the tests check), read for its truth; an uncompiled one fails when first asked."""
    expr = rules.limit_exprs.get(limit_id)
    if expr is None:

        def missing(facts: Mapping[str, object]) -> bool:
            raise EngineError(f"limit {limit_id!r}: its condition was not compiled by the loader")

        return missing
    return compile_expr(expr)  # no bool() wrapper: a call fewer per limit and decision


# -- frequency cap ----------------------------------------------------------------------------


def counted_contacts(
    limit: FrequencyCap, state: StateLike, at: datetime
) -> list[tuple[datetime, ContactLike]]:
    """(UTC instant, contact) of the contacts up to `at` that this cap counts (before the
    window is applied)."""
    out = []
    debt, loan_id = limit.scope == "debt", state.loan_id
    for t, c in _contacts_utc(state):
        if t > at or (debt and c.loan_id is not None and c.loan_id != loan_id):  # `_in_scope`
            continue
        if limit.channel != "any" and c.channel != limit.channel:
            continue
        if limit.count == "conversations" and c.outcome != "right_party":
            continue
        if limit.outcomes and c.outcome not in limit.outcomes:
            continue
        if (limit.exclude_inbound and c.direction == "inbound") or (
            limit.exclude_consented and c.consented
        ):
            continue
        out.append((t, c))
    return out


def _contacts_utc(state: StateLike) -> tuple[tuple[datetime, ContactLike], ...]:
    """(UTC instant, contact) per contact, kept in the state's cache of derived values: every
    cap of a decision reads them (a hand-built state without the cache converts each time)."""
    cache: dict[str, Any] | None = getattr(state, "_derived", None)
    hit = None if cache is None else cache.get("contacts_utc")
    if hit is None:
        hit = tuple((to_utc(c.at), c) for c in state.contacts)
        if cache is not None:
            cache["contacts_utc"] = hit
    return hit


def _in_scope(scope: str, c: ContactLike, loan_id: str) -> bool:
    return scope != "debt" or c.loan_id is None or c.loan_id == loan_id


def leaves_window(window: Duration, at: datetime, tz: str) -> datetime:
    """The instant a contact made at `at` stops being counted in a rolling `window`."""
    if window.is_calendar:
        return local_midnight(window.add_to_date(local_date(at, tz)), tz)
    return window.add_to(at, tz)


def _frequency_cap(
    limit: FrequencyCap, window: Duration, state: StateLike, at: datetime
) -> Verdict:
    groups: dict[str, list[datetime]] = {}
    for t, c in counted_contacts(limit, state, at):
        release = leaves_window(window, t, state.timezone)
        if release > at:
            key = (c.contact_point or "") if limit.scope == "contact_point" else ""
            groups.setdefault(key, []).append(release)
    untils: list[datetime | None] = []
    worst = 0
    for key in sorted(groups):
        releases = sorted(groups[key])
        worst = max(worst, len(releases))
        if len(releases) >= limit.max:
            need = len(releases) - limit.max + 1  # this many must leave to drop below max
            untils.append(releases[need - 1] if need <= len(releases) else None)
    if limit.max == 0:
        untils.append(None)
    if not untils:
        return _ALLOW
    until = None if any(u is None for u in untils) else max(u for u in untils if u)
    what = "conversations" if limit.count == "conversations" else "attempts"
    chan = "" if limit.channel == "any" else f" {limit.channel}"
    what_zh = "接通" if limit.count == "conversations" else "联系尝试"
    chan_zh = "" if limit.channel == "any" else _CHANNEL_ZH.get(limit.channel, limit.channel)
    return Verdict(
        False,
        until,
        f"{worst} counted{chan} {what} in the rolling {duration_text(limit.window, 'en')}"
        f" window (counted per {_SCOPE['en'][limit.scope]}); the cap is {limit.max}",
        f"滚动{duration_text(limit.window, 'zh')}内已计{chan_zh}{what_zh} {worst} 次"
        f"（按{_SCOPE['zh'][limit.scope]}计），上限为 {limit.max} 次",
    )


_CHANNEL_ZH = {"phone": "电话", "sms": "短信", "email": "电子邮件", "letter": "信函",
               "app": "应用消息", "visit": "上门"}  # fmt: skip
_SCOPE = {
    "en": {"debt": "debt", "borrower": "borrower", "contact_point": "contact point"},
    "zh": {"debt": "笔债务", "borrower": "借款人", "contact_point": "联系方式"},
}


# -- quiet period -----------------------------------------------------------------------------


def last_event(limit: QuietPeriod, state: StateLike, at: datetime) -> datetime | None:
    """The latest instant <= `at` of the event that starts this quiet period."""
    times: Iterable[datetime]
    if limit.after == "conversation":
        times = (
            to_utc(c.at)
            for c in state.contacts
            if c.outcome == "right_party"
            and (limit.after_channel == "any" or c.channel == limit.after_channel)
            and _in_scope("debt", c, state.loan_id)
        )
    elif limit.after == "plan_agreed":
        times = (to_utc(p.agreed_at) for p in state.plans)
    elif limit.after == "promise":
        times = (to_utc(p.at) for p in state.promises)
    elif limit.after == "payment":
        times = (to_utc(p.at) for p in state.payments if not p.reversed)
    else:
        times = (to_utc(s.at) for s in state.steps_taken if limit.after_step in (None, s.step))
    before = [t for t in times if t <= at]
    return max(before) if before else None


def quiet_period_end(
    limit: QuietPeriod, event_at: datetime, tz: str, duration: Duration | None = None
) -> datetime:
    """The end of the quiet period started at `event_at` (`duration`: parsed, if at hand)."""
    duration = duration or parse_duration(limit.duration)
    if limit.first_day_counts and duration.is_calendar:
        # The event's local day is day 1: a 7d period after day D ends when D+7 begins.
        return local_midnight(duration.add_to_date(local_date(event_at, tz)), tz)
    return duration.add_to(event_at, tz)


def _quiet_period(
    limit: QuietPeriod,
    span: Duration,
    holds: Callable[[Mapping[str, object]], object] | None,
    state: StateLike,
    facts: Mapping[str, object],
    at: datetime,
) -> Verdict:
    event_at = last_event(limit, state, at)
    if event_at is None:
        return _ALLOW
    end = quiet_period_end(limit, event_at, state.timezone, span)
    if at >= end:
        return _ALLOW
    if holds is not None and not holds(facts):
        return _ALLOW
    what = limit.after_step if limit.after == "step" and limit.after_step else limit.after
    cond = f" while {limit.while_}" if limit.while_ else ""
    cond_zh = f"（条件：{limit.while_}）" if limit.while_ else ""
    en, zh = _said(
        limit,
        f"quiet period of {duration_text(limit.duration, 'en')} after the last"
        f" {_AFTER['en'].get(what, what)}{cond}",
        f"上次{_AFTER['zh'].get(what, what)}后的{duration_text(limit.duration, 'zh')}静默期内"
        f"{cond_zh}",
    )
    return Verdict(False, end, en, zh)


_AFTER = {
    "en": {"conversation": "conversation", "plan_agreed": "repayment plan agreed",
           "promise": "promise to pay", "payment": "payment", "step": "step"},
    "zh": {"conversation": "通话", "plan_agreed": "还款计划达成", "promise": "还款承诺",
           "payment": "还款", "step": "步骤"},
}  # fmt: skip
