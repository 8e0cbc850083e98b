"""Recurring expenses on DynamoDB. A group's rules and occurrence keys share a partition of the
groups table of their own (`GROUP#<gid>#RECURRING`: sk `RULE#<rid>` and `OCC#<rid>#<date>`), so
the group's own partition (META and memberships, read whole by several writes) does not grow
with them. A due rule carries `gsi1pk = DUE#<shard>` and `gsi1sk = <due_at>#<rid>`: the
scheduler's look-up is a range query per shard of the groups table's GSI, and a paused or
finished rule drops out of it (a sparse index). META counts the group's rules."""

from __future__ import annotations

import asyncio
import json
import zlib
from datetime import datetime
from typing import Any

from domain import ActivityEntry, Expense, IdempotentReply, NotFound, PreconditionFailed, Unavailable
from domain.clock import to_text
from domain.recurring import MAX_RECURRING_PER_GROUP, RecurringRule
from store.base import BalanceDeltas, SpendingDeltas
from store.dynamodb.changelog import Logged
from store.dynamodb.client import _Cancelled
from store.dynamodb.idempotency import _record_reply
from store.dynamodb.items import DELETING, NOT_DELETING, _attrs, _expense_item, _key, _plain
from store.dynamodb.ledger import _Ledger
from store.dynamodb.tables import USER_GROUPS_INDEX
from store.errors import group_not_found, in_progress
from store.recurring import (
    occurrence_exists,
    recurring_not_found,
    rule_data,
    rule_from_data,
    too_many_recurring,
)

DUE_SHARDS = 4
"""Partitions of the due index: the scheduler queries each (side by side) on every pass."""


def _pk(group_id: str) -> str:
    return f"GROUP#{group_id}#RECURRING"


def _rule_item(rule: RecurringRule) -> dict[str, Any]:
    item: dict[str, Any] = {
        "pk": _pk(rule.group_id),
        "sk": f"RULE#{rule.id}",
        "data": json.dumps(rule_data(rule), separators=(",", ":")),
        "version": rule.version,
    }
    due_at = rule.due_at
    if due_at is not None:
        item["gsi1pk"] = f"DUE#{zlib.crc32(rule.id.encode()) % DUE_SHARDS}"
        item["gsi1sk"] = f"{due_at}#{rule.id}"
    return item


def _stale(expected: int, old: dict[str, Any] | None) -> Exception:
    """Why a versioned action on a rule failed: it is gone, or at another version."""
    if old is None:
        return recurring_not_found()
    current = int(old["version"])
    return PreconditionFailed(
        f"it was changed meanwhile: you sent version {expected}, it is now {current}",
        details={"current_version": current},
    )


