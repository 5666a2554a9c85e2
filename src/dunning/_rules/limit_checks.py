"""Load-time checks of a rule file's limits that pydantic alone cannot make.

The loader calls `validate(rule_file)` after the schema has accepted the resolved document and
turns each `LimitProblem` into a located `RuleFileError`: `path` is the position inside the
document (e.g. ``("limits", 3, "applies_to", "steps", 1)``), so the loader can find its line
in the YAML marks. Checked here:

* `applies_to` (and `except_steps`, `requires`, `after_step`, `after_steps`) naming a step
  the file does not declare — with a did-you-mean suggestion;
* a frequency-cap window or quiet-period duration of zero length;
* `after: step` without `after_step`, or `after_step` with another `after`;
* a prerequisite whose `max_age` is not longer than its `min_gap` (never satisfiable);
* amount minimums that are not non-negative decimal amounts or not keyed by currency codes;
* a contact window entry with no weekdays;
* a file `timezone` or `calendar` that does not exist (tz database / `holidays` package);
* two limits with the same id.

Empty, inverted windows and negative caps are refused by the schema itself.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from difflib import get_close_matches
from typing import NamedTuple

from .._base.calendars import validate_calendar
from .._base.time import Duration, is_zone, parse_duration
from .schema import (
    AmountThreshold,
    ApplicationWindow,
    ContactWindow,
    FrequencyCap,
    Limit,
    Prerequisite,
    QuietPeriod,
    RuleFile,
)

PathPart = str | int


class LimitProblem(NamedTuple):
    """A problem with a limit (or the file's timezone/calendar when `limit_id` is None)."""

    limit_id: str | None
    field: str
    message: str
    path: tuple[PathPart, ...]
    suggestion: str | None = None


_CURRENCY = re.compile(r"^[A-Z]{3}$")


def validate(doc: RuleFile) -> list[LimitProblem]:
    """Every problem found, in document order (an empty list when the limits are sound)."""
    out: list[LimitProblem] = []
    if not is_zone(doc.timezone):
        out.append(
            LimitProblem(
                None,
                "timezone",
                f"time zone {doc.timezone!r} does not exist in the tz database; expected an"
                " IANA name such as 'Asia/Shanghai' or 'America/New_York'",
                ("timezone",),
            )
        )
    for field, message in validate_calendar(doc.calendar):
        out.append(LimitProblem(None, f"calendar.{field}", message, ("calendar", field)))
    step_ids = tuple(s.id for s in doc.steps)
    seen: set[str] = set()
    for i, limit in enumerate(doc.limits):
        base: tuple[PathPart, ...] = ("limits", i)
        if limit.id in seen:
            out.append(
                LimitProblem(limit.id, "id", f"limit id {limit.id!r} is used twice", (*base, "id"))
            )
        seen.add(limit.id)
        out += _steps_named(limit, step_ids, base)
        out += _kind_checks(limit, base)
    return out


def _unknown_step(
    limit_id: str, field: str, name: str, step_ids: tuple[str, ...], path: tuple[PathPart, ...]
) -> LimitProblem:
    close = get_close_matches(name, step_ids, n=1)
    return LimitProblem(
        limit_id,
        field,
        f"{field} names step {name!r}, which the file does not declare;"
        f" expected one of: {', '.join(sorted(step_ids))}",
        path,
        close[0] if close else None,
    )


def _steps_named(
    limit: Limit, step_ids: tuple[str, ...], base: tuple[PathPart, ...]
) -> list[LimitProblem]:
    out = []
    sel = limit.applies_to
    for field in ("steps", "except_steps"):
        for j, name in enumerate(getattr(sel, field)):
            if name not in step_ids:
                path = (*base, "applies_to", field, j)
                out.append(_unknown_step(limit.id, f"applies_to.{field}", name, step_ids, path))
    if isinstance(limit, Prerequisite) and limit.requires not in step_ids:
        out.append(
            _unknown_step(limit.id, "requires", limit.requires, step_ids, (*base, "requires"))
        )
    if isinstance(limit, QuietPeriod) and limit.after_step and limit.after_step not in step_ids:
        path = (*base, "after_step")
        out.append(_unknown_step(limit.id, "after_step", limit.after_step, step_ids, path))
    if isinstance(limit, ApplicationWindow):
        for j, name in enumerate(limit.after_steps):
            if name not in step_ids:
                path = (*base, "after_steps", j)
                out.append(_unknown_step(limit.id, "after_steps", name, step_ids, path))
    return out


def _kind_checks(limit: Limit, base: tuple[PathPart, ...]) -> list[LimitProblem]:
    if isinstance(limit, FrequencyCap):
        if parse_duration(limit.window).is_zero:
            return [
                _p(
                    limit,
                    "window",
                    "a rolling window of zero length counts nothing;"
                    " expected a positive duration such as '7d' or '24h'",
                    base,
                )
            ]
    elif isinstance(limit, QuietPeriod):
        return _quiet_checks(limit, base)
    elif isinstance(limit, Prerequisite):
        if limit.max_age is not None:
            gap, age = parse_duration(limit.min_gap), parse_duration(limit.max_age)
            if _approx_seconds(age) <= _approx_seconds(gap):
                return [
                    _p(
                        limit,
                        "max_age",
                        f"max_age {limit.max_age} is not longer than"
                        f" min_gap {limit.min_gap}, so the prerequisite can never be met",
                        base,
                    )
                ]
    elif isinstance(limit, AmountThreshold):
        return _amount_checks(limit, base)
    elif isinstance(limit, ContactWindow):
        entries = list(limit.hours)
        if isinstance(limit.on_holidays, tuple):
            entries += list(limit.on_holidays)
        if any(not h.days for h in entries):
            return [
                _p(
                    limit,
                    "hours",
                    "a contact window entry lists no weekdays;"
                    " expected e.g. days: [mon, tue, wed, thu, fri]",
                    base,
                )
            ]
    return []


def _quiet_checks(limit: QuietPeriod, base: tuple[PathPart, ...]) -> list[LimitProblem]:
    out = []
    if parse_duration(limit.duration).is_zero:
        out.append(
            _p(
                limit,
                "duration",
                "a quiet period of zero length has no effect;"
                " expected a positive duration such as '7d'",
                base,
            )
        )
    if limit.after == "step" and not limit.after_step:
        out.append(_p(limit, "after_step", "after: step needs after_step naming the step", base))
    if limit.after != "step" and limit.after_step:
        out.append(
            _p(
                limit,
                "after_step",
                f"after_step is only used with after: step, found after: {limit.after}",
                base,
            )
        )
    return out


def _amount_checks(limit: AmountThreshold, base: tuple[PathPart, ...]) -> list[LimitProblem]:
    out = []
    if not limit.min:
        out.append(
            _p(limit, "min", "expected at least one currency minimum, e.g. {CNY: '50000.00'}", base)
        )
    for cur in sorted(limit.min):
        text = limit.min[cur]
        try:
            ok = _CURRENCY.match(cur) is not None and Decimal(text).is_finite()
            ok = ok and Decimal(text) >= 0
        except (InvalidOperation, ValueError):
            ok = False
        if not ok:
            out.append(
                LimitProblem(
                    limit.id,
                    f"min.{cur}",
                    f"min: expected a currency code"
                    f" and a non-negative amount such as CNY: '50000.00',"
                    f" found {cur}: {text!r}",
                    (*base, "min", cur),
                )
            )
    return out


def _p(limit: Limit, field: str, message: str, base: tuple[PathPart, ...]) -> LimitProblem:
    return LimitProblem(limit.id, field, message, (*base, field))


def _approx_seconds(d: Duration) -> int:
    # Comparing a calendar span with an exact one: months as 28 days (the shortest) is enough
    # to catch a max_age that can never exceed min_gap.
    return ((d.years * 12 + d.months) * 28 + d.days) * 86400 + d.seconds
