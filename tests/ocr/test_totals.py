"""The payable total among the world's receipt conventions, on text (and word boxes)."""

from __future__ import annotations

from datetime import date

import pytest

from ocr.extract import extract
from ocr.text import Line, Word, lines_of
from ocr.totals import read_money

TODAY = date(2025, 6, 1)


def total(text: str) -> str | None:
    found: str | None = extract(lines_of(text), today=TODAY).to_json()["total"]
    return found


@pytest.mark.parametrize(
    "line",
    [
        "Total incl. GST 12.30",
        "Total (Incl GST) 12.30",
        "Total Incl. VAT 12.30",
        "Jumlah termasuk GST 12.30",
        "Gesamt inkl. MwSt 12,30",
        "Total TTC 12,30",
        "Total IVA incluido 12,30",
        "Total (Incl 6% GST) 12.30",
    ],
)
def test_tax_inclusive_totals_are_totals(line: str) -> None:
    assert total(f"Shop\nItem A 11.60\nTax 0.70\n{line}\n") == "12.30"


def test_tax_band_summaries_are_not_the_total() -> None:
    text = (
        "Shop\nItem A 11.60\nTotal Excl GST 11.60\nGST 6% 0.70\nTotal Incl GST 12.30\n"
        "GST Summary Amount(RM) Tax(RM)\nSR 6% 11.60 0.70\nTotal SR 6% 11.60\n"
        "Total 0% supplies 0.00\nTotal tax 0.70\n"
    )
    assert total(text) == "12.30"
    assert total("Laden\nSumme 11,90\nMwSt 19% Netto Brutto\nA 19% 10,00 1,90 11,90\n") == "11.90"


def test_the_rounded_figure_is_payable() -> None:
    text = (
        "Shop\nItem 12.33\nTotal Sales (Incl GST) 12.33\nRounding -0.03\nTotal 12.30\n"
        "Cash 20.00\nChange 7.70\n"
    )
    assert total(text) == "12.30"
    for label in ("Rounding Adj", "Round off", "Penggenapan"):
        assert total(f"Kedai\nJumlah 12.33\n{label} -0.03\nJumlah Bayaran 12.30\n") == "12.30"


def test_tendered_and_change_are_not_the_total() -> None:
    assert total("Kedai\nJumlah 7.30\nTunai 10.00\nBaki 2.70\n") == "7.30"
    assert total("Toko\nTotal 7.30\nTunai 10.00\nKembalian 2.70\n") == "7.30"
    assert total("Laden\nSumme 7,30\nGegeben 10,00\nRückgeld 2,70\n") == "7.30"
    assert (
        total("Shop\nTotal Qty 3.00\nTotal Items 3.00\nNo. of items 3.00\nJumlah item 3.00\nTotal 7.30\n")
        == "7.30"
    )
    # Only cash and change printed: the total is the cash minus the change (review bug 11).
    assert total("Shop\nItem 7.30\nCash Tendered 10.00\nChange 2.70\n") == "7.30"


def test_the_amount_on_the_next_line() -> None:
    assert total("Shop\nItem 5.00\nGRAND TOTAL\n5.00\nThank you\n") == "5.00"


def test_the_amount_in_the_right_hand_column_on_the_same_baseline() -> None:
    def line(text: str, left: int, top: int) -> Line:
        return Line(text, 0.9, (Word(text, 0.9, left, top, left + 10 * len(text), top + 20),))

    lines = [line("Shop", 10, 0), line("TOTAL", 10, 100), line("Thank you", 10, 140), line("12.34", 400, 102)]
    assert read_money(lines).total is not None
    assert str(read_money(lines).total) == "12.34"


@pytest.mark.parametrize("word", ["T0TAL", "TOTAI", "TOTA1", "TCTAL", "ТОТАL"])
def test_garbled_total_keyword(word: str) -> None:
    assert total(f"Shop\nItem 4.50\nItem 3.50\n{word} 8.00\n") == "8.00"


@pytest.mark.parametrize(
    "line",
    [
        "Amount Due $12.34",
        "Balance Due 12.34",
        "Grand Total 12.34",
        "Total Due 12.34",
        "Amount Payable 12.34",
        "Net Total 12.34",
        "Nett Total 12.34",
        "TOTAL$12.34",
        "TOTAL USD12.34",
    ],
)
def test_us_and_commonwealth_wording(line: str) -> None:
    assert total(f"Diner\nBurger 12.34\n{line}\n") == "12.34"


def test_tips_and_suggested_gratuity_are_never_the_total() -> None:
    text = (
        "Diner\nBurger 30.00\nSubtotal 30.00\nTax 2.40\nTotal 32.40\n"
        "Suggested Gratuity\n15% $4.86\n18% $5.83\n20% $6.48\n"
    )
    assert total(text) == "32.40"
    assert total("Diner\nBurger 30.00\nAmount Due 32.40\nTip\nTotal\n\nSignature\nx 1.00\n") == "32.40"


def test_a_yen_total_is_a_whole_number() -> None:
    found = extract(lines_of("店\nお茶 ¥150\n合計 Total ¥1,280\n"), today=TODAY).to_json()
    assert (found["currency"], found["total"]) == ("JPY", "1280")
    assert total("Toko\nTotal Rp 15.000\nTunai Rp 20.000\n") == "15000"


def test_integers_are_not_amounts_in_two_decimal_currencies() -> None:
    assert total("Shop\nTotal Qty 3\nTotal 12\n") is None


def test_conflicting_totals_give_none() -> None:
    assert total("Shop\nTotal 12.30\nTotal 45.60\n") is None


