"""Text → fields, on receipts written out as text (English, German and others)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from ocr.extract import Line, extract, fold_name, lines_of

TODAY = date(2025, 6, 1)


def fields(text: str) -> dict[str, Any]:
    return extract(lines_of(text), today=TODAY).to_json()


US_GROCERY = """
TRADER JOE'S
2001 Greenleaf St
Evanston, IL 60202
Store #0708 - (847) 733-0690
OPEN 8:00AM TO 9:00PM DAILY

BANANAS                      0.76
2 @ 0.19
ORGANIC MILK                 3.49
SOURDOUGH BREAD              3.99
EGGS LARGE BROWN             2.99
SUBTOTAL                    11.23
TAX                          0.00
TOTAL                      $11.23
VISA                        11.23
CHANGE                       0.00
08/14/2023 18:42 TRAN 12345
"""

UK_CAFE = """
The Coffee House
12 High Street, Oxford OX1 4AA
Tel: 01865 123456
VAT No: GB 123 4567 89

2 x Flat White           £6.40
Croissant                £2.80
Sub-total                £9.20
VAT 20%                  £1.53
Total Due                £9.20
Card                     £9.20
Date: 03/02/2024  10:15
Thank you for visiting!
"""

RESTAURANT = """
BELLA NAPOLI
Italian Restaurant
450 Market Street
San Francisco, CA 94105

