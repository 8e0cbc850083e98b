"""Receipt text → fields: merchant, date, total, currency, items, subtotal, tax.

Pure functions on the OCR's lines (text plus Tesseract's word confidence); no I/O, so every rule is
tested on text samples. The rules are written for receipts in general (English, German and other
European layouts): keywords in several languages, `,` or `.` decimals, day-first and month-first
dates, month names. Every field comes with a confidence in [0, 1]: how strong the rule that found
it is, times how sure Tesseract was of the words it came from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from ocr.amounts import detect_currency, format_money
from ocr.amounts import find_amounts as _amounts
from ocr.dates import date_line_hints, extract_date, plausible_date
from ocr.text import Line, clean, fold, fold_name, lines_of, mean
from ocr.totals import NOT_TOTAL, read_money

__all__ = [
    "Item",
    "Line",
    "Receipt",
    "date_line_hints",
    "extract",
    "extract_date",
    "fold_name",
    "lines_of",
    "plausible_date",
]


@dataclass(frozen=True, slots=True)
class Item:
    description: str
    quantity: Decimal
    amount: Decimal


@dataclass(slots=True)
class Receipt:
    merchant: str | None = None
    date: date | None = None
    total: Decimal | None = None
    currency: str | None = None
    subtotal: Decimal | None = None
    tax: Decimal | None = None
    items: list[Item] = field(default_factory=list)
    confidence: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "merchant": self.merchant,
            "date": self.date.isoformat() if self.date else None,
            "total": _money(self.total, self.currency),
            "currency": self.currency,
            "subtotal": _money(self.subtotal, self.currency),
            "tax": _money(self.tax, self.currency),
            "items": [
                {
                    "description": i.description,
                    "quantity": _number(i.quantity),
                    "amount": _money(i.amount, self.currency),
                }
                for i in self.items
            ],
            "confidence": {name: round(value, 2) for name, value in self.confidence.items()},
        }


def extract(lines: list[Line], *, today: date | None = None) -> Receipt:
    """Every field the rules can find in the receipt's lines."""
    lines = [Line(clean(line.text), line.confidence, line.words) for line in lines]
    lines = [line for line in lines if line.text]
    receipt = Receipt()
    receipt.currency, currency_confidence = detect_currency(lines)
    money = read_money(lines, receipt.currency)
    receipt.total, receipt.subtotal, receipt.tax = money.total, money.subtotal, money.tax
    receipt.confidence.update(money.confidence)
    total_at = money.total_at
    _find_date(lines, receipt, today or date.today())
    _find_merchant(lines, receipt)
    receipt.items = _items(lines, total_at)
    if receipt.currency is not None:
        receipt.confidence["currency"] = currency_confidence
    if receipt.items:
        receipt.confidence["items"] = (
            mean([line.confidence for line in lines[: total_at or len(lines)]]) * 0.6
        )
    return receipt


def _find_date(lines: list[Line], receipt: Receipt, today: date) -> None:
    found, confidence = extract_date(lines, currency=receipt.currency, today=today)
    if found is not None:
        receipt.date = found
        receipt.confidence["date"] = confidence


# --- merchant ---------------------------------------------------------------------------------

