"""Receipt header → the shop's name: a scoring model over the header lines, not a first-line rule.

Every receipt in the world prints its issuer at the top, but not always on the first line and not
always alone: a logo Tesseract cannot read, a slogan, `Welcome to …`, the legal entity with its
registration number (`MR. D.I.Y. (M) SDN BHD (860671-D)`), then the address, phone, tax number and
labels such as `Server: Anna` or `TAX INVOICE`. Each header line is cleaned (registration numbers
stripped, letter-spaced logos joined) and scored on evidence for a name (position, print size,
letters, case, Tesseract's confidence, a legal form) and against (address, slogan, department).
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
from ocr.text import Line, fold, fold_name

__all__ = ["MIN_CONFIDENCE", "find_merchant"]

# Headers are short: name, address, contact, tax numbers, a label or two.
_HEADER_LINES = 12
# A line Tesseract read with less confidence than this is too unreliable to be a name.
_MIN_LINE_CONFIDENCE = 0.45
# Longer words are OCR running a blurred line's words together (German shop words such as
# `Getränkefachgroßhandel` stay under it).
_LONGEST_WORD = 24
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


# --- the vocabulary of receipt headers (folded: lower case, no accents) ------------------------

# A whole line that is only a document label, never a name (any language).
_GENERIC = re.compile(
    r"^(receipt|quittung|kassenbon|kassenbeleg|beleg|rechnung|invoice|tax invoice|simplified tax "
    r"invoice|bon|ticket|welcome|willkommen|bienvenue|thank you|danke|copy|kopie|customer copy|"
    r"kundenbeleg|sales receipt|cash receipt|cash sale|order|store|filiale|eur|euro|usd|gbp|chf|"
    r"date|datum|original|duplicate|resit|official receipt|bill|cash bill|facture|recu|factura|"
    # card slips print whose copy it is; Indian and Malaysian bills a sales or retail invoice
    # title; restaurant tills the order type
    r"(?:merchant|cardholder|card holder|store|shop|customer|bank) copy|sales invoice|retail "
    r"invoice|gst invoice|(?:dine[ -]?in|take[ -]?away|takeaway|take[ -]?out|to go|eat[ -]?in)"
    r"(?:\s*order)?[\s:#\d-]*$)\b"
)
# Header labels of tills and restaurant bills: a person, a table, a document number.
_LABEL = re.compile(
    r"^(server|waiter|waitress|host|cashier|kassierer|operator|staff|table|tisch|guests?|covers?|"
    r"pax|order|check|chk|invoice|inv|bill|receipt|trans|transaction|till|pos|reg|register|"
    r"terminal|kasse|bon|beleg)\b\s*(no\b|nr\b|#|:|\d)|^(server|cashier|table|guests?)\b|"
    # the person on duty: US tills print the store manager, restaurants who served
    r"^((store|general|shift|duty|asst\.?|assistant) )?(manager|mgr|supervisor)\b|"
    r"^(served|serviced|attended|assisted) by\b|^(your )?(server|host|attendant)\b"
)
_CONTACT = re.compile(
    r"\b(tel|phone|fon|fax|telefon|mobil|ph|hp|www|http|email|e-mail|vat|ust|"
    r"steuer|tax|uid|hrb|kasse|terminal|filiale|store #|store no|open|"
    r"offnungszeiten|opening|hours|mo|di|mi|do|fr|sa|so|mon|tue|wed|thu|fri|"
    r"sat|sun|uhr)\b|\S@\S+\.\w"
)
# Company registration and tax numbers, stripped from a name line before it is judged: Malaysian
# ROC `(123456-X)` / `(1234567-K)` / `Co. Reg. No.`, `GST Reg No`, `SST No`; Singapore `UEN`;
# Australia `ABN`/`ACN`; India `GSTIN`/`CIN`; UK `Company No.`; Germany `HRB 1234`, `USt-IdNr`,
# `St.-Nr.`; France `SIRET`/`SIREN`/`RCS`. The label and everything after it on the line go.
_REGISTRATION_LABEL = re.compile(
    r"[(\[]?\s*\b(co\.?\s*reg(?:istration)?\.?(?:\s*no)?|company\s*(?:reg(?:istration)?\.?\s*)?no|"
    r"roc|gst\s*(?:reg(?:istration)?\.?\s*)?(?:no|id)|sst\s*(?:reg(?:istration)?\.?\s*)?(?:no|id)|"
    r"uen|abn|acn|gstin|cin|hrb|hra|ust\.?\s*-?\s*id\.?\s*-?\s*nr|st\.?\s*-?\s*nr|"
    r"siret|siren|rcs|vat\s*(?:reg(?:istration)?\.?\s*)?no)\b\.?.*$"
)
# A bare registration number in brackets or at the end: `(860671-D)`, `1234567-K`, `(M) 12345-A`.
_REGISTRATION_NUMBER = re.compile(r"[(\[]\s*\d{3,8}\s*-\s*[a-z]\s*[)\]]|\b\d{4,8}\s*-\s*[a-z]\b\s*$")
# Legal forms: evidence FOR a company name (Malaysia, Singapore, India, UK, US, Germany, France,
# Spain, Italy, Netherlands, Australia, and the `Enterprise`/`Trading` of small Asian shops); a
# `kg` after a number is a weight (`2 kg`), not a Kommanditgesellschaft.
_LEGAL_FORM = re.compile(
    r"(?<![a-z])(sdn\.?\s*bhd|s/b|bhd|pte\.?\s*ltd|pvt\.?\s*ltd|pty\.?\s*ltd|ltd|limited|llc|llp|"
    r"inc|incorporated|corp|corporation|plc|gmbh(?:\s*&\s*co\.?\s*kg)?|mbh|gesmbh|ag|(?<!\d)(?<!\d )kg|ohg|"
    r"e\.\s?k|sarl|s\.a\.r\.l|sas|s\.a|s\.l|s\.p\.a|spa|srl|b\.v|n\.v|enterprises?|trading)"
    r"(?![a-z])\.?"
)
# The payment block's card and method words opening a line (`Kreditkarte`, `EC-Karte`, `VISA
# 4,20`): a price split off into another column leaves them looking like a name.
_PAYMENT_METHOD = re.compile(
    r"^(kreditkarte|ec[ -]?karte|karte|kartenzahlung|girocard|maestro|visa|mastercard|amex|"
    r"american express|debit card|credit card|debit|credit)\b"
)
# Slogans and greetings of every till.
_SLOGAN = re.compile(
    r"\b(thank you|thanks|danke|merci|terima kasih|welcome|since \d{4}|est\.? \d{4}|seit \d{4}|"
    r"quality|your .{0,20}store|save money|live better|always|every ?day|the best|fresh|"
    r"open daily|24 hours|visit us|see you)\b"
)
_DEPARTMENT = re.compile(r"\b(dept|department|abteilung|abt)\b")
_WELCOME = re.compile(
    r"^\s*(?:welcome to|welcome|willkommen (?:bei|im|in der)|bienvenue (?:chez|a)|"
    r"selamat datang(?: ke)?)\s+(?=\S)",
    re.IGNORECASE,
)
# A line that is only a currency (`EUR`, `RM`, `$`): the column header over the item list.
_CURRENCY_LINE = re.compile(r"^[\W_]*(eur|euro|usd|gbp|chf|rm|myr|sgd|s\$|inr|rs|aud|cad|\$|€|£)[\W_]*$")
_PRICE = re.compile(r"\d\s?[.,]\s?\d{2}(?!\d)")
# An article number (EAN, SKU) and its price, the item's name on another line (`2183839 1.129,00`).
_ARTICLE_PRICE = re.compile(r"^\W*\d{5,14}\s+\W{0,2}\d{1,3}(?:[.,]\s?\d{3})*[.,]\s?\d{2}\b")
# An amount alone (and a tax code): an item's price whose description Tesseract read apart.
_AMOUNT_ALONE = re.compile(r"^\W*\d{1,3}(?:[.,]\s?\d{3})*[.,]\s?\d{2}(?:\s+\S)?\W*$")
_TOTAL_WORD = re.compile(r"\b(total|summe|zu zahlen|jumlah|montant|amount due|subtotal)\b")
_DOMAIN = re.compile(
    r"(?:www\.)?(?P<name>[a-z0-9][a-z0-9\-]{1,30})\.(?:de|com|co\.uk|uk|at|ch|fr|"
    r"nl|it|es|eu|net|org|us|ca|com\.au|com\.my|my|com\.sg|sg|co\.in|in|be|pl|se|dk|no)\b"
)
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
    "gmail",
    "yahoo",
    "hotmail",
    # payment providers whose names are also words (Square, Stripe, Clover): only as domains
    "square",
    "stripe",
    "clover",
    "nets",
    "tyro",
    "dojo",
    "ccv",
}

# Card terminals' makers, acquirers and payment providers: a card slip printed under the bill
# names them (`Ingenico Payment Services GmbH`, `www.worldline.com`), never the shop. Europe, the
# US, the UK, Malaysia, Singapore, India, Australia; names that are also words (Square, Stripe,
# Clover, Nets) only as their domains (`_NOT_SHOP_DOMAINS`).
_PAYMENT_NAMES = (
    "ingenico verifone worldline adyen sumup squareup elavon fiserv worldpay barclaycard cardtronics "
    "moneris concardis payone telecash wirecard zettle izettle paytm razorpay ipay88 molpay windcave "
    "paymentsense"
).split()
_PAYMENT_SERVICE = re.compile(
    rf"\b({'|'.join(_PAYMENT_NAMES)}|six payment|first ?data|global ?payments|heartland payment|"
    r"pine ?labs)\b"
)
_PAYMENT_CREDIT = re.compile(r"\b(powered|processed|(?:card|payment)s? services?(?: provided)?) by\b")
_PAYMENT_CONTEXT = re.compile(r"\b(payments?|services|terminal|card|processing|acquir\w*)\b")
# The long one-word names, also recognised with one letter misread (`ingenicc`, `verif0ne`).
_PAYMENT_WORDS = tuple(name for name in _PAYMENT_NAMES if len(name) >= 7)

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
        if _is_legal_form_only(line.text):
            continue  # `PTE LTD` under `SHENG SIONG`: the tail of the name above, never a name
        candidate = _header_candidate(line, rank, median, header[index + 1 : index + 2])
        rank += _readable(line)
        if candidate is not None:
            following = header[index + 1] if index + 1 < len(header) else None
            if following is not None and _is_legal_form_only(following.text):
                # Malaysian, Singaporean and Indian tills often wrap the registered name so that
                # its legal form sits alone on the next line: it belongs to this name
                tail = _strip_registration(following.text).strip(" -_=*#|:;,")
                candidate = _Candidate(f"{candidate.name} {tail}", candidate.score + 0.15)
            placed.append((index, candidate))
    candidates = _placed_by_address(placed, header)
    company = _company_candidate(lines[len(header) :])
    if company is not None:
        candidates.append(company)
    domains = _domains(lines)
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
    block = address_block([Line(_strip_registration(n.text), n.confidence, n.words) for n in header])
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
    if not _LEGAL_FORM.search(fold(under)):
        return False
    plain, registered = (fold_name(t).translate(_LOOK_ALIKE) for t in (name, under))
    return len(plain) >= 3 and registered.startswith(plain)


_LOOK_ALIKE = str.maketrans("0158", "oisb")


# OCR's digits for letters inside a word: `DEL1GHTS`, `5HREE`, `GR0CERY`, `8ECKER`.
_DIGIT_LETTERS = {"0": "O", "1": "I", "5": "S", "8": "B"}
_DIGIT_IN_WORD = re.compile(r"(?<![\w'])[^\W_]*[a-zA-Z][^\W_]*(?![\w'])")


def letters_for_digits(name: str) -> str:
    """The name with OCR's look-alike digits inside its words read as letters: a lone 0, 1, 5 or 8
    at the start or in the middle of a word of at least three letters and no other digit.
    `7-Eleven`, `Studio 54`, `F1`, `Bar21`, `3M`, `99 Speedmart`, `Club8` and `1st` keep their
    digits. Lower case inside a lower-case word (`Hik1ri`: 1 as `l`, the likelier letter there)."""

    def mapped(match: re.Match[str]) -> str:
        word = match[0]
        digits = [c for c in word if c.isdigit()]
        letters = sum(c.isalpha() for c in word)
        if not digits or letters < 3 or set(digits) - set(_DIGIT_LETTERS) or re.search(r"\d\d", word):
            return word
        if word[-1].isdigit() or re.fullmatch(r"\d(?:st|nd|rd|th)", word, re.IGNORECASE):
            return word  # `Club8`, `Formula1`: a trailing digit may be the name's; `1st`, `8th`
        upper = not any(c.islower() for c in word)
        out = []
        for index, char in enumerate(word):
            if char in _DIGIT_LETTERS:
                letter = _DIGIT_LETTERS[char]
                if not upper and index > 0:
                    letter = "l" if char == "1" else letter.lower()
                char = letter
            out.append(char)
        return "".join(out)

    return _DIGIT_IN_WORD.sub(mapped, name)


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
        price = _PRICE.search(text)
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
    if _only_payment_service(fold(line.text)):
        return None  # a card slip's heading (`INGENICO`); `Cafe Zettle` or `Powered by …` may be shops
    name = clean_name(line.text)
    if name is None:
        return None
    folded = fold(name)
    raw = fold(_strip_registration(line.text))  # `HRB 12345`, `(860671-D)`: no postcode
    score = max(0.2, 0.9 - rank * 0.06)  # the name comes first
    if median and line.height:
        # a name is usually printed larger than the body; smaller print is a sub-line
        score += max(-0.1, min(0.2, 0.2 * (line.height / median - 1)))
    score += 0.3 * (_letter_ratio(name) - 0.85)
    if name.isupper() or name.istitle():
        score += 0.05
    if _LEGAL_FORM.search(folded):
        score += 0.15
    if is_address(raw, after, line.text):
        score -= 0.75
    if _is_sentences(line.text):
        return None  # `Save money. Live better.`: a slogan of short sentences is never a name
    slogan = bool(_SLOGAN.search(folded)) or _is_sentence(name) or _comma_clause(line.text)
    slogan = slogan or _question_follows(name, after)
    if slogan:
        score -= 0.5
    if _DEPARTMENT.search(folded):
        score -= 0.3
    return _Candidate(name, score * line.confidence, slogan)


def _comma_clause(text: str) -> bool:
    """A slogan whose sentence goes on after a comma (`Respekt, wer's selber macht.`): the name
    is cut at the first comma (an address may follow it), so the clause after it is judged here,
    a sentence of lower-case words ending in a full stop, without a digit (no address)."""
    head, comma, clause = text.strip().partition(",")
    words = clause.split()
    return (
        bool(comma)
        and len(words) >= 2
        and clause.rstrip().endswith(".")
        and not re.search(r"\d", clause)
        and any(len(w) >= 4 and w.islower() for w in words)
        and not _LEGAL_FORM.search(fold(words[-1]))
    )


def _question_follows(name: str, after: list[Line]) -> bool:
    """A slogan wrapped over two lines (`WUNSCHLOS` over `GLÜCKLICH?`): one or two words without
    an end mark, then a line of one or two words ending in a question or exclamation mark."""
    if not after or len(name.split()) > 2 or _LEGAL_FORM.search(fold(name)) or name[-1] in ".!?":
        return False
    following = clean_name(after[0].text) or ""
    return len(following.split()) <= 2 and bool(re.search(r"\w[?!](?:\s+\S{1,2})*\s*$", following))


def _is_legal_form_only(text: str) -> bool:
    """A line that is nothing but a legal form (`SDN BHD`, `Pte. Ltd.`, `GmbH`), registration
    number aside: a wrapped company name's second line."""
    folded = fold(_strip_registration(text)).strip(" -_=*#|:;,.")
    folded = re.sub(r"^\(m\)\s*", "", folded)  # Malaysia's `(M) SDN BHD`
    return bool(folded) and _LEGAL_FORM.fullmatch(folded.rstrip(".")) is not None


