"""Receipt header → the shop's name: a scoring model over the header lines, not a first-line rule.

Every receipt in the world prints its issuer at the top, but not always on the first line and not
always alone: a logo Tesseract cannot read, a slogan, `Welcome to …`, the legal entity with its
registration number (`MR. D.I.Y. (M) SDN BHD (860671-D)`), then the address, phone, tax number and
labels such as `Server: Anna` or `TAX INVOICE`. Each header line is cleaned (registration numbers
stripped, letter-spaced logos joined: `ocr.merchant_names`) and scored here on evidence for a name
(position, print size, letters, case, Tesseract's confidence, a legal form, the shop's domain) and
against (address, slogan, department, a payment provider: `ocr.merchant_evidence`).
Legal forms are kept in the returned name (`REWE Markt GmbH`, `… SDN BHD`): they are part of the
registered name and stripping them would cut names like `GmbH & Co. KG` inconsistently.
The confidence is the winner's score scaled by its margin over the runner-up; below
`MIN_CONFIDENCE` no name is returned (no name beats a wrong one the user might not notice).
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass

from ocr.address import STREET, address_block, is_address
from ocr.merchant_evidence import (
    DEPARTMENT,
    SLOGAN,
    comma_clause,
    is_sentence,
    is_sentences,
    names_payment_service,
    only_payment_service,
    question_follows,
    shop_domains,
)
from ocr.merchant_names import (
    LEGAL_FORM,
    PRICE,
    clean_name,
    is_legal_form_only,
    letter_ratio,
    letters_for_digits,
    strip_registration,
)
from ocr.text import Line, fold, fold_name

__all__ = ["MIN_CONFIDENCE", "clean_name", "find_merchant", "letters_for_digits"]

# Headers are short: name, address, contact, tax numbers, a label or two.
_HEADER_LINES = 12
# A line Tesseract read with less confidence than this is too unreliable to be a name.
_MIN_LINE_CONFIDENCE = 0.45

# Below this the winner is too weak or too close to the runner-up: no merchant. Photos make many
# such winners (two misread logo words, an item under noise); 0.35 turns more of them into no
# name without losing a right one on the shared scans, the synthetic sets or photo-like pictures
# (bench/ocr_merchant_bench.py, also on seeds not studied for this).
MIN_CONFIDENCE = 0.35
# The name is printed above the address (`ocr.address.address_block`): the nearest candidate above
# it gains, a candidate under it loses (before Tesseract's confidence in the line scales them).
_ABOVE_ADDRESS = 0.2
_BELOW_ADDRESS = -0.3


@dataclass(frozen=True, slots=True)
class _Candidate:
    name: str
    score: float
    slogan: bool = False  # carries a slogan's evidence (a sentence, a greeting)


# A line that is only a currency (`EUR`, `RM`, `$`): the column header over the item list.
_CURRENCY_LINE = re.compile(r"^[\W_]*(eur|euro|usd|gbp|chf|rm|myr|sgd|s\$|inr|rs|aud|cad|\$|€|£)[\W_]*$")

# An article number (EAN, SKU) and its price, the item's name on another line (`2183839 1.129,00`).
_ARTICLE_PRICE = re.compile(r"^\W*\d{5,14}\s+\W{0,2}\d{1,3}(?:[.,]\s?\d{3})*[.,]\s?\d{2}\b")
# An amount alone (and a tax code): an item's price whose description Tesseract read apart.
_AMOUNT_ALONE = re.compile(r"^\W*\d{1,3}(?:[.,]\s?\d{3})*[.,]\s?\d{2}(?:\s+\S)?\W*$")
_TOTAL_WORD = re.compile(r"\b(total|summe|zu zahlen|jumlah|montant|amount due|subtotal)\b")

# --- the model -------------------------------------------------------------------------------


def find_merchant(lines: list[Line]) -> tuple[str | None, float]:
    """The shop's cleaned name and a confidence in [0, 1], or (None, 0.0) when no candidate is
    sure enough. Candidates: every header line, a line with a legal form anywhere (the company
    line printed at the foot of many receipts), and the shop's web or e-mail domain."""
    header = lines[: _header_end(lines)]
    median = _median_height(lines)
    placed: list[tuple[int, _Candidate]] = []
    rank = 0  # among the readable lines: noise from a logo or the table is no line of the header
    for index, line in enumerate(header):
        if is_legal_form_only(line.text):
            continue  # `PTE LTD` under `SHENG SIONG`: the tail of the name above, never a name
        candidate = _header_candidate(line, rank, median, header[index + 1 : index + 2])
        rank += _readable(line)
        if candidate is not None:
            following = header[index + 1] if index + 1 < len(header) else None
            if following is not None and is_legal_form_only(following.text):
                # Malaysian, Singaporean and Indian tills often wrap the registered name so that
                # its legal form sits alone on the next line: it belongs to this name
                tail = strip_registration(following.text).strip(" -_=*#|:;,")
                candidate = _Candidate(f"{candidate.name} {tail}", candidate.score + 0.15)
            placed.append((index, candidate))
    candidates = _placed_by_address(placed, header)
    company = _company_candidate(lines[len(header) :])
    if company is not None:
        candidates.append(company)
    domains = shop_domains(lines)
    if domains:
        # a header name a domain spells out is confirmed; a domain alone is weak evidence
        confirmed = [d for d in domains if any(d in fold_name(c.name) for c in candidates)]
        candidates = [
            _Candidate(c.name, c.score + 0.15) if any(d in fold_name(c.name) for d in domains) else c
            for c in candidates
        ]
        candidates.append(_Candidate((confirmed or domains)[0].capitalize(), 0.45))
    if not candidates:
        return None, 0.0
    ranked = sorted(candidates, key=lambda c: c.score, reverse=True)
    winner = ranked[0]
    rivals = [c.score for c in ranked[1:] if fold_name(c.name) != fold_name(winner.name)]
    margin = winner.score - (rivals[0] if rivals else 0.0)
    confidence = max(0.0, min(1.0, winner.score)) * (0.75 + 0.25 * min(1.0, margin / 0.3))
    if confidence < MIN_CONFIDENCE:
        return None, 0.0
    return letters_for_digits(winner.name), round(confidence, 3)


