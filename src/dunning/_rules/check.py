"""CHECK: references between a validated rule file's items, which the schema alone cannot make.

Steps named by rules and limits exist (limits may name a disabled step), the time zone and
currency are known, amounts fit the currency; then the gate's own limit checks
(`limit_checks`), located in the file.
"""

from __future__ import annotations

from difflib import get_close_matches
from typing import Any

from .._base.errors import InputError, RuleFileError
from .._base.money import MINOR_UNITS, check_currency, fits, to_decimal
from .._base.time import is_zone
from . import schema as _schema
from .limit_checks import validate
from .resolve import _Disabled, _err
from .yaml import Marks
from .yaml import Path as Path_


def _check_limits(doc: _schema.RuleFile, marks: Marks, file: str) -> None:
    """The gate's own load-time checks (calendar country, amounts, windows, ...), located."""

    # Step references were checked above (where a limit may name a disabled step); the
    # validator's own step checks would refuse those, so they are left to the checker.
    step_fields = {"applies_to.steps", "applies_to.except_steps", "requires", "after_step"}
    for problem in validate(doc):
        if problem.field in step_fields:
            continue
        raise _err(
            marks,
            problem.path,
            problem.message,
            file=file,
            rule_id=problem.limit_id,
            suggestion=problem.suggestion,
        )


class _Checker:
    """References between items: the checks the schema alone cannot make."""

    def __init__(
        self,
        doc: _schema.RuleFile,
        marks: Marks,
        disabled: _Disabled,
        file: str,
        *,
        canonical: bool = False,
    ):
        self.doc, self.marks, self.file = doc, marks, file
        self.enabled = {s.id for s in doc.steps}
        self.disabled = disabled.get("steps", set())
        # A canonical document no longer lists disabled steps, which limits may still name
        # (they were checked when the file was loaded): accept any id limits name there.
        self.any_limit_step = canonical

    def fail(
        self, path: Path_, msg: str, rid: str | None = None, hint: str | None = None
    ) -> RuleFileError:
        return _err(self.marks, path, msg, file=self.file, rule_id=rid, suggestion=hint)

    def step_ref(self, path: Path_, sid: str, rid: str, *, allow_disabled: bool) -> None:
        if sid in self.enabled or (
            allow_disabled and (sid in self.disabled or self.any_limit_step)
        ):
            return
        if sid in self.disabled:
            raise self.fail(
                path, f"step {sid!r} is disabled (enabled: false); expected an enabled step", rid
            )
        hit = get_close_matches(sid, sorted(self.enabled), n=1, cutoff=0.5)
        raise self.fail(
            path,
            f"unknown step {sid!r}; expected one of the file's steps",
            rid,
            hit[0] if hit else None,
        )

    def check(self) -> None:
        doc = self.doc
        if not is_zone(doc.timezone):
            raise self.fail(
                ("timezone",),
                f"time zone {doc.timezone!r} does not exist in the tz"
                " database; expected an IANA name such as 'Asia/Shanghai'",
                hint=_zone_hint(doc.timezone),
            )
        if doc.currency not in MINOR_UNITS:
            raise self.fail(
                ("currency",),
                f"currency {doc.currency!r} is not supported;"
                f" expected one of {', '.join(sorted(MINOR_UNITS))}",
            )
        for i, r in enumerate(doc.rules):
            self.step_ref(("rules", i, "step"), r.step, r.id, allow_disabled=False)
        for i, lim in enumerate(doc.limits):
            self.limit(i, lim)

    def limit(self, i: int, lim: Any) -> None:
        sel = lim.applies_to
        for key in ("steps", "except_steps"):
            for j, sid in enumerate(getattr(sel, key)):
                self.step_ref(("limits", i, "applies_to", key, j), sid, lim.id, allow_disabled=True)
        if isinstance(lim, _schema.Prerequisite):
            self.step_ref(("limits", i, "requires"), lim.requires, lim.id, allow_disabled=True)
        if isinstance(lim, _schema.QuietPeriod):
            if lim.after == "step" and lim.after_step is None:
                raise self.fail(
                    ("limits", i, "after"),
                    "after: step needs 'after_step' naming the step that starts the quiet period",
                    lim.id,
                )
            if lim.after_step is not None:
                if lim.after != "step":
                    raise self.fail(
                        ("limits", i, "after_step"),
                        f"after_step is only read when after is 'step'; found after: {lim.after}",
                        lim.id,
                    )
                self.step_ref(
                    ("limits", i, "after_step"), lim.after_step, lim.id, allow_disabled=True
                )
        if isinstance(lim, _schema.AmountThreshold):
            for cur, amount in sorted(lim.min.items()):
                path = ("limits", i, "min", cur)
                try:
                    check_currency(cur)
                    value = to_decimal(amount, what=f"min.{cur}")
                except InputError as exc:
                    raise self.fail(path, str(exc), lim.id) from None
                if not fits(value, cur) or value < 0:
                    raise self.fail(
                        path,
                        f"min.{cur}: expected a non-negative amount with at"
                        f" most {MINOR_UNITS[cur]} decimals, found {amount!r}",
                        lim.id,
                    )


def _zone_hint(name: str) -> str | None:
    from zoneinfo import available_timezones

    hit = get_close_matches(name, sorted(available_timezones()), n=1, cutoff=0.6)
    return hit[0] if hit else None
