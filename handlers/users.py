"""The signed-in user: their profile, changing it, signing out; and looking up someone they share
a group with."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from domain import NotFound, Unauthorized
from handlers.schemas import CURRENCY, ERROR, ID, LOCALE, USER, Schema
from realtime.hub import HUB
from server.keys import CLAIMS, SERVICES, STORE
from server.routing import Api, Reply
from services.payloads import person_json, user_json

api = Api("auth")

PROFILE_CHANGES: Schema = {
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
    return web.json_response(user_json(user))


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
    return web.json_response(user_json(user))


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
    summary="Revoke the caller's token on every instance until it would have expired, "
    "and close the WebSockets it opened",
    replies={204: Reply("signed out")},
)
async def logout(request: web.Request) -> web.Response:
    claims = request[CLAIMS]
    await request.app[STORE].revoke_token(claims.token_id, claims.expires_at)
    request.app[HUB].end_sessions(claims.user_id, claims.token_id)
    return web.Response(status=204)
