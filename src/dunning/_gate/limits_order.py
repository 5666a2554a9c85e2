"""The checkers of the limits that order steps and end them: the time bar, application
windows, prerequisites and amount thresholds (the table is in `_limits`' docstring).

Each returns a `Verdict` with its reason in English and Chinese.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal

from .._base.time import Duration, local_date, local_midnight, parse_duration, to_utc
from .._rules.schema import AmountThreshold, ApplicationWindow, Prerequisite
from .verdict import _ALLOW, StateLike, Verdict
from .wording import duration_text

__all__ = ["amount_threshold", "application_window", "limitation", "prerequisite"]


def limitation(facts: Mapping[str, object], at: datetime, as_of: datetime, tz: str) -> Verdict:
    days = facts.get("days_to_time_bar")
    barred = facts.get("time_barred") is True
    if not barred and isinstance(days, int) and not isinstance(days, bool):
        # The claim becomes barred at the start of local day as_of + days_to_time_bar, so a
        # step deferred past that day is barred too.
        barred = at >= local_midnight(local_date(as_of, tz) + timedelta(days=days), tz)
    if barred:
        bar = facts.get("time_bar_date")
        on, on_zh = (f" on {bar}", f"（{bar}届满）") if bar is not None else ("", "")
        return Verdict(
            False,
            None,
            f"the claim is time-barred (the limitation period ran out{on}): no proceedings"
            " and nothing that announces or threatens them",
            f"诉讼时效已届满{on_zh}：不得提起诉讼，也不得发出宣称或威胁诉讼的函件",
        )
    return _ALLOW


def application_window(
    limit: ApplicationWindow,
    labels: list[tuple[str, str]],
    written: set[str],
    state: StateLike,
    at: datetime,
) -> Verdict:
    tz = state.timezone
    taken = [to_utc(s.at) for s in state.steps_taken if s.step in limit.after_steps]
    taken = [t for t in taken if t <= at]
    names_en = " or ".join(en for en, _ in labels)
    names_zh = "或".join(zh for _, zh in labels)
    if not taken:
        return Verdict(False, None, f"requires {names_en} first", f"须先有{names_zh}")
    start = local_date(max(taken), tz)
    acts: list[datetime] = []
    on = set(limit.restart_on)
    if "payment" in on:
        acts += [to_utc(p.at) for p in state.payments if not p.reversed]
    if "promise" in on:
        acts += [to_utc(p.at) for p in state.promises]
    if "written_demand" in on:
        acts += [to_utc(s.at) for s in state.steps_taken if s.step in written]
    if on & {"acknowledgement", "written_acknowledgement"}:
        acts += [
            to_utc(e.at)
            for e in getattr(state, "events", ())
            if e.type == "debt_acknowledged"
            and ("acknowledgement" in on or getattr(e, "written", False))
        ]
    span = parse_duration(limit.period)
    end = span.add_to_date(start)
    for day in sorted(local_date(t, tz) for t in acts if t <= at):
        if start <= day < end:  # only while the window runs
            end = max(end, span.add_to_date(day))
    closes = local_midnight(end, tz)
    if at < closes:
        return _ALLOW
    return Verdict(
        False,
        None,
        f"the {duration_text(limit.period, 'en')} to apply after the {names_en} ran out on {end}",
        f"{names_zh}后申请的{duration_text(limit.period, 'zh')}期限已于{end}届满",
    )


def prerequisite(
    limit: Prerequisite,
    gap: Duration,
    age: Duration | None,
    label: tuple[str, str],
    state: StateLike,
    at: datetime,
) -> Verdict:
    tz = state.timezone
    pending: list[datetime] = []
    # Returned mail or e-mail about this debt (or about no loan in particular) up to `at`.
    bounced = (
        [to_utc(c.at) for c in state.contacts
         if c.outcome == "bounced" and c.channel in ("letter", "email") and to_utc(c.at) <= at
         and (c.loan_id is None or c.loan_id == state.loan_id)]
        if limit.undelivered_voids else []
    )  # fmt: skip
    for s in state.steps_taken:
        taken = to_utc(s.at)
        if s.step != limit.requires or taken > at:
            continue
        if any(b >= taken for b in bounced):
            continue  # the notice came back undeliverable: it does not count
        due = gap.add_to(taken, tz)
        if age is not None and age.add_to(taken, tz) <= max(at, due):
            continue  # too old by the time it would count
        if due <= at:
            return _ALLOW
        pending.append(due)
    en, zh = label
    gap_en, gap_zh = duration_text(limit.min_gap, "en"), duration_text(limit.min_gap, "zh")
    if pending:
        return Verdict(
            False,
            min(pending),
            f"the {en} was taken less than {gap_en} ago",
            f"{zh}距今未满{gap_zh}",
        )
    stale = f" within {duration_text(limit.max_age, 'en')}" if limit.max_age else ""
    stale_zh = f"（{duration_text(limit.max_age, 'zh')}内有效）" if limit.max_age else ""
    void = " (a returned, undeliverable notice does not count)" if bounced else ""
    void_zh = "（被退回、无法送达的通知不计）" if bounced else ""
    return Verdict(
        False,
        None,
        f"requires the {en} taken{stale} at least {gap_en} before{void}",
        f"须先执行{zh}{stale_zh}，且至少间隔{gap_zh}{void_zh}",
    )


def amount_threshold(
    limit: AmountThreshold, state: StateLike, facts: Mapping[str, object]
) -> Verdict:
    cur = state.currency
    if cur not in limit.min:
        listed = ", ".join(sorted(limit.min))
        return Verdict(
            False,
            None,
            f"no minimum {limit.fact} for currency {cur} (listed: {listed})",
            f"未设定币种 {cur} 的最低{_AMOUNT_ZH[limit.fact]}（已列：{listed}）",
        )
    minimum = Decimal(limit.min[cur])
    value = facts.get(limit.fact)
    if not isinstance(value, Decimal) or value < minimum:
        return Verdict(
            False,
            None,
            f"{limit.fact} {value} {cur} is below the minimum {minimum} {cur}",
            f"{_AMOUNT_ZH[limit.fact]} {value} {cur} 低于最低金额 {minimum} {cur}",
        )
    return _ALLOW


_AMOUNT_ZH = {"overdue_amount": "逾期金额", "outstanding_amount": "未偿余额"}