class _Recurring(_Ledger):
    """The recurring-expense part of the contract."""

    def _versioned_rule(
        self, kind: str, rule_key: dict[str, Any], expected: int, item: Any
    ) -> dict[str, Any]:
        action: dict[str, Any] = {
            "TableName": self._groups,
            "ConditionExpression": "#version = :expected",
            "ExpressionAttributeNames": {"#version": "version"},
            "ExpressionAttributeValues": _attrs({":expected": expected}),
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        if item is None:
            action["Key"] = rule_key
        else:
            action["Item"] = _attrs(item)
        return {kind: action}

    def _count_rules(self, group_id: str, activity: ActivityEntry, step: int) -> dict[str, Any]:
        """META's Update counting the group's rules (refusing the one past the limit), stamping
        its latest activity, on condition the group exists and is not being deleted."""
        condition = f"attribute_exists(pk) AND {NOT_DELETING}"
        if step > 0:
            condition += " AND (attribute_not_exists(recurring_count) OR recurring_count < :limit)"
        values: dict[str, Any] = {":step": step, ":zero": 0, ":at": to_text(activity.at)}
        if step > 0:
            values[":limit"] = MAX_RECURRING_PER_GROUP
        return {
            "Update": {
                "TableName": self._groups,
                "Key": _key(f"GROUP#{group_id}", "META"),
                "UpdateExpression": "SET recurring_count = if_not_exists(recurring_count, :zero) + :step, "
                "last_activity_at = :at",
                "ConditionExpression": condition,
                "ExpressionAttributeValues": _attrs(values),
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }

    async def create_recurring(
        self, rule: RecurringRule, *, activity: ActivityEntry, reply: IdempotentReply | None = None
    ) -> None:
        actions = [
            {
                "Put": {
                    "TableName": self._groups,
                    "Item": _attrs(_rule_item(rule)),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            self._count_rules(rule.group_id, activity, 1),
            self._log(activity),
        ]
        if reply is not None:
            actions.append(_record_reply(self._users, reply))
        try:
            await self._transact(actions)
        except _Cancelled as exc:
            if exc.failed(1):
                meta = exc.old_item(1)
                if meta is None or DELETING in meta:
                    raise group_not_found() from None
                raise too_many_recurring() from None
            if reply is not None and exc.failed(3):
                raise in_progress() from None
            raise Unavailable(f"DynamoDB transaction cancelled: {exc.reasons}") from None

    async def get_recurring(self, group_id: str, rule_id: str) -> RecurringRule:
        item = await self._get(self._groups, _key(_pk(group_id), f"RULE#{rule_id}"))
        if item is None:
            raise recurring_not_found()
        return rule_from_data(json.loads(item["data"]))

    async def list_recurring(self, group_id: str) -> list[RecurringRule]:
        response = await self._call(
            "query",
            TableName=self._groups,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :rule)",
            ExpressionAttributeValues=_attrs({":pk": _pk(group_id), ":rule": "RULE#"}),
            ConsistentRead=True,
            Limit=MAX_RECURRING_PER_GROUP,
        )
        return [rule_from_data(json.loads(_plain(item)["data"])) for item in response.get("Items", [])]

    async def update_recurring(
        self, rule: RecurringRule, *, expected_version: int, activity: ActivityEntry
    ) -> None:
        key = _key(_pk(rule.group_id), f"RULE#{rule.id}")
        await self._rule_write(
            self._versioned_rule("Put", key, expected_version, _rule_item(rule)),
            expected_version,
            rule.group_id,
            activity,
            step=0,
        )

    async def delete_recurring(
        self, group_id: str, rule_id: str, *, expected_version: int, activity: ActivityEntry
    ) -> None:
        key = _key(_pk(group_id), f"RULE#{rule_id}")
        await self._rule_write(
            self._versioned_rule("Delete", key, expected_version, None),
            expected_version,
            group_id,
            activity,
            step=-1,
        )

    async def _rule_write(
        self, action: dict[str, Any], expected: int, group_id: str, activity: ActivityEntry, *, step: int
    ) -> None:
        """The versioned `action` on a rule with META's count moved by `step` and `activity`."""
        try:
            await self._transact([action, self._count_rules(group_id, activity, step), self._log(activity)])
        except _Cancelled as exc:
            if exc.failed(0):
                raise _stale(expected, exc.old_item(0)) from None
            if exc.failed(1):
                raise group_not_found() from None
            raise Unavailable(f"DynamoDB transaction cancelled: {exc.reasons}") from None

    async def due_recurring(self, now: datetime, *, limit: int) -> list[RecurringRule]:
        async def shard(number: int) -> list[RecurringRule]:
            response = await self._call(
                "query",
                TableName=self._groups,
                IndexName=USER_GROUPS_INDEX,
                KeyConditionExpression="gsi1pk = :shard AND gsi1sk <= :until",
                ExpressionAttributeValues=_attrs({":shard": f"DUE#{number}", ":until": f"{to_text(now)}#~"}),
                Limit=limit,
            )
            return [rule_from_data(json.loads(_plain(item)["data"])) for item in response.get("Items", [])]

        found = [rule for rules in await asyncio.gather(*map(shard, range(DUE_SHARDS))) for rule in rules]
        found.sort(key=lambda rule: (rule.due_at or "", rule.id))
        return found[:limit]

    async def create_occurrence(
        self,
        expense: Expense,
        rule: RecurringRule,
        *,
        expected_version: int,
        deltas: BalanceDeltas,
        activity: ActivityEntry,
        spending: SpendingDeltas | None = None,
    ) -> None:
        pk = _pk(rule.group_id)
        advance = self._versioned_rule("Put", _key(pk, f"RULE#{rule.id}"), expected_version, _rule_item(rule))
        occurrence = {
            "Put": {
                "TableName": self._groups,
                "Item": _attrs({"pk": pk, "sk": f"OCC#{rule.id}#{expense.date}", "expense_id": expense.id}),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }
        record = {
            "Put": {
                "TableName": self._expenses,
                "Item": _attrs(_expense_item(expense)),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }
        try:
            await self._ledger_write(
                expense.group_id,
                record,
                what="expense",
                expected_version=None,
                deltas=deltas,
                members=[*expense.participants, expense.created_by],
                activity=activity,
                change=Logged("expense", expense.id, "upsert", expense.version),
                spending=spending,
                extra=[
                    (advance, lambda old: _stale(expected_version, old)),
                    (occurrence, lambda _: occurrence_exists(rule.id, expense.date)),
                ],
            )
        except NotFound:
            # The rule is there (its condition held) but its group is not: a deletion cut short
            # before it cleared the rules. Clear them, so no pass comes back to them.
            if await self._get(self._groups, _key(f"GROUP#{rule.group_id}", "META")) is None:
                await self._delete_partition(self._groups, pk)
            raise
