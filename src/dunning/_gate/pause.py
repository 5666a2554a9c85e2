"""The built-in pause check: while a `collections_paused` is in force, no step is taken.

Every step of a rule set gets this check (limit id ``collections_paused``, kind ``pause``)
unless the pack marks it ``allowed_during_pause: true``. It blocks at an instant `t` when a
pause of the loan or of its borrower is in force at `t` (`_state.pauses`); `until` is the
earliest instant from which no pause is in force any more — the latest end of the pauses in
force, followed through pauses that overlap it — or None when one has no known end (no
``until`` and not resumed). The reason names the pauses' reason codes and event ids, so the
decision shows why collection is paused and until when.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from .._base.time import to_utc
from .verdict import _ALLOW, StateLike, Verdict

__all__ = ["PAUSE_CITATION", "PAUSE_KIND", "PAUSE_LIMIT", "pause_check", "pauses_in_force"]

PAUSE_LIMIT = "collections_paused"
PAUSE_KIND = "pause"
PAUSE_CITATION = "collections_paused event (bank decision to pause collection)"


def pauses_in_force(state: StateLike, at: datetime) -> tuple[list[Any], datetime | None]:
    """(the pauses in force at `at`, followed through the pauses that overlap them; the
    instant from which none is in force, or None when one has no known end). ([], None)
    when nothing is paused at `at`."""
    pauses: tuple[Any, ...] = getattr(state, "pauses", ())
    t = to_utc(at)
    held = [p for p in pauses if p.in_force(t)]
    if not held:
        return [], None
    seen = list(held)
    until: datetime | None = t
    while until is not None:
        ends = [p.end() for p in held]
        if any(e is None for e in ends):
            until = None
            break
        until = max(to_utc(e) for e in ends if e is not None)
        held = [p for p in pauses if p.in_force(until)]
        if not held:
            break
        seen += [p for p in held if p not in seen]
    return seen, until


def pause_check(
    state: StateLike, facts: Mapping[str, object], at: datetime, as_of: datetime
) -> Verdict:
    """The pause verdict at instant `at` (module docstring)."""
    if not getattr(state, "pauses", ()):
        return _ALLOW
    seen, until = pauses_in_force(state, at)
    if not seen:
        return _ALLOW
    why = ", ".join(
        f"{p.reason} ({'loan' if p.loan_id else 'borrower'}, event {p.event_id})" for p in seen
    )
    end = "" if until is not None else "; no end set"
    return Verdict(False, until, f"collection is paused: {why}{end}")
