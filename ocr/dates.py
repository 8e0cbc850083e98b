"""Receipt text → its purchase date: numeric dates day- or month-first, month names in several
languages, dates whose digits OCR read as look-alike letters, and which lines deserve a second OCR
look when no date was found. Pure functions on the OCR's lines."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date

from ocr.text import Line, fold

_MONTHS = {
    # English, German, French, Spanish, Italian, Dutch: full names and the usual abbreviations
    "jan": 1,
    "january": 1,
    "januar": 1,
    "janvier": 1,
    "enero": 1,
    "gennaio": 1,
    "januari": 1,
    "jän": 1,
    "jaen": 1,
    "feb": 2,
    "february": 2,
    "februar": 2,
    "fevrier": 2,
    "febrero": 2,
    "febbraio": 2,
    "februari": 2,
    "mar": 3,
    "march": 3,
    "märz": 3,
    "marz": 3,
    "maerz": 3,
    "mars": 3,
    "marzo": 3,
    "maart": 3,
    "mrz": 3,
    "apr": 4,
    "april": 4,
    "avril": 4,
    "abril": 4,
    "aprile": 4,
    "may": 5,
    "mai": 5,
    "mayo": 5,
    "maggio": 5,
    "mei": 5,
    "jun": 6,
    "june": 6,
    "juni": 6,
    "juin": 6,
    "junio": 6,
    "giugno": 6,
    "jul": 7,
    "july": 7,
    "juli": 7,
    "juillet": 7,
    "julio": 7,
    "luglio": 7,
    "aug": 8,
    "august": 8,
    "aout": 8,
    "agosto": 8,
    "augustus": 8,
    "sep": 9,
    "sept": 9,
    "september": 9,
    "septembre": 9,
    "septiembre": 9,
    "settembre": 9,
    "oct": 10,
    "october": 10,
    "okt": 10,
    "oktober": 10,
    "octobre": 10,
    "octubre": 10,
    "ottobre": 10,
    "nov": 11,
    "november": 11,
    "novembre": 11,
    "noviembre": 11,
    "dec": 12,
    "december": 12,
    "dez": 12,
    "dezember": 12,
    "decembre": 12,
    "diciembre": 12,
    "dicembre": 12,
}
_MONTH_NAME = r"(?P<month_name>[a-zäéû]{3,9})\.?"
_NUMERIC_DATE = re.compile(
    r"(?<![\d.,/])(?P<a>\d{1,4})\s?(?P<sep>[./\-,])\s?(?P<b>\d{1,2})\s?(?P=sep)\s?(?P<c>\d{2,4})(?!\d)"
)
# The OCR misreads one of the two separators: 18.09,2020
_MIXED_DATE = re.compile(r"(?<![\d.,/])(?P<a>\d{1,2})[.,](?P<b>\d{1,2})[.,](?P<c>\d{4}|\d{2})(?![\d])")
_NAMED_DATES = (
    # 18 April 2020, 18. Apr. 2020, 18-Apr-20
    re.compile(
        r"(?<!\d)(?P<day>\d{1,2})(?:st|nd|rd|th)?\.?[\s\-/]*"
        + _MONTH_NAME
        + r"[\s\-/,]*(?P<year>\d{4}|\d{2})(?!\d)"
    ),
    # April 18, 2020 / Apr 18 2020
    re.compile(r"\b" + _MONTH_NAME + r"\s*(?P<day>\d{1,2})(?:st|nd|rd|th)?,?\s*(?P<year>\d{4})(?!\d)"),
)
_DATE_KEYWORDS = re.compile(r"\b(datum|date|dated|fecha|data|le)\b")
_NOT_DATE_LINE = re.compile(r"gultig|valid|expir|exp\b|best before|mhd|geburt|birth|ablauf")


# A time of day next to a date marks the purchase date line (`18.05.20 09:50`); `;` and spaces are
# common OCR slips for `:`.
_TIME = re.compile(r"(?<![\d.,:])(?:[01]?\d|2[0-3])\s?[:;]\s?[0-5]\d(?![\d.,])")
# Characters OCR confuses with digits, and what they stand for inside a group of digits.
_DIGIT_LOOKALIKES = str.maketrans(
    {
        "O": "0",
        "o": "0",
        "D": "0",
        "Q": "0",
        "l": "1",
        "I": "1",
        "|": "1",
        "!": "1",
        "S": "5",
        "s": "5",
        "B": "8",
        "Z": "2",
        "z": "2",
    }
)
_D = r"[\dOoDQlI|!SsBZz]"
# A date-shaped group where some digits may have been read as look-alike letters: 3O.O4.2O2O
_LOOSE_DATE = re.compile(rf"(?<![\w.,/]){_D}{{1,4}}\s?[./\-,]\s?{_D}{{1,2}}\s?[./\-,]\s?{_D}{{2,4}}(?![\w])")
# Parts of a date, for choosing lines worth a second OCR look: `30.04.` `.2020` `04/2020`
_DATE_FRAGMENT = re.compile(r"(?<!\d)\d{1,2}\s?[./\-]\s?\d{1,2}\s?[./\-,]|[./\-]\s?(?:19|20)\d{2}(?!\d)")
_HINT_LIMIT = 4
# A label that may head a column with the date in the row below (`Datum  Zeit  BonNr`).
_DATE_LABEL = re.compile(r"\b(datum|date|fecha|datum/zeit)\b")


def extract_date(
    lines: list[Line], *, currency: str | None = None, today: date | None = None
) -> tuple[date | None, float]:
    """The purchase date and its confidence: candidates from every line, preferring ones labelled
    `Datum`/`Date`, ones beside a time of day, ones that recur, and ones not in the future. Digits
    read as look-alike letters (`3O.O4.2O`) count, less strongly."""
    today = today or date.today()
    month_first = currency in ("USD", "CAD")
    candidates: list[tuple[float, date, float]] = []
    for line in lines:
        text = fold(line.text)
        if _NOT_DATE_LINE.search(text):
            continue
        labelled = bool(_DATE_KEYWORDS.search(text))
        timed = bool(_TIME.search(line.text))
        for found, strength in _dates_in(line.text, month_first=month_first):
            if not date(2000, 1, 1) <= found <= date(today.year + 1, 12, 31):
                continue
            score = (
                strength
                + (0.3 if labelled else 0.0)
                + (0.1 if timed else 0.0)
                - (0.5 if found > today else 0.0)
            )
            candidates.append((score, found, line.confidence))
    if not candidates:
        return None, 0.0
    recurring = Counter(found for _, found, _ in candidates)
    score, found, confidence = max(
        candidates, key=lambda c: (c[0] + 0.2 * (recurring[c[1]] - 1), -candidates.index(c))
    )
    return found, min(1.0, score + 0.2 * (recurring[found] - 1)) * confidence


def plausible_date(found: date | None, today: date | None = None) -> bool:
    """Whether a date could be a purchase date: there, and not in the future (a misread year)."""
    return found is not None and found <= (today or date.today())


def date_line_hints(lines: list[Line]) -> list[int]:
    """Lines where a date the OCR garbled probably is, best first, for a second look: lines with
    a time of day, a `Date`/`Datum` label (and the line under a label with no date: column
    headers), or part of a date. Validity lines (`gültig bis`) are skipped."""
    scored: dict[int, float] = {}
    for index, line in enumerate(lines):
        text = fold(line.text)
        if _NOT_DATE_LINE.search(text):
            continue
        score = 0.0
        if _TIME.search(line.text):
            score += 2
        if _DATE_FRAGMENT.search(line.text):
            score += 1.5
        if _DATE_KEYWORDS.search(text):
            score += 1
            if (
                index + 1 < len(lines)
                and _DATE_LABEL.search(text)
                and not _dates_in(line.text, month_first=False)
            ):
                scored[index + 1] = scored.get(index + 1, 0.0) + 1
        if score:
            scored[index] = scored.get(index, 0.0) + score
    ranked = sorted(scored, key=lambda i: (-scored[i], i))
    return ranked[:_HINT_LIMIT]


def _dates_in(text: str, *, month_first: bool) -> list[tuple[date, float]]:
    found: list[tuple[date, float]] = []
    seen_spans: list[tuple[int, int]] = []
    # Digits misread as look-alike letters first: `l8.05.2020` is 18 May, not 8 May.
    for match in _LOOSE_DATE.finditer(text):
        group = match.group(0)
        if all(c.isdigit() or c in "./-, " for c in group) or sum(c.isdigit() for c in group) < 4:
            continue
        repaired = _NUMERIC_DATE.fullmatch(group.translate(_DIGIT_LOOKALIKES))
        if repaired is None:
            continue
        parsed = _numeric_date(
            repaired["a"], repaired["b"], repaired["c"], repaired["sep"], month_first, repaired["sep"] != ","
        )
        if parsed is not None:
            found.append((parsed[0], parsed[1] - 0.15))
            seen_spans.append(match.span())
    for pattern in (_NUMERIC_DATE, _MIXED_DATE):
        for match in pattern.finditer(text):
            if any(s <= match.start() < e for s, e in seen_spans):
                continue
            consistent = pattern is _NUMERIC_DATE and match["sep"] != ","
            parsed = _numeric_date(
                match["a"],
                match["b"],
                match["c"],
                match.groupdict().get("sep") or ".",
                month_first,
                consistent,
            )
            if parsed is not None:
                found.append(parsed)
                seen_spans.append(match.span())
    folded = fold(text)
    for pattern in _NAMED_DATES:
        for match in pattern.finditer(folded):
            month = _MONTHS.get(match["month_name"])
            if month is None:
                continue
            made = _make_date(_year(match["year"]), month, int(match["day"]))
            if made is not None:
                found.append((made, 0.9))
    return found


def _numeric_date(
    a: str, b: str, c: str, sep: str, month_first: bool, consistent: bool = True
) -> tuple[date, float] | None:
    if len(a) == 4:  # ISO: 2020-04-18
        made = _make_date(int(a), int(b), int(c))
        return (made, 0.95) if made else None
    if len(a) == 3 or len(c) == 3:
        return None
    year, first, second = _year(c), int(a), int(b)
    day_first = _make_date(year, second, first)
    month_first_date = _make_date(year, first, second)
    strength = 0.8 if consistent else 0.5
    if day_first and month_first_date and day_first != month_first_date:
        # Ambiguous (both parts ≤ 12): dots mean day-first everywhere they are used; slashes
        # and dashes follow the currency's country (US and Canada write month first).
        if sep == "/" and month_first:
            return month_first_date, strength - 0.1
        return day_first, strength if sep in ".," else strength - 0.1
    made = day_first or month_first_date
    return (made, strength) if made else None


def _year(text: str) -> int:
    year = int(text)
    return year + 2000 if year < 100 else year


def _make_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None
