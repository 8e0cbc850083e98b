"""A receipt line as a shop name: what a name line may not be (a label, contact line, amount,
payment word, noise) and how it is cleaned (registration numbers, `Welcome to`, letter-spaced
logos, OCR's digits for letters). `ocr.merchant` scores the names this gives."""

from __future__ import annotations

import re

from ocr.text import fold

__all__ = [
    "DOMAIN",
    "LEGAL_FORM",
    "PRICE",
    "clean_name",
    "is_legal_form_only",
    "letter_ratio",
    "letters_for_digits",
    "strip_registration",
]

# The vocabulary of receipt headers (folded: lower case, no accents).

# Longer words are OCR running a blurred line's words together (German shop words such as
# `Getränkefachgroßhandel` stay under it).
_LONGEST_WORD = 24

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
LEGAL_FORM = re.compile(
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

_WELCOME = re.compile(
    r"^\s*(?:welcome to|welcome|willkommen (?:bei|im|in der)|bienvenue (?:chez|a)|"
    r"selamat datang(?: ke)?)\s+(?=\S)",
    re.IGNORECASE,
)

PRICE = re.compile(r"\d\s?[.,]\s?\d{2}(?!\d)")

DOMAIN = re.compile(
    r"(?:www\.)?(?P<name>[a-z0-9][a-z0-9\-]{1,30})\.(?:de|com|co\.uk|uk|at|ch|fr|"
    r"nl|it|es|eu|net|org|us|ca|com\.au|com\.my|my|com\.sg|sg|co\.in|in|be|pl|se|dk|no)\b"
)

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


def is_legal_form_only(text: str) -> bool:
    """A line that is nothing but a legal form (`SDN BHD`, `Pte. Ltd.`, `GmbH`), registration
    number aside: a wrapped company name's second line."""
    folded = fold(strip_registration(text)).strip(" -_=*#|:;,.")
    folded = re.sub(r"^\(m\)\s*", "", folded)  # Malaysia's `(M) SDN BHD`
    return bool(folded) and LEGAL_FORM.fullmatch(folded.rstrip(".")) is not None


def clean_name(text: str) -> str | None:
    """The line as a shop name (registration numbers, `Welcome to`, stray logo marks and the
    address after a comma removed), or None when it is an address number, contact line, label,
    date, amount or noise."""
    if PRICE.search(text):
        return None
    text = re.sub(r"(?<=[A-Za-z])[@®©](?=[A-Za-z])", "O", text)  # logos: R@SSMANN
    text = _WELCOME.sub("", text)
    text = strip_registration(text)
    stripped = _unspaced(text.split(",")[0].strip(" -_=*#|:;,'\"~`!()[]{}<>+/\\"))
    stripped = re.sub(r"^(?:\S\s)+|(?:\s\S)+$", "", stripped)  # stray marks beside a logo
    folded = fold(stripped)
    if len(stripped) < 2 or len(stripped) > 48:
        return None
    letters = sum(c.isalpha() for c in stripped)
    digits = sum(c.isdigit() for c in stripped)
    if letters < 3 or digits > 2 or letter_ratio(stripped) < 0.7:
        return None
    if _GENERIC.search(folded) or _LABEL.search(folded) or _CONTACT.search(folded):
        return None
    if _PAYMENT_METHOD.search(folded):
        return None
    if DOMAIN.search(folded):
        return None  # the shop's web address (`lehr.honestly.de`): a contact line
    # dotted initials are one word (`D.I.Y.`, `S.A.`); OCR noise from logos reads as many one- or
    # two-letter fragments
    words = re.findall(r"[^\W\d_](?:\.[^\W\d_])+\.?|[^\W\d_]+", stripped)
    if not words or max(len(w) for w in words) < 3 or sum(len(w) <= 2 for w in words) > len(words) / 2:
        return None
    if max(len(w) for w in words) > _LONGEST_WORD:
        return None  # words Tesseract ran together from a blurred line: no name reads so

    return " ".join(stripped.split())


def strip_registration(text: str) -> str:
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


def letter_ratio(text: str) -> float:
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
