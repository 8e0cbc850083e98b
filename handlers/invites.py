"""Invite links: a member creates one; whoever holds the unguessable token may preview and join
(`services.invites`); members list the live ones, and the owner, an admin or the maker revokes one."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from domain import Invite
from domain.clock import to_text
from handlers.access import membership
from handlers.groups import GROUP, group_response
from handlers.schemas import ERROR, ID, PAGE_QUERY, TIMESTAMP, Schema, page_of
from server.keys import CLAIMS, CONFIG, SERVICES
from server.routing import Api, Reply
from services.invites import DEFAULT_LIFETIME_HOURS
from services.records import refuse_direct

api = Api("invites")


NEW_INVITE: Schema = {
    "title": "NewInvite",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "expires_in_hours": {
            "type": "integer",
            "minimum": 1,
            "maximum": 30 * 24,
            "default": DEFAULT_LIFETIME_HOURS,
        },
        "max_uses": {
            "type": "integer",
            "minimum": 1,
            "maximum": 1000,
            "description": "how many people may join through the link; unlimited if absent",
        },
    },
}
_MAX_USES: Schema = {"type": ["integer", "null"], "description": "null: no limit but the expiry"}
INVITE: Schema = {
    "title": "Invite",
    "type": "object",
    "required": ["id", "token", "url", "group_id", "expires_at", "max_uses"],
    "additionalProperties": False,
    "properties": {
        "id": {**ID, "description": "the link's public id, to list and revoke it"},
        "token": {"type": "string", "description": "secret; shown once"},
        "url": {"type": "string", "description": "the frontend's page for this invite"},
        "group_id": ID,
        "expires_at": TIMESTAMP,
        "max_uses": _MAX_USES,
    },
}
LIVE_INVITE: Schema = {
    "title": "LiveInvite",
    "type": "object",
    "required": ["id", "group_id", "created_by", "created_at", "expires_at", "max_uses", "uses"],
    "additionalProperties": False,
    "description": "a live link; its token is never shown again",
    "properties": {
        "id": ID,
        "group_id": ID,
        "created_by": {**ID, "description": "user id of the member who made it"},
        "created_at": TIMESTAMP,
        "expires_at": TIMESTAMP,
        "max_uses": _MAX_USES,
        "uses": {"type": "integer", "minimum": 0, "description": "how many joined through it"},
    },
}
INVITE_PREVIEW: Schema = {
    "title": "InvitePreview",
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
_UNKNOWN = Reply("no such invite: unknown, revoked, its maker has left, or its group was deleted", ERROR)
_EXPIRED = Reply("the invite has expired (`invite_expired`) or is used up (`invite_used_up`)", ERROR)
_NOT_FOUND = Reply("no such group, or the caller is not a member", ERROR)
_DIRECT = Reply("a friend's direct ledger takes no invites (`direct_ledger`)", ERROR)


@api.post(
    "/api/groups/{group_id}/invites",
    summary="Create an invite link to the group (any member)",
    body=NEW_INVITE,
    replies={
        201: Reply("the invite; its token is not shown again", INVITE),
        404: _NOT_FOUND,
        409: _DIRECT,
    },
)
async def create_invite(request: web.Request, body: dict[str, Any]) -> web.Response:
    group, me = await membership(request)
    refuse_direct(group, "inviting")
    invite, token = await request.app[SERVICES].invites.create(
        group, me.user_id, body.get("expires_in_hours", DEFAULT_LIFETIME_HOURS), body.get("max_uses")
    )
    frontend = request.app[CONFIG].frontend_base_url
    return web.json_response(
        {
            "id": invite.id,
            "token": token,
            "url": f"{frontend}/invite/{token}",
            "group_id": group.id,
            "expires_at": to_text(invite.expires_at),
            "max_uses": invite.max_uses,
        },
        status=201,
    )


@api.get(
    "/api/groups/{group_id}/invites",
    summary="The group's live invite links, newest first (any member; tokens are never shown)",
    query=PAGE_QUERY,
    replies={
        200: Reply("one page of live links", page_of(LIVE_INVITE)),
        400: Reply("the cursor is not one this server issued", ERROR),
        404: _NOT_FOUND,
        409: _DIRECT,
    },
)
async def list_invites(request: web.Request, query: dict[str, Any]) -> web.Response:
    group, _ = await membership(request)
    refuse_direct(group, "inviting")
    page = await request.app[SERVICES].invites.live_links(group, query["limit"], query.get("cursor"))
    return web.json_response({"items": [invite_json(i) for i in page.items], "next_cursor": page.next_cursor})


@api.delete(
    "/api/groups/{group_id}/invites/{invite_id}",
    summary="Revoke an invite link (the owner, an admin, or the member who made it)",
    replies={
        204: Reply("revoked: its token now answers 404"),
        403: Reply("a plain member who did not make the link (`not_your_invite`)", ERROR),
        404: Reply("no such group or live link, or the caller is not a member", ERROR),
    },
)
async def revoke_invite(request: web.Request) -> web.Response:
    group, me = await membership(request)
    await request.app[SERVICES].invites.revoke(group, me, request.match_info["invite_id"])
    return web.Response(status=204)


def invite_json(invite: Invite) -> dict[str, Any]:
    return {
        "id": invite.id,
        "group_id": invite.group_id,
        "created_by": invite.created_by,
        "created_at": to_text(invite.created_at),
        "expires_at": to_text(invite.expires_at),
        "max_uses": invite.max_uses,
        "uses": invite.uses,
    }


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
        403: Reply("the caller was removed from the group after this link was made", ERROR),
        404: _UNKNOWN,
        409: Reply("the group is full, or it is a direct ledger (`direct_ledger`)", ERROR),
        410: _EXPIRED,
    },
)
async def accept_invite(request: web.Request) -> web.Response:
    group, member, members, joined = await request.app[SERVICES].invites.accept(
        request.match_info["token"], request[CLAIMS].user_id
    )
    return group_response(group, member.role, members, status=201 if joined else 200)
