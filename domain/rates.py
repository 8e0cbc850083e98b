"""Exchange rates as the ECB publishes them: how many units of a currency one euro buys on a day."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

RateSource = Literal["ecb", "imported"]
"""Where a quote came from: fetched from EXCHANGE_RATES_URL (`ecb`) or loaded with
`expense-tracker rates import` (`imported`). An imported quote is an operator's correction: a
fetched one for the same currency and day never replaces it."""

BASE_CURRENCY = "EUR"
"""Every quote is against the euro; a rate between two other currencies goes through it."""


@dataclass(frozen=True, slots=True)
class RateQuote:
    """On `on` (YYYY-MM-DD), one euro was worth `per_euro` units of `currency`: a decimal string
    exactly as published, never a float."""

    currency: str
    on: str
    per_euro: str
    source: RateSource
