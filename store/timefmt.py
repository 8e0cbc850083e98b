"""Timestamps as fixed-width UTC strings, so that string order is time order in every backend."""
from __future__ import annotations

from datetime import datetime, timezone

def to_text(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def from_text(text: str) -> datetime:
    return datetime.fromisoformat(text)


def utc_now() -> datetime:
    return datetime.now(timezone.utc)
