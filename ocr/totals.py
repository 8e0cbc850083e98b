"""The payable total, the subtotal and the tax of a receipt, from its lines.

Every line is a candidate only for what its label says it is: a total (tax-inclusive wording
included), a payment (card, cash: what was handed over, the total only when nothing better is
printed), or something that is never the total (subtotals, tax bands, change, tips, rounding,
counts). Candidates are scored by the label's strength, how often the amount recurs (card slips
repeat it) and whether a rounding line explains them; a weak best or two strong candidates that
disagree give no total (null beats a wrong value the user might not notice).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from ocr.amounts import currency_exponent, find_amounts, last_amount
from ocr.text import Line, fold, letters

__all__ = ["NOT_TOTAL", "Money", "read_money"]

# Strongest first; each a regex on the folded (lower-case, accent-free) line.
_TOTAL_KEYWORDS: tuple[tuple[str, float], ...] = (
    # US, UK and restaurant bills; Commonwealth "payable" and "nett" wording
    (
        r"\b(grand total|total due|amount due|balance due|total to pay|amount to pay|to pay|"
        r"amount payable|total payable|net total|nett total|total amount|total sales)\b",
        1.0,
    ),
    # German, French, Spanish and Malay payable wording
    (
        r"\bzu zahlen\b|\bzahlbetrag\b|\bendbetrag\b|\bgesamtbetrag\b|\bgesamtsumme\b|\bendsumme\b|"
        r"\btotal ttc\b|\bnet a payer\b|\bjumlah besar\b|\bjumlah bayaran\b",
        1.0,
    ),
    (
        r"\b(total|totaal|totale|totalt|summa|summe|gesamt|montant|importe|a pagar|jumlah)\b",
        0.9,
    ),
    (r"\b(amount|betrag|sum)\b", 0.6),
)
# A tax-inclusive label is a total: "Total incl. GST", "Total (Incl 6% GST)", "Gesamt inkl. MwSt",
# "Jumlah termasuk GST", "Total IVA incluido"; the phrase is removed before the checks below so
# the tax word in it does not make the line a tax line.
# The rate may stand before or after the tax word ("Total Incl. GST 6%", "(Incl. GST @6%)"), and
# a restaurant's "Total (incl. tip)" / "incl. service charge" is the payable figure too.
_INCLUSIVE = re.compile(
    r"\(?\b(?:incl?|inkl|including|inclusive|inc|termasuk|incluye)\b\.?\s*(?:of\s*)?"
    r"(?:@?\s*\d+(?:[.,]\d+)?\s?%\s*)?"
    r"(?:gst|vat|mwst|ust|tax|taxes|sst|iva|tva|btw|moms|tips?|gratuity|service(?: charge)?|svc)\b"
    r"\.?(?:\s*@?\s*\d+(?:[.,]\d+)?\s?%)?\s*\)?|"
    r"\b(?:iva|tva|vat|gst|tax)\s+(?:incluido|incluse|inclus|included|inclusive)\b"
)
# Never the payable total: subtotals, tax lines and tax-band summaries ("Total 0% supplies",
# "Total SR 6%", "GST Summary", "Total Excl GST", "Total HT"), change, discounts, loyalty points,
# deposits, tips and service charges, rounding adjustments, and counts ("Total Qty").
NOT_TOTAL = re.compile(
    r"sub.?total|zwischensumme|zw.?summe|netto|\bnet\b|mwst|must|ust\b|steuer|\btax|\bvat\b|"
    r"\bgst\b|\bsst\b|\biva\b|\btva\b|ruckgeld|wechselgeld|\bchange\b|rabatt|discount|savings|"
    # India's GST halves and cess (CGST + SGST, IGST, UTGST)
    r"\b[csiu]gst\b|\butgst\b|\bcess\b|"
    r"saved|ersparnis|punkte|points|umsatz von|\btip\b|trinkgeld|pfand|artikel|items?\b|posten|"
    r"anzahl|\bqty\b|quantity|\bpcs\b|no\.? of|excl|\bht\b|supplies|summary|\bbaki\b|"
    r"kembalian|\bcambio\b|\brendu\b|\bresto\b|gratuity|service charge|\bsvc\b|rounding|"
    r"round.?off|penggenapan|pembundaran|\bsaving\b|\bsr\b|\bzr\b|"
    # German "Betrag enthält 3,26 € MwSt": the tax the total contains, not the total
    r"enthalt"
)
# Money handed over: the total only when no total line is printed ("unless nothing else").
_PAYMENT_KEYWORDS = re.compile(
    r"\b(bar|cash|ec.?karte|karte|card|visa|mastercard|maestro|girocard|amex|debit|credit|"
    r"gegeben|tendered|paid|bezahlt|kreditkarte|tunai|efectivo|especes|contanti|contant)\b"
)
_PAYMENT_WORDING = re.compile(r"\b(payment|paid|tendered|tender)\b")
_CHANGE = re.compile(r"ruckgeld|wechselgeld|\bchange\b|zuruck|\bcambio\b|rendu|\bbaki\b|kembalian|\bresto\b")
# Cash rounding to 5 or 10 cents (Malaysia, Singapore, Australia, New Zealand, Switzerland, the
# Nordics): the line that adjusts the pre-rounding figure to the payable one.
_ROUNDING = re.compile(r"rounding|round.?off|penggenapan|pembundaran|rundung|arrondi")
# Restaurant tips: the tip line itself and the "suggested gratuity" table (15% $x / 18% $y ...).
_TIP = re.compile(r"\b(tip|tips|gratuity|trinkgeld|pourboire|propina)\b")
_TIP_TABLE = re.compile(r"suggested|gratuity|tip guide|tip calc|tip amount|for your convenience")
_PERCENT = re.compile(r"\d\s?%")
# A till's item count printed on the total's line ("Items: 3  Total: 45.00", "Qty 2 Total 9.00"):
# the count is removed when a total label follows it, so the count word does not void the line.
_COUNT_BEFORE_TOTAL = re.compile(
    r"\b(?:no\.? of )?(?:items?|qty|pcs|artikel|posten|anzahl)\b\.?\s*:?\s*\d+\s+"
    r"(?=.*\b(?:total|summe|gesamt|jumlah|amount)\b)"
)
_SUBTOTAL = re.compile(r"sub.?total|zwischensumme|zw.?summe|total excl|jumlah kecil")
_TAX_LINE = re.compile(
    r"^\s*(sales tax|tax|vat|gst|hst|pst|sst|mwst|ust|iva|tva)\b|\b(total tax|tax total|total gst|"
    r"gst payable|mwst.?betrag|enthaltene mwst|incl.? vat|inkl.? mwst)\b"
)
_TAX_ID = re.compile(r"\b(tax id|vat no|vat reg|ust.?id|steuer.?nr|tax invoice|gst reg|gst no|gst id)\b")

# OCR misreads of TOTAL: digits and Cyrillic look-alikes for Latin letters (after folding).
_LOOKALIKES = str.maketrans(
    {
        "0": "o",
        "1": "l",
        "i": "l",
        "|": "l",
        "т": "t",
        "о": "o",
        "а": "a",
        "с": "c",
        "е": "e",
        "р": "p",
        "н": "h",
        "к": "k",
        "м": "m",
    }
)
_GARBLED_EXACT = 0.8  # TOTAL once the look-alikes are mapped back (T0TAL, TOTAI, ТОТАL)
_GARBLED_NEAR = 0.7  # one more letter wrong (TCTAL)

# Thresholds (documented in docs/ocr.md):
MIN_SCORE = 0.3  # below it the best total is too weak to report
CONFLICT_MARGIN = 0.05  # two totals of different value scoring this close: report none
_CONFLICT_STRENGTH = 0.8  # only labels this sure of being a total (TOTAL, not Betrag) conflict
_REPEAT_BONUS = 0.15  # per other occurrence of the amount (the card slip repeats the total)
_ROUNDING_BONUS = 0.3  # the candidate a rounding line leads to
_PAID = 0.5  # a payment line (cash, card) when no change is printed: card slips pay the total
_PAID_WITH_CHANGE = 0.35  # cash with change: the total is the cash minus the change
_NET_AMOUNT = 0.75  # "Net Amount": payable in India, pre-tax on European invoices
# A total this many times the subtotal above it is a glued sign's misread, and a payable total
# is at most the second times its subtotal (tax, service and tip on top).
_GLUED_SIGN_RATIO = 10
_MOST_OVER_SUBTOTAL = Decimal("1.6")
# The digits OCR makes of a `$` or an `S` glued to a figure (`S$21.44` read `5521.44`).
_SIGN_LOOKALIKES = set("56890")


@dataclass(slots=True)
class Money:
    """What `read_money` found; `total_at` is the total's line (items end there)."""

    total: Decimal | None = None
    subtotal: Decimal | None = None
    tax: Decimal | None = None
    total_at: int | None = None
    confidence: dict[str, float] = field(default_factory=dict)


