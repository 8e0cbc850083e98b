"""The clock, and timestamps as fixed-width UTC strings, so that string order is time order in every
backend. Code that needs "now" takes a `Clock` (default `utc_now`) so tests can set the time instead of
sleeping."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

Clock = Callable[[], datetime]
"""Returns the current moment, timezone-aware in UTC."""


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def to_text(moment: datetime) -> str:
    if moment.tzinfo is not timezone.utc:
        moment = moment.astimezone(timezone.utc)
    return f"{moment.isoformat(timespec='microseconds')[:-6]}Z"


def from_text(text: str) -> datetime:
    return datetime.fromisoformat(text)
