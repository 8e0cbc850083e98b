"""The signed-in user: their profile, changing it, signing out; and looking up someone they share
a group with."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from domain import NotFound, Unauthorized
from handlers.schemas import CURRENCY, ERROR, ID, LOCALE, USER, Schema
from realtime.hub import HUB
from server.keys import CLAIMS, SERVICES, SESSIONS, STORE
from server.routing import Api, Reply
from services.payloads import person_json, user_json

api = Api("auth")

PROFILE_CHANGES: Schema = {
    "title": "ProfileChanges",
    "type": "object",
    "additionalProperties": False,
    "minProperties": 1,
    "x-message": "send at least one of name, default_currency and locale",
    "properties": {
        "name": {
            "type": "string",
            "minLength": 1,
            "maxLength": 100,
            "x-trim": True,
            "description": "trimmed; 1-100 characters. Once set, sign-in no longer replaces your name "
            "and picture with the identity provider's",
        },
        "default_currency": {**CURRENCY, "description": "ISO 4217; the default for your new groups"},
        "locale": LOCALE,
    },
}
PERSON: Schema = {
    "title": "Person",
    "type": "object",
    "required": ["id", "name", "picture", "email", "deleted"],
    "additionalProperties": False,
    "properties": {
        "id": ID,
        "name": {"type": "string", "description": '"Deleted user" for a deleted account'},
        "picture": {"type": ["string", "null"]},
        "email": {"type": ["string", "null"], "description": "null for a deleted account"},
        "deleted": {"type": "boolean"},
    },
}


@api.get("/api/user", summary="The caller's profile", replies={200: Reply("the user", USER)})
async def current_user(request: web.Request) -> web.Response:
    try:
        user = await request.app[STORE].get_user(request[CLAIMS].user_id)
    except NotFound:
        raise Unauthorized("the token's user no longer exists", code="invalid_token") from None
    unread = await request.app[SERVICES].notifications.unread_count(user.id)
    return web.json_response({**user_json(user), "unread_count": unread})


@api.patch(
    "/api/user",
    summary="Change the caller's name, default currency or locale",
    body=PROFILE_CHANGES,
    replies={200: Reply("the profile as changed", USER)},
)
async def update_current_user(request: web.Request, body: dict[str, Any]) -> web.Response:
    """Send only what changes. Everyone who shares a group with you hears `user.updated`."""
    try:
        user = await request.app[SERVICES].people.update_profile(request[CLAIMS].user_id, body)
    except NotFound:
        raise Unauthorized("the token's user no longer exists", code="invalid_token") from None
    unread = await request.app[SERVICES].notifications.unread_count(user.id)
    return web.json_response({**user_json(user), "unread_count": unread})


@api.get(
    "/api/users/{user_id}",
    summary="Someone you share a group or a friendship with, now or in the past",
    replies={
        200: Reply("their public profile and e-mail; a deleted account shows as a deleted user", PERSON),
        404: Reply("no such user, or nobody you share a group with (the two are indistinguishable)", ERROR),
    },
)
async def get_user(request: web.Request) -> web.Response:
    """Visible: yourself, and anyone who belongs or belonged to a group you are a member of now."""
    user = await request.app[SERVICES].people.look_up(request[CLAIMS].user_id, request.match_info["user_id"])
    return web.json_response(person_json(user))


@api.post(
    "/api/logout",
    summary="Sign out: end the caller's session (or, with `all=true`, every session of theirs); "
    "their tokens stop working on every instance and their WebSockets close",
    query={
        "type": "object",
        "properties": {
            "all": {
                "type": "string",
                "enum": ["true", "false"],
                "description": "`true`: end every session of the caller",
            }
        },
    },
    replies={
        204: Reply(
            'signed out; `Clear-Site-Data: "cache"` drops the browser\'s cached copies of this '
            "person's answers (they are cacheable as private, revalidated each time)",
            headers=("Clear-Site-Data",),
        )
    },
)
async def logout(request: web.Request, query: dict[str, Any]) -> web.Response:
    """A standalone token (no session: the legacy `token`, the CLI's) is revoked by itself until
    it would have expired."""
    claims = request[CLAIMS]
    hub = request.app[HUB]
    if claims.session_id is None:
        await request.app[STORE].revoke_token(claims.token_id, claims.expires_at)
        hub.end_sessions(claims.user_id, claims.token_id)
    if query.get("all") == "true":
        for session_id in await request.app[SESSIONS].end_all(claims.user_id):
            hub.end_session(claims.user_id, session_id)
    elif claims.session_id is not None:
        try:
            await request.app[SESSIONS].end(claims.user_id, claims.session_id)
        except NotFound:
            pass  # already ended: signing out again is no error
        hub.end_session(claims.user_id, claims.session_id)
    return web.Response(status=204, headers={"Clear-Site-Data": '"cache"'})
