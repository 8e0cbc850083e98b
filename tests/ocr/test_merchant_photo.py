"""The merchant model on what phone photos of receipts make of a header, written out as lines: the
logo unread or misread, a slogan taken for the name, noise from the table around the paper, an
item whose price went to another column. One test per failure kind (bench/ocr_merchant_bench.py
measures them on photo-like pictures)."""

from __future__ import annotations

from datetime import date

import pytest

from ocr.extract import extract
from ocr.merchant import clean_name, find_merchant
from ocr.text import Line, Word, lines_of

TODAY = date(2025, 6, 1)


def merchant(lines: list[Line]) -> str | None:
    return extract(lines, today=TODAY).merchant


def noise(count: int) -> list[Line]:
    """What Tesseract reads from a table's texture or a logo's strokes: fragments, unsure."""
    return [Line(". é 2, ’ x ya", 0.35) for _ in range(count)]


def printed(text: str, confidence: float = 0.9) -> list[Line]:
    return [Line(raw, confidence) for raw in text.splitlines()]


def sized(text: str, height: int, confidence: float = 0.9) -> Line:
    words = tuple(
        Word(w, confidence, left=i * 50, top=0, right=i * 50 + 40, bottom=height)
        for i, w in enumerate(text.split())
    )
    return Line(text, confidence, words)


# --- where the name stands: above the address ---------------------------------------------------


def test_the_name_right_above_the_address_beats_the_first_half_of_a_slogan() -> None:
    """A logo's slogan read in part (`WUNSCHLOS`, its `GLÜCKLICH?` lost), the QR-code notice
    garbled, then the name over the street and postcode."""
    lines = [
        Line("WUNSCHLOS", 0.6),
        *noise(3),
        Line("Marktkauf Lehr", 0.6),
        *printed("Detmolder Str. 4\n33102 Paderborn\nTel. 05251 / 180420\nSUPER SANDWICH 1,79 B\nSUMME 1,79"),
    ]
    assert merchant(lines) == "Marktkauf Lehr"


def test_a_street_line_ocr_garbled_still_places_the_address() -> None:
    """`Detmolder Str. 4` read `Detmalder Ste. 4`: a house number over a postcode line is the
    street; the name is the line above it, not the street."""
    lines = [
        Line("WUNSCHLOS", 0.5),
        *noise(2),
        Line("Mark tkauf Lehr", 0.6),
        *printed("Detmalder Ste. 4\n33102 Pader born\nSUPER SANDWICH 1,79 B\nSUMME 1,79", 0.6),
    ]
    assert merchant(lines) == "Mark tkauf Lehr"


def test_a_line_under_the_address_is_not_the_name() -> None:
    """An item whose price Tesseract read into another column sits under the address."""
    lines = [
        Line("Bio Laden", 0.55),
        *printed("Harburger Straße 139\n33100 Paderborn\nEMMENTALER STÜCK\nSumme 1,99"),
    ]
    assert merchant(lines) == "Bio Laden"


def test_the_name_over_its_registered_form_both_read_once_wrong() -> None:
    """`GREENLEAF MARKET` printed large over `GREEMLEAF MARKET Inc.` (one letter misread): both
    are the name, and the usual evidence (print size here) picks."""
    lines = [
        sized("GREENLEAF MARKET", 40),
        sized("GREEMLEAF MARKET Inc.", 20),
        sized("12 Main St", 20),
        sized("Portland, OR 97201", 20),
        sized("Apples 3.20", 20),
        sized("TOTAL 3.20", 20),
    ]
    assert find_merchant(lines)[0] == "GREENLEAF MARKET"


def test_a_garbled_city_line_under_a_house_number_is_not_the_name() -> None:
    """`1 Broadway` over `New York, NY 1000l` (ZIP misread): the city is not taken for the name
    when a receipt number lower down (`Receipt #77046`) would otherwise place the address."""
    text = (
        "Golden Dragon\n1 Broadway\nNew York, NY 1000l\nDate: 07/26/2015 13:59\nServer: Josh\n"
        "Receipt #77046 Till 5\n2 Chicken Wings 48.80\nAmount Due 48.80"
    )
    assert merchant(lines_of(text)) == "Golden Dragon"


# --- slogans --------------------------------------------------------------------------------------


def test_a_slogan_wrapped_over_two_lines_is_not_the_name() -> None:
    lines = printed("WUNSCHLOS\nGLÜCKLICH?\nMarktkauf Lehr\nSUPER SANDWICH 1,79 B\nSUMME 1,79")
    assert merchant(lines) == "Marktkauf Lehr"


