"""Currency conversion (ledger/conversion.py): exact rates, balances converted to one currency that
still sum to zero, expenses exchanged at a card rate, and round trips."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain import Expense
from domain.errors import Invalid
from ledger.allocation import allocate_largest_remainder
from ledger.conversion import (
    conversion_entry,
    convert,
    convert_balances,
    exchanged,
    format_rate,
    inverse,
    parse_rate,
)
from ledger.currencies import currency_exponent
from ledger.effects import effects
from ledger.money import format_amount
from tests.store.builders import T0

CURRENCIES = ["EUR", "USD", "JPY", "KWD", "GBP"]
PEOPLE = ["u1", "u2", "u3", "u4", "u5"]
RATES = st.fractions(min_value=Fraction(1, 10_000), max_value=Fraction(10_000), max_denominator=10**6)


@st.composite
def group_balances(draw: Any) -> dict[str, dict[str, int]]:
    """Per member, per currency; each currency sums to zero over the members."""
    members = draw(st.lists(st.sampled_from(PEOPLE), min_size=2, max_size=5, unique=True))
    balances: dict[str, dict[str, int]] = {m: {} for m in members}
    for currency in draw(st.lists(st.sampled_from(CURRENCIES), min_size=1, max_size=4, unique=True)):
        amounts = draw(
            st.lists(st.integers(-(10**9), 10**9), min_size=len(members) - 1, max_size=len(members) - 1)
        )
        for member, amount in zip(members, [*amounts, -sum(amounts)], strict=True):
            balances[member][currency] = amount
    return balances


@settings(max_examples=300, deadline=None)
@given(group_balances(), st.sampled_from(CURRENCIES), st.dictionaries(st.sampled_from(CURRENCIES), RATES))
def test_converted_balances_sum_to_zero_each_within_a_minor_unit_of_exact(
    balances: dict[str, dict[str, int]], target: str, rates: dict[str, Fraction]
) -> None:
    rates = {c: rates.get(c, Fraction(3, 7)) for c in CURRENCIES}
    converted = convert_balances(balances, target, rates)
    assert sum(converted.values()) == 0
    for member, by_currency in balances.items():
        exact = sum(
            (convert(a, c, target, Fraction(1) if c == target else rates[c]) for c, a in by_currency.items()),
            Fraction(0),
        )
        assert abs(converted[member] - exact) < 1
    assert convert_balances(balances, target, rates) == converted  # deterministic


def test_a_currency_without_a_rate_is_named() -> None:
    with pytest.raises(KeyError, match="USD"):
        convert_balances({"u1": {"USD": 5}, "u2": {"USD": -5}}, "EUR", {})


def test_a_balance_already_in_the_target_is_left_as_it_is() -> None:
    assert convert_balances({"u1": {"EUR": 1234}, "u2": {"EUR": -1234}}, "EUR", {}) == {
        "u1": 1234,
        "u2": -1234,
    }


def test_decimals_are_each_currencys_own() -> None:
    # 1,000 yen at 0.0061 EUR is 6.10 EUR; 1 KWD (1000 fils) at 3.05 EUR is 3.05 EUR
    assert convert(1000, "JPY", "EUR", parse_rate("0.0061")) == 610
    assert convert(1000, "KWD", "EUR", parse_rate("3.05")) == 305
    assert currency_exponent("KWD") == 3


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(st.sampled_from(PEOPLE), st.integers(0, 10**9), min_size=1),
    st.dictionaries(st.sampled_from(PEOPLE), st.integers(0, 10**9), min_size=1),
    st.sampled_from(CURRENCIES),
    st.sampled_from(CURRENCIES),
    RATES,
)
def test_an_exchanged_expense_still_adds_up(
    paid: dict[str, int], weights: dict[str, int], source: str, target: str, rate: Fraction
) -> None:
    total = sum(paid.values())
    if total == 0 or not any(weights.values()):
        return
    owed = allocate_largest_remainder(total, weights)
    converted, new_paid, new_owed = exchanged(paid, owed, source, target, rate)
    assert sum(new_paid.values()) == sum(new_owed.values()) == converted
    assert abs(converted - convert(total, source, target, rate)) <= Fraction(1, 2)
    assert new_paid.keys() == paid.keys() and new_owed.keys() == owed.keys()


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 10**12), st.sampled_from(CURRENCIES), st.sampled_from(CURRENCIES), RATES)
def test_a_round_trip_comes_back_within_a_minor_unit(
    amount: int, source: str, target: str, rate: Fraction
) -> None:
    there = round(convert(amount, source, target, rate))
    back = round(convert(there, target, source, inverse(rate)))
    scale = rate * Fraction(10) ** (currency_exponent(target) - currency_exponent(source))
    if scale >= 1:  # no precision is lost on the way out, so at most the last rounding's
        assert abs(back - amount) <= 1
    else:  # the target is coarser: back is as close as the target's unit allows
        assert abs(back - amount) <= Fraction(1, 2) / scale + 1


@pytest.mark.parametrize("text", ["0", "0.0", "-1", "1e3", "1,5", "", " 1", "1.", ".5", "1" * 13, None, 1.5])
def test_a_rate_is_a_positive_decimal_string(text: Any) -> None:
    with pytest.raises(Invalid):
        parse_rate(text)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 10**12 - 1), st.integers(0, 10))
def test_a_rate_formats_back_to_itself(digits: int, places: int) -> None:
    rate = Fraction(digits, 10**places)
    assert parse_rate(format_rate(rate)) == rate


@settings(max_examples=200, deadline=None)
@given(group_balances(), st.sampled_from(CURRENCIES), st.dictionaries(st.sampled_from(CURRENCIES), RATES))
def test_a_recorded_conversion_zeroes_every_other_currency_and_moves_exactly_its_value(
    balances: dict[str, dict[str, int]], target: str, rates: dict[str, Fraction]
) -> None:
    """`conversion_entry` as an expense, through `effects`: balances in every other currency end
    at zero, the target side is the converted value (zero-sum, within a minor unit of exact),
    nobody spent anything, and undoing it (effects(entry, None)) is the exact opposite."""
    rates = {c: rates.get(c, Fraction(3, 7)) for c in CURRENCIES}
    paid, owed, moves = conversion_entry(balances, target, rates)
    assert sum(paid.values()) == sum(owed.values())
    entry = Expense(
        id="x", group_id="g", description="", amount=sum(paid.values()), currency=target, date="2024-01-07",
        category="general", paid=paid, owed=owed, notes="", receipt_id=None, created_by="u1",
        created_at=T0, updated_at=T0, version=1,
        split={
            "kind": "conversion",
            "moves": [
                {"user_id": u, "currency": c, "amount": format_amount(a, c)}
                for c, by in moves.items()
                for u, a in by.items()
            ],
        },
    )  # fmt: skip
    done = effects(None, entry)
    assert done.spending == {}
    after: dict[tuple[str, str], int] = {(m, c): a for m, held in balances.items() for c, a in held.items()}
    for key, delta in done.balances.items():
        after[key] = after.get(key, 0) + delta
    assert all(amount == 0 for (_, currency), amount in after.items() if currency != target)
    expected = convert_balances(
        {m: {c: a for c, a in held.items() if c != target} for m, held in balances.items()}, target, rates
    )
    for member in balances:
        gained = after.get((member, target), 0) - balances[member].get(target, 0)
        assert gained == expected[member]
    undone = effects(entry, None)
    assert undone.balances == {key: -delta for key, delta in done.balances.items()}
