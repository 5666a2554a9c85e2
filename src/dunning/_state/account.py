"""AccountState: the immutable snapshot of one loan, folded from its events.

Theory of operation
-------------------

Events are put in the fold order (`_state.order`: time, causal rank of the type, the feed's
optional ``seq``, event id) and folded one by one; neither the input order nor the ids'
spelling matters. An event id seen twice is ignored when both copies are identical and rejected
(`ConflictingEventError`) when they differ, so a payment is never counted twice.

The snapshot keeps its sorted, de-duplicated events. `apply(more)` folds incrementally when
every new event sorts after the last one (the usual case: a feed moving forward), continues
from the state before the later events when those are only charges (a schedule loaded in
advance, with payments arriving before its future dues), and folds everything again from
scratch otherwise, so
``from_events(a + b) == from_events(a).apply(b)`` for any split.

A snapshot may hold events later than the instant it is asked about (a repayment schedule
loaded at origination: every due is known, with a future ``at``). `until(as_of)` is the state
as it was at `as_of`: the fold of its events with ``at <= as_of`` (a prefix of the sorted
events), exactly what `from_events` gives for the event list cut at `as_of`. When no event is
later than `as_of` (a feed moving forward, the common night) it is the state itself, at the
cost of one comparison; otherwise the cut is folded once and cached on the snapshot (the last
`as_of` asked), so facts, the gate and the digest of one decision share it.

The fold itself (a table of handlers and the checks it makes) is in `fold`; the money
(charges, waterfall allocation, credit) in `ledger`; the facts at an ``as_of`` in `facts`.
"""

from __future__ import annotations

import json
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from .._base.errors import ConflictingEventError, InputError
from .._base.time import aware
from . import catalog as _catalog
from .events import Event
from .facts import compute_facts, context_for
from .fold import Contact, Payment, Plan, Promise, StepRecord, fold
from .ledger import Ledger, allocate
from .order import fold_sorted, order_key
from .parse import parse_event
from .pauses import Pause

if TYPE_CHECKING:
    from types import MappingProxyType

__all__ = [
    "AccountState",
    "Contact",
    "Payment",
    "Plan",
    "Promise",
    "StepRecord",
]


