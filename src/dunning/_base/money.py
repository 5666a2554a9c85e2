"""Money: Decimal amounts with ISO-4217 currency codes; never float.

Each currency has a number of minor units (CNY 2, JPY 0, BHD 3); amounts may not carry more
decimals than their currency allows, so every amount is an exact whole number of minor units.
That is what lets the durable_rules evaluator compare money as integers.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from .errors import InputError

# ISO-4217 minor units for the currencies a collections book is likely to hold. A currency not
# listed here is rejected with a hint rather than guessed at.
MINOR_UNITS: dict[str, int] = {
    "AED": 2,
    "AUD": 2,
    "BHD": 3,
    "BRL": 2,
    "CAD": 2,
    "CHF": 2,
    "CNY": 2,
    "CZK": 2,
    "DKK": 2,
    "EUR": 2,
    "GBP": 2,
    "HKD": 2,
    "HUF": 2,
    "IDR": 2,
    "ILS": 2,
    "INR": 2,
    "JPY": 0,
    "KRW": 0,
    "KWD": 3,
    "MXN": 2,
    "MYR": 2,
    "NOK": 2,
    "NZD": 2,
    "PHP": 2,
    "PLN": 2,
    "RUB": 2,
    "SAR": 2,
    "SEK": 2,
    "SGD": 2,
    "THB": 2,
    "TRY": 2,
    "TWD": 2,
    "USD": 2,
    "VND": 0,
    "ZAR": 2,
}

ZERO = Decimal(0)


def check_currency(code: str) -> str:
    if code not in MINOR_UNITS:
        known = ", ".join(sorted(MINOR_UNITS))
        raise InputError(f"currency: expected an ISO-4217 code (one of {known}), found {code!r}")
    return code


def to_decimal(value: object, *, what: str = "amount") -> Decimal:
    """Exact Decimal from a Decimal, int or numeric string; floats are refused."""
    if isinstance(value, bool | float):
        raise InputError(
            f"{what}: expected a decimal string such as '500.00' (floats lose cents),"
            f" found {value!r}"
        )
    if isinstance(value, Decimal):
        d = value
    elif isinstance(value, int | str):
        try:
            d = Decimal(value)
        except InvalidOperation:
            raise InputError(f"{what}: expected a decimal number, found {value!r}") from None
    else:
        raise InputError(f"{what}: expected a decimal number, found {value!r}")
    if not d.is_finite():
        raise InputError(f"{what}: expected a finite amount, found {value!r}")
    return d


def minor_units(amount: Decimal, currency: str) -> int:
    """`amount` as an integer count of the currency's minor units (exact)."""
    scaled = amount.scaleb(MINOR_UNITS[currency])
    if scaled != scaled.to_integral_value():
        raise InputError(
            f"amount {amount} has more decimals than {currency} allows ({MINOR_UNITS[currency]})"
        )
    return int(scaled)


def quantize(amount: Decimal, currency: str) -> Decimal:
    """Canonical form of an amount in `currency` (fixed decimals, e.g. 500 -> 500.00)."""
    return amount.quantize(Decimal(1).scaleb(-MINOR_UNITS[currency]))


def fits(amount: Decimal, currency: str) -> bool:
    """True when `amount` is a whole number of `currency`'s minor units."""
    scaled = amount.scaleb(MINOR_UNITS[currency])
    return bool(scaled == scaled.to_integral_value())