def read_money(lines: list[Line], currency: str | None = None) -> Money:
    """The receipt's total, subtotal and tax, in the currency's decimals."""
    exponent = currency_exponent(currency)
    money = Money()
    _find_total(lines, exponent, money)
    _find_subtotal_and_tax(lines, exponent, money)
    _repair_glued_sign(lines, exponent, money)
    return money


def _repair_glued_sign(lines: list[Line], exponent: int, money: Money) -> None:
    """A currency sign glued to the total and read as digits (`S$21.44` as `5521.44`, `SGD
    200.95` as `80200.95`) makes a total ten times or more the subtotal printed just above it.
    When dropping one or two leading digits such a sign looks like (5, 6, 8, 9, 0) leaves a figure
    from that subtotal to 1.6 times it (tax, service and tip on top), that is the total, less
    surely. Anything else is left as read: totals far below a subtotal are common (gift cards,
    coupons, deposits, bottle returns), and a total printed twice is no misread."""
    total, at = money.total, money.total_at
    if total is None or at is None:
        return
    subtotal = next(
        (
            value
            for line in reversed(lines[:at])
            if _SUBTOTAL.search(fold(line.text)) and (value := last_amount(line.text, exponent)) is not None
        ),
        None,
    )
    if subtotal is None or subtotal <= 0 or total < _GLUED_SIGN_RATIO * subtotal:
        return
    if sum(a.value == total for line in lines for a in find_amounts(line.text, exponent)) > 1:
        return
    whole, _, cents = str(total).partition(".")
    for cut in (1, 2):
        rest = whole[cut:]
        if not rest or set(whole[:cut]) - _SIGN_LOOKALIKES:
            return
        if rest[0] == "0" and len(rest) > 1:  # no figure is printed with a leading zero
            continue
        repaired = Decimal(rest + ("." + cents if cents else ""))
        if subtotal <= repaired <= _MOST_OVER_SUBTOTAL * subtotal:
            money.total = repaired
            money.confidence["total"] = money.confidence.get("total", MIN_SCORE) * 0.7
            return


