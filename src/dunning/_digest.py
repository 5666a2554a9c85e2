"""Digests a decision carries: of its input (`input_digest`) and of itself (`decision_id`).

The input digest is the sha256 of ``{"as_of":"<UTC instant>","events":[...]}`` where the
events are the de-duplicated events the decision saw, in fold order ``(at, event_id)``, each
in its wire form (the JSON pydantic writes for the event model: fields in model order, decimals
as strings, instants as given, None fields left out). A state carries its events, so deciding
from a state and deciding from the same event list give the same digest; events later than
`as_of` are not part of it. Serialisation is pydantic's (compiled), which keeps the digest cheap
on the hot path of a batch.

`decision_id` equals `Decision.with_id().id` (sha256 of the canonical JSON without the id),
without the float scan `canonical_dumps` does: the engine builds decisions from ints, bools,
strings and decimals only.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter

from ._time import iso_utc
from .events import Event

__all__ = ["decision_id", "input_digest"]

_EVENTS: TypeAdapter[tuple[Event, ...]] = TypeAdapter(tuple[Event, ...])


def input_digest(events: Sequence[Event], as_of: datetime) -> str:
    """sha256 hex of the decision's input (see the module docstring)."""
    h = hashlib.sha256(b'{"as_of":"' + iso_utc(as_of).encode() + b'","events":')
    h.update(_EVENTS.dump_json(tuple(events), exclude_none=True))
    h.update(b"}")
    return h.hexdigest()


def decision_id(decision: Any) -> str:
    """The content id of a Decision (same value as `decision.with_id().id`)."""
    data = decision.model_dump(mode="json")
    data.pop("id", None)
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