class AccountState(BaseModel):
    """An immutable snapshot of one loan. Build it with `from_events`; extend with `apply`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    loan_id: str
    borrower_id: str
    currency: str
    timezone: str
    product: str
    jurisdiction: str | None = None
    principal: Decimal
    opened_at: datetime
    last_event_at: datetime
    events: tuple[Event, ...]
    ledger: Ledger
    payments: tuple[Payment, ...] = ()
    contacts: tuple[Contact, ...] = ()
    steps_taken: tuple[StepRecord, ...] = ()
    plans: tuple[Plan, ...] = ()
    promises: tuple[Promise, ...] = ()
    acknowledgements: tuple[datetime, ...] = ()  # debt_acknowledged (limitation restarts)
    pauses: tuple[Pause, ...] = ()  # collections_paused on this loan or its borrower
    # Flags, as of the last event (the table of what sets and clears them is in _fold).
    dispute_open: bool = False
    hardship: bool = False
    bankruptcy: Literal["none", "open", "dismissed", "discharged"] = "none"
    deceased: bool = False
    vulnerable: bool = False
    attorney_represented: bool = False
    complaint_open: bool = False
    ombudsman_complaint_open: bool = False
    breathing_space: bool = False
    breathing_space_ends_on: date | None = None
    closed: bool = False
    closed_reason: str | None = None
    written_off: bool = False
    ceased_channels: tuple[str, ...] = ()  # sorted; 'any' when every channel was ceased
    consent_withdrawn: tuple[str, ...] = ()  # sorted; 'any' when withdrawn for all channels

    # --- building -------------------------------------------------------------------------

    @classmethod
    def from_events(
        cls, events: Iterable[Event | Mapping[str, Any] | str], *, strict: bool = False
    ) -> AccountState:
        """Fold `events` (models, JSON-shaped dicts or JSON texts; any order) into a state.

        Unknown fields are ignored unless `strict` (then an InvalidEventError)."""
        unique = _dedupe({}, [parse_event(e, strict=strict) for e in events])
        if not unique:
            raise InputError("events: expected at least a loan_opened event, found an empty list")
        return cls._built(fold(fold_sorted(unique.values()), None))

    def apply(
        self, events: Iterable[Event | Mapping[str, Any] | str], *, strict: bool = False
    ) -> AccountState:
        """This state with `events` folded in; equal to folding all events from scratch."""
        known = {e.event_id: e for e in self.events}
        fresh = _dedupe(known, [parse_event(e, strict=strict) for e in events])
        if not fresh:
            return self
        new = fold_sorted(fresh.values())
        if order_key(new[0]) > order_key(self.events[-1]):
            # Fast path: the feed moved forward; continue the fold from this snapshot.
            return type(self)._built(fold(new, self))
        # A late event. When only charges lie after it (the schedule loaded in advance),
        # continue from the state before them; otherwise fold everything again.
        keep = bisect_left(self.events, new[0].at, key=_at)
        base = self._before(keep)
        if base is not None:
            return type(self)._built(fold(fold_sorted([*self.events[keep:], *new]), base))
        merged = fold_sorted([*self.events, *new])
        return type(self)._built(fold(merged, None))

    @classmethod
    def _built(cls, fields: dict[str, Any]) -> AccountState:
        # The fold's output is made by this library from validated events, in the fields'
        # own types (tuples, models, aware datetimes, Decimals), so validating it again would
        # only re-run every event's validators (~a quarter of a fold's cost). The JSON round
        # trip property (from_json(to_json(s)) == s, a validated state) checks the types.
        return cls.model_construct(**fields)

    def until(self, as_of: datetime | str) -> AccountState:
        """The state as it was at `as_of`: its events with ``at <= as_of`` folded (see the
        module doc). `self` when no event is later; InputError when the loan was not opened
        yet at `as_of`."""
        when = aware(as_of)
        if self.last_event_at <= when:
            return self
        cache = self._derived
        hit = cache.get("until")
        if hit is not None and hit[0] == when:
            return hit[1]  # type: ignore[no-any-return]
        keep = bisect_right(self.events, when, key=_at)
        if keep == 0:
            raise InputError(
                f"as_of {when.isoformat()}: loan {self.loan_id!r} was not opened yet (opened"
                f" at {self.opened_at.isoformat()}); expected an as_of at or after its"
                " loan_opened event"
            )
        state = self._before(keep) or type(self)._built(fold(self.events[:keep], None))
        cache["until"] = (when, state)
        return state

    def _before(self, keep: int) -> AccountState | None:
        """The fold of the first `keep` events, without folding, when only charges come after
        them (a schedule loaded in advance, the usual case): charges add ledger items and
        nothing else, so it is this state without them, the ledger allocated again. None
        when another kind of event comes after (then fold the kept events)."""
        later = self.events[keep:]
        if keep == 0 or not all(e.type in _CHARGES for e in later):
            return None
        gone = {e.event_id for e in later}
        items = [b.item for b in self.ledger.balances if b.item.event_id not in gone]
        live = [p.amount for p in self.payments if not p.reversed]
        fields = {name: getattr(self, name) for name in type(self).model_fields}
        fields["events"] = self.events[:keep]
        fields["last_event_at"] = self.events[keep - 1].at
        fields["ledger"] = allocate(items, live)
        return type(self)._built(fields)

    # --- persistence ----------------------------------------------------------------------

    def to_json(self) -> str:
        """The snapshot as JSON text (decimals as strings, times ISO-8601; fields whose value
        is None are left out: they read back as their default, None)."""
        return self.model_dump_json(exclude_none=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> AccountState:
        """Read back `to_json`; InputError when the text is not a snapshot."""
        try:
            return cls.model_validate_json(text)
        except ValidationError as err:
            first = err.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "(top level)"
            raise InputError(
                f"account state JSON: field {where}: {first['msg']}; expected the text written"
                " by AccountState.to_json()"
            ) from None

    # --- facts ----------------------------------------------------------------------------

    def facts(
        self, as_of: datetime | str, rules: Any = None, *, names: Iterable[str] | None = None
    ) -> MappingProxyType[str, Any]:
        """The facts at `as_of` as a read-only mapping (the values rules see).

        `rules` is a RuleSet (its limitation, steps and fact names are used) or None for the
        defaults: limitation P3Y from the oldest unpaid due date, no steps, scalar facts only.
        `names` asks for exactly these catalog facts, families included (``attempts_7d.phone``,
        ``days_since_step.lawyer_letter``), whether or not the rule set reads them; an unknown
        name is an InputError with a did-you-mean. Events later than `as_of` are left out.
        """
        from types import MappingProxyType

        ctx = context_for(rules)
        if names is None:
            return MappingProxyType(compute_facts(self, aware(as_of), ctx))
        wanted = list(names)
        steps = set(ctx.steps) if rules is not None else {n.partition(".")[2] for n in wanted}
        for name in wanted:
            if not isinstance(name, str) or _catalog.lookup(name, steps) is None:
                hint = _catalog.suggest(str(name), steps) if isinstance(name, str) else None
                raise InputError(
                    f"facts names: {str(name)[:80]!r} is not a catalog fact"
                    + (f"; did you mean {hint!r}?" if hint else "; see `dunning facts`")
                )
        ctx = replace(ctx, names=ctx.names | frozenset(wanted))
        every = compute_facts(self, aware(as_of), ctx)
        return MappingProxyType({name: every[name] for name in wanted})

    # --- derived values, cached per snapshot ------------------------------------------------
    # A snapshot never changes, so what is derived from it alone (the events' wire JSON for the
    # input digest, the unpaid ledger items for the facts) is computed once, by its user, into
    # this dict. It lives in the instance __dict__ (functools.cached_property), which pydantic
    # leaves out of equality, hashing, validation and JSON.

    @cached_property
    def _derived(self) -> dict[str, Any]:
        return {}

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Any:
        """A copy whose derived values start empty: pydantic copies the instance __dict__,
        which would share this snapshot's cache dict (stale once `update` changes a field)."""
        copy = super().model_copy(update=update, deep=deep)
        copy.__dict__.pop("_derived", None)
        return copy

    def __repr__(self) -> str:
        return (
            f"<AccountState loan={self.loan_id} borrower={self.borrower_id} {self.currency}"
            f" events={len(self.events)} unpaid={self.ledger.unpaid} credit={self.ledger.credit}"
            f" last={self.last_event_at.isoformat()}>"
        )


# Event types that only add a ledger item (the fast path of `AccountState.until`).
_CHARGES = frozenset({"installment_due", "fee_charged", "interest_charged"})


def _at(event: Event) -> datetime:
    return event.at


def _dedupe(known: Mapping[str, Event], events: list[Event]) -> dict[str, Event]:
    """The events whose id is new; identical repeats dropped, differing ones rejected."""
    fresh: dict[str, Event] = {}
    for event in events:
        seen = known.get(event.event_id) or fresh.get(event.event_id)
        if seen is None:
            fresh[event.event_id] = event
        elif seen != event:
            raise _conflict(seen, event)
    return fresh


def _conflict(seen: Event, event: Event) -> ConflictingEventError:
    a = json.loads(seen.model_dump_json())
    b = json.loads(event.model_dump_json())
    differing = sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))
    field = differing[0] if differing else None
    return ConflictingEventError(
        f"the same event id arrived twice with different content"
        f" (first {a.get(field)!r}, then {b.get(field)!r}); expected identical repeats;"
        " give the corrected event a new event_id",
        event_id=event.event_id,
        field=field,
    )
