"""Parsing events: JSON text or dicts -> the models of `_state.events`, with clear errors.

The field policy (unknown fields ignored and counted, near-misses refused, ``strict``) is
`_state.field_policy`; the value checks (ISO-8601 text, plain decimals, bounds) are in the
field types of `_state.event_base`. Every failure is an InvalidEventError naming the event id
and the field and quoting at most `QUOTE` characters of the bad value.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import ValidationError

from .._base.errors import InvalidEventError
from .event_base import _Event
from .events import _ADAPTER, EVENT_CLASSES, EVENT_TYPES, Event
from .field_policy import MAX_DEPTH, QUOTE, depth, quote, split_fields

__all__ = [
    "KNOWN_FIELDS",
    "event_json_schema",
    "event_to_dict",
    "fast_event",
    "loads_event",
    "parse_event",
    "parse_events",
]

_VALIDATOR = _ADAPTER.validator  # the pydantic-core validator itself (one call less a line)
KNOWN_FIELDS: dict[str, frozenset[str]] = {
    t: frozenset(c.model_fields) for t, c in EVENT_CLASSES.items()
}


def _describe(err: ValidationError, raw: Mapping[str, Any]) -> InvalidEventError:
    first = err.errors()[0]
    loc = [str(p) for p in first["loc"]]
    # The discriminated union puts the type tag first in the location; drop it.
    if loc and loc[0] == raw.get("type"):
        loc = loc[1:]
    field = ".".join(loc)[:QUOTE] or None
    msg = first["msg"]
    found = quote(first.get("input"))
    if first["type"] == "union_tag_invalid":
        from difflib import get_close_matches

        kind = str(raw.get("type"))[:QUOTE]
        guess = get_close_matches(kind, EVENT_TYPES, n=1)
        hint = f"; did you mean {guess[0]!r}?" if guess else ""
        known = ", ".join(EVENT_TYPES)
        msg = f"unknown event type {quote(raw.get('type'))}; expected one of {known}{hint}"
        field = "type"
    elif first["type"] == "missing":
        msg = f"required field missing from a {raw.get('type')} event"
    elif first["type"] == "timezone_aware":
        msg = f"expected a timezone-aware time (with an offset), found {found}"
    else:
        msg = f"{msg.removeprefix('Value error, ')} (found {found})"
    n = len(err.errors())
    if n > 1:
        msg += f" [and {n - 1} more problem{'s' if n > 2 else ''}]"
    return InvalidEventError(msg, event_id=_event_id(raw), field=field)


def _event_id(raw: Mapping[Any, Any]) -> str | None:
    eid = raw.get("event_id")
    return None if eid is None else str(eid)


def parse_event(
    obj: Event | Mapping[str, Any] | str | bytes,
    *,
    strict: bool = False,
    ignored: Counter[str] | None = None,
) -> Event:
    """An Event from a model, a JSON-shaped dict, or a JSON text; InvalidEventError otherwise.

    Unknown fields are ignored (and counted in `ignored` when given) unless `strict`; a field
    one edit away from a known one is always an error (`_state.field_policy`)."""
    if isinstance(obj, _Event):
        return obj
    if isinstance(obj, str | bytes):
        obj = loads_event(obj)
    if not isinstance(obj, Mapping):
        raise InvalidEventError(f"expected an event model or a JSON object, found {quote(obj)}")
    kind = obj.get("type")
    if kind is None:
        raise InvalidEventError(
            "missing the 'type' discriminator", event_id=_event_id(obj), field="type"
        )
    known = KNOWN_FIELDS.get(kind) if isinstance(kind, str) else None
    if known is not None and not known.issuperset(obj):
        obj = split_fields(obj, known, strict=strict, ignored=ignored)
    try:
        return _ADAPTER.validate_python(dict(obj))
    except ValidationError as err:
        raise _describe(err, obj) from None
    except RecursionError:
        raise InvalidEventError(
            f"nested deeper than {MAX_DEPTH} levels", event_id=_event_id(obj)
        ) from None
    except Exception as exc:  # a validator of ours raised something unexpected (e.g. InputError)
        raise InvalidEventError(str(exc)[: 4 * QUOTE], event_id=_event_id(obj)) from None


def fast_event(text: str | bytes) -> Event | None:
    """The event of one JSON text read and validated in one pass by pydantic-core, or None
    when that pass fails for any reason: then `loads_event` and `parse_event` read the text
    again and say what is wrong, with their own messages (the models forbid unknown fields,
    so a text this pass accepts names known fields only and the field policy has nothing to
    do; tests/test_intake_speed.py checks both paths give the same events)."""
    try:
        return _VALIDATOR.validate_json(text)  # type: ignore[no-any-return]
    except Exception:  # any failure: the reference path explains it
        return None


def loads_event(text: str | bytes) -> Any:
    """The JSON value of one event's text; InvalidEventError for invalid JSON, invalid UTF-8
    or nesting deeper than `MAX_DEPTH`."""
    try:
        value = json.loads(text)
    except UnicodeDecodeError as exc:
        raise InvalidEventError(
            f"expected UTF-8 text, found invalid bytes ({exc.reason})"
        ) from None
    except RecursionError:
        raise InvalidEventError(f"expected a JSON object nested at most {MAX_DEPTH} deep") from None
    except ValueError as exc:
        raise InvalidEventError(
            f"expected a JSON object, found invalid JSON ({str(exc)[:QUOTE]})"
        ) from None
    # Nesting is at most the number of brackets: walk the value only when there are many.
    if isinstance(text, bytes):
        openers = text.count(b"{") + text.count(b"[")
    else:
        openers = text.count("{") + text.count("[")
    if openers > MAX_DEPTH and isinstance(value, dict) and depth(value) > MAX_DEPTH:
        raise InvalidEventError(
            f"expected a JSON object nested at most {MAX_DEPTH} deep", event_id=_event_id(value)
        )
    return value


def parse_events(
    items: Iterable[Event | Mapping[str, Any] | str], *, strict: bool = False
) -> list[Event]:
    return [parse_event(i, strict=strict) for i in items]


def event_to_dict(event: Event) -> dict[str, Any]:
    """The wire form of an event (JSON-shaped, decimals as strings, times as ISO-8601)."""
    return event.model_dump(mode="json", exclude_none=True)


def event_json_schema() -> dict[str, Any]:
    """JSON Schema of the Event union (for producers validating their feeds)."""
    return _ADAPTER.json_schema()
