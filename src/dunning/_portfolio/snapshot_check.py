"""How a snapshot is written and read back checked (the snapshot store's `state` column).

Theory of operation. A snapshot is the JSON of an `AccountState`, compressed with zstd
(level 3: about 1.2 KB for a 32-event account whose JSON is 13 KB), stored with the sha256 of
the JSON (its content digest). Reading it back:

1. decompress, and compare the digest: any damage to the stored bytes is caught;
2. parse it as an AccountState (types and every event validated), through the read-back
   schema (`snapshot_schema`: the same checks in pydantic-core), and when that refuses it,
   through ``AccountState.from_json`` again, whose verdict (and error message) stands;
3. re-derive from its events what is cheap and decides outcomes (`derived_problems`): the loan
   head (loan, borrower, currency, zone, product, jurisdiction, principal, opened_at) from
   its loan_opened event, `last_event_at`, every flag through the fold's own flag table, the
   number of records of each kind, and the money paid. A snapshot edited with care (its
   digest recomputed) that flips `dispute_open` or changes the currency is caught here;
4. with ``check="full"`` the events are folded again and the whole state compared.

Any failure is a StoreError naming the loan and what differs: a damaged snapshot is never
decided.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from decimal import Decimal
from typing import Any

import zstandard

from .._base.errors import InputError, StoreError
from .._state.account import AccountState
from .._state.records import _FLAG_EVENTS, FLAG_DEFAULTS
from .snapshot_schema import fast_read

__all__ = ["decode", "derived_problems", "encode"]

_LEVEL = 3
_compress = zstandard.ZstdCompressor(level=_LEVEL)
_decompress = zstandard.ZstdDecompressor()
_MAX = 64 * 1024 * 1024
_HEAD = ("loan_id", "borrower_id", "currency", "timezone", "product", "jurisdiction", "principal")
# record list -> the event type that adds one record to it (reversals mark, never remove)
_FLAG_TYPES = frozenset(_FLAG_EVENTS)
_COUNTS = {
    "payments": "payment_received",
    "contacts": "contact_attempted",
    "promises": "promise_to_pay",
    "plans": "repayment_plan_agreed",
    "steps_taken": "step_taken",
    "acknowledgements": "debt_acknowledged",
}


def encode(state: AccountState) -> tuple[bytes, str]:
    """(zstd blob, sha256 of the JSON) of a snapshot. The state keeps its events' JSON cut
    from the text (as a decoded one does), so a decision made from it only hashes them."""
    text = state.to_json().encode("utf-8")
    _keep_events_wire(state, text)
    return _compress.compress(text), hashlib.sha256(text).hexdigest()


def decode(loan_id: str, blob: Any, digest: Any, *, where: str, full: bool = False) -> AccountState:
    """The snapshot of `loan_id` after the checks of the module docstring."""
    bad = f"{where}: the snapshot of loan {loan_id!r} is damaged"
    if not isinstance(blob, bytes):
        raise StoreError(f"{bad}: expected zstd bytes, found {type(blob).__name__}")
    try:
        text = _decompress.decompress(blob, max_output_size=_MAX)
    except zstandard.ZstdError as exc:
        raise StoreError(f"{bad}: it is not zstd data ({exc})") from None
    if hashlib.sha256(text).hexdigest() != digest:
        raise StoreError(f"{bad}: its content no longer matches its digest; rebuild it from events")
    state = fast_read(text)  # None: read it again the reference way, for its verdict
    if state is None:
        try:
            state = AccountState.from_json(text)
        except InputError as exc:
            raise StoreError(f"{bad}: {exc}") from None
    _keep_events_wire(state, text)
    problems = derived_problems(state)
    if not problems and full:
        problems = _refold_problems(state)
    if state.loan_id != loan_id:
        problems.insert(0, f"it holds loan {state.loan_id!r}")
    if problems:
        raise StoreError(
            f"{bad}: {'; '.join(problems[:3])} (its events say otherwise); rebuild it from events"
        )
    return state


# The events' wire JSON inside a snapshot's text (`AccountState.to_json` writes the fields in
# model order, compact: ``..."last_event_at":"...","events":[...],"ledger":{...``). A key's
# opening quote can never be a string's content (JSON escapes it), and only the state itself
# has an ``events`` key, so the one `,"events":[` (the first `"events":[` of the text, and no
# second: a repeated key would leave it unclear which one was read) opens the array. The
# first `],"ledger":{` after it closes it when the ledger comes next, as `to_json` writes
# it; text with its keys in another order (valid, so read, if not ours) might put another
# array or value first: then the cut would not end with an object (`}]`: an empty array,
# strings, a scalar) or would hold more ``"event_id":`` keys than there are events (a
# record array: every record and every event has exactly one; ``payment_event_id`` is not
# one). Every event holds exactly one, so the count also says the cut is the events.
_EVENTS_AT, _EVENTS_END, _EVENT_ID = b',"events":[', b'],"ledger":{', b'"event_id":'


def _keep_events_wire(state: AccountState, text: bytes) -> None:
    """Keep the events' JSON of the snapshot text with the state, for the decision's input
    digest (`_decide.digest.state_digest` then only hashes; the same bytes as
    `events_wire(state.events)`, which tests/test_fastpaths.py checks on generated histories).
    Left out, so the digest serialises the events again, unless the text has exactly one
    events array, followed by the ledger (see above)."""
    start = text.find(_EVENTS_AT)
    if start < 0 or text.find(_EVENTS_AT[1:]) != start + 1 or text.find(_EVENTS_AT, start + 1) >= 0:
        return
    end = text.find(_EVENTS_END, start)
    if end < 0 or text[end - 1 : end] != b"}":
        return
    wire = text[start + len(_EVENTS_AT) - 1 : end + 1]
    if wire.count(_EVENT_ID) == len(state.events):
        state._derived["events_wire"] = wire


def derived_problems(state: AccountState) -> list[str]:
    """What the snapshot says that its own events contradict (cheap re-derivation)."""
    events = state.events
    if not events or events[0].type != "loan_opened":
        return ["its first event is not loan_opened"]
    opened: Any = events[0]
    problems = [
        f"{name} is {getattr(state, name)!r}, its loan_opened event says"
        f" {getattr(opened, name, None)!r}"
        for name in _HEAD
        if getattr(state, name) != getattr(opened, name, None)
    ]
    if state.opened_at != opened.at:
        problems.append("opened_at differs from its loan_opened event")
    if state.last_event_at != events[-1].at:
        problems.append("last_event_at differs from its last event")
    # One pass collects the types (counted in C); the flag rules and the payment sum then
    # visit only the events of their types, in event order.
    kinds: list[str] = [e.type for e in events]
    counts = Counter(kinds)
    flags = dict(FLAG_DEFAULTS)
    if not _FLAG_TYPES.isdisjoint(counts):
        for e, kind in zip(events, kinds, strict=True):
            rule = _FLAG_EVENTS.get(kind)
            if rule is not None:
                flags.update(rule(e))
    paid = Decimal(0)
    if "payment_received" in counts:
        for e, kind in zip(events, kinds, strict=True):
            if kind == "payment_received":
                paid += e.amount  # type: ignore[union-attr]
    problems += [
        f"{name} is {getattr(state, name)!r}, its events say {value!r}"
        for name, value in flags.items()
        if getattr(state, name) != value
    ]
    problems += [
        f"it holds {len(getattr(state, name))} {name}, its events {counts[kind]}"
        for name, kind in _COUNTS.items()
        if len(getattr(state, name)) != counts[kind]
    ]
    if sum((p.amount for p in state.payments), Decimal(0)) != paid:
        problems.append("its payments do not add up to its payment events")
    return problems


def _refold_problems(state: AccountState) -> list[str]:
    again = AccountState.from_events(state.events)
    return [
        f"{name} differs from the fold of its events"
        for name in type(state).model_fields
        if getattr(again, name) != getattr(state, name)
    ]
