"""The building blocks of the event models (`dunning.events`): vocabularies, the money and
id field types, the base classes, and the minor-unit check.

Money amounts arrive as decimal strings (the wire form) or Decimals and must fit the event's
currency's minor units (`_MoneyCheck`); the checks are written for speed because every event
of every snapshot passes through them when a nightly batch reads its store back.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    model_validator,
)

from .._base.money import MINOR_UNITS, fits, to_decimal
from .._base.time import MAX_YEAR, MIN_YEAR

Channel = Literal["phone", "sms", "email", "letter", "app", "visit"]
ChannelOrAny = Literal["phone", "sms", "email", "letter", "app", "visit", "any"]
# The tuples are read off the Literals, so a vocabulary is written once.
CONTACT_CHANNELS: tuple[str, ...] = get_args(Channel)
CHANNELS: tuple[str, ...] = get_args(ChannelOrAny)
Outcome = Literal[
    "right_party",
    "third_party",
    "no_answer",
    "voicemail",
    "wrong_number",
    "refused",
    "delivered",
    "bounced",
]
OUTCOMES: tuple[str, ...] = get_args(Outcome)


# Bounds checked at intake (every path reads events through these types), so nothing later
# (sums, quantize, calendar arithmetic) can overflow: amounts at most 10^15 major units,
# dates and instants in the years 1900 to 2200, ids at most 128 printable non-space characters.
MAX_AMOUNT = Decimal(10) ** 15
ID_MAX = 128


# Money texts already read (amounts repeat: the same dues and payments on every loan), so a
# snapshot's amounts are checked once per distinct text. Decimals are immutable. Bounded.
_MONEY_TEXT: dict[str, Decimal] = {}


def _money(value: object) -> Decimal:
    """A Decimal from plain decimal text or an integer (or a Decimal), at most MAX_AMOUNT."""
    if type(value) is str:
        hit = _MONEY_TEXT.get(value)
        if hit is not None:
            return hit
        # Plain decimal text: ASCII digits with at most one point (and a sign, refused by
        # the field's bound).
        digits = value[1:] if value[:1] == "-" else value
        if not (digits.isascii() and len(digits) <= 40 and digits.replace(".", "", 1).isdigit()):
            raise ValueError(
                "expected plain decimal text such as '500.00' (digits, one optional point;"
                " no exponent, sign, spaces or underscores)"
            )
        d = Decimal(value)
        if abs(d) > MAX_AMOUNT:
            raise ValueError("expected an amount of at most 10^15 (major units)")
        if len(_MONEY_TEXT) >= 4096:
            _MONEY_TEXT.clear()
        _MONEY_TEXT[value] = d
        return d
    d = to_decimal(value)  # ints and Decimals; refuses floats and bools with its own message
    if abs(d) > MAX_AMOUNT:
        raise ValueError("expected an amount of at most 10^15 (major units)")
    return d


def _instant(value: object) -> object:
    """ISO-8601 text (or a datetime) in the years MIN_YEAR..MAX_YEAR (as written); numbers and
    numeric strings are not times. One call per field, with string methods only: every event
    of every snapshot a nightly batch reads passes through it."""
    if type(value) is str:
        # 'YYYY-MM-DDTHH:MM...' (or a space for the T); pydantic parses the rest.
        if not (
            value[4:5] == "-"
            and value[7:8] == "-"
            and value[13:14] == ":"
            and value[10:11] in ("T", "t", " ")
            and value[:4].isdigit()
        ):
            raise ValueError(
                "expected an ISO-8601 time with an offset such as '2025-03-03T10:00:00+08:00'"
            )
        year = int(value[:4])
    elif isinstance(value, datetime):
        year = value.year
    else:
        raise ValueError("expected ISO-8601 text such as '2025-03-03T10:00:00+08:00'")
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValueError(f"expected a time in the years {MIN_YEAR} to {MAX_YEAR}")
    return value


def _day(value: object) -> object:
    """An ISO date as text (or a date) in the years MIN_YEAR..MAX_YEAR; numbers, numeric
    strings and times are not dates."""
    if type(value) is str:
        if not (
            len(value) == 10
            and value[4] == "-"
            and value[7] == "-"
            and value[:4].isdigit()
            and value[5:7].isdigit()
            and value[8:].isdigit()
        ):
            raise ValueError("expected an ISO date such as '2025-03-03'")
        year = int(value[:4])
    elif isinstance(value, date) and not isinstance(value, datetime):
        year = value.year
    else:
        raise ValueError("expected an ISO date such as '2025-03-03'")
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValueError(f"expected a date in the years {MIN_YEAR} to {MAX_YEAR}")
    return value


# Results of `fits` by (amount, currency): amounts repeat (the same dues and payments on
# every loan), and fits depends only on the amount's value, so equal Decimals share an
# entry whatever their exponent. Bounded: cleared when full.
_FITS: dict[tuple[Decimal, str], bool] = {}


def _fits(value: Decimal, currency: str) -> bool:
    key = (value, currency)
    try:
        ok = _FITS.get(key)
    except TypeError:  # an unhashable (signalling NaN) amount: no caching
        return fits(value, currency)
    if ok is None:
        ok = fits(value, currency)
        if len(_FITS) >= 4096:
            _FITS.clear()
        _FITS[key] = ok
    return ok


def _mentions_decimal(annotation: object) -> bool:
    return annotation is Decimal or any(_mentions_decimal(a) for a in get_args(annotation))


# Per event class, the fields that may hold a Decimal (model field order), found once.
_MONEY_FIELDS: dict[type, tuple[str, ...]] = {}


def _money_fields(cls: type[BaseModel]) -> tuple[str, ...]:
    names = _MONEY_FIELDS.get(cls)
    if names is None:
        fields = cls.model_fields.items()
        names = _MONEY_FIELDS[cls] = tuple(n for n, f in fields if _mentions_decimal(f.annotation))
    return names


NonEmpty = Annotated[str, Field(min_length=1, max_length=200, pattern=r"\S")]
Id = Annotated[str, Field(min_length=1, max_length=ID_MAX, pattern=r"^[^\s\x00-\x1f\x7f]+$")]
Instant = Annotated[AwareDatetime, BeforeValidator(_instant)]
Day = Annotated[date, BeforeValidator(_day)]
Amount = Annotated[Decimal, BeforeValidator(_money), Field(gt=0)]
NonNegAmount = Annotated[Decimal, BeforeValidator(_money), Field(ge=0)]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]


class _Event(BaseModel):
    """Fields every event has."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=False)

    event_id: Id
    at: Instant
    # The feed's own order of events at one instant, when it sends one (`_state.order`).
    seq: Annotated[StrictInt, Field(ge=0, lt=2**63)] | None = None

    def __repr__(self) -> str:
        loan = getattr(self, "loan_id", None)
        return f"<{type(self).__name__} {self.event_id} loan={loan} at={self.at.isoformat()}>"


