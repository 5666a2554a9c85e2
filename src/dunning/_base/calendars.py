"""Holiday calendars: public holidays and make-up working days of a jurisdiction.

Theory of operation. A rule file's ``calendar:`` names a country (and optionally a
subdivision) known to the `holidays` package, plus dates listed in the file. Every local date
then has one *day type*, decided by this table (first matching row wins):

=========================================  ============
date is ...                                day type
=========================================  ============
in the file's ``extra_workdays``           ``workday``  (a weekend day made a working day)
in ``extra_holidays`` or a package holiday ``holiday``
a package make-up working day (调休)        ``workday``
on the country's weekend (package)         ``weekend``
otherwise                                  ``workday``
=========================================  ============

For China the `holidays` package (verified with 0.109) lists the official holidays including
the "day off (substituted from ...)" days, and `weekend_workdays` holds the 调休 Saturdays and
Sundays on which people work (e.g. 2025-01-26 and 2025-02-08 for the Spring Festival). A file's
dates override the package, so a bank can follow a State Council notice before the package is
updated. Without a country only the file's dates (and a Saturday/Sunday weekend) are used.

Calendars are cached per `schema.Calendar` (a frozen, hashable model).
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from typing import Any, Literal, Protocol

import holidays


class Calendar(Protocol):
    """What a calendar is built from: a rule file's `calendar:` section (a frozen, hashable
    model of the rules stage) or anything shaped like it; the base stage only reads it."""

    @property
    def country(self) -> str | None: ...
    @property
    def subdivision(self) -> str | None: ...
    @property
    def extra_holidays(self) -> tuple[date, ...]: ...
    @property
    def extra_workdays(self) -> tuple[date, ...]: ...


DayType = Literal["workday", "weekend", "holiday"]
_SAT_SUN = frozenset({5, 6})


class HolidayCalendar:
    """Day types of local dates for one `calendar:` section (see the module docstring)."""

    def __init__(self, spec: Calendar) -> None:
        self.spec = spec
        self._extra_holidays = frozenset(spec.extra_holidays)
        self._extra_workdays = frozenset(spec.extra_workdays)
        self._package: Any = None
        self._weekend: frozenset[int] = _SAT_SUN
        if spec.country:
            self._package = _package_calendar(spec.country, spec.subdivision)
            self._weekend = frozenset(getattr(self._package, "weekend", _SAT_SUN))

    def day_type(self, d: date) -> DayType:
        if d in self._extra_workdays:
            return "workday"
        if d in self._extra_holidays or self._is_package_holiday(d):
            return "holiday"
        if self._package_makeup(d):
            return "workday"
        return "weekend" if d.weekday() in self._weekend else "workday"

    def is_holiday(self, d: date) -> bool:
        return self.day_type(d) == "holiday"

    def is_makeup_workday(self, d: date) -> bool:
        """A weekend date on which people work (调休), so working-day rules apply."""
        return d.weekday() in self._weekend and self.day_type(d) == "workday"

    def holiday_name(self, d: date) -> str | None:
        if d in self._extra_holidays and d not in self._extra_workdays:
            return "holiday (rule file)"
        if self._package is not None and self._is_package_holiday(d):
            return str(self._package.get(d))
        return None

    def _is_package_holiday(self, d: date) -> bool:
        return self._package is not None and d in self._package

    def _package_makeup(self, d: date) -> bool:
        # The package fills `weekend_workdays` per year as years are populated; asking about a
        # date populates its year, after which the set is read again.
        if self._package is None:
            return False
        _ = d in self._package
        return d in getattr(self._package, "weekend_workdays", ())


@lru_cache(maxsize=64)
def _package_calendar(country: str, subdivision: str | None) -> Any:
    return holidays.country_holidays(country, subdiv=subdivision)


@lru_cache(maxsize=64)
def calendar_for(spec: Calendar) -> HolidayCalendar:
    """The (cached) calendar of a rule file's `calendar:` section."""
    return HolidayCalendar(spec)


def validate_calendar(spec: Calendar) -> list[tuple[str, str]]:
    """Problems with a `calendar:` section as (field, message); empty when it is usable."""
    problems: list[tuple[str, str]] = []
    if spec.country:
        try:
            holidays.country_holidays(spec.country, subdiv=spec.subdivision)
        except NotImplementedError as exc:
            field = "subdivision" if "subdivision" in str(exc) else "country"
            problems.append(
                (
                    field,
                    f"calendar {field}: the holidays package does not know"
                    f" {spec.country!r}{'/' + spec.subdivision if spec.subdivision else ''}"
                    f" ({exc}); expected an ISO 3166 code such as 'CN' or 'US'",
                )
            )
    both = sorted(set(spec.extra_holidays) & set(spec.extra_workdays))
    if both:
        problems.append(
            (
                "extra_workdays",
                "calendar: dates listed both as extra_holidays and extra_workdays: "
                + ", ".join(d.isoformat() for d in both),
            )
        )
    return problems