def _is_sentences(name: str) -> bool:
    """Two or more sentences of two words or more, each ending in `.`, `!` or `?` after a word
    (the slogans under a logo: `Save money. Live better.`, `Eat fresh. Feel good!`); dotted
    initials and legal forms (`MR. D.I.Y.`, `Co. Ltd.`) are not sentence ends."""
    parts = re.split(r"(?<=[.!?])\s+", name.strip())
    if len(parts) < 2:
        return False
    for part in parts:
        words = part.split()
        last = re.sub(r"[.!?]+$", "", words[-1])
        if (
            len(words) < 2
            or not re.search(r"[.!?]$", part)
            or len(last) < 3
            or not last.isalpha()
            or _LEGAL_FORM.fullmatch(fold(last))
        ):
            return False
    return True


def _is_sentence(name: str) -> bool:
    """Questions, exclamations and instructions are slogans or notices, not names (`Glücklich?`,
    `Scan the QR code and give feedback.`); a name may end in `.` only as an initial or legal form."""
    if re.search(r"[?!](?:\s+\S{1,2})*\s*$", name):  # a question, perhaps with stray marks after
        return True
    if re.search(r"[^\W\d_]{3}\?", name):  # a question mark after a word, noise after it
        return True
    words = name.split()
    return (
        name.endswith(".")
        and len(words) >= 3
        and not _LEGAL_FORM.search(fold(words[-1]))
        and any(len(w) >= 4 and w.islower() for w in words)
    )


