"""Invite links: a member creates one; whoever holds the unguessable token may preview and join
(`services.invites`)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from domain.clock import to_text
from handlers.access import membership
from handlers.groups import GROUP, group_response
from handlers.schemas import ERROR, ID, TIMESTAMP, Schema
from server.keys import CLAIMS, CONFIG, SERVICES
from server.routing import Api, Reply
from services.invites import DEFAULT_LIFETIME_HOURS

api = Api("invites")


NEW_INVITE: Schema = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "expires_in_hours": {
            "type": "integer",
            "minimum": 1,
            "maximum": 30 * 24,
            "default": DEFAULT_LIFETIME_HOURS,
        },
    },
}
INVITE: Schema = {
    "type": "object",
    "required": ["token", "url", "group_id", "expires_at"],
    "additionalProperties": False,
    "properties": {
        "token": {"type": "string", "description": "secret; shown once"},
        "url": {"type": "string", "description": "the frontend's page for this invite"},
        "group_id": ID,
        "expires_at": TIMESTAMP,
    },
}
INVITE_PREVIEW: Schema = {
    "type": "object",
    "required": ["group", "invited_by", "expires_at"],
    "additionalProperties": False,
    "properties": {
        "group": {
            "type": "object",
            "required": ["id", "name", "member_count"],
            "additionalProperties": False,
            "properties": {"id": ID, "name": {"type": "string"}, "member_count": {"type": "integer"}},
        },
        "invited_by": {"type": "string", "description": "name of the member who made the link"},
        "expires_at": TIMESTAMP,
    },
}
_UNKNOWN = Reply("no such invite (or its group was deleted)", ERROR)
_EXPIRED = Reply("the invite has expired", ERROR)


@api.post(
    "/api/groups/{group_id}/invites",
    summary="Create an invite link to the group (any member)",
    body=NEW_INVITE,
    replies={
        201: Reply("the invite; its token is not shown again", INVITE),
        404: Reply("no such group, or the caller is not a member", ERROR),
    },
)
async def create_invite(request: web.Request, body: dict[str, Any]) -> web.Response:
    group, me = await membership(request)
    invite, token = await request.app[SERVICES].invites.create(
        group, me.user_id, body.get("expires_in_hours", DEFAULT_LIFETIME_HOURS)
    )
    frontend = request.app[CONFIG].frontend_base_url
    return web.json_response(
        {
            "token": token,
            "url": f"{frontend}/invite/{token}",
            "group_id": group.id,
            "expires_at": to_text(invite.expires_at),
        },
        status=201,
    )


@api.get(
    "/api/invites/{token}",
    summary="What an invite is for, before accepting it",
    replies={200: Reply("the invite", INVITE_PREVIEW), 404: _UNKNOWN, 410: _EXPIRED},
)
async def preview_invite(request: web.Request) -> web.Response:
    invite, group, inviter = await request.app[SERVICES].invites.preview(request.match_info["token"])
    return web.json_response(
        {
            "group": {"id": group.id, "name": group.name, "member_count": group.member_count},
            "invited_by": inviter.name,
            "expires_at": to_text(invite.expires_at),
        }
    )


@api.post(
    "/api/invites/{token}/accept",
    summary="Join the group an invite is for",
    replies={
        201: Reply("joined; the group", GROUP),
        200: Reply("already a member; the group", GROUP),
        404: _UNKNOWN,
        409: Reply("the group is full", ERROR),
        410: _EXPIRED,
    },
)
async def accept_invite(request: web.Request) -> web.Response:
    group, member, members, joined = await request.app[SERVICES].invites.accept(
        request.match_info["token"], request[CLAIMS].user_id
    )
    return group_response(group, member.role, members, status=201 if joined else 200)
