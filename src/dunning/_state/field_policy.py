"""What parsing does with the fields of an incoming event, and how it quotes bad values.

Theory of operation: bank feeds put more on an event than `dunning` reads (`source`,
`channel_ref`, a warehouse's load id). Before an event dict is validated, its keys are split:

==============================  =============================================================
field                           what happens
==============================  =============================================================
a field of that event type      validated (the shared vocabulary, ``event_id``, ``type``,
                                ``at``, ``seq``, ``loan_id`` and ``borrower_id``, is a field
                                of every type; ``borrower_id`` is checked by the fold)
one edit away from one of them  InvalidEventError with a did-you-mean, in every mode: a typo
                                (``amout``) must not silently drop the amount
any other field                 ignored and counted (the CLI and batch summaries list the
                                counts); with ``strict=True`` an InvalidEventError
==============================  =============================================================

"One edit" is one insertion, deletion, substitution or swap of two adjacent characters.
Error messages quote at most `QUOTE` characters of a bad value (`quote`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from .._base.errors import InvalidEventError

__all__ = ["MAX_DEPTH", "QUOTE", "depth", "near_miss", "one_edit", "quote", "split_fields"]

QUOTE = 80  # characters of a bad value an error message quotes at most
MAX_DEPTH = 8  # nesting of a JSON event: the deepest event (a plan) needs 3


def quote(value: object, limit: int = QUOTE) -> str:
    """`repr(value)` cut to `limit` characters (with an ellipsis and the full length)."""
    text = repr(value)
    if len(text) <= limit:
        return text
    return f"{text[: limit - 1]}… ({len(text)} characters)"


def one_edit(a: str, b: str) -> bool:
    """True when `a` and `b` differ by exactly one insertion, deletion, substitution or swap
    of adjacent characters."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) > len(b):
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    if len(a) < len(b):  # one insertion into a
        return a[i:] == b[i + 1 :]
    if a[i + 1 :] == b[i + 1 :]:  # one substitution
        return True
    return i + 1 < len(a) and a[i] == b[i + 1] and a[i + 1] == b[i] and a[i + 2 :] == b[i + 2 :]


def near_miss(name: str, known: frozenset[str]) -> str | None:
    """The known field one edit away from `name` (the first in sorted order), or None."""
    return next((k for k in sorted(known) if one_edit(name, k)), None)


def split_fields(
    raw: Mapping[Any, Any],
    known: frozenset[str],
    *,
    strict: bool,
    ignored: Counter[str] | None,
) -> dict[Any, Any]:
    """The known fields of `raw` (see the module table); unknown ones counted in `ignored`."""
    kind, eid = raw.get("type"), raw.get("event_id")
    event_id = eid if isinstance(eid, str) else None
    extra = [k for k in raw if k not in known]
    for key in extra:
        guess = near_miss(key, known) if isinstance(key, str) else None
        if guess is not None:
            raise InvalidEventError(
                f"unknown field {quote(key)} on a {kind} event; did you mean {guess!r}?",
                event_id=event_id,
                field=str(key)[:QUOTE],
            )
    if strict:
        raise InvalidEventError(
            f"unknown field {quote(extra[0])} on a {kind} event (strict mode); expected only"
            f" {', '.join(sorted(known))}",
            event_id=event_id,
            field=str(extra[0])[:QUOTE],
        )
    if ignored is not None:
        ignored.update(str(k)[:QUOTE] for k in extra)
    return {k: v for k, v in raw.items() if k in known}


def depth(value: object, limit: int = MAX_DEPTH) -> int:
    """How deeply `value` nests lists and dicts, counted up to `limit + 1` (then it stops)."""
    level, todo = 0, [value]
    while todo and level <= limit:
        nxt: list[object] = []
        for v in todo:
            if isinstance(v, Mapping):
                nxt.extend(v.values())
            elif isinstance(v, list | tuple):
                nxt.extend(v)
        if not nxt and not any(isinstance(v, Mapping | list | tuple) for v in todo):
            break
        level += 1
        todo = nxt
    return level
