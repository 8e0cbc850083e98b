"""What both backends share about recurring expenses: a rule as plain data (SQLite keeps it as
JSON, DynamoDB as an item's attributes) and the errors they raise for the same broken rule."""

from __future__ import annotations

from typing import Any

from domain import Conflict, NotFound
from domain.clock import from_text, to_text
from domain.recurring import MAX_RECURRING_PER_GROUP, RecurringRule

_PLAIN = (
    "id", "group_id", "expense", "every", "interval", "starts_on", "ends_on", "count", "timezone",
    "paused", "next_on", "made", "last_on", "stopped", "created_by", "version",
)  # fmt: skip


def rule_data(rule: RecurringRule) -> dict[str, Any]:
    """`rule` as JSON-ready data (times as `to_text` strings)."""
    data = {name: getattr(rule, name) for name in _PLAIN}
    data["created_at"] = to_text(rule.created_at)
    data["updated_at"] = to_text(rule.updated_at)
    return data


def rule_from_data(data: dict[str, Any]) -> RecurringRule:
    """The rule `rule_data` made `data` from. Numbers may come back as Decimal (DynamoDB)."""
    count = data.get("count")
    return RecurringRule(
        id=data["id"],
        group_id=data["group_id"],
        expense=data["expense"],
        every=data["every"],
        interval=int(data["interval"]),
        starts_on=data["starts_on"],
        ends_on=data.get("ends_on"),
        count=None if count is None else int(count),
        timezone=data["timezone"],
        paused=bool(data["paused"]),
        next_on=data.get("next_on"),
        made=int(data["made"]),
        last_on=data.get("last_on"),
        stopped=data.get("stopped"),
        created_by=data["created_by"],
        created_at=from_text(data["created_at"]),
        updated_at=from_text(data["updated_at"]),
        version=int(data["version"]),
    )


def recurring_not_found() -> NotFound:
    return NotFound("recurring expense not found")


def too_many_recurring() -> Conflict:
    return Conflict(
        f"a group has at most {MAX_RECURRING_PER_GROUP} recurring expenses; delete one first",
        code="too_many_recurring",
        details={"limit": MAX_RECURRING_PER_GROUP},
    )


def occurrence_exists(rule_id: str, on: str) -> Conflict:
    """The occurrence of `rule_id` on `on` was made already (by this or another instance)."""
    return Conflict(
        "this occurrence of the recurring expense was made already",
        code="occurrence_exists",
        details={"recurring_id": rule_id, "date": on},
    )
