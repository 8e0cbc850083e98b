"""A group's activity feed: who created, changed or deleted what, and when."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from domain import ActivityEntry
from domain.clock import to_text
from handlers.access import membership
from handlers.schemas import ERROR, ID, PAGE_QUERY, TIMESTAMP, Schema, page_of, with_user_names
from server.keys import SERVICES, STORE
from server.routing import Api, Reply
from services.people import activity_people

api = Api("activity")

ACTIVITY: Schema = {
    "title": "Activity",
    "type": "object",
    "required": ["id", "at", "actor_id", "action", "subject_id", "details"],
    "additionalProperties": False,
    "properties": {
        "id": ID,
        "at": TIMESTAMP,
        "actor_id": ID,
        "action": {
            "type": "string",
            "enum": [
                "expense.created",
                "expense.updated",
                "expense.deleted",
                "expense.restored",
                "settlement.created",
                "settlement.deleted",
                "settlement.restored",
                "comment.created",
                "comment.deleted",
                "member.joined",
                "member.left",
                "member.removed",
                "invite.revoked",
                "group.owner_changed",
                "member.role_changed",
                "recurring.created",
                "recurring.updated",
                "recurring.deleted",
                "recurring.stopped",
                "group.imported",
            ],
        },
        "subject_id": {
            "type": "string",
            "description": "the expense, transaction (also of a comment), member, invite or recurring "
            "expense",
        },
        "details": {"type": "object", "description": "what changed; for updates field → from/to"},
    },
}


@api.get(
    "/api/groups/{group_id}/activity",
    summary="Everything that happened in the group, newest first",
    query=PAGE_QUERY,
    replies={
        200: Reply(
            "one page of activity, with everyone who acted or was acted on",
            with_user_names(page_of(ACTIVITY)),
        ),
        400: Reply("the cursor is not one this server issued", ERROR),
        404: Reply("no such group, or the caller is not a member", ERROR),
    },
)
async def list_activity(request: web.Request, query: dict[str, Any]) -> web.Response:
    group, _ = await membership(request)
    page = await request.app[STORE].list_activity(group.id, limit=query["limit"], cursor=query.get("cursor"))
    users = await request.app[SERVICES].people.names(activity_people(page.items))
    return web.json_response(
        {"items": [activity_json(e) for e in page.items], "next_cursor": page.next_cursor, "users": users}
    )


def activity_json(entry: ActivityEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "at": to_text(entry.at),
        "actor_id": entry.actor_id,
        "action": entry.action,
        "subject_id": entry.subject_id,
        "details": entry.details,
    }