_HEADER_LINES = 10
_GENERIC = re.compile(
    r"^(receipt|quittung|kassenbon|kassenbeleg|beleg|rechnung|invoice|tax invoice|bon|ticket|"
    r"welcome|willkommen|bienvenue|thank you|danke|copy|kopie|customer copy|kundenbeleg|"
    r"sales receipt|cash receipt|order|store|filiale|eur|euro|usd|gbp|chf|date|datum|"
    r"original|duplicate)\b"
)
_ADDRESS = re.compile(
    r"\b(str|strasse|straße|weg|platz|allee|gasse|ring|damm|ufer|street|st|road|rd|avenue|ave|"
    r"blvd|boulevard|lane|ln|drive|dr|suite|floor|highway|hwy|rue|via|calle|plaza)\b\.?|"
    r"(strasse|straße|str\.)"
)
_CONTACT = re.compile(
    r"\b(tel|phone|fon|fax|telefon|mobil|ph|www|http|email|e-mail|vat|ust|"
    r"steuer|tax|uid|hrb|kasse|terminal|filiale|store #|store no|open|"
    r"offnungszeiten|opening|hours|mo|di|mi|do|fr|sa|so|mon|tue|wed|thu|fri|"
    r"sat|sun|uhr)\b|\S@\S+\.\w"
)
_LEGAL_FORM = re.compile(
    r"\b(gmbh|ag|kg|ohg|e\.k|ltd|limited|llc|inc|corp|plc|s\.a\.|sarl|s\.p\.a|spa|b\.v|"
    r"n\.v|sdn bhd|bhd|gesmbh|mbh)\b\.?"
)
_DOMAIN = re.compile(
    r"(?:www\.)?(?P<name>[a-z0-9][a-z0-9\-]{1,30})\.(?:de|com|co\.uk|uk|at|ch|fr|"
    r"nl|it|es|eu|net|org|us|ca|com\.au|com\.my|my|be|pl|se|dk|no)\b"
)


def _find_merchant(lines: list[Line], receipt: Receipt) -> None:
    """The shop's name: the first header line that reads like a name (mostly letters, not an
    address, phone number or a word like RECEIPT, and read with some confidence); else a company
    line (… GmbH, … Ltd) or the shop's web address anywhere on the receipt."""
    candidates: list[tuple[float, str]] = []
    for index, line in enumerate(lines[:_HEADER_LINES]):
        name = _name_like(line.text)
        if name is None or line.confidence < 0.5:
            continue
        score = (0.9 - index * 0.06) * line.confidence
        if _LEGAL_FORM.search(fold(name)):
            score += 0.1
        candidates.append((score, name))
    for line in lines:
        folded = fold(line.text)
        if _LEGAL_FORM.search(folded) and not _ADDRESS.search(folded):
            name = _company_name(line.text)
            if name and line.confidence >= 0.5:
                candidates.append((0.55 * line.confidence, name))
                break
    for line in lines:
        match = _DOMAIN.search(fold(line.text).replace(" ", ""))
        if match and match["name"] not in _NOT_SHOP_DOMAINS:
            candidates.append((0.45, match["name"].split("-")[0].capitalize()))
            break
    if not candidates:
        return
    score, name = max(candidates, key=lambda c: c[0])
    receipt.merchant = name
    receipt.confidence["merchant"] = max(0.0, min(1.0, score))


_NOT_SHOP_DOMAINS = {
    "www",
    "http",
    "https",
    "payback",
    "deutschlandcard",
    "honestly",
    "facebook",
    "instagram",
    "twitter",
    "google",
    "paypal",
    "visa",
    "mastercard",
}


def _name_like(text: str) -> str | None:
    """The line as a shop name, or None when it is an address, contact line, date, amount or noise."""
    if _amounts(text):
        return None
    text = re.sub(r"(?<=[A-Za-z])[@®©](?=[A-Za-z])", "O", text)  # logos: R@SSMANN
    stripped = _unspaced(text.split(",")[0].strip(" -_=*#|:;.,'\"~`!()[]{}<>+/\\"))
    stripped = re.sub(r"^(?:\S\s)+|(?:\s\S)+$", "", stripped)  # stray marks beside a logo
    folded = fold(stripped)
    if len(stripped) < 2 or len(stripped) > 48:
        return None
    letters = sum(c.isalpha() for c in stripped)
    digits = sum(c.isdigit() for c in stripped)
    if letters < 3 or digits > 2 or letters < 0.7 * len(stripped.replace(" ", "")):
        return None
    if _GENERIC.search(folded) or _CONTACT.search(folded) or _ADDRESS.search(folded):
        return None
    if _amounts(stripped):
        return None
    words = re.findall(r"[^\W\d_]+", stripped)
    # OCR noise from logos reads as many one- or two-letter fragments
    if not words or max(len(w) for w in words) < 3 or sum(len(w) <= 2 for w in words) > len(words) / 2:
        return None
    return " ".join(stripped.split())


