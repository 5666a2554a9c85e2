"""The building blocks of the event models (`dunning.events`): vocabularies, the money and
id field types, the base classes, and the minor-unit check.

Money amounts arrive as decimal strings (the wire form) or Decimals and must fit the event's
currency's minor units (`_MoneyCheck`); the checks are written for speed because every event
of every snapshot passes through them when a nightly batch reads its store back.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal, get_args

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from .._base.money import MINOR_UNITS, fits, to_decimal

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


def _money(value: object) -> Decimal:
    # Fast path for the wire form (a plain decimal string): exactly what to_decimal returns
    # for it; anything else, or a bad string, goes to to_decimal for its checks and message.
    if type(value) is str:
        try:
            d = Decimal(value)
        except InvalidOperation:
            return to_decimal(value)
        if d.is_finite():
            return d
    return to_decimal(value)


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
Amount = Annotated[Decimal, BeforeValidator(_money), Field(gt=0)]
NonNegAmount = Annotated[Decimal, BeforeValidator(_money), Field(ge=0)]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]


class _Event(BaseModel):
    """Fields every event has."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=False)

    event_id: NonEmpty
    at: AwareDatetime

    def __repr__(self) -> str:
        loan = getattr(self, "loan_id", None)
        return f"<{type(self).__name__} {self.event_id} loan={loan} at={self.at.isoformat()}>"


class _LoanEvent(_Event):
    loan_id: NonEmpty


class _BorrowerEvent(_Event):
    """A borrower-level event: `loan_id` optional, `borrower_id` required."""

    loan_id: NonEmpty | None = None
    borrower_id: NonEmpty


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