def _company_candidate(lines: list[Line]) -> _Candidate | None:
    """The first confident line below the header naming a company (`Aldi GmbH & Co. KG, …`), not
    the card terminal's maker or the payment provider of a card slip printed under the bill."""
    for line in lines:
        if line.confidence < 0.5:
            continue
        text = _strip_registration(line.text)
        folded = fold(text)
        if not _LEGAL_FORM.search(folded) or STREET.search(folded) or _PRICE.search(folded):
            continue
        if _names_payment_service(folded):
            continue
        name = re.split(r",|\s{2,}", text.strip())[0].strip(" -_=*#|:;.")
        if sum(c.isalpha() for c in name) >= 3 and _LEGAL_FORM.search(fold(name)):
            return _Candidate(name, 0.55 * line.confidence)
    return None


def _only_payment_service(folded: str) -> bool:
    """A line that is a provider's name and nothing else but the slip's words or a legal form."""
    if not _PAYMENT_SERVICE.search(folded):
        return False
    rest = _LEGAL_FORM.sub(" ", _PAYMENT_CONTEXT.sub(" ", _PAYMENT_SERVICE.sub(" ", folded)))
    return not re.search(r"[a-z]{2,}", rest)


def _names_payment_service(folded: str) -> bool:
    """A line below the header naming a payment provider, also with one letter misread."""
    if _PAYMENT_SERVICE.search(folded) or _PAYMENT_CREDIT.search(folded):
        return True
    # a misread name only beside the slip's own words: `Telecast Electronics GmbH` is a shop
    return bool(_PAYMENT_CONTEXT.search(folded)) and any(
        _misread_payment_word(word) for word in re.findall(r"[a-z0-9]{7,}", folded)
    )


