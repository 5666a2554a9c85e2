"""Digests a decision carries: of its input (`input_digest`) and of itself (`decision_id`).

The input digest is the sha256 of ``{"as_of":"<UTC instant>","events":[...]}`` where the
events are the de-duplicated events the decision saw, in fold order (`_state.order`), each
in its wire form (the JSON pydantic writes for the event model: fields in model order, decimals
as strings, instants as given, None fields left out). A state carries its events, so deciding
from a state and deciding from the same event list give the same digest; events later than
`as_of` are not part of it. Serialisation is pydantic's (compiled), each event by its own
model's serializer (the bytes the `tuple[Event, ...]` adapter writes, at half the cost: no union
dispatch); a state keeps its events' JSON (`state_digest`), so deciding it again only hashes.

`decision_id` equals `Decision.with_id().id` (sha256 of the canonical JSON without the id),
from `decision.canonical_bytes`: the JSON-shaped dict built straight from the fields with its
keys in sorted order, serialised by pydantic-core (2-4x faster than `model_dump(mode="json")`
plus a sorted `json.dumps`, byte-identical to it; tests/test_fastpaths.py checks).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter

from .._base.time import iso_utc
from .._state.events import Event
from .decision import canonical_bytes

__all__ = ["decision_id", "events_wire", "input_digest", "state_digest"]

_EVENTS: TypeAdapter[tuple[Event, ...]] = TypeAdapter(tuple[Event, ...])


def events_wire(events: Sequence[Event]) -> bytes:
    """The JSON array of `events` in wire form (equal to `_EVENTS.dump_json(..., exclude_none)`,
    which the tests check)."""
    return (
        b"["
        + b",".join(e.__pydantic_serializer__.to_json(e, exclude_none=True) for e in events)
        + b"]"
    )


def input_digest(events: Sequence[Event], as_of: datetime, wire: bytes | None = None) -> str:
    """sha256 hex of the decision's input (see the module docstring); `wire` is
    `events_wire(events)` when the caller has it."""
    h = hashlib.sha256(b'{"as_of":"' + iso_utc(as_of).encode() + b'","events":')
    h.update(events_wire(events) if wire is None else wire)
    h.update(b"}")
    return h.hexdigest()


def state_digest(state: Any, as_of: datetime) -> str:
    """`input_digest` of a state's events, their JSON kept in the state's cache of derived
    values (a snapshot never changes)."""
    cache: dict[str, Any] | None = getattr(state, "_derived", None)
    wire = None if cache is None else cache.get("events_wire")
    if wire is None:
        wire = events_wire(state.events)
        if cache is not None:
            cache["events_wire"] = wire
    return input_digest(state.events, as_of, wire)


def decision_id(decision: Any) -> str:
    """The content id of a Decision (same value as `decision.with_id().id`)."""
    return hashlib.sha256(canonical_bytes(decision)).hexdigest()
