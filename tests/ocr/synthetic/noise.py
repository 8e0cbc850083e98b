"""OCR-like damage to a receipt's text: look-alike characters (O/0, l/1, S/5, B/8), a decimal
separator read as a space or lost, separator rules dropped. Seeded, so a failure reproduces."""

from __future__ import annotations

import random
import re

_LOOKALIKES = {"0": "O", "O": "0", "1": "l", "l": "1", "I": "1", "5": "S", "S": "5", "8": "B", "B": "8"}


def ocr_noise(lines: list[str], seed: int, rate: float = 0.08) -> list[str]:
    """The lines as a middling OCR reads them: about `rate` of characters that have a look-alike
    are swapped, some amounts lose or split their decimal separator, some rules vanish."""
    rng = random.Random(seed)
    damaged: list[str] = []
    for line in lines:
        if re.fullmatch(r"[-=]{8,}", line) and rng.random() < 0.5:
            continue
        chars = [_LOOKALIKES[c] if c in _LOOKALIKES and rng.random() < rate else c for c in line]
        text = "".join(chars)
        if rng.random() < rate:
            text = re.sub(r"(\d)[.,](\d\d)(?!\d)", rng.choice((r"\1 \2", r"\1. \2", r"\1\2")), text, count=1)
        damaged.append(text)
    return damaged