def test_cash_handed_over_is_not_the_total_even_labelled_total() -> None:
    # Review bug 1: "TOTAL CASH" / "TOTAL PAYMENT" is the money handed over.
    assert total("SHOP\nTOTAL 4.48\nTOTAL CASH 10.00\nCASH 10.00\n") == "4.48"
    assert total("KEDAI\nTOTAL RM 4.48\nTOTAL PAYMENT RM 10.00\nTUNAI RM 10.00\nBAKI RM 5.52\n") == "4.48"


def test_unsigned_rounding_the_figure_after_the_rounding_line_is_payable() -> None:
    # Review bug 2: Malaysian tills often print the adjustment without its sign.
    assert total("KEDAI ABC\nTotal RM 10.02\nRounding Adj 0.02\nTotal RM 10.00\n") == "10.00"
    assert total("KEDAI ABC\nTotal RM 10.03\nRounding Adj 0.02\nTotal RM 10.05\n") == "10.05"


def test_indian_net_amount_is_payable_and_equal_tax_halves_are_no_repeat() -> None:
    # Review bug 3: "Net Amount" / "Net Payable" after CGST and SGST is the bill's total.
    assert total("SHOP\nGross Amount 500.00\nCGST 12.50\nSGST 12.50\nNet Amount Rs. 525.00\n") == "525.00"
    assert total("SHOP\nSub Total 500.00\nCGST 12.50\nSGST 12.50\nNet Payable 525.00\n") == "525.00"
    assert total("SHOP\nSub Total 500.00\nCGST 12.50\nSGST 12.50\n") is None
    # A European invoice's "Net amount" is before VAT: the printed Total wins.
    assert total("Shop\nNet Amount 10.00\nVAT 20% 2.00\nTotal 12.00\n") == "12.00"


@pytest.mark.parametrize(
    ("text", "found"),
    [
        # Review bug 13: totals plainly printed that came back null.
        ("SHOP\nTotal Incl. GST 6% RM 10.60\n", "10.60"),
        ("SHOP\nTotal (Incl. GST @6%) 10.60\n", "10.60"),
        ("SHOP\nItems: 3  Total: 45.00\n", "45.00"),
        ("SHOP\nTotal 43.20\nTip 8.00\nTotal 51.20\n", "51.20"),
        ("SHOP\nTotal (incl. tip) 51.20\n", "51.20"),
        ("SHOP\nTotal ¥1,280.00\n", "1280"),
        ("SHOP\nTotal １２．５０\n", "12.50"),
    ],
)
def test_plainly_printed_totals_are_found(text: str, found: str) -> None:
    assert total(text) == found


def test_cash_only_receipts_pay_cash_minus_change() -> None:
    # Review bug 11: never the cash handed over as the total.
    assert total("SHOP\nITEM 43.55\nCASH 50.00\nCHANGE 6.45\n") == "43.55"
    assert total("SHOP\nITEM 50.00\nCASH 50.00\nCHANGE 0.00\n") == "50.00"
    assert total("SHOP\nITEM 43.55\nCASH 50.00\nCHANGE 60.00\n") is None


def test_a_yen_total_split_by_ocr_is_whole() -> None:
    # Review bug 10: `¥1 280` is 1280, never 280.
    assert total("店\nTotal ¥1 280\n") == "1280"
    assert total("店\nTotal ¥1, 280\n") == "1280"


def test_unlabelled_total_repeated_in_the_tax_table_is_the_fallback() -> None:
    # The equal-CGST/SGST guard must keep the German tax table's gross column as a repeat.
    assert total("Laden\nT@t@l €1,95\nMwSt 19% 1,64 0,31 1,95\n1 Artikel\n") == "1.95"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a glued sign read as digits: ten times the subtotal, and a figure within reach once
        # its look-alike digits are dropped
        ("Subtotal 19.85\nGrand Total 5521.44\n", "21.44"),  # `S$21.44`
        ("Subtotal 184.36\nTotal (Incl. GST) 80200.95\n", "200.95"),  # `SGD 200.95`
        ("Subtotal 556.48\nTotal 9912.60\n", "9912.60"),  # no figure within reach: as read
        # review: totals that really are far from a subtotal stay as printed
        ("Subtotal 100.00\nGift Card -60.00\nBalance Due 40.00\n", "40.00"),
        ("Subtotal 300.00\nCOUPON -200.00\nTOTAL 100.00\n", "100.00"),
        ("Zwischensumme 5,00\nLeergut -3,00\nzu zahlen 2,00\n", "2.00"),
        ("Subtotal 5.00\nDelivery Fee 4.99\nTotal 9.99\n", "9.99"),
        ("Milch 1,20\nBrot 7,30\nZwischensumme 8,50\nWein 50,00\nSUMME EUR 58,50\n", "58.50"),
        ("Food Subtotal 8.00\nDrinks Subtotal 50.00\nTotal 58.00\n", "58.00"),
        ("Subtotal 5521.44\nGST 1.50\nTotal 23.00\n", "23.00"),  # the subtotal misread
    ],
)
def test_a_total_ten_times_the_subtotal_is_a_glued_sign(text: str, expected: str | None) -> None:
    assert total(f"Shop\n{text}Thank you\n") == expected


def test_a_total_the_card_slip_repeats_is_no_misread() -> None:
    assert total("Shop\nSubtotal 13.61\nTotal 521.56\nVISA 521.56\n") == "521.56"


def test_a_repair_only_drops_digits_a_sign_looks_like() -> None:
    """`1` is no sign's look-alike: `121.56` over a subtotal of 11.36 stays as read."""
    assert total("Shop\nSubtotal 11.36\nTotal 121.56\nThank you\n") == "121.56"
