"""Money on receipts: amounts in a line of text, and the receipt's currency with its decimals.

An amount is only money when it is written with the currency's own minor unit: two decimals for
most currencies, none for the yen or the won (ISO 4217 exponent 0), three for the Gulf dinars.
A bare integer is a quantity, a code or a phone number unless the currency has no decimals, so
the parser is always told the exponent; `currency_exponent` gives it from the ISO code.
"""

from __future__ import annotations

import re
from collections import defaultdict
from decimal import Decimal
from typing import NamedTuple

from ledger.currencies import CURRENCY_EXPONENTS
from ocr.text import Line

__all__ = [
    "Amount",
    "currency_exponent",
    "detect_currency",
    "find_amounts",
    "format_money",
    "last_amount",
]

# Decimals as printed: the ledger's ISO 4217 minor units (one table for both, so a draft's amount
# always parses in its currency), except where receipts follow practice instead of the standard:
# IDR has 2 in the standard but is printed without decimals (`Rp 15.000`). Amounts are read with
# at most 3 decimals (the 4-decimal units of account, CLF and UYW, are never printed on receipts).
_AS_PRINTED: dict[str, int] = {"IDR": 0}


def currency_exponent(currency: str | None) -> int:
    """The currency's number of decimals on receipts (ISO 4217 minor unit; 2 when unknown)."""
    if currency in _AS_PRINTED:
        return _AS_PRINTED[currency]
    return min(3, CURRENCY_EXPONENTS.get(currency or "", 2))


class Amount(NamedTuple):
    """An amount found in a line, and where (the span lets callers split label from amount)."""

    value: Decimal
    start: int
    end: int


# At most three thousands groups (999,999,999): no receipt prints more, and a bound keeps a line
# of space-separated digits (`111 111 111 ...`) linear instead of rescanned from every group.
_GROUPED = r"\d{1,3}(?:[.,'\u2019 ]\d{3}){1,3}"
# 1.234,56 / 1,234.56 / 1234,56 / 12.34 / 7, 16 (OCR splits after the separator) / -2,84 /
# 2,84- (a trailing minus: German and Asian tills print discounts and rounding that way)
_DECIMAL_AMOUNT = {
    exponent: re.compile(
        r"(?<![\d.,])(?P<sign>-\s?|\()?"
        rf"(?P<whole>{_GROUPED}|\d{{1,7}})"
        rf"\s?(?P<sep>[.,])\s?(?P<cents>\d{{{exponent}}})(?!\d)"
        r"(?!\s?[.,]\d)"
        r"(?!\s?%)"
        r"(?P<trail>-(?![\w-])|\))?"
    )
    for exponent in (2, 3)
}
# Whole amounts of 0-decimal currencies: ¥1,280 / 1.280 / 1 280 / 1280円. Never part of a date,
# a time, a phone number or a percentage (the neighbours `:/-.` and digits rule those out).
# OCR splits a yen amount's groups with a space (`¥1 280`, `¥1, 280`); a space joins groups only
# right after the yen sign, where no quantity can stand before the price.
# Some yen tills print zero decimals (`¥1,280.00`): `.00` / `,00` is part of the whole amount.
_WHOLE_AMOUNT = re.compile(
    r"(?<![\d.,:/\-])(?P<sign>-\s?)?"
    r"(?P<whole>(?:(?<=[¥￥])|(?<=[¥￥] ))\d{1,3}(?: \d{3}){1,3}(?!\d)|"
    r"\d{1,3}(?:[.,'\u2019]\s?\d{3}){1,3}|\d{1,9})(?P<zeros>[.,]00(?!\d))?"
    r"(?![\d:/%]|[.,]\d|\s?%|-\d)"
)
# Full-width digits and punctuation (Japanese, Chinese and Korean tills: `１２．５０`) are the
# ASCII ones under NFKC; mapped one to one so the amounts' spans still index the original text.
_FULL_WIDTH = str.maketrans(
    {chr(code): chr(code - 0xFEE0) for code in range(0xFF01, 0xFF5F)} | {"\u3000": " "}
)


