"""Group roles: the owner hands the group over, and makes members admins or plain members again."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from handlers.access import membership, require_owner
from handlers.groups import GROUP, MEMBER, group_response
from handlers.schemas import ERROR, ID, Schema
from server.keys import SERVICES
from server.routing import Api, Reply
from services.payloads import member_json

api = Api("roles")

NEW_OWNER: Schema = {
    "type": "object",
    "required": ["user_id"],
    "additionalProperties": False,
    "properties": {"user_id": {**ID, "description": "a current member, not the caller"}},
}
NEW_ROLE: Schema = {
    "type": "object",
    "required": ["role"],
    "additionalProperties": False,
    "properties": {
        "role": {
            "type": "string",
            "enum": ["admin", "member"],
            "description": (
                "admin: may change the group, manage invites and remove plain members; "
                "ownership moves only with POST /api/groups/{group_id}/owner"
            ),
        }
    },
}
_FORBIDDEN = Reply("only the group's owner may do this (`owner_only`)", ERROR)
_DIRECT = "a direct ledger between two friends has no roles (`direct_ledger`)"


@api.post(
    "/api/groups/{group_id}/owner",
    summary="Hand the group to another member (owner); the former owner becomes an admin and may leave",
    body=NEW_OWNER,
    replies={
        200: Reply(
            "the changed group (its version bumped), as the former owner now sees it", GROUP, ("ETag",)
        ),
        403: _FORBIDDEN,
        404: Reply("no such group, or the caller is not a member", ERROR),
        409: Reply(f"another handover won meanwhile (`owner_changed`), or {_DIRECT}", ERROR),
        422: Reply(
            "the body breaks a rule (`details` names each field), or `user_id` is the caller or "
            "not a member of the group (`not_a_member`)",
            ERROR,
        ),
    },
)
async def hand_over(request: web.Request, body: dict[str, Any]) -> web.Response:
    group, me = await membership(request)
    require_owner(me)
    changed, members = await request.app[SERVICES].roles.hand_over(group, me.user_id, body["user_id"])
    return group_response(changed, "admin", members)


@api.put(
    "/api/groups/{group_id}/members/{user_id}",
    summary="Make a member an admin, or a plain member again (owner)",
    body=NEW_ROLE,
    replies={
        200: Reply("the member with their role now", MEMBER),
        403: _FORBIDDEN,
        404: Reply("no such group or member, or the caller is not a member", ERROR),
        409: Reply(
            f"the owner's role is not set this way: hand ownership over instead (`owner_role`); or {_DIRECT}",
            ERROR,
        ),
    },
)
async def set_role(request: web.Request, body: dict[str, Any]) -> web.Response:
    group, me = await membership(request)
    require_owner(me)
    member = await request.app[SERVICES].roles.set_role(
        group, me.user_id, request.match_info["user_id"], body["role"]
    )
    return web.json_response(member_json(member))
