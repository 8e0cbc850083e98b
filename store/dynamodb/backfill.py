"""`expense-tracker backfill`: the ever-member items (`PERSON#<uid>`) of data written before they
existed. Every current membership and everyone named in an expense or settlement gets one (the
SQLite store's migration 6 does the same for `group_people`). An offline upgrade step, so it may
scan: it reads each table once, page by page, and is safe to run again or while serving (a put
never replaces an item a membership wrote meanwhile). `all_group_ids`, for `expense-tracker
check`, scans too."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import Any

from store.dynamodb.client import _call, _client, _ConditionFailed
from store.dynamodb.items import _attrs, _person_put, _plain
from store.settings import DynamoDBSettings


async def backfill_people(settings: DynamoDBSettings) -> int:
    """Write every missing ever-member item; returns how many it wrote."""
    written = 0
    async with _client(settings) as client:
        seen: set[tuple[str, str]] = set()

        async def record(group_id: str, user_ids: Iterable[str], since: str) -> None:
            nonlocal written
            for user_id in user_ids:
                if (group_id, user_id) in seen:
                    continue
                seen.add((group_id, user_id))
                put = _person_put(settings.groups_table, group_id, user_id, since)["Put"]
                try:
                    await _call(client, "put_item", **put, ConditionExpression="attribute_not_exists(pk)")
                    written += 1
                except _ConditionFailed:
                    pass  # already there: written by a membership, or by an earlier run

        async for item in _scan(client, settings.groups_table, "MEMBER#"):
            await record(item["group_id"], [item["user_id"]], item["joined_at"])
        async for item in _scan(client, settings.expenses_table, "EXP#"):
            people = sorted(set(item.get("paid") or {}) | set(item.get("owed") or {}))
            await record(item["group_id"], people, item["created_at"])
        async for item in _scan(client, settings.transactions_table, "TXN#"):
            await record(item["group_id"], [item["from_user"], item["to_user"]], item["created_at"])
    return written


async def all_group_ids(settings: DynamoDBSettings) -> list[str]:
    """Every group's id, from its META item (`expense-tracker check`, offline upkeep: a Scan)."""
    async with _client(settings) as client:
        metas = [item async for item in _scan(client, settings.groups_table, "META")]
    return sorted(str(m["id"]) for m in metas if m["sk"] == "META" and m["pk"] == f"GROUP#{m.get('id')}")


async def _scan(client: Any, table: str, sk_prefix: str) -> AsyncIterator[dict[str, Any]]:
    """Every item of `table` whose sort key starts with `sk_prefix`, one page at a time."""
    params: dict[str, Any] = {
        "TableName": table,
        "FilterExpression": "begins_with(sk, :prefix)",
        "ExpressionAttributeValues": _attrs({":prefix": sk_prefix}),
    }
    while True:
        page = await _call(client, "scan", **params)
        for item in page.get("Items", []):
            yield _plain(item)
        if "LastEvaluatedKey" not in page:
            return
        params["ExclusiveStartKey"] = page["LastEvaluatedKey"]
