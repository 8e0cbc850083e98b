"""The signed-in user: their profile, and signing out."""

from __future__ import annotations

from aiohttp import web

from domain import NotFound, Unauthorized, User
from domain.clock import to_text
from handlers.schemas import USER
from realtime.hub import HUB
from server.keys import CLAIMS, STORE
from server.routing import Api, Reply

api = Api("auth")


@api.get("/api/user", summary="The caller's profile", replies={200: Reply("the user", USER)})
async def current_user(request: web.Request) -> web.Response:
    try:
        user = await request.app[STORE].get_user(request[CLAIMS].user_id)
    except NotFound:
        raise Unauthorized("the token's user no longer exists", code="invalid_token") from None
    return web.json_response(user_json(user))


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


def user_json(user: User) -> dict[str, object]:
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "picture": user.picture,
        "created_at": to_text(user.created_at),
    }
