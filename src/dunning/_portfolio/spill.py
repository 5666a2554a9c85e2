"""How the nightly batch keeps validated events in its private spill table (`batch`).

The spill file is written and read by one run of the batch only, so its events need not be
validated again: they are stored as their validated field values and rebuilt without
validation, the way unpickling a pydantic model rebuilds it.

Theory of operation
-------------------

An event becomes a *record*: the marshal bytes (format version 2, which writes no
back-references, so records can be concatenated) of ``(type, values, fields set number)``:
the values of the event's fields in the model's field order (the order of its ``__dict__``,
so the names are not stored), each reduced to primitives by the table below, and the number
of its fields set in this process's table of them. An event the table cannot represent
exactly (extra or private attributes, fields in another order, a nested model, a tuple, a
datetime whose zone is not pydantic's fixed offset) is the marshal bytes of its pickle
instead. pickle of the models themselves was ~2x slower (the Decimal, datetime and TzInfo
reducers). Records are bytes, which the garbage collector does not track: the batch holds
tens of thousands of them at a time without making the collector scan them again and again.

The batch packs the records of one loan (or one borrower) from one stretch of the feed into
one blob (`pack_records`: a marshal list header followed by the records, read back in one
`marshal.loads`), and `unpack_records` gives back the events, equal field for field.

========================  ==========================================  ======================
field value               in the record                               back
========================  ==========================================  ======================
str, int, bool, None      itself                                      itself
Decimal                   ``(str,)``: str(Decimal) keeps the exponent  ``Decimal(text)``
datetime (TzInfo zone)    ``(10-byte pickle state, offset seconds)``  ``datetime(state, z)``
date                      its 4-byte pickle state (``bytes``)         ``date(state)``
========================  ==========================================  ======================

The pickle state of a datetime keeps every field, ``fold`` included; the zones are shared,
one `TzInfo` per offset.
"""

from __future__ import annotations

import marshal
import pickle
import threading
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic_core import TzInfo

from .._state.events import EVENT_CLASSES, Event

__all__ = ["pack", "pack_records", "record", "unpack", "unpack_records"]

_PLAIN = frozenset({str, int, bool, type(None)})
_FIELDS: dict[str, tuple[Any, tuple[str, ...]]] = {
    kind: (cls, tuple(cls.model_fields)) for kind, cls in EVENT_CLASSES.items()
}
_ZONES: dict[int, TzInfo] = {}  # offset seconds -> the one TzInfo of that offset
_OFFSETS: dict[TzInfo, int] = {}  # a TzInfo (equal by offset) -> its offset seconds
# The last fields-set seen per event type, and its sorted tuple (most events of a type set
# the same fields): a set comparison instead of a sort per event.
_FIELDS_SET: dict[str, tuple[set[str], int]] = {}
# Fields sets by number (a record holds the number): this process's spill only.
_SETS: list[tuple[str, ...]] = []
_SET_NUMBERS: dict[tuple[str, ...], int] = {}
_SETS_LOCK = threading.Lock()
_set = object.__setattr__
# The pickle-state constructors, date(state) and datetime(state, zone), which typeshed does
# not describe.
_DATE: Any = date
_DATETIME: Any = datetime


