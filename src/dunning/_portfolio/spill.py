"""How the nightly batch keeps validated events in its private spill table (`batch`).

The spill file is written and read by one run of the batch only, so its events need not be
validated again: they are stored as their validated field values and rebuilt without
validation, the way unpickling a pydantic model rebuilds it.
"""

from __future__ import annotations

import marshal
import pickle
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic_core import TzInfo

from .._state.events import EVENT_CLASSES, Event

__all__ = ["pack", "unpack"]


# Spilled events: b"M" + marshal of (type, field names, values, fields set), values reduced
# to primitives by the table below; b"P" + pickle for an event holding anything else (extra
# or private attributes, a nested model, a datetime whose zone is not pydantic's fixed
# offset). pickle of the models themselves was ~2x slower (Decimal and TzInfo reducers).
#   Decimal              -> ("D", str)          exact: str(Decimal) keeps the exponent
#   datetime (TzInfo)    -> ("T", y, m, d, H, M, S, us, fold, offset seconds)
#   date                 -> ("d", ordinal)
#   str, int, bool, None -> itself
_PLAIN = (str, int, bool, type(None))
_ZONES: dict[int, TzInfo] = {}


def pack(event: Event) -> bytes:
    if event.__pydantic_extra__ or event.__pydantic_private__:
        return b"P" + pickle.dumps(event, 5)
    keys: list[str] = []
    values: list[Any] = []
    for key, value in event.__dict__.items():
        kind = type(value)
        if kind is Decimal:
            value = ("D", str(value))
        elif kind is datetime and type(value.tzinfo) is TzInfo:
            offset = value.utcoffset()
            if offset is None or offset.microseconds:
                return b"P" + pickle.dumps(event, 5)
            v = value
            secs = offset.days * 86400 + offset.seconds
            value = ("T", v.year, v.month, v.day, v.hour, v.minute, v.second, v.microsecond,
                     v.fold, secs)  # fmt: skip
        elif kind is date:
            value = ("d", value.toordinal())
        elif kind not in _PLAIN:
            return b"P" + pickle.dumps(event, 5)
        keys.append(key)
        values.append(value)
    fields_set = tuple(sorted(event.__pydantic_fields_set__))
    return b"M" + marshal.dumps((event.type, tuple(keys), tuple(values), fields_set))


def unpack(body: bytes) -> Event:
    if body[:1] == b"P":
        return pickle.loads(body[1:])  # type: ignore[no-any-return]
    kind, keys, values, fields_set = marshal.loads(body[1:])
    fields: dict[str, object] = {}
    for key, value in zip(keys, values, strict=True):
        if type(value) is tuple:
            tag = value[0]
            if tag == "D":
                value = Decimal(value[1])
            elif tag == "T":
                zone = _ZONES.get(value[9]) or _ZONES.setdefault(value[9], TzInfo(value[9]))
                y, mo, d, h, mi, sec, us, fold = value[1:9]
                value = datetime(y, mo, d, h, mi, sec, us, tzinfo=zone, fold=fold)
            elif tag == "d":
                value = date.fromordinal(value[1])
        fields[key] = value
    cls = EVENT_CLASSES[kind]
    event = cls.__new__(cls)
    # What unpickling a pydantic model does: the validated fields, no validation.
    event.__setstate__(
        {
            "__dict__": fields,
            "__pydantic_fields_set__": set(fields_set),
            "__pydantic_extra__": None,
            "__pydantic_private__": None,
        }
    )
    return event  # type: ignore[return-value]
