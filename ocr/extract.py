"""Receipt text → fields: merchant, date, total, currency, items, subtotal, tax.

Pure functions on the OCR's lines (text plus Tesseract's word confidence); no I/O, so every rule is
tested on text samples. The rules are written for receipts in general (English, German and other
European layouts): keywords in several languages, `,` or `.` decimals, day-first and month-first
dates, month names. Every field comes with a confidence in [0, 1]: how strong the rule that found
it is, times how sure Tesseract was of the words it came from.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from ocr.dates import date_line_hints, extract_date, plausible_date
from ocr.merchant import find_merchant
from ocr.text import Line, clean, fold, fold_name, letters, lines_of, mean

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
            "total": _money(self.total),
            "currency": self.currency,
            "subtotal": _money(self.subtotal),
            "tax": _money(self.tax),
            "items": [
                {"description": i.description, "quantity": _number(i.quantity), "amount": _money(i.amount)}
                for i in self.items
            ],
            "confidence": {name: round(value, 2) for name, value in self.confidence.items()},
        }


def extract(lines: list[Line], *, today: date | None = None) -> Receipt:
    """Every field the rules can find in the receipt's lines."""
    lines = [Line(clean(line.text), line.confidence, line.words) for line in lines]
    lines = [line for line in lines if line.text]
    receipt = Receipt()
    receipt.currency, currency_confidence = _currency(lines)
    total_at = _find_total(lines, receipt)
    _find_subtotal_and_tax(lines, receipt)
    _find_date(lines, receipt, today or date.today())
    receipt.merchant, merchant_confidence = find_merchant(lines)
    if receipt.merchant is not None:
        receipt.confidence["merchant"] = merchant_confidence
    receipt.items = _items(lines, total_at)
    if receipt.currency is not None:
        receipt.confidence["currency"] = currency_confidence
    if receipt.items:
        receipt.confidence["items"] = (
            mean([line.confidence for line in lines[: total_at or len(lines)]]) * 0.6
        )
    return receipt


# --- amounts ---------------------------------------------------------------------------------

# 1.234,56 / 1,234.56 / 1234,56 / 12.34 / 7, 16 (OCR splits after the separator) / -2,84
_AMOUNT = re.compile(
    r"(?<![\d.,])(?P<sign>-\s?)?"
    r"(?P<whole>\d{1,3}(?:[.,'\u2019 ]\d{3})+|\d{1,7})"
    r"\s?(?P<sep>[.,])\s?(?P<cents>\d{2})(?!\d)"
    r"(?!\s?[.,]\d)"
    r"(?!\s?%)"
)


def _amounts(text: str) -> list[tuple[Decimal, int, int]]:
    """Money amounts in a line, with their spans; never a date (12.05.2020) or a percentage."""
    found: list[tuple[Decimal, int, int]] = []
    for match in _AMOUNT.finditer(text):
        whole = re.sub(r"[.,'\u2019 ]", "", match["whole"])
        value = Decimal(f"{whole}.{match['cents']}")
        if match["sign"]:
            value = -value
        found.append((value, match.start(), match.end()))
    return found


def _last_amount(text: str) -> Decimal | None:
    amounts = _amounts(text)
    return amounts[-1][0] if amounts else None


# --- total -----------------------------------------------------------------------------------

# Strongest first; each a regex on the folded (lower-case, accent-free) line.
_TOTAL_KEYWORDS: tuple[tuple[str, float], ...] = (
    (r"\b(grand total|total due|amount due|balance due|total to pay|amount to pay|to pay)\b", 1.0),
    (r"\bzu zahlen\b|\bzahlbetrag\b|\bendbetrag\b|\bgesamtbetrag\b|\bgesamtsumme\b|\bendsumme\b", 1.0),
    (r"\b(total|totaal|totale|totalt|summa|summe|gesamt|montant|importe|a pagar|net a payer)\b", 0.9),
    (r"\b(amount|betrag|sum)\b", 0.6),
)
_PAYMENT_KEYWORDS = re.compile(
    r"\b(bar|cash|ec.?karte|karte|card|visa|mastercard|maestro|girocard|amex|debit|credit|"
    r"gegeben|tendered|paid|bezahlt|kreditkarte)\b"
)
_NOT_TOTAL = re.compile(
    r"sub.?total|zwischensumme|zw.?summe|netto|\bnet\b|mwst|must|ust\b|steuer|\btax|\bvat\b|"
    r"\bgst\b|ruckgeld|wechselgeld|\bchange\b|rabatt|discount|savings|saved|ersparnis|"
    r"punkte|points|umsatz von|\btip\b|trinkgeld|pfand|artikel|items?\b|posten|anzahl"
)
_CHANGE = re.compile(r"ruckgeld|wechselgeld|\bchange\b|zuruck|\bcambio\b|rendu")