def _total_strength(text: str) -> float:
    """How surely the folded line's label announces the payable total (0 when it does not)."""
    text = _COUNT_BEFORE_TOTAL.sub(" ", _INCLUSIVE.sub(" ", text))
    # "Net total" / "Nett total" (Malaysia, Singapore, India) and "net à payer" (France) are the
    # payable figure, not a net-of-tax line.
    text = re.sub(r"\bnett? (?:total|a payer|payable)\b", "amount payable", text)
    # Indian bills end with "Net Amount" after CGST/SGST: the payable figure. Elsewhere (a UK VAT
    # invoice) "Net amount" is before tax, so it ranks with `Amount`-level wording, above "Gross
    # Amount" (India's pre-tax figure) and below any printed `Total`.
    if re.search(r"\bnett? (?:amount|amt)\b", text) and not NOT_TOTAL.search(re.sub(r"\bnett?\b", " ", text)):
        return _NET_AMOUNT
    if NOT_TOTAL.search(text) or _PERCENT.search(text):
        return 0.0
    for pattern, weight in _TOTAL_KEYWORDS:
        if re.search(pattern, text):
            return weight
    return _garbled_total(text)


def _garbled_total(text: str) -> float:
    best = 0.0
    for token in re.split(r"[\s:;$€£¥()]+", text[:40]):
        mapped = token.strip(".,-*").translate(_LOOKALIKES)
        if mapped == "total":
            best = max(best, _GARBLED_EXACT)
        elif 4 <= len(mapped) <= 6 and mapped[:2] in ("to", "tc", "t0") and _distance(mapped, "total") <= 1:
            best = max(best, _GARBLED_NEAR)
    return best


