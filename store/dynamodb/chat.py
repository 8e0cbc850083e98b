"""Group chat: messages posted by members only, listed newest first straight off the chats table."""

from __future__ import annotations

from typing import Any

from domain import ChatMessage, Page
from domain.clock import to_text
from store.cursor import encode_cursor, timed_pair
from store.dynamodb.changelog import Logged
from store.dynamodb.client import _Cancelled
from store.dynamodb.connection import _Connection
from store.dynamodb.items import _attrs, _chat_item, _chat_message, _key, _plain
from store.errors import author_not_a_member, chat_message_exists, group_not_found


class _Chat(_Connection):
    """The chat part of the contract."""

    async def create_chat_message(self, message: ChatMessage) -> None:
        try:
            await self._transact_logged(
                message.group_id,
                [
                    {
                        "ConditionCheck": {
                            "TableName": self._groups,
                            "Key": _key(f"GROUP#{message.group_id}", "META"),
                            "ConditionExpression": "attribute_exists(pk)",
                        }
                    },
                    {
                        "ConditionCheck": {
                            "TableName": self._groups,
                            "Key": _key(f"GROUP#{message.group_id}", f"MEMBER#{message.author_id}"),
                            "ConditionExpression": "attribute_exists(pk)",
                        }
                    },
                    {
                        "Put": {
                            "TableName": self._chats,
                            "Item": _attrs(_chat_item(message)),
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                ],
                [Logged("chat", message.id, "upsert", ref=_chat_item(message)["sk"])],
            )
        except _Cancelled as exc:
            if exc.failed(0):
                raise group_not_found() from None
            if exc.failed(1):
                raise author_not_a_member(message.author_id) from None
            raise chat_message_exists() from None

    async def list_chat_messages(
        self, group_id: str, *, limit: int, cursor: str | None = None
    ) -> Page[ChatMessage]:
        params: dict[str, Any] = {
            "TableName": self._chats,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": _attrs({":pk": f"GROUP#{group_id}", ":prefix": "MSG#"}),
            "ScanIndexForward": False,
            "ConsistentRead": True,
            # One extra item tells whether another page exists, as the SQLite backend does.
            "Limit": limit + 1,
        }
        if cursor is not None:
            created_at, message_id = timed_pair("chat", cursor)
            params["ExclusiveStartKey"] = _key(f"GROUP#{group_id}", f"MSG#{created_at}#{message_id}")
        response = await self._call("query", **params)
        messages = [_chat_message(_plain(item)) for item in response.get("Items", [])]
        page = messages[:limit]
        # A page also stops at 1 MB (100 messages of 4000 characters can exceed it): then it is
        # short, and the cursor resumes after its last message.
        more = len(messages) > limit or "LastEvaluatedKey" in response
        next_cursor = None
        if more and page:
            last = page[-1]
            next_cursor = encode_cursor("chat", [to_text(last.created_at), last.id])
        return Page(items=page, next_cursor=next_cursor)