def _placed_by_address(placed: list[tuple[int, _Candidate]], header: list[Line]) -> list[_Candidate]:
    """The header's candidates weighed by where they stand to the address block: receipts print
    the name, perhaps a line saying what the shop is (`Italian Restaurant`) or its registered
    name (`MAPLE STREET GRILL LLC`), then the address. So the one or two name-like lines right
    above the address gain (between them the usual evidence picks), past a logo's or a slogan's
    garbled lines; a line under the address (an item whose price went to another column, a
    payment word, the opening hours' heading) loses."""
    # registration numbers out first: `HRB 12345` or `(860671-D)` is no postcode
    block = address_block([Line(strip_registration(n.text), n.confidence, n.words) for n in header])
    if block is None:
        return [candidate for _, candidate in placed]
    first, sure = block
    named = sorted(index for index, c in placed if index < first and not c.slogan)
    slots = set(named[-2:]) if len(named) >= 2 and named[-2] == named[-1] - 1 else set(named[-1:])
    names = dict(placed)
    if len(slots) == 2 and _registered_form(names[named[-2]].name, names[named[-1]].name):
        slots = {named[-2]}  # the name as the shop prints it over its registered form
    out = []
    for index, candidate in placed:
        shift = _BELOW_ADDRESS if index > sure else _ABOVE_ADDRESS if index in slots else 0.0
        out.append(_Candidate(candidate.name, candidate.score + shift * header[index].confidence))
    return out


def _registered_form(name: str, under: str) -> bool:
    """`under` is `name` with a legal form after it (`KEDAI AH SENG SDN BHD` under `Kedai Ah
    Seng`), OCR's look-alike digits aside (`KEDA1 AH SENG`)."""
    if not LEGAL_FORM.search(fold(under)):
        return False
    plain, registered = (fold_name(t).translate(_LOOK_ALIKE) for t in (name, under))
    return len(plain) >= 3 and registered.startswith(plain)


_LOOK_ALIKE = str.maketrans("0158", "oisb")