class _LoanEvent(_Event):
    """A loan-level event. Each one also takes an optional `borrower_id` (most feeds send it
    on every event), declared after its `type` so the wire form of an event without it is
    unchanged; when given it is checked against the loan's borrower (ForeignEventError)."""

    loan_id: Id


class _BorrowerEvent(_Event):
    """A borrower-level event: `loan_id` optional, `borrower_id` required."""

    loan_id: Id | None = None
    borrower_id: Id


class _MoneyCheck:
    """Mixin: every Decimal field must fit the event's currency's minor units."""

    @model_validator(mode="after")
    def _check_minor_units(self) -> Any:
        currency = getattr(self, "currency", None)
        if currency is None:
            return self
        if currency not in MINOR_UNITS:
            raise ValueError(f"currency {currency!r} is not a supported ISO-4217 code")
        # __dict__ holds the validated fields; iterating the model itself is much slower.
        # This runs again whenever a validated event is put into another model (an after
        # validator is not skipped for instances), so it visits only the money fields.
        fields = self.__dict__
        for name in _money_fields(type(self)):  # type: ignore[arg-type]
            value = fields.get(name)
            if isinstance(value, Decimal) and not _fits(value, currency):
                raise ValueError(
                    f"{name} {value} has more decimals than {currency} allows"
                    f" ({MINOR_UNITS[currency]})"
                )
        return self
