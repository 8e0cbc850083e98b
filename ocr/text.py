"""The OCR's lines of text and the normalisations every receipt rule uses."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Line:
    """One line of recognised text and Tesseract's mean word confidence for it (0..1)."""

    text: str
    confidence: float = 1.0


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