def _header_end(lines: list[Line]) -> int:
    """Where the header stops: the first item line (letters then a price, or an article number
    then a price) or total line, at most `_HEADER_LINES` readable lines down (the noise Tesseract
    reads from a logo or the table around a photographed receipt does not count). When that comes
    within the first two lines, the layout is unknown (a garbled top) and the first
    `_HEADER_LINES` readable lines are the header."""
    median = _median_height(lines)
    cut = _readable_prefix(lines, _HEADER_LINES)
    for index, line in enumerate(lines[:cut]):
        text = fold(line.text)
        price = PRICE.search(text)
        if _CURRENCY_LINE.match(text) and index >= 1 and not _speck(line, median):
            return index
        if (
            _TOTAL_WORD.search(text)
            or (price and sum(c.isalpha() for c in text[: price.start()]) >= 3)
            or _ARTICLE_PRICE.match(text)
            or _AMOUNT_ALONE.match(text)
        ):
            return index if index >= 2 else cut
    return cut


def _readable_prefix(lines: list[Line], count: int) -> int:
    """How many lines, from the top, hold the first `count` readable ones."""
    readable = 0
    for index, line in enumerate(lines):
        if readable == count:
            return index
        readable += _readable(line)
    return len(lines)


def _readable(line: Line) -> bool:
    """Not noise: Tesseract was fairly sure of the line and it is not mostly one- and
    two-character fragments (the texture of a table, the strokes of a logo)."""
    tokens = line.text.split()
    fragments = sum(len(t) <= 2 for t in tokens)
    return line.confidence >= _MIN_LINE_CONFIDENCE and fragments <= len(tokens) / 2


def _speck(line: Line, median: float | None) -> bool:
    """A lone sign in smaller print than the body: a speck or crease Tesseract read as `€` or
    `$`, not the currency heading over the item column (printed at body size)."""
    text = line.text.strip()
    return len(text) == 1 and bool(median and line.height and line.height < 0.6 * median)


def _median_height(lines: list[Line]) -> float | None:
    heights = [line.height for line in lines if line.height]
    return float(statistics.median(heights)) if heights else None


def _header_candidate(line: Line, rank: int, median: float | None, after: list[Line]) -> _Candidate | None:
    """One header line scored as the name; None when it cannot be one at all."""
    if line.confidence < _MIN_LINE_CONFIDENCE:
        return None
    if only_payment_service(fold(line.text)):
        return None  # a card slip's heading (`INGENICO`); `Cafe Zettle` or `Powered by …` may be shops
    name = clean_name(line.text)
    if name is None:
        return None
    folded = fold(name)
    raw = fold(strip_registration(line.text))  # `HRB 12345`, `(860671-D)`: no postcode
    score = max(0.2, 0.9 - rank * 0.06)  # the name comes first
    if median and line.height:
        # a name is usually printed larger than the body; smaller print is a sub-line
        score += max(-0.1, min(0.2, 0.2 * (line.height / median - 1)))
    score += 0.3 * (letter_ratio(name) - 0.85)
    if name.isupper() or name.istitle():
        score += 0.05
    if LEGAL_FORM.search(folded):
        score += 0.15
    if is_address(raw, after, line.text):
        score -= 0.75
    if is_sentences(line.text):
        return None  # `Save money. Live better.`: a slogan of short sentences is never a name
    slogan = bool(SLOGAN.search(folded)) or is_sentence(name) or comma_clause(line.text)
    slogan = slogan or question_follows(name, after)
    if slogan:
        score -= 0.5
    if DEPARTMENT.search(folded):
        score -= 0.3
    return _Candidate(name, score * line.confidence, slogan)


def _company_candidate(lines: list[Line]) -> _Candidate | None:
    """The first confident line below the header naming a company (`Aldi GmbH & Co. KG, …`), not
    the card terminal's maker or the payment provider of a card slip printed under the bill."""
    for line in lines:
        if line.confidence < 0.5:
            continue
        text = strip_registration(line.text)
        folded = fold(text)
        if not LEGAL_FORM.search(folded) or STREET.search(folded) or PRICE.search(folded):
            continue
        if names_payment_service(folded):
            continue
        name = re.split(r",|\s{2,}", text.strip())[0].strip(" -_=*#|:;.")
        if sum(c.isalpha() for c in name) >= 3 and LEGAL_FORM.search(fold(name)):
            return _Candidate(name, 0.55 * line.confidence)
    return None
