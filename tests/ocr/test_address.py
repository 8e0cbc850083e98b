"""Address lines and the header's address block (ocr/address.py), as text."""

from __future__ import annotations

import pytest

from ocr.address import address_block, is_address
from ocr.text import Line, fold


@pytest.mark.parametrize(
    ("line", "address"),
    [
        ("Pohlweg 110", True),  # a German street is one word, its number after it
        ("Poh Iweg 110 .", True),  # the same, misread
        ("Marktplatz 3", True),
        ("HeisenbergstraBe 2", True),  # `ß` read as `B`
        ("Receipt #77046 Till 5", False),  # a number after `#` is no postcode
        ("Store #12345", False),
        ("33100 Paderborn", True),
        ("Ring Bakery", False),
    ],
)
def test_address_lines(line: str, address: bool) -> None:
    assert is_address(fold(line), [], line) is address


def lines(text: str, confidence: float = 0.9) -> list[Line]:
    return [Line(raw, confidence) for raw in text.splitlines()]


@pytest.mark.parametrize(
    ("text", "block"),
    [
        ("Marktkauf Lehr\nDetmolder Str. 4\n33102 Paderborn", (1, 1)),
        # a garbled street: a house number over a postcode line
        ("Marktkauf Lehr\nDetmalder Ste. 4\n33102 Pader born", (1, 1)),
        # a four-digit postcode and a garbled street over the phone line
        ("Marktkaut Lehr\nDetmolder Sic. 4 ,\n3302 Pacer vorn\nTel. 05254 7 180420", (1, 1)),
        # a house number alone over a city OCR garbled; the receipt's own number is no postcode
        ("Golden Dragon\n1 Broadway\nNew York, NY 1000l\nServer: Josh\nReceipt #77046\n12 Elm St", (1, 5)),
        # a date is no phone number
        ("CAFE\nDate: 07/26/2015 13:59\nServer: Josh", None),
        ("CORNER DELI\nSoup of the day", None),
    ],
)
def test_the_address_block(text: str, block: tuple[int, int] | None) -> None:
    assert address_block(lines(text)) == block


def test_unsure_lines_do_not_place_the_address() -> None:
    """Noise from the table around a photographed receipt may hold a five-digit number."""
    assert address_block([Line("mith rar ae 05251 a", 0.3), Line("ALDI", 0.9)]) is None
