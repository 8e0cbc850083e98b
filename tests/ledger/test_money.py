"""Amounts: parsing is strict, formatting is canonical, and the two round-trip for every exponent."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import Invalid
from ledger import CURRENCY_EXPONENTS, MAX_MINOR_UNITS, format_amount, parse_amount, parse_currency

CURRENCIES_BY_EXPONENT = {
    exponent: sorted(code for code, e in CURRENCY_EXPONENTS.items() if e == exponent)
    for exponent in (0, 2, 3)
}


def field_of(error: Invalid) -> str:
    [detail] = error.details
    field: str = detail["field"]
    return field


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("12.34", "EUR", 1234),
        ("12", "EUR", 1200),
        ("0.5", "EUR", 50),
        ("0.05", "USD", 5),
        ("1000", "JPY", 1000),
        ("1.234", "KWD", 1234),
        ("0.001", "KWD", 1),
        ("7.5", "KWD", 7500),
        ("007.10", "EUR", 710),
    ],
)
def test_parses_decimal_strings_into_minor_units(text: str, currency: str, minor: int) -> None:
    assert parse_amount(text, currency, field="amount") == minor


@pytest.mark.parametrize(
    ("minor", "currency", "text"),
    [
        (1230, "EUR", "12.30"),
        (-5, "USD", "-0.05"),
        (1000, "JPY", "1000"),
        (1, "KWD", "0.001"),
        (0, "EUR", "0.00"),
        (-1000, "JPY", "-1000"),
        (100, "BHD", "0.100"),
    ],
)
def test_formats_canonically(minor: int, currency: str, text: str) -> None:
    assert format_amount(minor, currency) == text


@pytest.mark.parametrize("value", [12.34, 12, 0, True, None, ["1"], {"amount": "1"}])
def test_rejects_json_numbers_and_other_non_strings(value: Any) -> None:
    with pytest.raises(Invalid) as caught:
        parse_amount(value, "EUR", field="payers[0].amount")
    assert field_of(caught.value) == "payers[0].amount"
    assert "decimal strings" in caught.value.details[0]["message"]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "abc",
        "1e3",
        "1E3",
        "1,000",
        "1 000",
        "1_000",
        "+1",
        " 1",
        "1 ",
        "1\n",
        "\t1",
        ".5",
        "5.",
        "1..2",
        "--1",
        "1-",
        "٣",
        "１",
        "0x10",
        "NaN",
        "inf",
        "1" * 50,
    ],
)
def test_rejects_malformed_text(text: str) -> None:
    with pytest.raises(Invalid) as caught:
        parse_amount(text, "EUR", field="amount")
    assert field_of(caught.value) == "amount"
    assert caught.value.code == "validation_error"


@pytest.mark.parametrize(
    ("text", "currency"), [("1.5", "JPY"), ("1.234", "EUR"), ("1.2345", "KWD"), ("1.230", "USD")]
)
def test_rejects_more_decimals_than_the_currency_has(text: str, currency: str) -> None:
    with pytest.raises(Invalid) as caught:
        parse_amount(text, currency, field="amount")
    assert field_of(caught.value) == "amount"


def test_zero_and_negative_only_where_allowed() -> None:
    for text in ("0", "0.00", "-0"):
        with pytest.raises(Invalid, match="amount"):
            parse_amount(text, "EUR", field="amount")
    with pytest.raises(Invalid, match="negative"):
        parse_amount("-1.00", "EUR", field="amount")
    assert parse_amount("0", "EUR", field="amount", allow_zero=True) == 0
    assert parse_amount("-1.50", "EUR", field="amount", allow_negative=True) == -150
    with pytest.raises(Invalid):
        parse_amount("0.00", "EUR", field="amount", allow_negative=True)


def test_caps_the_magnitude() -> None:
    assert parse_amount("10000000000000", "EUR", field="amount") == MAX_MINOR_UNITS
    assert parse_amount("-1000000000000000", "JPY", field="x", allow_negative=True) == -MAX_MINOR_UNITS
    too_large = (("10000000000000.01", "EUR"), ("1000000000000001", "JPY"), ("99999999999999999999", "EUR"))
    for text, currency in too_large:
        with pytest.raises(Invalid, match="too large"):
            parse_amount(text, currency, field="amount", allow_negative=True)


@pytest.mark.parametrize("code", ["eur", "EURO", "XXX", "", " EUR", 978, None])
def test_rejects_unknown_currencies(code: Any) -> None:
    with pytest.raises(Invalid) as caught:
        parse_currency(code, field="currency")
    assert field_of(caught.value) == "currency"
    with pytest.raises(Invalid):
        parse_amount("1", code, field="amount")


def test_parse_currency_accepts_active_codes() -> None:
    assert parse_currency("EUR") == "EUR"
    assert all(parse_currency(code) == code for code in CURRENCY_EXPONENTS)


@settings(max_examples=300)
@given(
    exponent=st.sampled_from([0, 2, 3]),
    data=st.data(),
    minor=st.integers(min_value=-MAX_MINOR_UNITS, max_value=MAX_MINOR_UNITS),
)
def test_format_then_parse_round_trips(exponent: int, data: st.DataObject, minor: int) -> None:
    currency = data.draw(st.sampled_from(CURRENCIES_BY_EXPONENT[exponent]))
    text = format_amount(minor, currency)
    assert parse_amount(text, currency, field="amount", allow_zero=True, allow_negative=True) == minor
    assert ("." in text) == (exponent > 0)


@settings(max_examples=300)
@given(
    currency=st.sampled_from(["JPY", "EUR", "KWD"]),
    whole=st.integers(min_value=0, max_value=10**9),
    fraction=st.text(alphabet="0123456789", max_size=3),
)
def test_parse_then_format_is_the_canonical_form(currency: str, whole: int, fraction: str) -> None:
    exponent = CURRENCY_EXPONENTS[currency]
    text = f"{whole}.{fraction}" if fraction else str(whole)
    if len(fraction) > exponent:
        with pytest.raises(Invalid):
            parse_amount(text, currency, field="amount", allow_zero=True)
        return
    minor = parse_amount(text, currency, field="amount", allow_zero=True)
    assert minor == whole * 10**exponent + int(fraction.ljust(exponent, "0") or "0")
    assert parse_amount(format_amount(minor, currency), currency, field="amount", allow_zero=True) == minor


@settings(max_examples=300)
@given(st.text(max_size=20))
def test_arbitrary_text_parses_or_raises_invalid(text: str) -> None:
    try:
        minor = parse_amount(text, "EUR", field="amount", allow_zero=True, allow_negative=True)
    except Invalid as error:
        assert field_of(error) == "amount"
    else:
        assert format_amount(minor, "EUR").lstrip("-").replace(".", "").isdigit()