# OCR's letters for digits inside a figure: `l26.95`, `3,067.O0`, `5S,14`. A run of digits,
# look-alike letters and separators, standing apart from any word, with at least two real digits
# and shaped like an amount once mapped, is read as that amount. Mapped one to one (spans hold).
# Never at the run's start an S or B (a currency sign: `S12.00` is S$ without its $, `B45.00`
# Thailand's ฿), nor at its end an S, B, l or I (German tills print the tax class right after the
# price: `2,49B`); `|` is a table's border, never a digit.
_LOOKALIKE_DIGITS = str.maketrans({"O": "0", "o": "0", "l": "1", "I": "1", "S": "5", "B": "8"})
# (Starts only where no letter, digit or separator precedes: linear in the line's length.)
_LOOKALIKE_RUN = re.compile(r"(?<![^\W_]|[|.,])[\dOolISB][\dOolISB.,]*(?![^\W\d_])")
_AMOUNT_SHAPE = re.compile(r"\d{1,3}(?:[.,]\d{3})*(?:[.,]\d{2,3})?|\d+(?:[.,]\d{2,3})?")


def _mapped_lookalikes(text: str) -> str:
    def mapped(match: re.Match[str]) -> str:
        run = match[0]
        if run.isdigit() or sum(c.isdigit() for c in run) < 2 or run[0] in "SB" or run[-1] in "SBlI":
            return run
        digits = run.translate(_LOOKALIKE_DIGITS)
        return digits if _AMOUNT_SHAPE.fullmatch(digits) else run

    return _LOOKALIKE_RUN.sub(mapped, text)


def find_amounts(text: str, exponent: int = 2) -> list[Amount]:
    """Money amounts in a line with the currency's `exponent` decimals; never a date (12.05.2020)
    or a percentage, and (for 2- or 3-decimal currencies) never a bare integer."""
    text = _mapped_lookalikes(text.translate(_FULL_WIDTH))
    if exponent == 0:
        return _whole_amounts(text)
    found: list[Amount] = []
    for match in _DECIMAL_AMOUNT[3 if exponent == 3 else 2].finditer(text):
        whole = re.sub(r"[.,'\u2019 ]", "", match["whole"])
        value = Decimal(f"{whole}.{match['cents']}")
        sign, trail = match["sign"] or "", match["trail"] or ""
        if sign.startswith("-") or trail == "-" or (sign == "(" and trail == ")"):
            value = -value
        found.append(Amount(value, match.start(), match.end()))
    return found


def _whole_amounts(text: str) -> list[Amount]:
    found: list[Amount] = []
    for match in _WHOLE_AMOUNT.finditer(text):
        value = Decimal(re.sub(r"[.,'\u2019\s]", "", match["whole"]))
        found.append(Amount(-value if match["sign"] else value, match.start(), match.end()))
    return found


def last_amount(text: str, exponent: int = 2) -> Decimal | None:
    """The line's last amount: where receipts print the figure that belongs to the label."""
    amounts = find_amounts(text, exponent)
    return amounts[-1].value if amounts else None


def format_money(value: Decimal | None, currency: str | None) -> str | None:
    """The amount as a string with the currency's decimals: `1280` for JPY, `12.30` for MYR."""
    if value is None:
        return None
    exponent = currency_exponent(currency)
    return f"{value:.{exponent}f}"


# --- currency ---------------------------------------------------------------------------------

