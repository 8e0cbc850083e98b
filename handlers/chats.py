"""A group's chat: members post short text messages and read the history, newest first.

`post_message` is the one way a message is made, whatever the transport (REST here, the WebSocket
in the realtime layer): it validates, persists and then publishes, so every path enforces the same
rules and nobody is told of a message that was not stored.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from domain import ChatMessage, Invalid
from domain.clock import to_text, utc_now
from domain.ids import new_id
from domain.models import MAX_CHAT_MESSAGE_LENGTH
from handlers.access import membership
from handlers.schemas import ERROR, ID, PAGE_QUERY, TIMESTAMP, Schema, page_of
from realtime.events import group_channel, publish
from server.keys import STORE
from server.routing import Api, Reply

api = Api("chats")

TEXT: Schema = {
    "type": "string",
    "minLength": 1,
    "maxLength": MAX_CHAT_MESSAGE_LENGTH,
    "x-trim": True,
    "description": "surrounding whitespace is removed; what remains must not be empty",
}
NEW_CHAT_MESSAGE: Schema = {
    "type": "object",
    "required": ["text"],
    "additionalProperties": False,
    "properties": {"text": TEXT},
}
CHAT_MESSAGE: Schema = {
    "type": "object",
    "required": ["id", "group_id", "author_id", "text", "created_at"],
    "additionalProperties": False,
    "properties": {
        "id": ID,
        "group_id": ID,
        "author_id": ID,
        "text": {"type": "string", "minLength": 1, "maxLength": MAX_CHAT_MESSAGE_LENGTH},
        "created_at": TIMESTAMP,
    },
}


async def post_message(app: web.Application, group_id: str, author_id: str, text: object) -> ChatMessage:
    """Validate `text` (trimmed, then 1..MAX_CHAT_MESSAGE_LENGTH characters), store it as a new
    message of `author_id` in `group_id`, then publish it, and return it.

    Raises Invalid (field `text`) for a bad text; from the store, NotFound (no such group) or
    Conflict `not_a_member` when the author is not a member at the moment of the write (the
    membership check is part of the write, so someone who just left cannot slip a message in)."""
    message = ChatMessage(
        id=new_id(),
        group_id=group_id,
        author_id=author_id,
        text=message_text(text),
        created_at=utc_now(),
    )
    await app[STORE].create_chat_message(message)
    await publish_committed_message(app, message)
    return message


async def publish_committed_message(app: web.Application, message: ChatMessage) -> None:
    """Publish-after-commit hook: called by `post_message` once `message` is durably stored, and
    only then, so subscribers never hear of a message that a reload would not show. The realtime
    layer fans it out to the group's subscribers from here; until it does, nobody is listening."""
    publish(app, group_channel(message.group_id), "chat.message", chat_message_json(message))


def message_text(text: Any) -> str:
    """The text to store: trimmed, 1..MAX_CHAT_MESSAGE_LENGTH characters (the REST schema says the
    same; this covers callers that bypass it)."""
    if not isinstance(text, str):
        raise Invalid(
            "request body is invalid", details=[{"field": "text", "message": "must be of type string"}]
        )
    trimmed = text.strip()
    if not 1 <= len(trimmed) <= MAX_CHAT_MESSAGE_LENGTH:
        raise Invalid(
            "request body is invalid",
            details=[{"field": "text", "message": f"must be 1-{MAX_CHAT_MESSAGE_LENGTH} characters long"}],
        )
    return trimmed


@api.post(
    "/api/groups/{group_id}/chats",
    summary="Post a message to the group's chat",
    body=NEW_CHAT_MESSAGE,
    replies={
        201: Reply("the message as stored", CHAT_MESSAGE),
        404: Reply("no such group, or the caller is not a member", ERROR),
        409: Reply("the caller left the group meanwhile", ERROR),
    },
)
async def create_chat_message(request: web.Request, body: dict[str, Any]) -> web.Response:
    group, me = await membership(request)
    message = await post_message(request.app, group.id, me.user_id, body["text"])
    return web.json_response(chat_message_json(message), status=201)


@api.get(
    "/api/groups/{group_id}/chats",
    summary="The group's chat messages, newest first",
    query=PAGE_QUERY,
    replies={
        200: Reply("one page of messages", page_of(CHAT_MESSAGE)),
        400: Reply("the cursor is not one this server issued", ERROR),
        404: Reply("no such group, or the caller is not a member", ERROR),
    },
)
async def list_chat_messages(request: web.Request, query: dict[str, Any]) -> web.Response:
    group, _ = await membership(request)
    page = await request.app[STORE].list_chat_messages(
        group.id, limit=query["limit"], cursor=query.get("cursor")
    )
    return web.json_response(
        {"items": [chat_message_json(m) for m in page.items], "next_cursor": page.next_cursor}
    )


def chat_message_json(message: ChatMessage) -> dict[str, Any]:
    return {
        "id": message.id,
        "group_id": message.group_id,
        "author_id": message.author_id,
        "text": message.text,
        "created_at": to_text(message.created_at),
    }
