"""The snapshot read-back validator: `AccountState`'s own schema with its Python-level field
checks expressed as pydantic-core constraints (same models, same values, no Python calls).

Theory of operation
-------------------

Every night the batch reads every snapshot back and validates it whole (`snapshot_check`):
a snapshot whose digest matches but whose content is not valid (its digest recomputed by
whoever edited it: the sha256 is not a secret) must still be refused. The reference
validation, ``AccountState.from_json``, calls Python for every event's time, date and amount
(`event_base._instant`, `_day`, `_money`, the ``gt``/``ge`` bound after them) and once more
per money event (`_MoneyCheck._check_minor_units`): about half of a snapshot's read-back.

`_reader(units)` is the same core schema rewritten, node by node, into constraints that
pydantic-core checks itself, for snapshots whose currency has `units` minor units:

====================================  ========================================================
reference node                        read-back node (accepts a SUBSET of what the reference
                                      does, with the same value)
====================================  ========================================================
``_instant`` before a datetime        a string matching ``YYYY-MM-DD[Tt ]HH:`` with a year in
                                      MIN_YEAR..MAX_YEAR, then the same datetime schema
``_day`` before a date                a string ``YYYY-MM-DD`` (year in range), then the date
``_money`` before a decimal, then     a string of 1-15 ASCII digits (under MAX_AMOUNT, never
pydantic's ``gt=0`` / ``ge=0``        negative) with at most `units` decimals, then `_money`
                                      itself (and ``> 0`` in the same call for ``gt=0``)
a plain ``Decimal`` (ledger, records) plain decimal text (sign, digits, point), then its
                                      Decimal (cached by text, as `_money` does)
a money event's ``currency``          one of the currencies with exactly `units` minor units
``_check_minor_units`` after it       dropped, but only when the rows above rewrote the
                                      event's currency and EVERY one of its money fields (then
                                      it cannot fail: each amount has at most `units` decimals
                                      and the currency has `units` minor units)
anything else                         unchanged (other model validators still run)
====================================  ========================================================

Each rewritten node accepts only values its reference node accepts, and gives the same value:
the reference's Python checks pass the very same string on to the very same core schema.
So whatever the read-back schema accepts, the reference accepts with an equal state (the
property tests compare the two on generated histories, bytes of `to_json` included), and
whatever it refuses (an odd but valid amount such as ``500.000`` in CNY, or a damaged
snapshot) is read again by the reference, which either accepts it or raises its own error
with its own message: the read-back changes speed, never an answer or an error.
"""

from __future__ import annotations

import functools
import threading
from decimal import Decimal
from typing import Any

from pydantic import BaseModel
from pydantic_core import SchemaValidator, ValidationError
from pydantic_core import core_schema as cs

from .._base.money import MINOR_UNITS
from .._base.time import MAX_YEAR, MIN_YEAR
from .._state import event_base
from .._state.account import AccountState
from .._state.event_base import _day, _instant, _money, _money_fields

__all__ = ["fast_read", "units_of"]

_YEAR = "(?:" + "|".join(str(y) for y in range(MIN_YEAR, MAX_YEAR + 1)) + ")"
_INSTANT = cs.str_schema(pattern=f"^{_YEAR}-[0-9]{{2}}-[0-9]{{2}}[Tt ][0-9]{{2}}:")
_DAY = cs.str_schema(pattern=f"^{_YEAR}-[0-9]{{2}}-[0-9]{{2}}$")
_BOUNDS = {"greater_than_validator": "gt", "greater_than_or_equal_validator": "ge"}


def _positive(value: object) -> Decimal:
    """`_money`, then the bound ``gt=0`` (one Python call instead of two)."""
    amount = _money(value)
    if amount > 0:
        return amount
    raise ValueError("expected an amount greater than 0")


def _amount(units: int, bound: str) -> Any:
    """Text of 1-15 ASCII digits (so under MAX_AMOUNT, never signed: ``ge=0`` holds) with at
    most `units` decimals, then `_money` itself (and ``gt=0`` for a positive amount)."""
    decimals = f"(?:\\.[0-9]{{1,{units}}})?" if units else ""
    text = cs.str_schema(pattern=f"^[0-9]{{1,15}}{decimals}$")
    read = _positive if bound == "gt" else _money
    return cs.chain_schema([text, cs.no_info_plain_validator_function(read)])


# Decimal texts already read (ledger amounts repeat from loan to loan). Decimals are
# immutable. Bounded.
_DECIMALS: dict[str, Decimal] = {}


def _decimal(text: str) -> Decimal:
    """The Decimal of plain decimal text (what the reference's decimal schema gives it)."""
    hit = _DECIMALS.get(text)
    if hit is None:
        if len(_DECIMALS) >= 4096:
            _DECIMALS.clear()
        hit = _DECIMALS[text] = Decimal(text)
    return hit


# Plain decimal text (an optional minus, ASCII digits, an optional point with digits), then
# its Decimal: a subset of what a plain decimal schema takes from JSON (which also takes
# numbers, exponents, spaces), with the same value.
_DECIMAL = cs.chain_schema(
    [
        cs.str_schema(pattern="^-?[0-9]{1,30}(?:\\.[0-9]{1,30})?$"),
        cs.no_info_plain_validator_function(_decimal),
    ]
)


def _function(node: dict[str, Any]) -> Any:
    return node.get("function", {}).get("function")