# (pattern on the receipt's text, ISO code, weight). Explicit codes and unambiguous symbols weigh
# more than a bare `$`, which many countries share.
_MARKS: tuple[tuple[str, str, float], ...] = (
    (r"€|\beur\b|\beuro\b", "EUR", 1.0),
    (r"£|\bgbp\b", "GBP", 1.0),
    (r"\bchf\b|\bfr\.", "CHF", 1.0),
    (r"\bpln\b|\bz[lł]\b|z[lł]\s*$", "PLN", 1.0),
    (r"\brm\s?\d|\brm\b|\bmyr\b", "MYR", 1.0),
    (r"₹|\binr\b|\brs\.?\s?\d|\brs\b", "INR", 1.0),
    (r"\bjpy\b|円", "JPY", 1.5),
    (r"\bcny\b|\brmb\b|元", "CNY", 1.5),
    (r"₩|\bkrw\b", "KRW", 1.5),
    (r"฿|\bthb\b|\bbaht\b", "THB", 1.0),
    (r"\bidr\b|\brp\.?\s?\d|\brp\b", "IDR", 1.0),
    (r"₱|\bphp\b", "PHP", 1.0),
    (r"\baed\b|\bdhs?\b|\bdirhams?\b", "AED", 1.0),
    (r"\bsek\b", "SEK", 1.5),
    (r"\bnok\b", "NOK", 1.5),
    (r"\bdkk\b", "DKK", 1.5),
    (r"\bkr\.?\b", "SEK", 0.8),
    (r"\busd\b|\bus\$", "USD", 1.5),
    (r"\bsgd\b|\bs\$", "SGD", 1.5),
    (r"\bhkd\b|\bhk\$", "HKD", 1.5),
    (r"\baud\b|\ba\$", "AUD", 1.5),
    (r"\bnzd\b|\bnz\$", "NZD", 1.5),
    (r"\bcad\b|\bc\$", "CAD", 1.5),
)
# `¥` is the yen and the yuan; the yuan's own marks decide, the yen by default.
_YEN_SIGN = re.compile(r"[¥￥]")
_DOLLAR = re.compile(r"\$")
# Which dollar a bare `$` is, from the country's words on the receipt: its name, its tax number
# (Australia's ABN, Singapore's GST Reg / UEN and its "Pte Ltd" private company form, Canada's
# HST), else the US dollar.
_DOLLAR_COUNTRIES: tuple[tuple[str, str], ...] = (
    (r"singapore|\buen\b|gst reg|\bpte\.?\s*ltd\b", "SGD"),
    (r"hong kong", "HKD"),
    (r"australia|\babn\b|\bnsw\b|\bvic\b|\bqld\b", "AUD"),
    (r"new zealand|\bgst no\b", "NZD"),
    (r"canada|\bhst\b|\bqst\b|\bpst\b|\bontario\b|\bquebec\b", "CAD"),
    (r"malaysia", "MYR"),
)


def detect_currency(lines: list[Line], hint: str | None = None) -> tuple[str | None, float]:
    """The receipt's ISO currency from its symbols and codes, with a confidence in [0, 1] that
    grows with how often the currency is marked. `hint` (the uploader's, e.g. the group's
    currency) says which dollar or peso a bare `$` is when the receipt itself does not."""
    text = "\n".join(line.text for line in lines).lower()
    counts: defaultdict[str, float] = defaultdict(float)
    for pattern, code, weight in _MARKS:
        hits = len(re.findall(pattern, text, flags=re.MULTILINE))
        if hits:
            counts[code] += hits * weight
    # Scandinavian `kr` follows an explicit Norwegian or Danish code when there is one.
    if "SEK" in counts and ("NOK" in counts or "DKK" in counts):
        other = "NOK" if counts["NOK"] >= counts["DKK"] else "DKK"
        counts[other] += counts.pop("SEK")
    yen = len(_YEN_SIGN.findall(text))
    if yen:
        counts["CNY" if counts["CNY"] > counts["JPY"] else "JPY"] += yen
    dollars = len(_DOLLAR.findall(text))
    if dollars:
        counts[_dollar_of(text, counts, hint)] += dollars * 0.9
    counts = defaultdict(float, {code: count for code, count in counts.items() if count > 0})
    if not counts:
        return None, 0.0
    code, count = max(counts.items(), key=lambda item: item[1])
    return code, min(1.0, 0.5 + 0.1 * count)


# Currencies written with a bare `$`: the dollars and the Latin American pesos.
_DOLLAR_SIGN_CURRENCIES = frozenset(
    "USD SGD HKD AUD NZD CAD TWD BND FJD JMD TTD BSD BBD BZD BMD KYD XCD LRD NAD SBD SRD GYD "
    "MXN CLP COP ARS UYU DOP CUP".split()
)


def _dollar_of(text: str, counts: defaultdict[str, float], hint: str | None = None) -> str:
    """The dollar a bare `$` means: an explicit dollar code on the receipt, else the country's
    words, else the uploader's hint when it is a `$` currency, else USD."""
    dollar_codes = ("SGD", "HKD", "AUD", "NZD", "CAD", "USD")
    explicit = [code for code in dollar_codes if counts[code] > 0]
    if explicit:
        return max(explicit, key=lambda code: counts[code])
    for pattern, code in _DOLLAR_COUNTRIES:
        if re.search(pattern, text):
            return code
    return hint if hint in _DOLLAR_SIGN_CURRENCIES else "USD"
