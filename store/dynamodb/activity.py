"""A group's activity log, newest first (written by other methods, inside their transactions)."""

from __future__ import annotations

from typing import Any

from domain import ActivityEntry, Page
from domain.clock import to_text
from store.cursor import cursor_pair, decode_cursor, encode_cursor
from store.dynamodb.connection import _Connection
from store.dynamodb.items import _activity, _attrs, _key, _plain


class _Activity(_Connection):
    """The activity part of the contract."""

    async def list_activity(
        self, group_id: str, *, limit: int, cursor: str | None = None
    ) -> Page[ActivityEntry]:
        params: dict[str, Any] = {
            "TableName": self._expenses,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": _attrs({":pk": f"GROUP#{group_id}", ":prefix": "ACT#"}),
            "ScanIndexForward": False,
            "ConsistentRead": True,
            "Limit": limit + 1,
        }
        if cursor is not None:
            at, entry_id = cursor_pair(decode_cursor("activity", cursor))
            params["ExclusiveStartKey"] = _key(f"GROUP#{group_id}", f"ACT#{at}#{entry_id}")
        response = await self._call("query", **params)
        entries = [_activity(_plain(item)) for item in response.get("Items", [])]
        next_cursor = None
        if len(entries) > limit:
            last = entries[limit - 1]
            next_cursor = encode_cursor("activity", [to_text(last.at), last.id])
        return Page(items=entries[:limit], next_cursor=next_cursor)
