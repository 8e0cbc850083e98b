"""Receipt rows rebuilt from Tesseract's word boxes, and unreadable lines dropped.

Receipts are tables: a label on the left, its amount at the right edge of the same row. Tesseract's
page segmentation (`--psm 4`) sometimes reads the right-hand column as a block of its own, so a
row comes back as two lines far apart in the text ("SUMME EUR" ... many lines later ... "36,20").
Every rule that pairs a label with its amount reads the row, so the row is rebuilt here from the
geometry: lines side by side on the same baseline join, left to right, and rows run top to bottom.
Pure functions on `Line`s; every `Word` (text, confidence, box) is kept.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ocr.text import Line, Word

# Two pieces of text sit on one row when their vertical extents overlap by more than this share of
# the shorter one's height: print on one baseline overlaps almost fully, neighbouring rows of
# receipt print (line spacing ~1.2 x the letter height) hardly at all.
_SAME_ROW_OVERLAP = 0.5
# Side by side means no horizontal overlap beyond a sliver (a few pixels of box slack).
_SIDE_BY_SIDE_SLACK = 0.02
# Garbage: Tesseract's mean confidence below this and hardly a letter, e.g. the specks, folds and
# logo fragments it reads as `' . |` or `ii`.
_GARBAGE_CONFIDENCE = 0.3
_FEW_LETTERS = 3
# ... unless the line holds what the fields are made of: an amount with decimals or a date/time
# (low confidence on digits is common on thermal print, and such lines are rarely noise).
_FIGURE = re.compile(r"\d[.,]\d{2}\b|\d{1,4}[./:-]\d{1,2}")


def rows(lines: Sequence[Line]) -> list[Line]:
    """`lines` regrouped into the receipt's rows: lines whose vertical extents overlap by more than
    half the smaller height and that stand side by side join one Line, its words left to right;
    rows ordered top to bottom. Lines without words (text only) are returned unchanged."""
    if not all(line.words for line in lines):
        return list(lines)
    groups: list[list[Line]] = []
    for line in sorted(lines, key=_centre):
        for group in groups:
            if _same_row(group, line):
                group.append(line)
                break
        else:
            groups.append([line])
    merged = [_joined(group) for group in groups]
    return sorted(merged, key=_centre)


def readable(lines: Sequence[Line]) -> list[Line]:
    """`lines` without the garbage Tesseract makes of specks, creases and logos: a mean word
    confidence under 0.3 with fewer than three letters and no amount or date in it."""
    return [line for line in lines if not _garbage(line)]


def _garbage(line: Line) -> bool:
    if line.confidence >= _GARBAGE_CONFIDENCE:
        return False
    if sum(c.isalpha() for c in line.text) >= _FEW_LETTERS:
        return False
    return not _FIGURE.search(line.text)


def _extent(line: Line) -> tuple[float, float]:
    """The line's vertical extent: the median top and bottom of its words (a tall first letter or
    a descender-less word does not stretch it)."""
    tops = sorted(w.top for w in line.words)
    bottoms = sorted(w.bottom for w in line.words)
    return float(tops[len(tops) // 2]), float(bottoms[len(bottoms) // 2])


def _centre(line: Line) -> float:
    top, bottom = _extent(line)
    return (top + bottom) / 2


def _same_row(group: list[Line], line: Line) -> bool:
    top, bottom = _extent(line)
    for other in group:
        other_top, other_bottom = _extent(other)
        overlap = min(bottom, other_bottom) - max(top, other_top)
        shorter = min(bottom - top, other_bottom - other_top)
        if shorter <= 0 or overlap <= _SAME_ROW_OVERLAP * shorter:
            return False
        if not _side_by_side(other, line):
            return False
    return True


def _side_by_side(first: Line, second: Line) -> bool:
    a, b = first.box, second.box
    assert a is not None and b is not None
    overlap = min(a[2], b[2]) - max(a[0], b[0])
    return overlap <= _SIDE_BY_SIDE_SLACK * max(a[2] - a[0], b[2] - b[0], 1)


def _joined(group: list[Line]) -> Line:
    if len(group) == 1:
        return group[0]
    ordered = sorted(group, key=lambda line: min(w.left for w in line.words))
    words: tuple[Word, ...] = tuple(w for line in ordered for w in line.words)
    return Line(
        " ".join(line.text for line in ordered),
        sum(w.confidence for w in words) / len(words),
        words,
    )
