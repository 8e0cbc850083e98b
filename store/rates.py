"""What both backends share about a group's own exchange rates: each one as plain data (SQLite
keeps the list as JSON on the group's row, DynamoDB as a list on its META item)."""

from __future__ import annotations

from typing import Any

from domain.clock import from_text, to_text
from domain.rates import GroupRate


def group_rate_data(rate: GroupRate) -> dict[str, Any]:
    return {
        "source": rate.source,
        "target": rate.target,
        "rate": rate.rate,
        "set_by": rate.set_by,
        "set_at": to_text(rate.set_at),
        "version": rate.version,
    }


def group_rate_from_data(data: dict[str, Any]) -> GroupRate:
    """The rate `group_rate_data` made `data` from. Numbers may come back as Decimal (DynamoDB)."""
    return GroupRate(
        source=data["source"],
        target=data["target"],
        rate=data["rate"],
        set_by=data["set_by"],
        set_at=from_text(data["set_at"]),
        version=int(data["version"]),
    )
