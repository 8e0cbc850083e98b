"""Timestamps as fixed-width UTC strings, so that string order is time order in every backend."""
from __future__ import annotations

from datetime import datetime, timezone


def to_text(moment: datetime) -> str:
    if moment.tzinfo is not timezone.utc:
        moment = moment.astimezone(timezone.utc)
    return f"{moment.isoformat(timespec='microseconds')[:-6]}Z"


def from_text(text: str) -> datetime:
    return datetime.fromisoformat(text)


def utc_now() -> datetime:
    return datetime.now(timezone.utc)
