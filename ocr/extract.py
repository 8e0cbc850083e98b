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

from ocr.amounts import currency_exponent, detect_currency, format_money
from ocr.amounts import find_amounts as _amounts
from ocr.dates import date_line_hints, extract_date, plausible_date
from ocr.merchant import find_merchant
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
    # The currency the amounts are in: the printed one, else the uploader's hint (not reported
    # as `currency`, which says what the receipt prints; it sets the decimals money is written in).
    amounts_in: str | None = None

    def to_json(self) -> dict[str, Any]:
        money_in = self.currency or self.amounts_in
        return {
            "merchant": self.merchant,
            "date": self.date.isoformat() if self.date else None,
            "total": _money(self.total, money_in),
            "currency": self.currency,
            "subtotal": _money(self.subtotal, money_in),
            "tax": _money(self.tax, money_in),
            "items": [
                {
                    "description": i.description,
                    "quantity": _number(i.quantity),
                    "amount": _money(i.amount, money_in),
                }
                for i in self.items
            ],
            "confidence": {name: round(value, 2) for name, value in self.confidence.items()},
        }


def extract(
    lines: list[Line],
    *,
    today: date | None = None,
    currency: str | None = None,
    country: str | None = None,
) -> Receipt:
    """Every field the rules can find in the receipt's lines. `currency` (ISO 4217) and `country`
    (ISO 3166) are the uploader's hints, e.g. the group's currency and the app's region: when the
    receipt prints no currency, amounts are read in the hinted currency's decimals (a yen receipt
    without a yen sign has no decimals) and dates in its order; the country settles ambiguous
    dates the receipt does not. `currency` in the result stays what the receipt prints."""
    lines = [Line(clean(line.text), line.confidence, line.words) for line in lines]
    lines = [line for line in lines if line.text]
    receipt = Receipt()
    receipt.currency, currency_confidence = detect_currency(lines, currency)
    reading = receipt.amounts_in = receipt.currency or currency
    money = read_money(lines, reading)
    receipt.total, receipt.subtotal, receipt.tax = money.total, money.subtotal, money.tax
    receipt.confidence.update(money.confidence)
    total_at = money.total_at
    _find_date(lines, receipt, today or date.today(), reading, country)
    receipt.merchant, merchant_confidence = find_merchant(lines)
    if receipt.merchant is not None:
        receipt.confidence["merchant"] = merchant_confidence
    receipt.items = _items(lines, total_at, currency_exponent(reading))
    if receipt.currency is not None:
        receipt.confidence["currency"] = currency_confidence
    if receipt.items:
        receipt.confidence["items"] = (
            mean([line.confidence for line in lines[: total_at or len(lines)]]) * 0.6
        )
    return receipt


def _find_date(
    lines: list[Line], receipt: Receipt, today: date, currency: str | None, country: str | None
) -> None:
    found, confidence = extract_date(lines, currency=currency, today=today, country=country)
    if found is not None:
        receipt.date = found
        receipt.confidence["date"] = confidence


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


def _items(lines: list[Line], total_at: int | None, exponent: int) -> list[Item]:
    """Priced lines before the total: a description followed by an amount in the currency's
    decimals (whole yen: `Onigiri 150`); a `2 x 0,49` line before (or in) it gives the quantity."""
    end = total_at if total_at is not None else len(lines)
    items: list[Item] = []
    pending_quantity: Decimal | None = None
    for line in lines[:end]:
        text = line.text
        folded = fold(text)
        amounts = _amounts(text, exponent)
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
