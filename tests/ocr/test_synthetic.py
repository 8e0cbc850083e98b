"""Extraction on the synthetic corpus, per country: floors at the measured level minus a margin
(regression guards, not goals; raise them when the rules improve)."""

from __future__ import annotations

import asyncio
import shutil
from collections import Counter, defaultdict
from datetime import date

import pytest

from ocr.extract import extract, lines_of
from ocr.pool import OcrPool
from tests.ocr.synthetic import COUNTRIES, generate, judge
from tests.ocr.synthetic.noise import ocr_noise
from tests.ocr.synthetic.render import degrade

RECEIPTS = 1000
TODAY = date(2026, 6, 1)
MARGIN = 5  # percentage points below the level measured on main (issue 15, before the new rules)

# (total, date, merchant) in % on clean text, then on OCR-noised text, measured on main 7980987.
CLEAN = {
    "DE": (100, 100, 100), "MY": (88, 100, 100), "SG": (96, 95, 100), "US": (100, 84, 100),
    "US-rest": (100, 86, 84), "UK": (100, 100, 100), "IN": (90, 100, 100), "FR": (84, 100, 100),
    "ES": (100, 100, 100), "JP": (0, 69, 100),
}  # fmt: skip
NOISY = {
    "DE": (90, 95, 84), "MY": (66, 96, 90), "SG": (84, 92, 82), "US": (86, 80, 86),
    "US-rest": (78, 84, 67), "UK": (84, 94, 71), "IN": (68, 97, 82), "FR": (59, 94, 81),
    "ES": (84, 100, 94), "JP": (0, 69, 78),
}  # fmt: skip


def _accuracy(noisy: bool) -> dict[str, tuple[int, ...]]:
    right: dict[str, Counter[str]] = defaultdict(Counter)
    seen: Counter[str] = Counter()
    for seed in range(RECEIPTS):
        receipt = generate(seed)
        lines = ocr_noise(receipt.lines, seed) if noisy else receipt.lines
        result = extract(lines_of("\n".join(lines)), today=TODAY).to_json()
        seen[receipt.country] += 1
        for name, verdict in judge(result, receipt.truth).items():
            right[receipt.country][name] += verdict == "right"
    return {
        c: tuple(round(100 * right[c][f] / seen[c]) for f in ("total", "date", "merchant")) for c in COUNTRIES
    }


@pytest.mark.parametrize("noisy", [False, True], ids=["clean", "ocr-noise"])
def test_text_level_accuracy_per_country_holds(noisy: bool) -> None:
    measured = _accuracy(noisy)
    floors = NOISY if noisy else CLEAN
    below = {
        country: (got, floors[country])
        for country, got in measured.items()
        if any(g < f - MARGIN for g, f in zip(got, floors[country], strict=True))
    }
    assert not below, f"(measured, floor+margin) per country: {below}"


def test_generation_is_deterministic_and_truth_is_exact() -> None:
    assert generate(7).lines == generate(7).lines
    for seed in range(50):
        receipt = generate(seed)
        decimals = 0 if receipt.truth["currency"] == "JPY" else 2  # the currency's ISO 4217 exponent
        assert len(receipt.truth["total"].partition(".")[2]) == decimals
        assert receipt.truth["merchant"]


# Eight rendered receipts (DE, MY, SG, US, US-rest, UK, IN, FR), degraded like scans and photos,
# through the real tesseract; right counts of 8 measured, minus one (on 7980987: 5, 7, 6; since
# the crop keeps a tilted paper's outer columns and the paper's edge lines are cleared: 8, 7, 8).
IMAGE_SEEDS = range(200_000, 200_008)
IMAGE_FLOORS = {"total": 7, "date": 6, "merchant": 7}
OPTIONS = {"languages": "eng+deu", "max_pixels": 40_000_000, "tesseract_cmd": "tesseract"}


@pytest.mark.skipif(shutil.which("tesseract") is None, reason="needs tesseract")
async def test_rendered_receipts_through_tesseract_hold_their_floors() -> None:
    receipts = [generate(seed) for seed in IMAGE_SEEDS]
    pool = OcrPool(size=2, queue_size=len(receipts), timeout=60, options=OPTIONS)
    await pool.start()
    try:
        results = await asyncio.gather(*(pool.run(degrade(r.render(), r.seed, 0.6)) for r in receipts))
    finally:
        await pool.close()
    right: Counter[str] = Counter()
    for receipt, result in zip(receipts, results, strict=True):
        right.update(name for name, v in judge(result, receipt.truth).items() if v == "right")
    assert all(right[f] >= floor for f, floor in IMAGE_FLOORS.items()), dict(right)
