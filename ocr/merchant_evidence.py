"""Evidence about a header line beyond its text as a name: slogans and sentences (against),
card terminals' makers and payment providers (never the shop), and the shop's own web or e-mail
domain (for). Used by `ocr.merchant`'s scoring."""

from __future__ import annotations

import re

from ocr.merchant_names import DOMAIN, LEGAL_FORM, clean_name
from ocr.text import Line, fold

__all__ = [
    "DEPARTMENT",
    "SLOGAN",
    "comma_clause",
    "is_sentence",
    "is_sentences",
    "names_payment_service",
    "only_payment_service",
    "question_follows",
    "shop_domains",
]

# Slogans and greetings of every till.
SLOGAN = re.compile(
    r"\b(thank you|thanks|danke|merci|terima kasih|welcome|since \d{4}|est\.? \d{4}|seit \d{4}|"
    r"quality|your .{0,20}store|save money|live better|always|every ?day|the best|fresh|"
    r"open daily|24 hours|visit us|see you)\b"
)
DEPARTMENT = re.compile(r"\b(dept|department|abteilung|abt)\b")

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


def comma_clause(text: str) -> bool:
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
        and not LEGAL_FORM.search(fold(words[-1]))
    )


def question_follows(name: str, after: list[Line]) -> bool:
    """A slogan wrapped over two lines (`WUNSCHLOS` over `GLÜCKLICH?`): one or two words without
    an end mark, then a line of one or two words ending in a question or exclamation mark."""
    if not after or len(name.split()) > 2 or LEGAL_FORM.search(fold(name)) or name[-1] in ".!?":
        return False
    following = clean_name(after[0].text) or ""
    return len(following.split()) <= 2 and bool(re.search(r"\w[?!](?:\s+\S{1,2})*\s*$", following))


def is_sentences(name: str) -> bool:
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
            or LEGAL_FORM.fullmatch(fold(last))
        ):
            return False
    return True


def is_sentence(name: str) -> bool:
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
        and not LEGAL_FORM.search(fold(words[-1]))
        and any(len(w) >= 4 and w.islower() for w in words)
    )


def only_payment_service(folded: str) -> bool:
    """A line that is a provider's name and nothing else but the slip's words or a legal form."""
    if not _PAYMENT_SERVICE.search(folded):
        return False
    rest = LEGAL_FORM.sub(" ", _PAYMENT_CONTEXT.sub(" ", _PAYMENT_SERVICE.sub(" ", folded)))
    return not re.search(r"[a-z]{2,}", rest)


def names_payment_service(folded: str) -> bool:
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


def shop_domains(lines: list[Line]) -> list[str]:
    """The web and e-mail domains printed on the receipt (`www.marktkauf-lehr.de` → `marktkauf`),
    minus those of payment, loyalty and social services; the shop's own is among them."""
    found: list[str] = []
    for line in lines:
        for match in DOMAIN.finditer(fold(line.text).replace(" ", "")):
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
