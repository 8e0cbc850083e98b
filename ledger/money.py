"""Amounts of money as integer minor units (cents, yen, fils) of an ISO 4217 currency.

Amounts cross the API as decimal strings ("12.34") and live everywhere else as `int`s, so no
binary floating point ever touches money. `parse_amount` is the one way in and `format_amount` the
one way out; for every amount `parse_amount(format_amount(x, c), c, ...) == x`.
"""

from __future__ import annotations

import re
from typing import Any

from domain.errors import Invalid
from ledger.currencies import CURRENCY_EXPONENTS

MAX_MINOR_UNITS = 10**15
"""Largest magnitude accepted, in minor units: far beyond any real expense, far below float trouble."""

_MAX_TEXT_LENGTH = 40
_DECIMAL = re.compile(r"(-?)([0-9]+)(?:\.([0-9]+))?", re.ASCII)


def invalid(field: str, message: str) -> Invalid:
    """The `Invalid` for one bad input field, in the shape the error middleware renders."""
    return Invalid(f"{field}: {message}", details=[{"field": field, "message": message}])


def parse_currency(code: Any, *, field: str = "currency") -> str:
    """An active ISO 4217 code, exactly as written (upper case, no surrounding space)."""
    if not isinstance(code, str):
        raise invalid(field, 'must be an ISO 4217 currency code string, like "EUR"')
    if code not in CURRENCY_EXPONENTS:
        shown = code if len(code) <= 8 else code[:8] + "..."
        raise invalid(field, f'unknown currency {shown!r}; use an ISO 4217 code like "EUR"')
    return code


def parse_decimal(text: Any, places: int, *, field: str, what: str = "amounts") -> int:
    """A plain decimal string with at most `places` digits after the point, scaled by 10**places.

    Accepts an optional leading '-', digits, and an optional '.' followed by digits; nothing else
    (no '+', exponent, separator, whitespace or bare '.5'). Callers check the sign and the range.
    """
    if not isinstance(text, str):
        raise invalid(field, f'send {what} as decimal strings, like "12.34", not as JSON numbers')
    if len(text) > _MAX_TEXT_LENGTH:
        raise invalid(field, "is too long to be a number")
    match = _DECIMAL.fullmatch(text)
    if match is None:
        raise invalid(
            field, "must be a plain decimal number like \"12.34\" (no '+', spaces, separators or exponents)"
        )
    sign, whole, fraction = match.groups()
    fraction = fraction or ""
    if len(fraction) > places:
        if places == 0:
            raise invalid(field, "must be a whole number here, without decimals")
        raise invalid(field, f"has more than {places} digits after the decimal point")
    scale: int = 10**places
    value = int(whole) * scale + int(fraction.ljust(places, "0") or "0")
    return -value if sign else value


def parse_amount(
    text: Any,
    currency: str,
    *,
    field: str,
    allow_zero: bool = False,
    allow_negative: bool = False,
) -> int:
    """Minor units of `currency` written as a decimal string, e.g. ("12.30", "EUR") -> 1230.

    Raises `Invalid` naming `field` for anything else: JSON numbers, malformed text, more decimals
    than the currency has, zero or a minus sign unless allowed, a magnitude above
    `MAX_MINOR_UNITS`, or an unknown currency.
    """
    exponent = CURRENCY_EXPONENTS[parse_currency(currency, field="currency")]
    minor = parse_decimal(text, exponent, field=field)
    if text.startswith("-") and not allow_negative:
        raise invalid(field, "must not be negative")
    if minor == 0 and not allow_zero:
        raise invalid(field, "must not be zero" if allow_negative else "must be greater than zero")
    if abs(minor) > MAX_MINOR_UNITS:
        raise invalid(field, f"is too large (at most {format_amount(MAX_MINOR_UNITS, currency)})")
    return minor


def format_amount(minor: int, currency: str) -> str:
    """The canonical decimal string: all the currency's decimals, '-' for negatives, no '+'.

    (1230, "EUR") -> "12.30", (-5, "USD") -> "-0.05", (1000, "JPY") -> "1000", (1, "KWD") -> "0.001".
    """
    exponent = CURRENCY_EXPONENTS[currency]
    sign = "-" if minor < 0 else ""
    whole, fraction = divmod(abs(minor), 10**exponent)
    if exponent == 0:
        return f"{sign}{whole}"
    return f"{sign}{whole}.{fraction:0{exponent}d}"
