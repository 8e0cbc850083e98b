"""Exchange rates as the ECB publishes them: how many units of a currency one euro buys on a day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
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


MAX_GROUP_RATES = 50
"""Exchange rates a group may set for itself (one per pair of currencies)."""


@dataclass(frozen=True, slots=True)
class GroupRate:
    """A group's own rate: 1 `source` = `rate` `target` (a decimal string), set by a member. It
    applies both ways (the other way at 1 / rate) and wins over the ECB's for that pair, on any
    day. `version` counts its changes, for If-Match."""

    source: str
    target: str
    rate: str
    set_by: str
    set_at: datetime
    version: int