def _distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def _find_total(lines: list[Line], exponent: int, money: Money) -> None:
    folded = [fold(line.text) for line in lines]
    everywhere = Counter(a.value for line in lines for a in find_amounts(line.text, exponent))
    has_change = any(_CHANGE.search(text) for text in folded)
    adjustments = [
        (index, value)
        for index, text in enumerate(folded)
        if _ROUNDING.search(text) and (value := last_amount(lines[index].text, exponent)) is not None
    ]
    after_tip = False
    in_tip_table = False
    candidates: list[tuple[float, int, Decimal, float]] = []
    for index, text in enumerate(folded):
        if _TIP_TABLE.search(text):
            in_tip_table = True
            continue
        if in_tip_table and _PERCENT.search(text):
            continue
        in_tip_table = False
        if _TIP.search(_INCLUSIVE.sub(" ", text)):
            after_tip = True
            # A tip added on the slip: the total printed after it includes it (US card slips).
            tip = last_amount(lines[index].text, exponent)
            if tip is not None and tip > 0:
                adjustments.append((index, tip))
            continue
        strength = _total_strength(text)
        # "TOTAL CASH", "TOTAL PAYMENT", "Total paid" (UK, US, Malaysian tills): what was handed
        # over, a payment however strong its label; cash handed over is often repeated, so only a
        # payment's weight keeps the repeat bonus from lifting it over the printed total.
        if _PAYMENT_KEYWORDS.search(text) or _PAYMENT_WORDING.search(text):
            if strength < 1.0 and not NOT_TOTAL.search(text):
                strength = _PAID_WITH_CHANGE if has_change else _PAID
        if strength == 0.0:
            continue
        # After a tip line, a total without a printed amount is the blank the guest fills in.
        value = _amount_for_label(lines, index, exponent, look_below=not after_tip)
        if value is None or value <= 0:
            continue
        score = strength + min(everywhere[value] - 1, 3) * _REPEAT_BONUS - index * 0.001
        candidates.append((score, index, value, strength))
    if adjustments and candidates:
        candidates = _apply_adjustments(candidates, adjustments)
    if not candidates:
        _fallback_total(lines, exponent, money)
        return
    candidates.sort(key=lambda c: -c[0])
    score, index, value, strength = candidates[0]
    rival = next((c for c in candidates[1:] if c[2] != value), None)
    conflict = (
        rival is not None
        and score - rival[0] < CONFLICT_MARGIN
        and min(strength, rival[3]) >= _CONFLICT_STRENGTH
    )
    if score < MIN_SCORE or conflict:
        return
    if strength == _PAID_WITH_CHANGE:
        # Only a payment and its change are printed (cash sales on small tills): what was paid
        # for is the cash handed over minus the change, never the cash itself.
        change = _change_given(lines, folded, exponent)
        if change is None or not 0 <= change < value:
            return
        value -= change
        score = min(score, _PAID_WITH_CHANGE + _REPEAT_BONUS)
    money.total = value
    money.total_at = index
    money.confidence["total"] = min(1.0, score) * lines[index].confidence


def _change_given(lines: list[Line], folded: list[str], exponent: int) -> Decimal | None:
    """The amount on the receipt's first change line (`CHANGE 6.45`, `Rückgeld 2,70`)."""
    for index, text in enumerate(folded):
        if _CHANGE.search(text):
            value = last_amount(lines[index].text, exponent)
            if value is not None:
                return abs(value)
    return None