def record(event: Event) -> bytes:
    """`event` as the marshal bytes of its record (module doc), or of its pickle when it has
    no record."""
    kind = event.type
    plan = _FIELDS.get(kind)
    fields = event.__dict__
    if (
        plan is None
        or type(event) is not plan[0]
        or event.__pydantic_extra__
        or event.__pydantic_private__
        or tuple(fields) != plan[1]
    ):
        return _pickled(event)
    values = list(fields.values())
    types = tuple(map(type, values))
    where = _WHERE.get(types)
    if where is None:
        where = _where(types)
        if len(_WHERE) < 4096:
            _WHERE[types] = where
    if not where:
        return _pickled(event)
    decimals, instants, days = where
    for i in decimals:
        values[i] = (str(values[i]),)
    for i in instants:
        value = values[i]
        zone = value.tzinfo
        if type(zone) is not TzInfo:
            return _pickled(event)
        secs = _OFFSETS.get(zone)
        if secs is None:
            offset = zone.utcoffset(None)
            if offset is None or offset.microseconds:  # pragma: no cover - whole seconds
                return _pickled(event)
            secs = _OFFSETS.setdefault(zone, offset.days * 86400 + offset.seconds)
        values[i] = (value.__reduce__()[1][0], secs)
    for i in days:
        values[i] = values[i].__reduce__()[1][0]
    fields_set = event.__pydantic_fields_set__
    seen = _FIELDS_SET.get(kind)
    if seen is None or seen[0] != fields_set:
        names = tuple(sorted(fields_set))
        number = _SET_NUMBERS.get(names)
        if number is None:
            with _SETS_LOCK:  # two batches in two threads must not take the same number
                number = _SET_NUMBERS.get(names)
                if number is None:
                    _SETS.append(names)
                    number = _SET_NUMBERS[names] = len(_SETS) - 1
        seen = _FIELDS_SET[kind] = (set(fields_set), number)
    return marshal.dumps((kind, tuple(values), seen[1]), 2)


Where = tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]
# The exact types of an event's values -> where its Decimals, datetimes and dates are (or
# () when one of the types has no row in the table): one look-up instead of a type test per
# field. Bounded.
_WHERE: dict[tuple[type, ...], Where | tuple[()]] = {}


def _where(types: tuple[type, ...]) -> Where | tuple[()]:
    decimals, instants, days = [], [], []
    for i, cls in enumerate(types):
        if cls in _PLAIN:
            continue
        if cls is Decimal:
            decimals.append(i)
        elif cls is datetime:
            instants.append(i)
        elif cls is date:
            days.append(i)
        else:
            return ()
    return tuple(decimals), tuple(instants), tuple(days)


def _pickled(event: Event) -> bytes:
    return marshal.dumps(pickle.dumps(event, 5), 2)


def pack_records(records: list[bytes]) -> bytes:
    """One blob of records (`record`), read back in one `marshal.loads` (module doc)."""
    return b"[" + len(records).to_bytes(4, "little") + b"".join(records)


def _value(value: Any) -> Any:
    """The Decimal, datetime or date of a reduced value (the table), remembered: amounts,
    due dates and instants repeat from loan to loan, and all three types are immutable."""
    hit = _VALUES.get(value)
    if hit is not None:
        return hit
    if type(value) is bytes:
        out = _DATE(value)
    elif len(value) == 1:
        out = Decimal(value[0])
    else:
        secs = value[1]
        zone = _ZONES.get(secs) or _ZONES.setdefault(secs, TzInfo(secs))
        out = _DATETIME(value[0], zone)
    if len(_VALUES) >= 16384:
        _VALUES.clear()
    _VALUES[value] = out
    return out


_VALUES: dict[Any, Any] = {}  # reduced value -> the value (bounded; see _value)


def unpack_records(body: bytes) -> list[Event]:
    """The events of one blob of `pack_records`, in order."""
    out: list[Event] = []
    for rec in marshal.loads(body):
        if type(rec) is bytes:
            out.append(pickle.loads(rec))
            continue
        kind, values, fields_set = rec
        cls, names = _FIELDS[kind]
        event = cls.__new__(cls)
        # What unpickling a pydantic model does: the validated fields, no validation.
        if len(values) != len(names):  # pragma: no cover - records are written in field order
            raise ValueError(f"spill record of a {kind} event: {len(values)} values")
        fields = {
            k: v if type(v) not in _CONVERTED else _value(v)
            for k, v in zip(names, values, strict=False)
        }
        _set(event, "__dict__", fields)
        _set(event, "__pydantic_fields_set__", set(_SETS[fields_set]))
        _set(event, "__pydantic_extra__", None)
        _set(event, "__pydantic_private__", None)
        out.append(event)
    return out


_CONVERTED = frozenset({tuple, bytes})


def pack(event: Event) -> bytes:
    """One event as a blob (`pack_records` of its record)."""
    return pack_records([record(event)])


def unpack(body: bytes) -> Event:
    """The one event of a blob of `pack`."""
    (event,) = unpack_records(body)
    return event
