"""Per-field verdicts: right, null (nothing found) or wrong; null beats wrong for the user."""

from __future__ import annotations

from typing import Any

from ocr.text import fold_name

FIELDS = ("total", "date", "merchant", "currency")


def judge(result: dict[str, Any], truth: dict[str, Any]) -> dict[str, str]:
    """Merchant is right when the extracted name contains the truth's slug (case, accents, spaces
    and punctuation ignored), as bench/ocr_bench.py judges the shared receipts."""
    verdicts: dict[str, str] = {}
    for name in FIELDS:
        got, want = result.get(name), truth.get(name)
        if not got:
            verdicts[name] = "right" if want is None else "null"
        elif name == "merchant":
            verdicts[name] = "right" if want and fold_name(want) in fold_name(got) else "wrong"
        else:
            verdicts[name] = "right" if got == want else "wrong"
    return verdicts
