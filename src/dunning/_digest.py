"""The input digest a decision carries: what exactly it was decided from.

The digest is the sha256 of the canonical JSON of ``{"as_of": <UTC instant>, "events":
[<wire dicts>]}`` where the events are the de-duplicated events the decision saw, in fold
order ``(at, event_id)``. A state carries its events, so deciding from a state and deciding
from the same event list give the same digest; events later than `as_of` are not part of it.

Wire dicts of events are cached by event identity: a batch that decides many accounts from
stored states pays the serialisation once per event object, not once per decision.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ._time import iso_utc
from .events import Event, event_to_dict

__all__ = ["input_digest"]

_CACHE_MAX = 200_000
_LOCK = threading.Lock()
# id(event) -> (event, its canonical JSON text); the event is held so the id stays valid.
_WIRE: dict[int, tuple[Any, str]] = {}


def _wire(event: Event) -> str:
    key = id(event)
    hit = _WIRE.get(key)
    if hit is not None and hit[0] is event:
        return hit[1]
    text = json.dumps(
        event_to_dict(event), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    with _LOCK:
        if len(_WIRE) >= _CACHE_MAX:
            _WIRE.clear()  # bounded memory; a cleared cache only costs recomputation
        _WIRE[key] = (event, text)
    return text


def input_digest(events: Sequence[Event], as_of: datetime) -> str:
    """sha256 hex of the canonical JSON of the decision's input (see the module docstring)."""
    body = ",".join(_wire(e) for e in events)
    text = '{"as_of":' + json.dumps(iso_utc(as_of)) + ',"events":[' + body + "]}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