def _find_total(lines: list[Line], receipt: Receipt) -> int | None:
    """The amount payable, chosen among lines carrying a total keyword or a payment, scored by the
    keyword's strength, how often the amount recurs (card slips repeat it) and its position."""
    folded = [fold(line.text) for line in lines]
    everywhere = Counter(value for line in lines for value, _, _ in _amounts(line.text))
    has_change = any(_CHANGE.search(text) for text in folded)
    best: tuple[float, int, Decimal, float] | None = None
    for index, (_line, text) in enumerate(zip(lines, folded, strict=True)):
        strength = 0.0
        if not _NOT_TOTAL.search(text):
            for pattern, weight in _TOTAL_KEYWORDS:
                if re.search(pattern, text):
                    strength = weight
                    break
            if strength == 0.0 and _PAYMENT_KEYWORDS.search(text):
                strength = 0.35 if has_change else 0.5
        if strength == 0.0:
            continue
        value = _amount_after_keyword(lines, index)
        if value is None or value <= 0:
            continue
        repeats = everywhere[value] - 1
        score = strength + min(repeats, 3) * 0.15 - index * 0.001
        if best is None or score > best[0]:
            best = (score, index, value, strength)
    if best is None:
        return _fallback_total(lines, receipt, everywhere)
    score, index, value, strength = best
    receipt.total = value
    receipt.confidence["total"] = min(1.0, score) * lines[index].confidence
    return index


def _amount_after_keyword(lines: list[Line], index: int) -> Decimal | None:
    """The line's last amount, or the next line's when the amount wrapped (`SUMME EUR` / `27,42`)."""
    value = _last_amount(lines[index].text)
    if value is not None:
        return value
    if index + 1 < len(lines) and not letters(lines[index + 1].text, 4):
        return _last_amount(lines[index + 1].text)
    return None


def _fallback_total(lines: list[Line], receipt: Receipt, everywhere: Counter[Decimal]) -> int | None:
    """No keyword: the largest amount printed at least twice (the sum and its payment)."""
    repeated = [value for value, count in everywhere.items() if count >= 2 and value > 0]
    if not repeated:
        return None
    receipt.total = max(repeated)
    receipt.confidence["total"] = 0.3
    for index, line in enumerate(lines):
        if any(value == receipt.total for value, _, _ in _amounts(line.text)):
            return index
    return None


def _find_subtotal_and_tax(lines: list[Line], receipt: Receipt) -> None:
    for line in lines:
        text = fold(line.text)
        value = _last_amount(line.text)
        if value is None:
            continue
        if receipt.subtotal is None and re.search(r"sub.?total|zwischensumme|zw.?summe", text):
            receipt.subtotal = value
            receipt.confidence["subtotal"] = 0.8 * line.confidence
        elif (
            receipt.tax is None
            and re.search(
                r"^\s*(sales tax|tax|vat|gst|hst|pst|mwst|ust|iva|tva)\b|\b(total tax|tax total|"
                r"mwst.?betrag|enthaltene mwst|incl.? vat|inkl.? mwst)\b",
                text,
            )
            and not re.search(r"\b(tax id|vat no|vat reg|ust.?id|steuer.?nr|tax invoice)\b", text)
        ):
            receipt.tax = value
            receipt.confidence["tax"] = 0.6 * line.confidence


# --- currency ---------------------------------------------------------------------------------

_CURRENCIES: tuple[tuple[str, str], ...] = (
    (r"€|\beur\b|\beuro\b", "EUR"),
    (r"£|\bgbp\b", "GBP"),
    (r"\bchf\b|\bfr\.", "CHF"),
    (r"\busd\b|us\$", "USD"),
    (r"\bcad\b|c\$", "CAD"),
    (r"\baud\b|a\$", "AUD"),
    (r"\bsek\b|\bnok\b|\bdkk\b|\bkr\b", "KR"),
    (r"\bpln\b|\bzl\b", "PLN"),
    (r"\brm\b|\bmyr\b", "MYR"),
    (r"\binr\b|₹|\brs\.?\b", "INR"),
    (r"¥|\bjpy\b", "JPY"),
    (r"\$", "USD"),
)


def _currency(lines: list[Line]) -> tuple[str | None, float]:
    text = "\n".join(line.text for line in lines)
    counts: Counter[str] = Counter()
    for pattern, code in _CURRENCIES:
        counts[code] += len(re.findall(pattern, text, flags=re.IGNORECASE))
    if "KR" in counts:
        scandinavian = re.search(r"\b(sek|nok|dkk)\b", text, flags=re.IGNORECASE)
        counts[scandinavian.group(1).upper() if scandinavian else "SEK"] += counts.pop("KR")
    code, count = counts.most_common(1)[0] if counts else ("", 0)
    if count == 0:
        return None, 0.0
    return code, min(1.0, 0.5 + 0.1 * count)


def _find_date(lines: list[Line], receipt: Receipt, today: date) -> None:
    found, confidence = extract_date(lines, currency=receipt.currency, today=today)
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
    _NOT_TOTAL.pattern + r"|total|summe|zahlen|betrag|amount|bar\b|cash|karte|card|visa|"
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


def _money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


def _number(value: Decimal) -> str:
    return format(value.normalize(), "f") if value == value.to_integral() else str(value)