def _misread_payment_word(word: str) -> bool:
    return any(
        len(word) == len(name) and sum(a != b for a, b in zip(word, name, strict=True)) <= 1
        for name in _PAYMENT_WORDS
    )


def _domains(lines: list[Line]) -> list[str]:
    """The web and e-mail domains printed on the receipt (`www.marktkauf-lehr.de` → `marktkauf`),
    minus those of payment, loyalty and social services; the shop's own is among them."""
    found: list[str] = []
    for line in lines:
        for match in _DOMAIN.finditer(fold(line.text).replace(" ", "")):
            label = str(match["name"])
            name = label.split("-")[0]
            if (
                label not in _NOT_SHOP_DOMAINS
                and not _PAYMENT_SERVICE.fullmatch(label)
                and not _misread_payment_word(label)
                and len(name) >= 3
                and name not in found
            ):
                found.append(name)
    return found


# --- a line as a name ------------------------------------------------------------------------


def clean_name(text: str) -> str | None:
    """The line as a shop name (registration numbers, `Welcome to`, stray logo marks and the
    address after a comma removed), or None when it is an address number, contact line, label,
    date, amount or noise."""
    if _PRICE.search(text):
        return None
    text = re.sub(r"(?<=[A-Za-z])[@®©](?=[A-Za-z])", "O", text)  # logos: R@SSMANN
    text = _WELCOME.sub("", text)
    text = _strip_registration(text)
    stripped = _unspaced(text.split(",")[0].strip(" -_=*#|:;,'\"~`!()[]{}<>+/\\"))
    stripped = re.sub(r"^(?:\S\s)+|(?:\s\S)+$", "", stripped)  # stray marks beside a logo
    folded = fold(stripped)
    if len(stripped) < 2 or len(stripped) > 48:
        return None
    letters = sum(c.isalpha() for c in stripped)
    digits = sum(c.isdigit() for c in stripped)
    if letters < 3 or digits > 2 or _letter_ratio(stripped) < 0.7:
        return None
    if _GENERIC.search(folded) or _LABEL.search(folded) or _CONTACT.search(folded):
        return None
    if _PAYMENT_METHOD.search(folded):
        return None
    if _DOMAIN.search(folded):
        return None  # the shop's web address (`lehr.honestly.de`): a contact line
    # dotted initials are one word (`D.I.Y.`, `S.A.`); OCR noise from logos reads as many one- or
    # two-letter fragments
    words = re.findall(r"[^\W\d_](?:\.[^\W\d_])+\.?|[^\W\d_]+", stripped)
    if not words or max(len(w) for w in words) < 3 or sum(len(w) <= 2 for w in words) > len(words) / 2:
        return None
    if max(len(w) for w in words) > _LONGEST_WORD:
        return None  # words Tesseract ran together from a blurred line: no name reads so

    return " ".join(stripped.split())


