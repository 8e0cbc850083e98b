"""The OCR's lines of text and the normalisations every receipt rule uses."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Word:
    """One word as Tesseract placed it: its text, confidence (0..1) and box in page pixels."""

    text: str
    confidence: float
    left: int
    top: int
    right: int
    bottom: int


@dataclass(frozen=True, slots=True)
class Line:
    """One line of recognised text, Tesseract's mean word confidence for it (0..1) and, when it
    came from an image, its words with their boxes (the layout: columns, baselines, sizes)."""

    text: str
    confidence: float = 1.0
    words: tuple[Word, ...] = ()

    @property
    def box(self) -> tuple[int, int, int, int] | None:
        """(left, top, right, bottom) around the line's words; None for text-only lines."""
        if not self.words:
            return None
        return (
            min(w.left for w in self.words),
            min(w.top for w in self.words),
            max(w.right for w in self.words),
            max(w.bottom for w in self.words),
        )

    @property
    def height(self) -> int | None:
        """The median word height: the print size of the line (a shop name is often larger)."""
        if not self.words:
            return None
        heights = sorted(w.bottom - w.top for w in self.words)
        return heights[len(heights) // 2]


def lines_of(text: str) -> list[Line]:
    """Plain text (no confidences) as lines, for callers that only have text."""
    return [Line(raw) for raw in text.splitlines()]


def clean(text: str) -> str:
    return " ".join(text.replace("\u00a0", " ").split())


def fold(text: str) -> str:
    """Lower case without accents: `Rückgeld` → `ruckgeld`, so keywords match however printed."""
    decomposed = unicodedata.normalize("NFKD", text.lower().replace("ß", "ss"))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def letters(text: str, minimum: int) -> bool:
    return sum(c.isalpha() for c in text) >= minimum


def mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def fold_name(text: str) -> str:
    """A name reduced for comparison: lower case, no accents, letters and digits only."""
    return re.sub(r"[^a-z0-9]", "", fold(text))