def _apply_adjustments(
    candidates: list[tuple[float, int, Decimal, float]], adjustments: list[tuple[int, Decimal]]
) -> list[tuple[float, int, Decimal, float]]:
    """With a rounding or tip line, the adjusted figure is payable: of two candidates that differ
    by the adjustment, the adjusted one wins and the earlier one loses. Tills print the first
    total, the adjustment, then the adjusted total, and rounding often without its sign, so the
    figure printed after the adjustment line is the adjusted one; only when both figures are on
    the same side does the printed sign decide."""
    rounded: set[Decimal] = set()
    before: set[Decimal] = set()
    for at, adjustment in adjustments:
        if adjustment == 0:
            continue
        for _, first_index, first, _ in candidates:
            for _, second_index, second, _ in candidates:
                if second - first != adjustment and second - first != -adjustment:
                    continue
                across = first_index < at < second_index
                same_side = not across and not second_index < at < first_index
                if across or (same_side and second - first == adjustment):
                    before.add(first)
                    rounded.add(second)
    adjusted = []
    for score, index, value, strength in candidates:
        if value in rounded and value not in before:
            score += _ROUNDING_BONUS
        elif value in before and value not in rounded:
            score -= _ROUNDING_BONUS
        adjusted.append((score, index, value, strength))
    return adjusted


def _amount_for_label(lines: list[Line], index: int, exponent: int, *, look_below: bool) -> Decimal | None:
    """The label's amount: on its own line, else in the right-hand column on the same baseline
    (Tesseract may read the column as a separate line), else on the next line when that line is
    only the amount (`SUMME EUR` / `27,42`)."""
    value = last_amount(lines[index].text, exponent)
    if value is not None:
        return value
    value = _same_baseline(lines, index, exponent)
    if value is not None:
        return value
    if look_below and index + 1 < len(lines) and not letters(lines[index + 1].text, 4):
        return last_amount(lines[index + 1].text, exponent)
    return None


def _same_baseline(lines: list[Line], index: int, exponent: int) -> Decimal | None:
    box = lines[index].box
    if box is None:
        return None
    left, top, right, bottom = box
    middle = (top + bottom) / 2
    nearest: tuple[int, Decimal] | None = None
    for other_index, other in enumerate(lines):
        other_box = other.box
        if other_index == index or other_box is None or letters(other.text, 4):
            continue
        other_left, other_top, _, other_bottom = other_box
        if other_left <= right or not other_top <= middle <= other_bottom:
            continue
        value = last_amount(other.text, exponent)
        if value is not None and (nearest is None or other_left < nearest[0]):
            nearest = (other_left, value)
    return nearest[1] if nearest else None


def _fallback_total(lines: list[Line], exponent: int, money: Money) -> None:
    """No keyword: the largest amount printed at least twice (the sum and its payment, or the sum
    and the gross column of a tax table), at least once on a line that is no tax, subtotal or
    change line: India's CGST and SGST are equal halves of the tax and print the same figure
    twice without it being the total."""
    everywhere: Counter[Decimal] = Counter()
    plain: set[Decimal] = set()
    for line in lines:
        amounts = [a.value for a in find_amounts(line.text, exponent)]
        everywhere.update(amounts)
        if not NOT_TOTAL.search(fold(line.text)):
            plain.update(amounts)
    repeated = [value for value, count in everywhere.items() if count >= 2 and value > 0 and value in plain]
    if not repeated:
        return
    money.total = max(repeated)
    money.confidence["total"] = MIN_SCORE
    for index, line in enumerate(lines):
        if any(a.value == money.total for a in find_amounts(line.text, exponent)):
            money.total_at = index
            return


def _find_subtotal_and_tax(lines: list[Line], exponent: int, money: Money) -> None:
    for line in lines:
        text = fold(line.text)
        value = last_amount(line.text, exponent)
        if value is None:
            continue
        if money.subtotal is None and _SUBTOTAL.search(text):
            money.subtotal = value
            money.confidence["subtotal"] = 0.8 * line.confidence
        elif money.tax is None and _TAX_LINE.search(text) and not _TAX_ID.search(text):
            money.tax = value
            money.confidence["tax"] = 0.6 * line.confidence
