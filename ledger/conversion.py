"""Converting money between currencies exactly: rates as exact fractions, never floats.

A rate is a decimal string ("1.0842": one unit of the source currency is worth 1.0842 units of
the target). Conversion works on minor units and each currency's own decimals, so 1000 JPY (1000
minor units) at 0.0061 EUR is exactly 6.1 EUR = 610 minor units. Rounding happens once, at the
end, by rules that keep the ledger's invariants:

- `convert_balances`: members' balances in many currencies → one currency, each within one minor
  unit of its exact value and summing to exactly zero (largest remainder, ties by member id).
- `exchanged`: an expense's payers and shares → another currency, the total rounded half to even
  and both sides allocated by largest remainder, so each still sums to the converted total.
- `inverse`: the rate back, exact (1 / rate), for a pair given the other way round.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from ledger.allocation import allocate_largest_remainder
from ledger.currencies import currency_exponent
from ledger.money import invalid

_RATE = re.compile(r"[0-9]{1,12}(?:\.[0-9]{1,12})?", re.ASCII)


def parse_rate(text: Any, *, field: str = "rate") -> Fraction:
    """A positive decimal string of at most 12 digits on each side of the point, exactly."""
    if not isinstance(text, str) or not _RATE.fullmatch(text):
        raise invalid(field, 'must be a positive decimal string such as "1.0842"')
    rate = Fraction(text)
    if rate <= 0:
        raise invalid(field, "must be more than zero")
    return rate


def format_rate(rate: Fraction, places: int = 10) -> str:
    """`rate` as a decimal string, exact when it has at most `places` decimals, else rounded
    half to even there, trailing zeros dropped."""
    scaled = round(rate * 10**places)
    whole, part = divmod(scaled, 10**places)
    digits = f"{part:0{places}d}".rstrip("0")
    return f"{whole}.{digits}" if digits else str(whole)


def inverse(rate: Fraction) -> Fraction:
    return 1 / rate


def convert(amount: int, source: str, target: str, rate: Fraction) -> Fraction:
    """`amount` minor units of `source` in minor units of `target`, exactly (not rounded)."""
    return amount * rate * Fraction(10) ** (currency_exponent(target) - currency_exponent(source))


def round_half_even(value: Fraction) -> int:
    return round(value)


def convert_balances(
    balances: Mapping[str, Mapping[str, int]], target: str, rates: Mapping[str, Fraction]
) -> dict[str, int]:
    """Each member's balances (currency → minor units; each currency summing to zero over the
    members) as one balance in `target`, summing to exactly zero. `rates[c]` converts c into
    `target` (`target` itself needs none). KeyError names a currency without a rate.

    Exact, in integers: each currency's factor (its rate times the change of decimals) is put
    over one common denominator, so a member's exact value is one integer numerator over it
    (Fraction sums would grow their denominators term by term, at some 40 µs a member)."""
    factors: dict[str, Fraction] = {}
    for by_currency in balances.values():
        for currency in by_currency:
            if currency not in factors:
                rate = Fraction(1) if currency == target else rates[currency]
                factors[currency] = convert(1, currency, target, rate)
    common = math.lcm(*(factor.denominator for factor in factors.values())) if factors else 1
    scaled = {c: factor.numerator * (common // factor.denominator) for c, factor in factors.items()}
    exact = {m: sum(a * scaled[c] for c, a in held.items()) for m, held in balances.items()}
    floors = {member: value // common for member, value in exact.items()}
    # the exact values sum to zero, so the floors fall short by a whole number below the count
    short = -sum(floors.values())
    by_remainder = sorted(exact, key=lambda member: (-(exact[member] - floors[member] * common), member))
    for member in by_remainder[:short]:
        floors[member] += 1
    return floors


def exchanged(
    paid: Mapping[str, int], owed: Mapping[str, int], source: str, target: str, rate: Fraction
) -> tuple[int, dict[str, int], dict[str, int]]:
    """An expense's total, payers and shares (minor units of `source`) in `target`: the total
    rounded half to even, each side allocated in proportion to what it was (largest remainder),
    so both still sum to the converted total."""
    total = sum(paid.values())
    converted = round_half_even(convert(total, source, target, rate))

    def allocated(side: Mapping[str, int]) -> dict[str, int]:
        if converted == 0 or not any(side.values()):  # a zero total stays zero for everyone
            return dict.fromkeys(side, 0)
        return allocate_largest_remainder(converted, dict(side))

    return converted, allocated(paid), allocated(owed)


CONVERSION = "conversion"
"""The split kind of a recorded conversion (`conversion_entry`): never made from a client's split."""


def conversion_entry(
    balances: Mapping[str, Mapping[str, int]], target: str, rates: Mapping[str, Fraction]
) -> tuple[dict[str, int], dict[str, int], dict[str, dict[str, int]]]:
    """What recording "convert everything to `target`" moves: every member's balance in each
    other currency back to zero, and its value added to their balance in `target`.

    Returns (paid, owed, moves) in the shape of an expense in `target`: `paid` and `owed` (minor
    units, each summing to the same total) carry the `target` side, so its net is the converted
    value (`convert_balances`: zero-sum, each within a minor unit of exact); `moves` (currency →
    member → minor units, each currency summing to zero) carries the other side. Every member
    with a move is in `owed`, at zero where nothing was owed, so they all count as taking part."""
    others = {m: {c: a for c, a in held.items() if c != target and a} for m, held in balances.items()}
    others = {m: held for m, held in others.items() if held}
    converted = convert_balances(others, target, rates)
    moves: dict[str, dict[str, int]] = {}
    for member, held in sorted(others.items()):
        for currency, amount in held.items():
            moves.setdefault(currency, {})[member] = -amount
    paid = {m: value for m, value in converted.items() if value > 0}
    owed = {m: max(-value, 0) for m, value in converted.items()}
    return paid, owed, dict(sorted(moves.items()))
