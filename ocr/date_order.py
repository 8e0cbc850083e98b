"""Which order a receipt writes its numeric dates in, decided from the whole receipt: `03/04/2024`
is 3 April in most of the world, March 4 in the US, and only the rest of the receipt can tell.

Evidence, strongest first: a date-shaped group anywhere on the receipt with a field above 12 (it
can only be read one way, and a till prints every date the same way); a country the caller knows;
the country the receipt's own text shows (currency symbols and codes, country names, legal forms,
tax registrations, address shapes); the receipt's currency; else day-first, the most common order
in the world."""

from __future__ import annotations

import re
from collections.abc import Iterable
from enum import Enum
from typing import Literal

from ocr.text import fold

Order = Literal["dmy", "mdy", "ymd"]


class Evidence(Enum):
    """How the order was decided, weakest last: the confidence of an ambiguous date follows it."""

    FIELD = "field"
    TEXT = "text"
    COUNTRY = "country"
    CURRENCY = "currency"
    DEFAULT = "default"


# ISO 3166 codes of countries whose receipts write month first (the US and its territories; the
# Philippines and Canada often, their tills being US-made) or year first with two-digit years
# (Japan, China, Korea, Taiwan; Hungary and Lithuania write year first too).
_MONTH_FIRST_COUNTRIES = frozenset({"US", "PR", "GU", "VI", "AS", "MP", "FM", "MH", "PW", "PH", "CA"})
_YEAR_FIRST_COUNTRIES = frozenset({"JP", "CN", "KR", "TW", "HU", "LT", "MN"})
_MONTH_FIRST_CURRENCIES = frozenset({"USD", "CAD", "PHP"})
_YEAR_FIRST_CURRENCIES = frozenset({"JPY", "CNY", "KRW", "TWD", "HUF"})

# What a receipt's text says about where it was printed, on folded text. Day-first: the currencies
# of day-first countries (UK £, euro, Malaysia RM, India ₹/Rs, Singapore S$, Australia A$, NZ, HK),
# their names, legal forms (Sdn Bhd: Malaysia; Pte Ltd: Singapore), tax registrations (GSTIN and
# CGST/SGST: India; ABN: Australia; SST: Malaysia; VAT Reg: UK) and date labels in day-first
# languages (Tarikh: Malay, Datum: German/Dutch, Fecha: Spanish).
_DAY_FIRST_TEXT = re.compile(
    r"£|€|₹|\bgbp\b|\beur\b|\beuro\b|\bmyr\b|\brm ?\d|\binr\b|\brs\.? ?\d|\bsgd\b|\bs\$|\baud\b|"
    r"\ba\$|\bnzd\b|\bhk\$|\bhkd\b|\bmalaysia\b|\bsingapore\b|\bindia\b|\bunited kingdom\b|"
    r"\bengland\b|\bscotland\b|\baustralia\b|\bnew zealand\b|\bindonesia\b|\bdeutschland\b|"
    r"\bsdn\.? ?bhd\b|\bpte\.? ?ltd\b|\bgstin\b|\b[cs]gst\b|\babn\b|\bsst\b|\bvat reg|"
    r"\btarikh\b|\bdatum\b|\bfecha\b|\bjumlah\b|\bmwst\b|\bjalan\b|\bjln\b|\bselangor\b|"
    r"\bkuala lumpur\b|\bjohor\b"
)
# Month-first: the US by name, its dollar written as such, sales tax; the Philippines and Canada
# by name and Canada's provincial sales taxes.
_MONTH_FIRST_TEXT = re.compile(
    r"\busa\b|\bu\.s\.a\b|\bunited states\b|\bus\$|\busd\b|\bsales tax\b|\bphilippines\b|"
    r"\bcanada\b|\b(?:hst|pst|qst)\b"
)
# A US address's last line: a state's postal code and a ZIP code (`San Francisco, CA 94107`),
# matched on the text as printed (state codes are capitals).
_US_STATE_ZIP = re.compile(
    r"\b(?:AL|AK|AZ|AR|CA|CO|CT|DE|DC|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|"
    r"NV|NH|NJ|NM|NY|NC|ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY)\.?,?\s+\d{5}(?:-\d{4})?\b"
)
# A numeric date-shaped group whose fields may settle the order: 31/01/2019, 01-31-19.
_DAY_MONTH_GROUP = re.compile(
    r"(?<![\d.,/:])(?P<a>\d{1,2})\s?[./\-]\s?(?P<b>\d{1,2})\s?[./\-,]\s?(?P<c>\d{4}|\d{2})(?![\d])"
)


def numeric_order(
    texts: Iterable[str], *, currency: str | None = None, country: str | None = None
) -> tuple[Order, Evidence]:
    """The order the receipt's ambiguous numeric dates are in, and what decided it."""
    texts = list(texts)
    # Japan, China, Korea and Taiwan print two-digit years first (`24/03/14`): on their receipts a
    # leading field above 12 with a two-digit last field is the year, evidence for year first,
    # not for day first.
    year_first_hint = (
        country.upper() in _YEAR_FIRST_COUNTRIES if country else currency in _YEAR_FIRST_CURRENCIES
    )
    day_first = month_first = year_first = 0
    for text in texts:
        for match in _DAY_MONTH_GROUP.finditer(text):
            a, b = int(match["a"]), int(match["b"])
            if year_first_hint and a > 12 and len(match["c"]) == 2 and 1 <= b <= 12:
                year_first += 1
            elif 12 < a <= 31 and 1 <= b <= 12:
                day_first += 1
            elif 12 < b <= 31 and 1 <= a <= 12:
                month_first += 1
    if year_first > day_first + month_first:
        return "ymd", Evidence.FIELD
    if day_first != month_first:
        return ("dmy" if day_first > month_first else "mdy"), Evidence.FIELD
    joined = "\n".join(texts)
    folded = fold(joined)
    day_votes = len(_DAY_FIRST_TEXT.findall(folded))
    month_votes = len(_MONTH_FIRST_TEXT.findall(folded)) + len(_US_STATE_ZIP.findall(joined))
    if day_votes != month_votes:
        return ("dmy" if day_votes > month_votes else "mdy"), Evidence.TEXT
    # The country is the uploader's hint (the app's region): the receipt's own words outrank it
    # (a British receipt scanned in the US is still day first).
    if country:
        return _country_order(country.upper()), Evidence.COUNTRY
    if currency in _MONTH_FIRST_CURRENCIES:
        return "mdy", Evidence.CURRENCY
    if currency in _YEAR_FIRST_CURRENCIES:
        return "ymd", Evidence.CURRENCY
    if currency:
        return "dmy", Evidence.CURRENCY
    return "dmy", Evidence.DEFAULT


def _country_order(country: str) -> Order:
    if country in _MONTH_FIRST_COUNTRIES:
        return "mdy"
    if country in _YEAR_FIRST_COUNTRIES:
        return "ymd"
    return "dmy"
