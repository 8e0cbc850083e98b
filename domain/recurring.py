"""Recurring expenses: a rule that logs an expense on a schedule (`ledger.recurrence`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from typing import Any
from zoneinfo import ZoneInfo

from domain.clock import to_text

MAX_RECURRING_PER_GROUP = 100
"""Rules a group may have at once; keeps a group's rules one page of any backend's listing."""


@dataclass(frozen=True, slots=True)
class RecurringRule:
    """Logs `expense` (an expense's fields: description, amount and currency, category, `paid`
    and `owed` in minor units by member, the split as the client expressed it, notes) every
    `interval` `every`s from `starts_on` (ISO dates, in the rule's `timezone`), up to `ends_on`
    and `count` occurrences. `next_on` is the date the next occurrence is due, None once the
    rule is finished; `made` counts occurrences made and `last_on` is the latest one's date.
    `stopped` says why the server paused it (`members_left`), None otherwise. Every write bumps
    `version`, the scheduler's included."""

    id: str
    group_id: str
    expense: dict[str, Any]
    every: str
    interval: int
    starts_on: str
    ends_on: str | None
    count: int | None
    timezone: str
    paused: bool
    next_on: str | None
    made: int
    last_on: str | None
    stopped: str | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    version: int

    @property
    def due(self) -> bool:
        """Whether the scheduler should look at it: not paused and not finished."""
        return not self.paused and self.next_on is not None

    @property
    def due_at(self) -> str | None:
        """When the next occurrence falls due, as `to_text` UTC: the start of `next_on` in the
        rule's time zone (None while not due). The scheduler's index is on it."""
        if not self.due or self.next_on is None:
            return None
        start = datetime.combine(date.fromisoformat(self.next_on), time(), ZoneInfo(self.timezone))
        return to_text(start.astimezone(timezone.utc))

    @property
    def status(self) -> str:
        if self.next_on is None:
            return "finished"
        return "paused" if self.paused else "active"
