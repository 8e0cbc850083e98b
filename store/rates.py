"""What both backends share about a group's own exchange rates: each one as plain data (SQLite
keeps the list as JSON on the group's row, DynamoDB as a list on its META item)."""

from __future__ import annotations

import dataclasses
from typing import Any

from domain.clock import from_text, to_text
from domain.rates import GroupRate


def group_rate_data(rate: GroupRate) -> dict[str, Any]:
    return {**dataclasses.asdict(rate), "set_at": to_text(rate.set_at)}


def group_rate_from_data(data: dict[str, Any]) -> GroupRate:
    """The rate `group_rate_data` made `data` from. Numbers may come back as Decimal (DynamoDB)."""
    return GroupRate(**{**data, "set_at": from_text(data["set_at"]), "version": int(data["version"])})