def _strip_registration(text: str) -> str:
    folded = fold(text)
    if len(folded) != len(text):  # folding changed the length (ß): keep positions honest
        folded = text.lower()
    match = _REGISTRATION_LABEL.search(folded)
    if match:
        text = text[: match.start()]
        folded = folded[: match.start()]
    for number in reversed(list(_REGISTRATION_NUMBER.finditer(folded))):
        text = text[: number.start()] + text[number.end() :]
    return " ".join(text.split())


def _letter_ratio(text: str) -> float:
    """Letters among the printed characters, not counting the punctuation names carry
    (`MR. D.I.Y. (M)`, `Marks & Spencer`, `TRADER JOE'S`, `7-Eleven`)."""
    printed = [c for c in text if not c.isspace() and c not in ".,()&'’-/"]
    return sum(c.isalpha() for c in printed) / len(printed) if printed else 0.0


def _unspaced(text: str) -> str:
    """`t o o m B a u m a r k t` → `toom Baumarkt`; `A LD I` → `ALDI`: letter-spaced logos."""
    words = text.split()
    if len(words) >= 3 and all(len(w) <= 2 and w.isalpha() for w in words):
        whole = "".join(words)
        # a logo is printed in one case (`A LD I`, `Ro ss mann`); `Dr ZZ x ya ma EZ` is the
        # table's texture read as letters
        return whole if whole.isupper() or whole.islower() or whole.istitle() else text
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