def _unspaced(text: str) -> str:
    """`t o o m B a u m a r k t` → `toom Baumarkt`; `A LD I` → `ALDI`: letter-spaced logos."""
    words = text.split()
    if len(words) >= 3 and all(len(w) <= 2 and w.isalpha() for w in words):
        return "".join(words)
    joined: list[str] = []
    run: list[str] = []
    for word in words + [""]:
        if len(word) == 1 and word.isalpha():
            run.append(word)
            continue
        if len(run) >= 3:
            joined.append(re.sub(r"(?<=[a-zäöü])(?=[A-ZÄÖÜ])", " ", "".join(run)))
        else:
            joined.extend(run)
        run = []
        if word:
            joined.append(word)
    return " ".join(joined)


def _company_name(text: str) -> str | None:
    name = re.split(r",|\s{2,}", text.strip())[0].strip(" -_=*#|:;.")
    letters = sum(c.isalpha() for c in name)
    return name if letters >= 3 else None


# --- items ------------------------------------------------------------------------------------

# `2 x 4,85`, `2x 0,49`, `2,59 x 2` (price first, as German tills print it), `0,162 kg x 1,15`,
# `3 @ 1.99`, `2 Stk x 4,85`
_QUANTITY = re.compile(
    r"(?<![\d.,])(?P<a>\d{1,4}(?:[.,]\d{1,3})?)\s?(?:[a-z]{1,5}\.?\s?)?[x×*@]"
    r"(?:\s?(?P<b>\d{1,6}(?:[.,]\d{1,3})?)(?![\d.,]))?",
    re.IGNORECASE,
)


def _quantity(match: re.Match[str]) -> Decimal | None:
    """The count in `A x B`: whichever side is a whole number, else the first (a weight)."""
    for side in (match["a"], match["b"]):
        if side and side.isdigit():
            return Decimal(side)
    return _decimal(match["a"])


_ITEM_EXCLUDE = re.compile(
    NOT_TOTAL.pattern + r"|total|summe|zahlen|betrag|amount|bar\b|cash|karte|card|visa|"
    r"mastercard|girocard|gegeben|tendered|eur/kg|/kg|kg x|datum|date|uhr|tel|rabatt|coupon"
)


def _items(lines: list[Line], total_at: int | None) -> list[Item]:
    """Priced lines before the total: a description followed by an amount; a `2 x 0,49` line
    before (or in) it gives the quantity."""
    end = total_at if total_at is not None else len(lines)
    items: list[Item] = []
    pending_quantity: Decimal | None = None
    for line in lines[:end]:
        text = line.text
        folded = fold(text)
        amounts = _amounts(text)
        quantity_match = _QUANTITY.search(text)
        description_part = text[: amounts[-1][1]] if amounts else text
        if quantity_match and sum(c.isalpha() for c in description_part) < 4:
            pending_quantity = _quantity(quantity_match)
            continue
        if not amounts or _ITEM_EXCLUDE.search(folded):
            pending_quantity = None
            continue
        value = amounts[-1][0]
        description = description_part
        quantity = pending_quantity or Decimal(1)
        if quantity_match and quantity_match.start() < amounts[-1][1]:
            quantity = _quantity(quantity_match) or quantity
            description = description.replace(quantity_match.group(0), " ")
        description = re.sub(r"\s+\d+(?:[.,]\d+)?\s*$", "", description)
        description = re.sub(
            r"[\s$€£¥]+$|\s+(?:eur|usd|gbp|chf)$", "", description.strip(), flags=re.IGNORECASE
        )
        description = " ".join(description.strip(" -_=*#|:;.,'\"").split())
        pending_quantity = None
        if sum(c.isalpha() for c in description) < 3:
            continue
        items.append(Item(description=description[:120], quantity=quantity, amount=value))
    return items


def _decimal(text: str) -> Decimal | None:
    try:
        return Decimal(text.replace(",", "."))
    except ArithmeticError:
        return None


# --- number formatting --------------------------------------------------------------------------


def _money(value: Decimal | None, currency: str | None) -> str | None:
    """In the currency's decimals (ISO 4217): JPY `1280`, EUR `4.92`."""
    return format_money(value, currency)


def _number(value: Decimal) -> str:
    return format(value.normalize(), "f") if value == value.to_integral() else str(value)