def test_a_slogan_sentence_going_on_after_a_comma_is_not_the_name() -> None:
    lines = [sized("Respekt, wer's selber macht.", 130), sized("toom Baumarkt GmbH", 44)]
    lines += [sized("Spindelmäher 49.99", 44), sized("SUMME EUR 49.99", 44)]
    assert find_merchant(lines)[0] == "toom Baumarkt GmbH"


def test_a_question_mark_after_a_word_marks_a_slogan_despite_noise_after_it() -> None:
    lines = [sized("GLUCKLICH? toa pe", 60), sized("Marktkauf Lehr", 20)]
    lines += [sized("SUPER SANDWICH 1,79 B", 20), sized("SUMME 1,79", 20)]
    assert find_merchant(lines)[0] == "Marktkauf Lehr"


# --- where the header ends ------------------------------------------------------------------------


def test_noise_above_the_paper_does_not_push_the_name_out_of_the_header() -> None:
    lines = [*noise(14), *printed("Thalia Bücher\nWesternstraße 2\n33098 Paderborn\nBuch 9,99\nSUMME 9,99")]
    assert merchant(lines) == "Thalia Bücher"


def test_a_speck_read_as_a_currency_sign_does_not_end_the_header() -> None:
    lines = [
        sized("+ ¥ ae °", 17, 0.4),
        sized("€", 10, 0.93),
        sized("Thalia Bücher", 26),
        sized("Westernstraße 2", 26),
        sized("Buch 49,90", 26),
        sized("SUMME 49,90", 26),
    ]
    assert find_merchant(lines)[0] == "Thalia Bücher"


@pytest.mark.parametrize(
    "priced",
    [
        "2183839 1.129,00 b",  # an article number and its price, the description on the next line
        "2183839 “4, 129, 00 Dd",  # the same read from a photo
        "1.129,00 b",  # the price alone, its article number read onto another line
    ],
)
def test_an_item_without_its_description_ends_the_header(priced: str) -> None:
    lines = [
        Line("~ ® |", 0.2),
        *printed(f"Kamp 30-32\n33098 Paderborn\nTEL 05251/87180\n{priced}\nMAVIC PRO\nTotal EUR 1.129,00"),
    ]
    assert merchant(lines) is None


# --- lines that are no name -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "Dr ZZ x ya ma EZ",  # a table's texture read as letter pairs of mixed case
        "Renouncgdifsenungderyesfalenag",  # a blurred line's words run together
        "Kreditkarte",  # the payment block's words, their amounts in another column
        "EC-Karte",
        "Karte 0 Tre",
        "VISA",
        "wwu.tehr honustiy.de ® Honestl",  # a misread web address
    ],
)
def test_not_a_name(raw: str) -> None:
    assert clean_name(raw) is None


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        ("A LD I", "ALDI"),  # a letter-spaced logo in one case stays joined
        ("Ro ss ma nn", "Rossmann"),
        ("Getränkefachgroßhandel Schmidt", "Getränkefachgroßhandel Schmidt"),  # a long German word
        ("Visionworks Optical", "Visionworks Optical"),  # a name that starts like a card word
    ],
)
def test_still_a_name(raw: str, name: str) -> None:
    assert clean_name(raw) == name


def test_a_weight_is_not_a_legal_form() -> None:
    """`kg` after a number is a weight, not a Kommanditgesellschaft: no company line at the foot."""
    lines = [Line("~ ® |", 0.2), *printed("Pohlweg 110\nBANANEN 1,99\nSUMME 1,99\n2 kg Bananen lose")]
    assert merchant(lines) is None


def test_two_unsure_words_under_noise_neither_ahead_are_no_name() -> None:
    """A misread logo's two words, Tesseract barely sure of either: null beats a wrong name."""
    lines = [*noise(4), Line("Biete", 0.45), Line("Ferse", 0.45), Line("SUMME 23,84", 0.9)]
    assert find_merchant(lines) == (None, 0.0)


def test_the_name_as_printed_beats_its_registered_form_read_with_a_digit() -> None:
    """Malaysian tills print the name, then the company with its legal form and registration
    number; both stand right above the address, and the name as the shop prints it is taken
    (the registered copy was read `KEDA1`)."""
    text = (
        "Kedai Ah Seng\nKEDA1 AH SENG SDN BHD (123456-X)\nNo. 5, Jalan Besar\n43300 Seri Kembangan\n"
        "Milo 3.50\nTOTAL 3.50"
    )
    assert find_merchant(lines_of(text))[0] == "Kedai Ah Seng"
