"""Receipt text → its purchase date, for receipts from anywhere: numeric dates in day-, month- or
year-first order (decided from the whole receipt, see `ocr.date_order`), month names in the
languages of `ocr.months`, CJK dates (`2024年3月14日`), two-digit years, garbled separators, digits
read as look-alike letters, dates glued to a time of day, and which lines deserve a second OCR look
when no date was found. Pure functions on the OCR's lines.

Every candidate on the receipt is scored: labelled ones (`Date:`, `Datum`, `Tarikh`, `Fecha`), ones
beside a time of day and ones that recur win over a misread one; validity, expiry and best-before
dates are never candidates; dates outside a plausible window around the scan date lose or go. When
the best candidates disagree with equal weight the answer is None: a wrong date the user may not
notice is worse than none."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from ocr.date_order import Evidence, Order, numeric_order
from ocr.months import LONGEST, ORDINARY_WORDS, month_number
from ocr.text import Line, fold

# --- the shapes a date takes -------------------------------------------------------------------

# Two groups of digits and a year, any of the separators tills print or OCR misreads them as
# (`19/03/2017`, `19-03-17`, `19.03,2017`); a four-digit year may be glued to the time (`201714:22`).
_YEAR_END = r"(?:\d{4}(?=(?:[01]?\d|2[0-3])[:;.][0-5]\d)|\d{2,4}(?!\d|[.,]\d))"
_NUMERIC_DATE = re.compile(
    r"(?<![\d.,/:])(?P<a>\d{1,4})\s?(?P<s1>[./\-,])\s?(?P<b>\d{1,2})\s?(?P<s2>[./\-,])\s?(?P<c>"
    + _YEAR_END
    + ")"
)
# OCR drops the separators' ink but keeps the gaps: `19 03 2017`. Only with a four-digit year of
# this century or the last, so that phone numbers (`0521 12 34 56`) stay out.
_SPACED_DATE = re.compile(r"(?<![\d.,/:])(?P<a>\d{1,2}) (?P<b>\d{1,2}) (?P<c>(?:19|20)\d{2})(?!\d|[.,]\d)")
_MONTH_WORD = rf"(?P<month>[a-z]{{3,{LONGEST}}})(?![a-z])\.?"
# A two-digit year may carry an apostrophe (`Mar 19 '17`); a year is never followed by a decimal
# part (an amount) or a colon (a time).
_YEAR = r"(?P<year>(?:19|20)\d{2}|['`\u2018\u2019]?\d{2})(?!\d|[.,]\d|:)"
_NAMED_DATES = (
    # Day first (most of the world): 19-Mar-17, 19 MAR 2017, 19. März 2017, 19th March 2017,
    # le 19 mars 2017, 19 de marzo de 2017, 19 Ogos 2017, Sat, 19 Mar 2017
    re.compile(
        r"(?<![\d.,])(?P<day>[0-3]?\d)(?:st|nd|rd|th|er)?\.?[\s\-/.]*(?:de\s+)?"
        + _MONTH_WORD
        + r"[\s\-/.,]*(?:de\s+|del\s+)?"
        + _YEAR
    ),
    # Month first (US English): March 19, 2017; Mar 19 '17; MAR 19 2017
    re.compile(
        r"(?<![a-z])" + _MONTH_WORD + r"[\s\-/.]*(?P<day>[0-3]?\d)(?:st|nd|rd|th)?(?!\d)[\s,.\-/]*" + _YEAR
    ),
    # Year first: 2017-Mar-19, 2017 Mar 19
    re.compile(
        r"(?<![\d.,])(?P<year>(?:19|20)\d{2})[\s\-/.]*" + _MONTH_WORD + r"[\s\-/.]*(?P<day>[0-3]?\d)(?!\d)"
    ),
)
# Japanese and Chinese 年月日, Korean 년월일: year first, always.
_CJK_DATE = re.compile(
    r"(?P<year>(?:19|20)\d{2})\s?[年년]\s?(?P<month>\d{1,2})\s?[月월]\s?(?P<day>\d{1,2})(?!\d)"
)
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

# --- what the line around a date says ----------------------------------------------------------

# Labels of the purchase date: English (`Date`, `Date/Time`, `Trans Date`, `Dated`, `Dt`), German
# and Dutch `Datum`, Spanish `Fecha`, Italian/Portuguese `Data`, Malay `Tarikh`, Indonesian
# `Tanggal`/`Tgl`, French `le` (`le 19 mars 2017`).
_DATE_KEYWORDS = re.compile(r"\b(datum|date|dated|dt|fecha|data|tarikh|tanggal|tgl|le)\b")
# Dates that are not the purchase: validity and expiry (cards, vouchers, points), best-before and
# use-by (food), due and return-by dates, birth dates; in English, German (`gültig bis`, `MHD`,
# `Ablauf`, `haltbar`), Malay (`sah sehingga`, `tamat`), French (`valable`, `à consommer`),
# Spanish (`válido`, `vence`, `caduca`), Italian (`scadenza`). A date before the word still counts.
_NOT_PURCHASE = re.compile(
    r"gultig|valid|expir|\bexp\b|best before|use by|mhd|haltbar|ablauf|geburt|birth|\bdob\b|"
    r"due date|return by|return before|returns? until|\bsah\b|tamat|valable|consommer|vence|"
    r"caduc|scadenza|member since"
)
# A time of day next to a date marks the purchase date line (`18.05.20 09:50`, `9:15 PM`); `;` and
# spaces are common OCR slips for `:`; `201714:22` is a year glued to the time.
_TIME = re.compile(
    r"(?<![\d.,:])(?:[01]?\d|2[0-3])\s?[:;]\s?[0-5]\d(?![\d.,])|(?:19|20)\d{2}(?:[01]?\d|2[0-3])[:;][0-5]\d"
)
# Parts of a date, for choosing lines worth a second OCR look: `30.04.` `.2020` `04/2020`
_DATE_FRAGMENT = re.compile(r"(?<!\d)\d{1,2}\s?[./\-]\s?\d{1,2}\s?[./\-,]|[./\-]\s?(?:19|20)\d{2}(?!\d)")
_HINT_LIMIT = 4
# A label that may head a column with the date in the row below (`Datum  Zeit  BonNr`).
_DATE_LABEL = re.compile(r"\b(datum|date|fecha|tarikh|datum/zeit)\b")

# --- how plausible a date is -------------------------------------------------------------------

# Receipts are photographed soon after the purchase, some kept for warranty or tax for years. A
# date in the future beyond a day (time zones) or decades back is a misread year. Tax records are
# kept 6 to 10 years (UK 6, US and Malaysia 7, India 8, Germany 10): a date beyond 12 years is far
# more often a misread year (`2005` for `2025`) than a kept receipt, so it loses to any recent
# candidate and, alone, is given with low confidence.
_TIME_ZONE_SLACK = timedelta(days=1)
_OLDEST = timedelta(days=20 * 365)
_OLD = timedelta(days=12 * 365)
_OLD_PENALTY = 0.5
_OLD_CONFIDENCE = 0.5
# Candidates whose scores differ by less than this are a tie: the receipt disagrees with itself.
_TIE = 0.05
_CLOSE = 0.25


@dataclass(frozen=True, slots=True)
class _Candidate:
    found: date
    strength: float
    repaired: bool = False


def extract_date(
    lines: list[Line],
    *,
    currency: str | None = None,
    today: date | None = None,
    country: str | None = None,
) -> tuple[date | None, float]:
    """The purchase date and its confidence. `currency` (ISO code) and `country` (ISO 3166 code)
    help to read ambiguous numeric dates when the receipt itself does not settle the order. None
    when no candidate is plausible or the best ones disagree with equal weight."""
    today = today or date.today()
    order, evidence = numeric_order((line.text for line in lines), currency=currency, country=country)
    scored: dict[date, list[tuple[float, float, bool]]] = {}
    label_above = False
    for line in lines:
        text = fold(line.text)
        labelled = bool(_DATE_KEYWORDS.search(text)) or label_above
        timed = bool(_TIME.search(line.text))
        cut = _NOT_PURCHASE.search(text)
        candidates = list(_dates_in(line.text, order, evidence, today, before=cut.start() if cut else None))
        # A column header (`Datum Uhrzeit Filiale`) labels the row under it.
        label_above = not candidates and bool(_DATE_LABEL.search(text))
        for candidate in candidates:
            # The window plausible_date states: a purchase cannot be after the scan (beyond a day
            # of time zones), so a future date is a misread year, never a weaker candidate.
            if not plausible_date(candidate.found, today):
                continue
            score = candidate.strength + (0.3 if labelled else 0.0) + (0.1 if timed else 0.0)
            if candidate.found < today - _OLD:
                score -= _OLD_PENALTY
            scored.setdefault(candidate.found, []).append((score, line.confidence, candidate.repaired))
    if not scored:
        return None, 0.0
    ranked = sorted(
        ((max(s for s, _, _ in seen) + 0.2 * (len(seen) - 1), found) for found, seen in scored.items()),
        key=lambda item: -item[0],
    )
    best_score, best = ranked[0]
    if len(ranked) > 1 and best_score - ranked[1][0] < _TIE:
        return None, 0.0
    seen = scored[best]
    confidence = min(1.0, best_score) * max(c for _, c, _ in seen)
    if len(ranked) > 1 and best_score - ranked[1][0] < _CLOSE:
        confidence *= 0.6
    if all(repaired for _, _, repaired in seen):
        confidence *= 0.7
    if best < today - _OLD:
        confidence *= _OLD_CONFIDENCE
    return best, max(0.0, confidence)


def plausible_date(found: date | None, today: date | None = None) -> bool:
    """Whether a date could be a purchase date: there, not in the future (beyond a day of time
    zones) and not decades old (both are misread years)."""
    today = today or date.today()
    return found is not None and today - _OLDEST <= found <= today + _TIME_ZONE_SLACK


def date_line_hints(lines: list[Line]) -> list[int]:
    """Lines where a date the OCR garbled probably is, best first, for a second look: lines with
    a time of day, a date label (and the line under a label with no date: column headers), or
    part of a date. Validity lines (`gültig bis`) are skipped."""
    scored: dict[int, float] = {}
    for index, line in enumerate(lines):
        text = fold(line.text)
        if _NOT_PURCHASE.search(text):
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
                and not list(_dates_in(line.text, "dmy", Evidence.DEFAULT, date.max))
            ):
                scored[index + 1] = scored.get(index + 1, 0.0) + 1
        if score:
            scored[index] = scored.get(index, 0.0) + score
    ranked = sorted(scored, key=lambda i: (-scored[i], i))
    return ranked[:_HINT_LIMIT]


# --- candidates in one line --------------------------------------------------------------------


def _dates_in(
    text: str, order: Order, evidence: Evidence, today: date, *, before: int | None = None
) -> Iterator[_Candidate]:
    """Every date the line shows, each with how strongly its form says `date`. Only dates that
    start before `before` (where a validity word begins) count."""
    limit = len(text) if before is None else before
    taken: list[tuple[int, int]] = []

    def fresh(span: tuple[int, int]) -> bool:
        if span[0] >= limit or any(s < span[1] and span[0] < e for s, e in taken):
            return False
        taken.append(span)
        return True

    for match in _CJK_DATE.finditer(text):
        made = _make_date(int(match["year"]), int(match["month"]), int(match["day"]))
        if made and fresh(match.span()):
            yield _Candidate(made, 0.95)
    # Digits misread as look-alike letters: `l8.05.2020` is 18 May, not 8 May.
    for match in _LOOSE_DATE.finditer(text):
        group = match.group(0)
        if all(c.isdigit() or c in "./-, " for c in group) or sum(c.isdigit() for c in group) < 4:
            continue
        repaired = _NUMERIC_DATE.fullmatch(group.translate(_DIGIT_LOOKALIKES))
        if repaired is None:
            continue
        consistent = repaired["s1"] == repaired["s2"] and repaired["s1"] != ","
        parsed = _numeric(
            repaired["a"], repaired["b"], repaired["c"], repaired["s1"], order, evidence, today, consistent
        )
        if parsed and fresh(match.span()):
            yield _Candidate(parsed.found, parsed.strength - 0.15, repaired=True)
    for match in _NUMERIC_DATE.finditer(text):
        consistent = match["s1"] == match["s2"]
        parsed = _numeric(match["a"], match["b"], match["c"], match["s1"], order, evidence, today, consistent)
        if parsed and fresh(match.span()):
            yield parsed
    for match in _SPACED_DATE.finditer(text):
        parsed = _numeric(match["a"], match["b"], match["c"], " ", order, evidence, today, False)
        if parsed and fresh(match.span()):
            yield _Candidate(parsed.found, parsed.strength - 0.05)
    # Month names: on the folded line, whose positions match the printed one closely enough for
    # the validity cut (folding only changes `ß` and combining accents).
    folded = fold(text)
    named: list[tuple[int, int]] = []
    for pattern in _NAMED_DATES:
        for match in pattern.finditer(folded):
            month = month_number(match["month"])
            if month is None or match.start() >= limit:
                continue
            if any(s < match.end() and match.start() < e for s, e in named):
                continue
            strength = _named_strength(match)
            if strength is None:
                continue
            made = _make_date(_year(match["year"], today), month, int(match["day"]))
            if made is not None:
                named.append(match.span())
                yield _Candidate(made, strength)


def _named_strength(match: re.Match[str]) -> float | None:
    """How strongly a month-word match says `date`. A four-digit year, an apostrophe year
    (`Mar 19 '17`) or the joined DD-MON-YY form (`19-Mar-17`, `19/MAR/17`) is unmistakable. A bare
    two-digit year apart from the word (`2 MAR 23`) may be an item line's quantity, word and count:
    weaker than a printed numeric date, and not a date at all when the word is also an ordinary
    word of item lines (`1 SET 23`, `1 MAC 20 pcs`)."""
    year = match["year"]
    if len(year) == 4 or not year[0].isdigit():
        return 0.9
    text = match.string
    pieces = sorted((match.span("day"), match.span("month"), match.span("year")))
    joined = all(
        0 < len(gap) <= 3 and not any(c.isspace() for c in gap)
        for gap in (text[a[1] : b[0]] for a, b in zip(pieces[:-1], pieces[1:], strict=True))
    )
    if joined:
        return 0.9
    if match["month"] in ORDINARY_WORDS:
        return None
    return 0.6


def _numeric(
    a: str, b: str, c: str, sep: str, order: Order, evidence: Evidence, today: date, consistent: bool
) -> _Candidate | None:
    """A numeric date in the receipt's order. A four-digit first group is a year (ISO, East Asia,
    Hungary); otherwise a field above 12 can only be the day; when both fields could be the month,
    the receipt's order decides, and the weaker its evidence the weaker the candidate. Dots are a
    day-first habit (Germany, Central and Eastern Europe), so only a receipt's own field > 12 makes
    a dotted date month-first."""
    strength = 0.8 if consistent else 0.5
    if len(a) == 4:
        made = _make_date(int(a), int(b), int(c)) if len(c) <= 2 else None
        return _Candidate(made, strength + 0.15) if made else None
    if len(a) == 3 or len(c) == 3 or len(c) > 4:
        return None
    if order == "ymd" and len(c) == 2:
        made = _make_date(_year(a, today), int(b), int(c))
        return _Candidate(made, strength - 0.1) if made else None
    year = _year(c, today)
    day_first = _make_date(year, int(b), int(a))
    month_first = _make_date(year, int(a), int(b))
    if day_first and month_first and day_first != month_first:
        if sep == "." and evidence is not Evidence.FIELD:
            return _Candidate(day_first, strength)
        chosen = month_first if order == "mdy" else day_first
        doubt = {Evidence.FIELD: 0.0, Evidence.COUNTRY: 0.05, Evidence.TEXT: 0.05}.get(evidence, 0.1)
        return _Candidate(chosen, strength - doubt)
    made = day_first or month_first
    return _Candidate(made, strength) if made else None


def _year(text: str, today: date) -> int:
    """A printed year; a two-digit one (`17`, `'17`) is in this century unless that would be
    beyond next year."""
    year = int(text.lstrip("'`\u2018\u2019"))
    if year >= 100:
        return year
    return 2000 + year if 2000 + year <= today.year + 1 else 1900 + year


def _make_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None
