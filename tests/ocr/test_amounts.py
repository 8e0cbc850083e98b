"""Amounts in the currency's own decimals, and the currency from symbols, codes and country."""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal

import pytest

from ocr.amounts import currency_exponent, detect_currency, find_amounts, format_money
from ocr.text import lines_of


def values(text: str, exponent: int = 2) -> list[str]:
    return [str(a.value) for a in find_amounts(text, exponent)]


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("TOTAL$12.34", ["12.34"]),
        ("USD12.34", ["12.34"]),
        ("RM12.30", ["12.30"]),
        ("Summe 1.234,56", ["1234.56"]),
        ("Total 1,234.56", ["1234.56"]),
        ("Rounding -0.03", ["-0.03"]),
        ("Rabatt 0,50-", ["-0.50"]),
        ("Datum 12.05.2020", []),
        ("MwSt 19%", []),
        ("Qty 3 Tel 0123 456789", []),
        ("Total １２．５０", ["12.50"]),
    ],
)
def test_two_decimal_amounts(text: str, found: list[str]) -> None:
    assert values(text) == found


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("合計 ¥1,280", ["1280"]),
        ("Total 1.280", ["1280"]),
        ("Total Rp 15.000", ["15000"]),
        ("Total ¥1,280.00", ["1280"]),
        # OCR spaces inside a yen amount (review bug 10); a quantity before a price stays apart
        ("Total ¥1 280", ["1280"]),
        ("Total ¥1, 280", ["1280"]),
        ("お茶 2 150", ["2", "150"]),
        ("2024/03/14 10:21", []),
        ("Tax 8%", []),
    ],
)
def test_whole_amounts_only_for_zero_decimal_currencies(text: str, found: list[str]) -> None:
    assert values(text, 0) == found


def test_exponents_follow_iso_4217_and_practice() -> None:
    assert [currency_exponent(c) for c in ("JPY", "KRW", "IDR", "EUR", "KWD", None)] == [0, 0, 0, 2, 3, 2]
    assert format_money(Decimal(1280), "JPY") == "1280"
    assert format_money(Decimal("12.3"), "MYR") == "12.30"
    assert format_money(None, "EUR") is None


@pytest.mark.parametrize(
    ("text", "currency"),
    [
        ("Shop\nTotal RM 12.30", "MYR"),
        ("Shop\nTotal S$ 12.30", "SGD"),
        ("Shop Singapore\nGST Reg No 123\nTotal $12.30", "SGD"),
        ("Cafe\nABN 12 345 678 901\nTotal $12.30", "AUD"),
        # Singapore's private company form is the country's evidence (review bug 12)
        ("SHENG SIONG\nPTE LTD\nTOTAL $4.50", "SGD"),
        ("Kopi Shop Pte. Ltd.\nTOTAL $4.50", "SGD"),
        ("Diner\nTotal $12.30", "USD"),
        ("Shop\nTotal HK$ 12.30", "HKD"),
        ("Laden\nSumme 12,30 €", "EUR"),
        ("Shop\nTotal £12.30", "GBP"),
        ("Shop\nTotal ₹ 120.00", "INR"),
        ("Shop\nTotal Rs. 120.00", "INR"),
        ("店\n合計 ¥1,280", "JPY"),
        ("Butik\nTotalt 120,00 kr", "SEK"),
        ("Butikk\nNOK\nTotalt 120,00 kr", "NOK"),
        ("Sklep\nSuma 12,30 zł", "PLN"),
        ("Shop\nTotal ฿120.00", "THB"),
        ("Toko\nTotal Rp 15.000", "IDR"),
        ("Store\nTotal ₱120.00", "PHP"),
        ("Shop\nTotal AED 12.30", "AED"),
        ("Geschäft\nTotal CHF 12.30", "CHF"),
        ("Shop\nTotal 12.30", None),
    ],
)
def test_currency_from_symbols_codes_and_country(text: str, currency: str | None) -> None:
    assert detect_currency(lines_of(text))[0] == currency


def _growth(read: Callable[[int], object], size: int) -> float:
    """How many times longer `read` takes on 4x the input: about 4 when linear, 16 when quadratic.
    The best of five runs each, so a busy machine's pauses do not count (a ratio, not a time)."""

    def best(n: int) -> float:
        runs = []
        for _ in range(5):
            started = time.perf_counter()
            read(n)
            runs.append(time.perf_counter() - started)
        return min(runs)

    return best(4 * size) / best(size)


@pytest.mark.parametrize("exponent", [0, 2, 3])
def test_space_grouped_digits_take_linear_time(exponent: int) -> None:
    # Review bug 14: `111 111 ...` once took quadratic time (20k characters: seconds).
    assert _growth(lambda n: find_amounts("111 " * n, exponent), 2_500) < 9


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Total l26.95", ["126.95"]),  # l for 1
        ("Total Due $ 3l6.36", ["316.36"]),
        ("Grand Total 3,067.O0", ["3067.00"]),  # O for 0
        ("Schrauben 5S,14", ["55.14"]),  # S for 5
        ("Sub Total 2,S99.13", ["2599.13"]),
        ("Saft 1B.20", ["18.20"]),  # B for 8
        ("SOLD 12.50", ["12.50"]),  # words stay words
        ("ISBN 12.50", ["12.50"]),
        ("l8% = 24.44", ["24.44"]),  # not an amount once mapped: left alone
        ("Tel 0l23 456", []),
        ("Total S$9.77", ["9.77"]),  # the S of S$ is parted from the figure by the $
        # review: a sign glued to the figure is no digit, nor a border or a tax class
        ("TOTAL S12.00", ["12.00"]),  # S$ without its $
        ("Coke B45.00", ["45.00"]),  # Thailand's ฿ read as B
        ("Milch |1.50", ["1.50"]),
        ("|12,99", ["12.99"]),
        ("Milch 1,19|", ["1.19"]),
        ("Brot 2,49B", ["2.49"]),  # the tax class right after the price
    ],
)
def test_letters_ocr_makes_of_digits_inside_a_figure(text: str, found: list[str]) -> None:
    assert values(text) == found


def test_look_alike_runs_take_linear_time() -> None:
    assert _growth(lambda n: find_amounts("1" * n + "a"), 5_000) < 9
    assert _growth(lambda n: find_amounts("lO" * n + "x"), 2_500) < 9


def test_a_draft_amount_in_any_currency_the_ledger_knows_parses_in_it() -> None:
    """One table of decimals for OCR and the ledger: a hinted XPF (0 decimals) or KWD (3) draft is
    an amount the expense accepts (review: OCR read XPF with 2 and the draft was refused)."""
    from ledger.currencies import CURRENCY_EXPONENTS
    from ledger.money import parse_amount

    for code in CURRENCY_EXPONENTS:
        written = format_money(Decimal("12"), code)
        assert written is not None
        assert parse_amount(written, code, field="amount") > 0, code
    assert currency_exponent("XPF") == 0 and currency_exponent("BIF") == 0
