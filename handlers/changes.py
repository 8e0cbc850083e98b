"""The changes feed of a group (issue 14): `GET /api/groups/{group_id}/changes?cursor=`."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from handlers.access import membership
from handlers.schemas import ERROR, ID, USER_NAMES, Schema
from server.keys import SERVICES
from server.routing import Api, Reply

api = Api("changes")

CHANGE: Schema = {
    "type": "object",
    "required": ["kind", "id", "op", "version"],
    "additionalProperties": False,
    "properties": {
        "kind": {"type": "string", "enum": ["group", "member", "expense", "settlement", "chat", "comment"]},
        "id": {**ID, "description": "the record's id (a member's user id)"},
        "op": {"type": "string", "enum": ["upsert", "delete"]},
        "version": {
            "type": ["integer", "null"],
            "description": "the record's version, for records that have one (groups, expenses, settlements)",
        },
        "data": {
            "type": "object",
            "description": (
                "for an upsert: the record as its REST read returns it (a group as GET "
                "/api/groups/{id}, a member as in its `members`, an expense or settlement as in "
                "their lists, a chat message as in the chat list, a comment as in its subject's "
                "comments); absent for a delete"
            ),
        },
    },
}

CHANGES_PAGE: Schema = {
    "type": "object",
    "required": ["changes", "next_cursor", "has_more", "users"],
    "additionalProperties": False,
    "properties": {
        "changes": {"type": "array", "items": CHANGE},
        "next_cursor": {
            "type": "string",
            "description": "where to read on from next time (also when `changes` is empty): keep it",
        },
        "has_more": {"type": "boolean", "description": "more changes are waiting: ask again at once"},
        "users": USER_NAMES,
    },
}

CHANGES_QUERY: Schema = {
    "type": "object",
    "properties": {
        "limit": {"type": "integer", "minimum": 1, "maximum": 500, "default": 100},
        "cursor": {
            "type": "string",
            "minLength": 1,
            "maxLength": 512,
            "description": (
                "the `next_cursor` of the previous answer; leave it out to get a cursor for now "
                "(then do one full read) and no changes"
            ),
        },
    },
}


@api.get(
    "/api/groups/{group_id}/changes",
    summary="What changed in the group since a cursor, in commit order (offline sync)",
    description=(
        "Every change to the group, its members, expenses, settlements and chat since `cursor`, "
        "oldest first. Each record appears once per page, at its last change there, with its "
        "current body; apply the changes in order (upsert replaces the whole record, delete "
        "removes it) and keep `next_cursor`. Without a cursor: no changes and a cursor for now. "
        "Durable: a client offline for months catches up page by page."
    ),
    query=CHANGES_QUERY,
    replies={
        200: Reply("one page of changes", CHANGES_PAGE),
        400: Reply("the cursor is not one this group's feed issued (`invalid_cursor`)", ERROR),
        404: Reply("no such group, or the caller is not a member", ERROR),
    },
)
async def list_changes(request: web.Request, query: dict[str, Any]) -> web.Response:
    group, member = await membership(request)
    page = await request.app[SERVICES].changes.page(group, member.role, query.get("cursor"), query["limit"])
    return web.json_response(page)
