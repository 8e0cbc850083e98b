"""A group's chat: members post short text messages and read the history, newest first. Posting
goes through `services.chats`, the same way the WebSocket posts."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from domain.models import MAX_CHAT_MESSAGE_LENGTH
from handlers.access import membership
from handlers.schemas import ERROR, ID, PAGE_QUERY, TIMESTAMP, Schema, page_of, with_user_names
from server.keys import SERVICES, STORE
from server.routing import Api, Reply
from services.payloads import chat_message_json
from services.people import chat_people

api = Api("chats")

TEXT: Schema = {
    "type": "string",
    "minLength": 1,
    "maxLength": MAX_CHAT_MESSAGE_LENGTH,
    "x-trim": True,
    "description": "surrounding whitespace is removed; what remains must not be empty",
}
NEW_CHAT_MESSAGE: Schema = {
    "title": "NewChatMessage",
    "type": "object",
    "required": ["text"],
    "additionalProperties": False,
    "properties": {"text": TEXT},
}
CHAT_MESSAGE: Schema = {
    "title": "ChatMessage",
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
    message = await request.app[SERVICES].chats.post(group.id, me.user_id, body["text"])
    return web.json_response(chat_message_json(message), status=201)


@api.get(
    "/api/groups/{group_id}/chats",
    summary="The group's chat messages, newest first",
    query=PAGE_QUERY,
    replies={
        200: Reply("one page of messages, with their authors", with_user_names(page_of(CHAT_MESSAGE))),
        400: Reply("the cursor is not one this server issued", ERROR),
        404: Reply("no such group, or the caller is not a member", ERROR),
    },
)
async def list_chat_messages(request: web.Request, query: dict[str, Any]) -> web.Response:
    group, _ = await membership(request)
    page = await request.app[STORE].list_chat_messages(
        group.id, limit=query["limit"], cursor=query.get("cursor")
    )
    users = await request.app[SERVICES].people.names(chat_people(page.items))
    return web.json_response(
        {"items": [chat_message_json(m) for m in page.items], "next_cursor": page.next_cursor, "users": users}
    )
