"""Dates of the world's receipts, on text: orders, month names, two-digit years, garbled digits and
separators, labels, competing candidates and the plausible window."""

from __future__ import annotations

from datetime import date

import pytest

from ocr.date_order import Evidence, numeric_order
from ocr.dates import extract_date, plausible_date
from ocr.text import lines_of

TODAY = date(2025, 6, 1)


def read(text: str, currency: str | None = None, country: str | None = None) -> str | None:
    found, _ = extract_date(lines_of(text), currency=currency, today=TODAY, country=country)
    return found.isoformat() if found else None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("19-Mar-17", "2017-03-19"),
        ("Mar 19 '17", "2017-03-19"),
        ("19 MAR 2017", "2017-03-19"),
        ("March 19, 2017", "2017-03-19"),
        ("19. März 2017", "2017-03-19"),
        ("19 Ogos 2017", "2017-08-19"),  # Malay
        ("19 Mac 2017", "2017-03-19"),  # Malay
        ("5 Disember 2018", "2018-12-05"),  # Malay
        ("le 19 mars 2017", "2017-03-19"),  # French
        ("19 de marzo de 2017", "2017-03-19"),  # Spanish
        ("Sat, 19 Mar 2017", "2017-03-19"),
        ("2017-Mar-19", "2017-03-19"),
        ("19 sept. 2017", "2017-09-19"),
        ("2024年3月14日", "2024-03-14"),  # Japanese / Chinese
        ("2024년 3월 14일", "2024-03-14"),  # Korean
        ("2024.03.14.", "2024-03-14"),  # Hungary
    ],
)
def test_month_names_and_year_first(text: str, expected: str) -> None:
    assert read(f"Shop\n{text}\nTotal 1.00") == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("19/03/17", "2017-03-19"),
        ("19.03,2017", "2017-03-19"),
        ("19 03 2017", "2017-03-19"),
        ("19-03-2017", "2017-03-19"),
        ("l9/O3/2017", "2017-03-19"),
        ("19/03/2017 14:22", "2017-03-19"),
        ("19/03/201714:22", "2017-03-19"),
        ("Tarikh: 19/03/2017", "2017-03-19"),
        ("Fecha: 19/03/2017", "2017-03-19"),
        ("Date/Time 19/03/2017 14:22", "2017-03-19"),
        ("Trans Date 19-03-2017", "2017-03-19"),
    ],
)
def test_garbled_separators_digits_and_labels(text: str, expected: str) -> None:
    assert read(f"Shop\n{text}\nTotal 1.00") == expected


def test_a_field_above_twelve_fixes_the_order_for_the_whole_receipt() -> None:
    # A US till prints 13/...: no, 01/13 shows month first; the other date follows it.
    assert read("Shop\nOrder 01/13/2024\n03/04/2024 10:21\nTotal 1,00 EUR") == "2024-03-04"
    assert read("Shop\n25/12/2023\n03/04/2024 10:21\nTotal $1.00") == "2024-04-03"


def test_country_conventions_decide_ambiguous_dates() -> None:
    assert read("Shop\n03/04/2024\nTotal $5.00", currency="USD") == "2024-03-04"
    # Dollars, but Singapore's: day first
    assert read("Shop Pte Ltd\nSingapore 018989\n03/04/2024\nTotal $5.00", currency="USD") == "2024-04-03"
    assert read("Shop Sdn Bhd\n03/04/2024\nTotal RM 5.00", currency="MYR") == "2024-04-03"
    # A US address without a dollar sign
    assert read("Shop\nSan Francisco, CA 94107\n03/04/2024\nTotal 5.00") == "2024-03-04"
    assert read("Shop\n03/04/2024\nTotal 5.00", country="PH") == "2024-03-04"
    assert read("Shop\n03/04/2024\nTotal 5.00", country="IN") == "2024-04-03"


def test_numeric_order_says_what_decided() -> None:
    assert numeric_order(["31/01/2019"]) == ("dmy", Evidence.FIELD)
    assert numeric_order(["Total $5"], currency="USD") == ("mdy", Evidence.CURRENCY)
    assert numeric_order(["Jalan Ampang, Kuala Lumpur"], currency="USD") == ("dmy", Evidence.TEXT)
    assert numeric_order(["nothing"]) == ("dmy", Evidence.DEFAULT)


def test_dots_are_day_first_even_with_dollars() -> None:
    assert read("Shop\n03.04.2024\nTotal $5.00", currency="USD") == "2024-04-03"


def test_validity_expiry_and_best_before_dates_lose() -> None:
    assert read("Shop\nValid until 31/12/2024\nTotal 5.00\n02/03/2024") == "2024-03-02"
    assert read("Shop\nBest before 10.06.2025\nMHD 11.06.2025\nTotal 1,00") is None
    assert read("Shop\nDatum 03.02.2024 gültig bis 31.12.2024") == "2024-02-03"
    assert read("Shop\nExp 12/26\nDate: 14/01/2024") == "2024-01-14"


def test_the_recurring_labelled_or_timed_date_wins() -> None:
    assert read("Shop\n12/01/2024\n14/01/2024\n14/01/2024") == "2024-01-14"
    assert read("Shop\n12/01/2024\nDate: 14/01/2024") == "2024-01-14"
    assert read("Shop\n12/01/2024\n14/01/2024 10:21") == "2024-01-14"