def _is_minor_units_check(fn: Any) -> bool:
    """Whether `fn` is `_MoneyCheck._check_minor_units` (the schema holds the plain function
    under pydantic's decorator)."""
    return (
        getattr(fn, "__module__", None) == event_base.__name__
        and getattr(fn, "__qualname__", None) == "_MoneyCheck._check_minor_units"
    )


def _bound(node: dict[str, Any]) -> str | None:
    """``"gt"`` / ``"ge"`` for pydantic's Python bound ``gt=0`` / ``ge=0`` after a `_money`
    node, else None."""
    fn = _function(node)
    if not isinstance(fn, functools.partial) or fn.args:
        return None
    key = _BOUNDS.get(getattr(fn.func, "__name__", ""))
    if key is None or fn.keywords != {key: 0}:
        return None
    inner = node.get("schema", {})
    if inner.get("type") != "function-before" or _function(inner) is not _money:
        return None
    return key


class _Rewrite:
    """One rewrite of the reference schema for currencies with `units` minor units."""

    def __init__(self, units: int) -> None:
        self.units = units
        self.currencies = sorted(c for c, n in MINOR_UNITS.items() if n == units)
        self.money: set[int] = set()  # ids of rewritten amount nodes

    def node(self, x: Any) -> Any:
        if isinstance(x, list):
            return [self.node(v) for v in x]
        if not isinstance(x, dict):
            return x
        kind = x.get("type")
        if kind == "function-after":
            bound = _bound(x)
            if bound is not None:
                out = _amount(self.units, bound)
                self.money.add(id(out))
                return out
            if _is_minor_units_check(_function(x)):
                return self.money_model(x)
        if kind == "function-before" and _function(x) is _instant:
            return cs.chain_schema([_INSTANT, self.node(x["schema"])])
        if kind == "function-before" and _function(x) is _day:
            return cs.chain_schema([_DAY, self.node(x["schema"])])
        if kind == "function-before" and _function(x) is _money:
            return x  # (no bound after it: as it is, the decimal under it included)
        if kind == "decimal" and set(x) <= {"type", "metadata"}:
            return _DECIMAL  # a plain Decimal field (the ledger's, the records')
        return {k: self.node(v) for k, v in x.items()}

    def money_model(self, x: dict[str, Any]) -> Any:
        """A money event: its currency a literal, its minor-unit check dropped when every
        money field was rewritten (else kept, with the rest rewritten)."""
        model = self.node(x["schema"])
        fields = model.get("schema", {}).get("fields", {})
        cls = model.get("cls")
        names = _money_fields(cls) if isinstance(cls, type) else None
        currency = fields.get("currency", {})
        complete = (
            model.get("type") == "model"
            and isinstance(names, tuple)
            and currency.get("schema", {}).get("type") == "str"
            and all(id(_field_schema(fields.get(n))) in self.money for n in names)
        )
        if not complete:
            return {**x, "schema": model}
        currency["schema"] = cs.literal_schema(self.currencies)
        return model


def _field_schema(field: Any) -> Any:
    """A model field's value schema, under its default (if any)."""
    schema = field.get("schema") if isinstance(field, dict) else None
    if isinstance(schema, dict) and schema.get("type") == "default":
        schema = schema.get("schema")
    return schema


def _models(x: Any, into: set[type[BaseModel]]) -> set[type[BaseModel]]:
    """Every model class a schema builds."""
    if isinstance(x, dict):
        cls = x.get("cls")
        if x.get("type") == "model" and isinstance(cls, type) and issubclass(cls, BaseModel):
            into.add(cls)
        for v in x.values():
            _models(v, into)
    elif isinstance(x, list | tuple):
        for v in x:
            _models(v, into)
    return into


_BUILDING = threading.Lock()


@functools.cache
def _reader(units: int) -> SchemaValidator:
    """The read-back validator for currencies with `units` minor units (built once, ~8 ms).

    pydantic-core builds a ``model`` node from its class's own prebuilt validator (the
    reference, Python checks and all) when the class's ``__dict__`` says it is complete, so
    the flag is lowered while this schema is built (each node is then built from the
    rewritten schema) and put back. Meanwhile pydantic reads the flag only to decide whether
    ``model_rebuild`` has work to do, and pydantic-core whether to reuse a validator, so
    another thread at worst rebuilds or rebuilds a validator for nothing."""
    schema = _Rewrite(units).node(AccountState.__pydantic_core_schema__)
    classes = sorted(_models(schema, set()), key=lambda c: c.__qualname__)
    with _BUILDING:
        flags = [c.__dict__.get("__pydantic_complete__") for c in classes]
        try:
            for cls in classes:
                cls.__pydantic_complete__ = False
            return SchemaValidator(schema)
        finally:
            for cls, flag in zip(classes, flags, strict=True):
                if flag is None:  # it was inherited
                    del cls.__pydantic_complete__
                else:
                    cls.__pydantic_complete__ = flag


def units_of(text: bytes) -> int | None:
    """The minor units of the snapshot's currency, read off its text (its first
    ``"currency":"XXX"``: the state's own, `to_json` writes it third), or None."""
    at = text.find(b'"currency":"')
    if at < 0:
        return None
    return MINOR_UNITS.get(text[at + 12 : at + 15].decode("ascii", "replace"))


def fast_read(text: bytes) -> AccountState | None:
    """The snapshot `text` read by the read-back schema, or None when it refuses it (then
    read it with ``AccountState.from_json``, which accepts it or says why not)."""
    units = units_of(text)
    if units is None:
        return None
    try:
        state = _reader(units).validate_json(text)
    except ValidationError:
        return None
    return state  # type: ignore[no-any-return]
