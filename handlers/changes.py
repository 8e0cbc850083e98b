"""The changes feeds (issue 14): a group's, `GET /api/groups/{group_id}/changes?cursor=`, and the
caller's own, `GET /api/user/changes?cursor=`."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from handlers.access import membership
from handlers.schemas import ERROR, ID, USER_NAMES, Schema
from server.keys import CLAIMS, SERVICES
from server.routing import Api, Reply

api = Api("changes")

CHANGE: Schema = {
    "title": "Change",
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
    "title": "ChangesPage",
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


USER_CHANGE: Schema = {
    "title": "UserChange",
    "type": "object",
    "required": ["kind", "id", "op"],
    "additionalProperties": False,
    "properties": {
        "kind": {
            "type": "string",
            "enum": ["group", "friend", "profile", "notification", "read"],
            "description": (
                "`group`: you joined (upsert) or left, were removed from, or saw deleted (delete) a "
                "group; `friend`: a friendship (its direct ledger) began or ended; `profile`: your "
                "profile changed; `notification`: a notification arrived; `read`: your read mark "
                "moved (on this or another device)"
            ),
        },
        "id": {
            **ID,
            "description": (
                "the group's id (for `friend`, the direct ledger's), your user id (`profile`), the "
                "notification's id (`notification`, `read`: the one read up to)"
            ),
        },
        "op": {"type": "string", "enum": ["upsert", "delete"]},
        "data": {
            "type": "object",
            "description": (
                "for an upsert: a group as an item of GET /api/groups; a friend as `{group_id, user}`; your "
                "profile as GET /api/user; a notification as in GET /api/notifications; the read "
                "mark as `{read_up_to, unread_count}`. Absent for a delete"
            ),
        },
    },
}

USER_CHANGES_PAGE: Schema = {
    "title": "UserChangesPage",
    "type": "object",
    "required": ["changes", "next_cursor", "has_more"],
    "additionalProperties": False,
    "properties": {
        "changes": {"type": "array", "items": USER_CHANGE},
        "next_cursor": CHANGES_PAGE["properties"]["next_cursor"],
        "has_more": CHANGES_PAGE["properties"]["has_more"],
    },
}


@api.get(
    "/api/user/changes",
    summary="What changed in your own view since a cursor, in commit order (offline sync)",
    description=(
        "Groups you joined or left, friendships begun or ended, your profile, your notifications "
        "and read mark, since `cursor`, oldest first; each record once per page, at its last "
        "change there, with its current body. With each group's feed "
        "(/api/groups/{group_id}/changes) a client catches up on everything it can see: on a "
        "`group` or `friend` upsert, read that group in full (or its feed from no cursor) and "
        "follow its feed from then on; on a delete, drop it. Without a cursor: no changes and a "
        "cursor for now."
    ),
    query=CHANGES_QUERY,
    replies={
        200: Reply("one page of changes", USER_CHANGES_PAGE),
        400: Reply("the cursor is not one your feed issued (`invalid_cursor`)", ERROR),
    },
)
async def list_user_changes(request: web.Request, query: dict[str, Any]) -> web.Response:
    page = await request.app[SERVICES].user_changes.page(
        request[CLAIMS].user_id, query.get("cursor"), query["limit"]
    )
    return web.json_response(page)