Server: Anna      Table 12
Dec 24, 2022 7:30 PM
1 Margherita Pizza          14.50
1 Caesar Salad               9.00
2 Sparkling Water            7.00
Subtotal                    30.50
Sales Tax 8.625%             2.63
Amount Due                 $33.13
Tip                          5.00
"""

GERMAN_SUPERMARKET = """
REWE Markt GmbH
Hauptstraße 5
10115 Berlin
EUR
Bio Bananen                 1,99 B
Vollmilch 3,5%              1,15 B
2 x 0,89
Brötchen                    1,78 B
--------------------------------
SUMME                EUR    4,92
Geg. EC-Karte        EUR    4,92
Steuer % Netto Steuer Brutto
B= 7,0% 4,60 0,32 4,92
Datum: 17.03.2021 Uhrzeit: 12:04:33
"""


def test_us_grocery_receipt() -> None:
    found = fields(US_GROCERY)
    assert found["merchant"] == "TRADER JOE'S"
    assert found["total"] == "11.23"
    assert found["subtotal"] == "11.23"
    assert found["tax"] == "0.00"
    assert found["currency"] == "USD"
    assert found["date"] == "2023-08-14"
    descriptions = [item["description"] for item in found["items"]]
    assert "ORGANIC MILK" in descriptions
    bananas = next(i for i in found["items"] if i["description"] == "BANANAS")
    assert bananas["amount"] == "0.76"


def test_uk_receipt_reads_slashes_day_first_and_prefers_total_due() -> None:
    found = fields(UK_CAFE)
    assert found["merchant"] == "The Coffee House"
    assert found["total"] == "9.20"
    assert found["currency"] == "GBP"
    assert found["date"] == "2024-02-03"
    assert found["subtotal"] == "9.20"
    flat_white = found["items"][0]
    assert (flat_white["description"], flat_white["quantity"], flat_white["amount"]) == (
        "Flat White",
        "2",
        "6.40",
    )


def test_restaurant_with_month_name_and_tip_after_the_amount_due() -> None:
    found = fields(RESTAURANT)
    assert found["merchant"] == "BELLA NAPOLI"
    assert found["total"] == "33.13"
    assert found["date"] == "2022-12-24"
    assert found["tax"] == "2.63"
    assert found["subtotal"] == "30.50"


def test_german_supermarket() -> None:
    found = fields(GERMAN_SUPERMARKET)
    assert found["merchant"] == "REWE Markt GmbH"
    assert found["total"] == "4.92"
    assert found["currency"] == "EUR"
    assert found["date"] == "2021-03-17"
    rolls = next(i for i in found["items"] if i["description"] == "Brötchen")
    assert (rolls["quantity"], rolls["amount"]) == ("2", "1.78")


@pytest.mark.parametrize(
    ("line", "total"),
    [
        ("TOTAL 12.50", "12.50"),
        ("Total Due: $1,234.56", "1234.56"),
        ("SUMME EUR 1.234,56", "1234.56"),
        ("zu zahlen 7, 16", "7.16"),
        ("Amount 8,00", "8.00"),
        ("Gesamtbetrag 34,00 EUR", "34.00"),
        ("GRAND TOTAL      45.00", "45.00"),
        ("Montant TTC 19,90", "19.90"),
    ],
)
def test_total_keywords_and_decimal_styles(line: str, total: str) -> None:
    assert fields(f"Shop\nItem 1,00\n{line}\n")["total"] == total


def test_the_total_wraps_to_the_next_line() -> None:
    assert fields("Shop\nSUMME EUR\n27,42\nBAR EUR 30,00\nRückgeld EUR 2,58")["total"] == "27.42"


def test_change_and_cash_given_are_not_the_total() -> None:
    found = fields("Shop\nMilk 3,00\nZU ZAHLEN 3,00\nBAR 20,00\nRÜCKGELD 17,00\n")
    assert found["total"] == "3.00"


def test_tax_tables_and_subtotals_are_not_the_total() -> None:
    text = "Shop\nSubtotal 10.00\nTax 0.80\nTotal 10.80\nMwSt Total 0.80\n"
    assert fields(text)["total"] == "10.80"


def test_a_payment_line_stands_in_when_no_total_is_printed() -> None:
    assert fields("Kiosk\nZeitung 2,50\nMastercard EUR 2,50\n")["total"] == "2.50"


def test_without_keywords_the_repeated_largest_amount_is_taken() -> None:
    assert fields("Kiosk\nA 1,00\nB 4,00\n5,00\nEUR 5,00\n")["total"] == "5.00"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Datum 18.04.2020 09:51", "2020-04-18"),
        ("08.04.20 09:51 0000545", "2020-04-08"),
        ("2021-11-05T10:00", "2021-11-05"),
        ("Date: 11/05/2021", "2021-05-11"),
        ("31/01/2019", "2019-01-31"),
        ("01/31/2019", "2019-01-31"),
        ("18 Apr 2020", "2020-04-18"),
        ("18. April 2020", "2020-04-18"),
        ("April 18, 2020", "2020-04-18"),
        ("6. Mai 2020", "2020-05-06"),
        ("12-Mar-2023", "2023-03-12"),
        ("18.09,2020 12:07", "2020-09-18"),
    ],
)
def test_dates_in_common_forms(text: str, expected: str) -> None:
    assert fields(f"Shop\n{text}\nTotal 1,00")["date"] == expected


def test_ambiguous_slash_dates_are_month_first_with_dollars() -> None:
    assert fields("Shop\n03/04/2024\nTotal $5.00")["date"] == "2024-03-04"
    assert fields("Shop\n03/04/2024\nTotal £5.00")["date"] == "2024-04-03"


def test_a_labelled_date_beats_a_validity_date() -> None:
    text = "Shop\nGutschein gültig bis 31.12.2024\nTotal 5,00\nDatum 03.02.2024"
    assert fields(text)["date"] == "2024-02-03"


def test_amounts_are_not_dates_and_dates_are_not_amounts() -> None:
    found = fields("Shop\n12.05.2020\nTOTAL 12,05")
    assert found["total"] == "12.05"
    assert found["date"] == "2020-05-12"


def test_confidence_follows_tesseract() -> None:
    sure = extract([Line("Shop", 0.95), Line("TOTAL 5,00", 0.95)], today=TODAY)
    unsure = extract([Line("Shop", 0.95), Line("TOTAL 5,00", 0.4)], today=TODAY)
    assert 0 < unsure.confidence["total"] < sure.confidence["total"] <= 1
    assert sure.total == Decimal("5.00")


def test_nothing_found_in_noise() -> None:
    found = fields("~~~ |||\n;;; ,,,\n")
    assert (found["total"], found["date"], found["merchant"]) == (None, None, None)
    assert found["items"] == [] and found["confidence"] == {}


def test_fold_name_compares_names_loosely() -> None:
    assert fold_name("Media Markt") == "mediamarkt"
    assert fold_name("Rückgeld") == "ruckgeld"


# --- dates the OCR garbled --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3O.O4.20 09:58", "2020-04-30"),  # O for 0
        ("Date: l8/03/2024 10:21", "2024-03-18"),  # l for 1, and not 8 March
        ("Datum I2.O5.2O2O", "2020-05-12"),  # I for 1
        ("Date 2024-O3-1S", "2024-03-15"),  # S for 5
        ("Datum: 06. 04. 2020 14:43", "2020-04-06"),  # spaces around the separators
        ("1B.05.2020 09:50 0000545", "2020-05-18"),  # B for 8
    ],
)
def test_digits_read_as_look_alike_letters_still_make_a_date(text: str, expected: str) -> None:
    assert fields(f"Shop\n{text}\nTotal 1,00")["date"] == expected


@pytest.mark.parametrize(
    "text",
    [
        "SOS.OO 12,00",  # letters only where the digits are: not a date
        "Art. BIO-S1 ZOO 2,49",
        "Il.Ol.IS",  # fewer than four real digits
        "Tel 0521 12 34 56",
        "3O.I5.2O2O",  # no 15th month, whatever the letters were
    ],
)
def test_look_alike_letters_do_not_invent_dates(text: str) -> None:
    assert fields(f"Shop\n{text}\nTotal 1,00")["date"] is None


def test_a_date_beside_a_time_of_day_beats_another_date() -> None:
    text = "Shop\nOrder 12/01/2024\nTotal 5.00 GBP\n14/01/2024 10:21\n"
    assert fields(text)["date"] == "2024-01-14"


def test_a_future_date_is_not_plausible_and_is_dropped() -> None:
    from ocr.extract import plausible_date

    found = fields("Shop\n18.05.26 09:50\nSumme 1,00")["date"]
    assert found is None  # a misread year: dropped (review bug 4), the worker takes a second look
    assert not plausible_date(date(2026, 5, 18), TODAY)
    assert not plausible_date(None, TODAY)
    assert plausible_date(date(2025, 5, 18), TODAY)


def test_lines_worth_a_second_look_for_the_date() -> None:
    from ocr.extract import date_line_hints

    lines = lines_of(
        "CORNER GROCERY\n"  # 0
        "Milk 1.45\n"  # 1
        "Date Time Till\n"  # 2: a column header with no date ...
        "Ha 03. 2024 10: 21 3\n"  # 3: ... over the garbled date and time
        "Valid until 31.12.2024\n"  # 4: a validity line, never
        "TOTAL 1.45\n"  # 5
    )
    hints = date_line_hints(lines)
    assert hints[0] == 3 and 2 in hints
    assert 4 not in hints and 0 not in hints and 5 not in hints
    assert date_line_hints(lines_of("Shop\nMilk 1.45\nTotal 1.45")) == []


def test_extract_date_alone() -> None:
    from ocr.extract import extract_date

    found, confidence = extract_date(lines_of("Shop\nDate: 03/04/2024 9:15"), currency="USD", today=TODAY)
    assert found == date(2024, 3, 4) and 0 < confidence <= 1
    assert extract_date(lines_of("Shop\nTotal 1.00"), today=TODAY) == (None, 0.0)


def test_the_hinted_currency_sets_the_decimals_when_none_is_printed() -> None:
    text = "KONBINI\nOnigiri 150\nGreen Tea 130\nTOTAL 280\n"
    assert extract(lines_of(text)).to_json()["total"] is None
    hinted = extract(lines_of(text), currency="JPY").to_json()
    assert hinted["total"] == "280" and hinted["currency"] is None
    assert [(i["description"], i["amount"]) for i in hinted["items"]] == [
        ("Onigiri", "150"),
        ("Green Tea", "130"),
    ]
    printed = extract(lines_of("SHOP\nTOTAL EUR 2,80\n"), currency="JPY").to_json()
    assert printed["total"] == "2.80" and printed["currency"] == "EUR"  # the print wins


def test_the_hinted_dollar_names_a_bare_dollar_sign() -> None:
    """Review: a Singapore kopitiam printing only `$` in an SGD group was USD."""
    text = "KOPITIAM\nBlk 123 Ang Mo Kio\nKopi $1.50\nTOTAL $1.50\n"
    assert extract(lines_of(text)).to_json()["currency"] == "USD"
    assert extract(lines_of(text), currency="SGD").to_json()["currency"] == "SGD"
    assert extract(lines_of(text), currency="EUR").to_json()["currency"] == "USD"  # no `$` currency


def test_the_receipts_own_words_outrank_the_country_hint() -> None:
    """Review: a British receipt scanned by a US user stays day first; an open one follows the hint."""
    british = "CORNER SHOP\nLondon SW1A 1AA\nVAT No GB123456789\nTea £2.50\nTOTAL £2.50\n03/04/2024\n"
    assert extract(lines_of(british), country="US").to_json()["date"] == "2024-04-03"
    walmart = "WALMART\nBENTONVILLE AR 72716\nMilk $2.50\nTOTAL $2.50\n03/04/2024\n"
    assert extract(lines_of(walmart), country="DE").to_json()["date"] == "2024-03-04"
    plain = "SHOP\nTea 2.50\nTOTAL 2.50\n03/04/2024\n"
    assert extract(lines_of(plain), country="US").to_json()["date"] == "2024-03-04"
    assert extract(lines_of(plain)).to_json()["date"] == "2024-04-03"
