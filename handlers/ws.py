"""The realtime edge: `POST /api/ws/ticket` and the `/api/ws` WebSocket (protocol: docs/realtime.md).

A connection authenticates with a single-use ticket in the URL (`?ticket=`, checked here, before
the upgrade) or with its bearer token in the first frame, then runs a `realtime.session.Session`,
which speaks the protocol. What the protocol needs from the application (tokens, memberships, chat)
it gets through `_AppUpstream`.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from domain import Forbidden, Unauthorized
from handlers.schemas import ERROR, Schema
from realtime.channels import GROUP_PREFIX
from realtime.frames import shrink_send_buffer
from realtime.hub import HUB
from realtime.session import Session, authenticate_first_frame, websocket_response
from realtime.tickets import TICKET_TTL_SECONDS, TICKETS, Holder
from server.keys import CLAIMS, CONFIG, SERVICES, STORE
from server.routing import Api, Reply
from server.tokens import Claims, decode_token, session_of
from services.payloads import chat_message_json
from store import TokenStanding

api = Api("realtime")

TICKET: Schema = {
    "type": "object",
    "required": ["ticket", "expires_in"],
    "additionalProperties": False,
    "properties": {
        "ticket": {"type": "string", "description": "pass as `/api/ws?ticket=...`; works once"},
        "expires_in": {"type": "integer", "description": "seconds"},
    },
}


@api.post(
    "/api/ws/ticket",
    summary="A single-use ticket that opens the realtime WebSocket (valid 30 s)",
    replies={
        201: Reply("the ticket", TICKET),
        503: Reply("tickets cannot be stored now (Redis unavailable)", ERROR),
    },
)
async def create_ticket(request: web.Request) -> web.Response:
    ticket = await request.app[TICKETS].issue(_holder(request[CLAIMS]))
    return web.json_response({"ticket": ticket, "expires_in": TICKET_TTL_SECONDS}, status=201)


@api.get(
    "/api/ws",
    summary="The realtime WebSocket (subscriptions, events, chat, typing, presence)",
    public=True,
    description="Authenticate with `?ticket=` (from `POST /api/ws/ticket`) or by sending "
    '`{"type": "auth", "token": "<jwt>"}` as the first frame within 5 s. '
    "The protocol is described in docs/realtime.md.",
    replies={
        101: Reply("switching to the WebSocket protocol"),
        400: Reply("not a WebSocket upgrade request", ERROR),
        403: Reply(
            "the Origin is not an allowed frontend origin (`origin_not_allowed`), or "
            "the ticket is unknown, used or expired (`invalid_ticket`)",
            ERROR,
        ),
    },
)
async def websocket(request: web.Request) -> web.WebSocketResponse:
    """Refuse a foreign origin or a bad ticket before the upgrade (as HTTP errors); after it,
    take the token from the first frame when there was no ticket, then run the session."""
    config = request.app[CONFIG]
    origin = request.headers.get("Origin")
    if origin is not None and origin.rstrip("/") not in config.socket_origins:
        raise Forbidden(f"origin {origin!r} is not allowed", code="origin_not_allowed")
    ws = websocket_response()
    if not ws.can_prepare(request).ok:
        raise web.HTTPBadRequest(reason="expected a WebSocket upgrade")
    upstream = _AppUpstream(request.app)
    holder = None
    if "ticket" in request.query:
        holder = await request.app[TICKETS].redeem(request.query["ticket"])
        if holder is None:
            raise Forbidden("the ticket is unknown, used or expired", code="invalid_ticket")
        try:
            await upstream.check_standing(holder.user_id, holder.token_id)
        except Unauthorized as exc:
            raise Forbidden(exc.message, code=exc.code) from None
    await ws.prepare(request)
    shrink_send_buffer(request)
    if holder is None:
        holder = await authenticate_first_frame(ws, upstream)
        if holder is None:
            return ws
    session = Session(
        request,
        ws,
        holder,
        hub=request.app[HUB],
        upstream=upstream,
        queue_limit=config.realtime.ws_queue_size,
        worker=config.worker,
    )
    await session.run()
    return ws


def _holder(claims: Claims) -> Holder:
    return Holder(
        user_id=claims.user_id, token_id=claims.token_id, expires_at=int(claims.expires_at.timestamp())
    )


class _AppUpstream:
    """The realtime protocol's `Upstream` over this application: its tokens, store and chat."""

    def __init__(self, app: web.Application) -> None:
        self._app = app

    async def authenticate(self, token: str) -> Holder:
        config = self._app[CONFIG]
        claims = decode_token(token, secret=config.secret_key, issuer=config.jwt_issuer)
        await self.check_standing(claims.user_id, claims.token_id)
        return _holder(claims)

    async def check_standing(self, user_id: str, token_id: str) -> None:
        standing = await self._app[STORE].token_standing(user_id, token_id, session_of(token_id))
        if standing is not TokenStanding.ACTIVE:
            raise Unauthorized("the token has been revoked or its user is gone", code="token_revoked")

    async def check_membership(self, group_id: str, user_id: str) -> None:
        await self._app[STORE].get_group_as_member(group_id, user_id)

    async def post_chat(self, group_id: str, author_id: str, text: object) -> dict[str, Any]:
        return chat_message_json(await self._app[SERVICES].chats.post(group_id, author_id, text))

    async def feed_cursor(self, channel: str, user_id: str) -> str:
        services = self._app[SERVICES]
        if channel.startswith(GROUP_PREFIX):
            return await services.changes.now_cursor(channel.removeprefix(GROUP_PREFIX))
        return await services.user_changes.now_cursor(user_id)