def test_equal_candidates_that_disagree_give_none() -> None:
    assert read("Shop\n12/01/2024\n14/01/2024\nTotal 1.00") is None


def test_implausible_years() -> None:
    assert read("Shop\n19/03/2003\nTotal 1.00") is None  # two decades old: a misread year
    assert read("Shop\n19/03/2003\n19/03/2023 10:00\nTotal 1.00") == "2023-03-19"
    # A future date is a misread year, even when nothing else is there (review bug 4)
    assert read("Shop\n18.05.26 09:50") is None
    assert not plausible_date(date(2026, 5, 18), TODAY)
    assert plausible_date(date(2025, 6, 2), TODAY)  # a day of time zones
    assert not plausible_date(date(2004, 1, 1), TODAY)


def test_confidence_is_lower_when_unsure() -> None:
    sure = extract_date(lines_of("Date: 14/03/2024 10:21"), today=TODAY)[1]
    repaired = extract_date(lines_of("Date: l4/O3/2024 10:21"), today=TODAY)[1]
    ambiguous = extract_date(lines_of("03/04/2024"), today=TODAY)[1]
    assert 0 < repaired < sure and 0 < ambiguous < sure


def test_amounts_and_prices_are_not_dates() -> None:
    assert read("Shop\n2 Mar 10.00\nTotal 1.00") is None
    assert read("Shop\nMAR 19 12:30\nTotal 1.00") is None


REVIEW_TODAY = date(2024, 3, 15)


def review_read(text: str) -> tuple[str | None, float]:
    """The date and confidence the whole extraction gives, as the review probed it."""
    from ocr.extract import extract

    receipt = extract(lines_of(text.replace(" / ", "\n")), today=REVIEW_TODAY)
    return (receipt.date.isoformat() if receipt.date else None), receipt.confidence.get("date", 0.0)


def test_a_future_date_is_never_the_purchase_date() -> None:
    # Review bug 4: a date beyond a day of time zones is a misread year, as plausible_date says.
    assert review_read("SHOP ONE / Date: 2025-12-20 10:00 / TOTAL 12.50") == (None, 0.0)
    assert review_read("SHOP / 16/03/2024 10:00 / TOTAL 1.00")[0] == "2024-03-16"  # time zones


def test_a_date_older_than_records_are_kept_is_doubtful() -> None:
    # Review bug 5: ~two decades back is beyond any tax or warranty retention: a misread year.
    found, confidence = review_read("SHOP / Date: 20/03/2005 10:00 / TOTAL 1.00")
    assert found is None or confidence <= 0.4
    # A recent date on the same receipt wins outright.
    found, _ = review_read("SHOP / Date: 20/03/2005 10:00 / 14/03/2024 / TOTAL 1.00")
    assert found == "2024-03-14"


@pytest.mark.parametrize(
    "item",
    ["LEGO 1 SET 23", "2 SET 20", "Sabun 1 MAC 20 pcs", "Cable 3 GEN 22", "Vogue 1 MAG 24", "4 DIS 21"],
)
def test_month_words_that_are_ordinary_words_in_item_lines_are_not_dates(item: str) -> None:
    # Review bug 6: `set`, `mac`, `gen`, `mag`, `ago`, `des`, `dis` are also words of item lines;
    # with a bare two-digit year beside them they are a quantity and a number, not a date.
    assert review_read(f"SHOP / {item} / 05/03/2024 14:22 / TOTAL 4.50")[0] == "2024-03-05"
    assert review_read(f"SHOP / {item} / TOTAL 4.50")[0] is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("19 Mac 2017", "2017-03-19"),  # Malay, four-digit year
        ("19-SET-17", "2017-09-19"),  # Italian, the DD-MON-YY form
        ("19 Dis '17", "2017-12-19"),  # Malay, apostrophe year
        ("19-Mar-17", "2017-03-19"),
        ("19 MAR 17", "2017-03-19"),
    ],
)
def test_month_words_still_read_in_date_forms(text: str, expected: str) -> None:
    assert read(f"Shop\n{text}\nTotal 1.00") == expected


def test_a_two_digit_year_month_word_date_does_not_beat_a_printed_numeric_date() -> None:
    # `19 MAR 17` without apostrophe is weaker evidence than a full numeric date on the receipt.
    assert read("Shop\nItem 2 MAR 23\n05/03/2024\nTotal 4.50") == "2024-03-05"


def test_year_first_receipts_read_a_leading_field_above_twelve_as_the_year() -> None:
    # Review bug 7: Japan, China, Korea print `24/03/14` year first; its 24 is the year, not
    # evidence for day first.
    assert review_read("LAWSON / 24/03/14 12:30 / Total ¥280")[0] == "2024-03-14"
    assert read("Shop\n24/03/14 12:30\nTotal 5000", currency="KRW") == "2024-03-14"
    assert read("Shop\n24/03/14 12:30\nTotal 5000", country="JP") == "2024-03-14"
    assert numeric_order(["24/03/14"], currency="JPY") == ("ymd", Evidence.FIELD)
    # A four-digit year at the end stays day first, and so do other currencies.
    assert read("Shop\n24/03/2014\nTotal 5000", currency="JPY") == "2014-03-24"
    assert read("Shop\n24/03/14\nTotal 5.00", currency="EUR") == "2014-03-24"
