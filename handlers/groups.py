"""Groups and their members: create, list, read, rename, delete, remove a member, leave."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from domain import Group, GroupMembership, Invalid, Member
from domain.clock import to_text
from handlers.access import membership, require_admin, require_may_remove, require_owner
from handlers.categories import CATEGORY
from handlers.fields import VERSION, based_on_version, if_match
from handlers.rates import GROUP_RATE
from handlers.schemas import CURRENCY, ERROR, ID, PAGE_QUERY, TIMESTAMP, Schema, page_of
from server.keys import CLAIMS, SERVICES, STORE
from server.routing import Api, Reply
from services.payloads import group_json, member_json, version_etag
from services.records import refuse_direct

api = Api("groups")

NAME: Schema = {
    "type": "string",
    "minLength": 1,
    "maxLength": 100,
    "x-trim": True,
    "description": "trimmed; 1-100 characters",
}
DESCRIPTION: Schema = {"type": "string", "maxLength": 500, "x-trim": True}

MEMBER: Schema = {
    "title": "Member",
    "type": "object",
    "required": ["user_id", "role", "joined_at", "email", "name", "picture"],
    "additionalProperties": False,
    "properties": {
        "user_id": ID,
        "role": {"type": "string", "enum": ["owner", "admin", "member"]},
        "joined_at": TIMESTAMP,
        "email": {"type": "string"},
        "name": {"type": "string"},
        "picture": {"type": ["string", "null"]},
    },
}
_GROUP_PROPERTIES: Schema = {
    "id": ID,
    "name": {"type": "string"},
    "description": {"type": "string"},
    "default_currency": {"type": "string"},
    "owner_id": ID,
    "member_count": {"type": "integer"},
    "version": {"type": "integer"},
    "created_at": TIMESTAMP,
    "updated_at": TIMESTAMP,
    "role": {"type": "string", "enum": ["owner", "admin", "member"], "description": "the caller's role"},
    "kind": {
        "type": "string",
        "enum": ["group", "direct"],
        "description": "`direct`: the two-person ledger of a friendship (see `/api/friends`)",
    },
    "categories": {
        "type": "array",
        "items": CATEGORY,
        "description": "the group's own expense categories (adding one bumps `version`)",
    },
    "rates": {
        "type": "array",
        "items": GROUP_RATE,
        "description": "the group's own exchange rates, which win over the ECB's for their pairs "
        "(setting one bumps `version`)",
    },
}
GROUP_SUMMARY: Schema = {
    "title": "GroupSummary",
    "type": "object",
    "required": [*_GROUP_PROPERTIES, "joined_at"],
    "additionalProperties": False,
    "properties": {**_GROUP_PROPERTIES, "joined_at": TIMESTAMP},
}
GROUP: Schema = {
    "title": "Group",
    "type": "object",
    "required": [*_GROUP_PROPERTIES, "members"],
    "additionalProperties": False,
    "properties": {**_GROUP_PROPERTIES, "members": {"type": "array", "items": MEMBER}},
}
NEW_GROUP: Schema = {
    "title": "NewGroup",
    "type": "object",
    "required": ["name"],
    "additionalProperties": False,
    "properties": {
        "name": NAME,
        "description": DESCRIPTION,
        "default_currency": {**CURRENCY, "description": "ISO 4217; default: the caller's default currency"},
    },
    "examples": [{"name": "Lisbon trip", "description": "May 2027", "default_currency": "EUR"}],
}
GROUP_CHANGES: Schema = {
    "title": "GroupChanges",
    "type": "object",
    "additionalProperties": False,
    "minProperties": 1,
    "x-message": "send at least one field to change",
    "description": (
        "at least one of `name`, `description` and `default_currency`; `version` alone changes nothing"
    ),
    "properties": {
        "name": NAME,
        "description": DESCRIPTION,
        "default_currency": CURRENCY,
        "version": VERSION,
    },
}
IF_MATCH = {"If-Match": "the group's ETag (or send `version` in the body)"}

_NOT_FOUND = Reply("no such group, or the caller is not a member", ERROR)
_FORBIDDEN = Reply("only the group's owner may do this", ERROR)
_ADMIN_ONLY = Reply("only the group's owner or an admin may do this (`admin_only`)", ERROR)


@api.post(
    "/api/groups",
    summary="Create a group; the caller becomes its owner",
    body=NEW_GROUP,
    replies={201: Reply("the new group; its ETag is its version", GROUP, ("ETag",))},
)
async def create_group(request: web.Request, body: dict[str, Any]) -> web.Response:
    group, members = await request.app[SERVICES].groups.create(request[CLAIMS].user_id, body)
    return group_response(group, "owner", members, status=201)


LIST_QUERY: Schema = {
    **PAGE_QUERY,
    "properties": {
        **PAGE_QUERY["properties"],
        "kind": {
            "type": "string",
            "enum": ["group", "direct", "all"],
            "default": "group",
            "description": "`group` (ordinary groups), `direct` (friends' direct ledgers) or `all`",
        },
    },
}


@api.get(
    "/api/groups",
    summary="The caller's groups, most recently joined first (ordinary ones unless `kind` says)",
    query=LIST_QUERY,
    replies={
        200: Reply("one page of groups", page_of(GROUP_SUMMARY)),
        400: Reply("the cursor is not one this server issued", ERROR),
    },
)
async def list_groups(request: web.Request, query: dict[str, Any]) -> web.Response:
    kind = query.get("kind", "group")
    page = await request.app[STORE].list_user_groups(
        request[CLAIMS].user_id,
        limit=query["limit"],
        cursor=query.get("cursor"),
        kind=None if kind == "all" else kind,
    )
    return web.json_response(
        {"items": [_summary_json(item) for item in page.items], "next_cursor": page.next_cursor}
    )


@api.get(
    "/api/groups/{group_id}",
    summary="A group with its members",
    replies={200: Reply("the group; its ETag starts with its version", GROUP, ("ETag",)), 404: _NOT_FOUND},
)
async def get_group(request: web.Request) -> web.Response:
    group, me = await membership(request)
    members = await request.app[STORE].list_members(group.id)
    return group_response(group, me.role, members)


@api.put(
    "/api/groups/{group_id}",
    summary="Change a group's name, description or default currency (owner or admin; on a "
    "direct ledger either friend, all but the name)",
    body=GROUP_CHANGES,
    headers=IF_MATCH,
    replies={
        200: Reply("the changed group", GROUP, ("ETag",)),
        403: _ADMIN_ONLY,
        404: _NOT_FOUND,
        409: Reply("a friend's direct ledger cannot be renamed (`direct_ledger`)", ERROR),
        412: Reply("the group changed since the version sent", ERROR),
        428: Reply("neither If-Match nor version was sent", ERROR),
    },
)
async def update_group(request: web.Request, body: dict[str, Any]) -> web.Response:
    group, me = await membership(request)
    if group.kind == "direct":
        # The two friends are peers: either may change its currency or description.
        if "name" in body:
            refuse_direct(group, "renaming")
    else:
        require_admin(me)
    expected = based_on_version(request, body)
    changes = {key: value for key, value in body.items() if key != "version"}
    if not changes:
        raise Invalid(
            "send at least one field to change",
            details=[{"field": "(body)", "message": "send name, description or default_currency"}],
        )
    updated, members = await request.app[SERVICES].groups.update(group, expected, changes)
    return group_response(updated, me.role, members)


@api.delete(
    "/api/groups/{group_id}",
    summary="Delete a group and its memberships (owner)",
    headers={"If-Match": "optional: delete only if the group is still at this version"},
    replies={
        204: Reply("deleted"),
        403: _FORBIDDEN,
        404: _NOT_FOUND,
        409: Reply(
            "balances are not settled yet, it is a direct ledger (`direct_ledger`), or an import "
            "into it is being written (`import_in_progress`)",
            ERROR,
        ),
        412: Reply("the group changed since the version sent", ERROR),
        422: Reply("If-Match is not an ETag this server issued", ERROR),
    },
)
async def delete_group(request: web.Request) -> web.Response:
    group, me = await membership(request)
    refuse_direct(group, "deleting it (end the friendship instead)")
    require_owner(me)
    await request.app[SERVICES].groups.delete(group, if_match(request))
    return web.Response(status=204)


@api.delete(
    "/api/groups/{group_id}/members/{user_id}",
    summary="Remove a member (the owner: anyone; an admin: plain members), or yourself (leave)",
    replies={
        204: Reply("removed"),
        403: Reply(
            "a plain member removing someone else (`admin_only`), or an admin removing the owner or "
            "another admin (`owner_only`)",
            ERROR,
        ),
        404: _NOT_FOUND,
        409: Reply(
            "the owner cannot leave, the member's balance is not settled, it is a direct ledger, "
            "or an import into the group is being written (`import_in_progress`)",
            ERROR,
        ),
    },
)
async def remove_member(request: web.Request) -> web.Response:
    group, me = await membership(request)
    refuse_direct(group, "removing a member (end the friendship instead)")
    target = request.match_info["user_id"]
    if target != me.user_id:
        require_admin(me)
        if me.role != "owner":
            _, them = await request.app[STORE].get_group_as_member(group.id, target)
            require_may_remove(me, them)
    await request.app[SERVICES].groups.remove(group, me.user_id, target)
    return web.Response(status=204)


@api.post(
    "/api/groups/{group_id}/leave",
    summary="Leave a group",
    replies={
        204: Reply("left"),
        404: _NOT_FOUND,
        409: Reply(
            "the owner cannot leave, the member's balance is not settled, it is a direct ledger, "
            "or an import into the group is being written (`import_in_progress`)",
            ERROR,
        ),
    },
)
async def leave_group(request: web.Request) -> web.Response:
    group, me = await membership(request)
    refuse_direct(group, "leaving (end the friendship instead)")
    await request.app[SERVICES].groups.remove(group, me.user_id, me.user_id)
    return web.Response(status=204)


def group_response(group: Group, role: str, members: list[Member], status: int = 200) -> web.Response:
    body = {**group_json(group, role), "members": [member_json(m) for m in members]}
    return web.json_response(body, status=status, headers=version_etag(group.version))


def _summary_json(item: GroupMembership) -> dict[str, Any]:
    return {**group_json(item.group, item.role), "joined_at": to_text(item.joined_at)}
