"""The caller's notifications (issue 14 part 5): what other people did that concerns them, newest
first, and marking them read."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from handlers.schemas import ERROR, ID, PAGE_QUERY, TIMESTAMP, Schema, page_of
from server.keys import CLAIMS, SERVICES
from server.routing import Api, Reply
from services.notifications import notification_json

api = Api("notifications")

UNREAD_COUNT: Schema = {
    "type": "integer",
    "minimum": 0,
    "description": "how many of the caller's notifications are unread (newer than the last `read`)",
}

NOTIFICATION: Schema = {
    "title": "Notification",
    "type": "object",
    "required": ["id", "kind", "actor", "summary", "link", "created_at", "read"],
    "additionalProperties": False,
    "properties": {
        "id": {**ID, "description": "time-ordered: a later notification has a greater id"},
        "kind": {
            "type": "string",
            "description": (
                "`expense.created`, `expense.updated`, `expense.deleted`, `expense.restored`, "
                "`settlement.created`, `settlement.deleted`, `settlement.restored`, "
                "`comment.created`, `group.added` (someone added you as a friend)"
            ),
        },
        "actor": {
            "type": "object",
            "required": ["id", "name"],
            "additionalProperties": False,
            "properties": {"id": ID, "name": {"type": "string", "description": "as it was then"}},
        },
        "summary": {"type": "string", "description": "one sentence to show as it is"},
        "link": {
            "type": "object",
            "required": ["kind", "group_id"],
            "additionalProperties": False,
            "description": "what it is about: open the group's expense, settlement or comment",
            "properties": {
                "kind": {"type": "string", "enum": ["expense", "settlement", "comment", "group"]},
                "group_id": ID,
                "expense_id": ID,
                "settlement_id": ID,
                "comment_id": ID,
            },
        },
        "created_at": TIMESTAMP,
        "read": {"type": "boolean"},
    },
}

_PAGE: Schema = page_of(NOTIFICATION)
_PAGE = {
    **_PAGE,
    "required": [*_PAGE["required"], "unread_count"],
    "properties": {**_PAGE["properties"], "unread_count": UNREAD_COUNT},
}

READ_BODY: Schema = {
    "title": "MarkRead",
    "type": "object",
    "required": ["up_to"],
    "additionalProperties": False,
    "properties": {"up_to": {**ID, "description": "this notification and every older one become read"}},
}


@api.get(
    "/api/notifications",
    summary="The caller's notifications, newest first",
    query=PAGE_QUERY,
    description=(
        "What other people did that concerns you: added you as a friend; added, changed, deleted or "
        "restored an expense you are in; recorded, deleted or restored a payment to or from you; "
        "commented on an expense or payment you take part in or commented on. Never your own "
        "actions. New ones also arrive as `notification.created` on your channel and by Web Push."
    ),
    replies={200: Reply("one page, with the unread count", _PAGE), 400: Reply("`invalid_cursor`", ERROR)},
)
async def list_notifications(request: web.Request, query: dict[str, Any]) -> web.Response:
    page, state = await request.app[SERVICES].notifications.page(
        request[CLAIMS].user_id, limit=query["limit"], cursor=query.get("cursor")
    )
    return web.json_response(
        {
            "items": [notification_json(n, state) for n in page.items],
            "next_cursor": page.next_cursor,
            "unread_count": state.unread,
        }
    )


@api.post(
    "/api/notifications/read",
    summary="Mark a notification and every older one read",
    body=READ_BODY,
    description="Idempotent: marking one that is already read (or an older one) changes nothing.",
    replies={
        200: Reply(
            "the unread count now",
            {
                "type": "object",
                "required": ["unread_count"],
                "additionalProperties": False,
                "properties": {"unread_count": UNREAD_COUNT},
            },
        ),
        404: Reply("none of your notifications has this id", ERROR),
    },
)
async def mark_read(request: web.Request, body: dict[str, Any]) -> web.Response:
    state = await request.app[SERVICES].notifications.mark_read(request[CLAIMS].user_id, body["up_to"])
    return web.json_response({"unread_count": state.unread})
