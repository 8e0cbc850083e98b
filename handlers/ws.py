"""The realtime edge: `POST /api/ws/ticket` and the `/api/ws` WebSocket (protocol: docs/realtime.md).

A connection authenticates with a single-use ticket in the URL (`?ticket=`) or with its bearer token
in the first frame, then sends JSON commands (`subscribe`, `unsubscribe`, `chat.send`, `typing`,
`presence`, `ping`), each answered by a `reply` carrying the command's `id`. Events of the channels
it subscribed to arrive in between, in order.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import struct
import time
from typing import Any

from aiohttp import WSMsgType, web

from domain import DomainError, Forbidden, Invalid, Unauthorized
from handlers.chats import chat_message_json, post_message
from handlers.schemas import ERROR, Schema
from realtime.broker import BrokerUnavailable
from realtime.events import GROUP_PREFIX, USER_PREFIX, user_channel
from realtime.hub import (
    CLOSE_POLICY,
    CLOSE_UNAUTHORIZED,
    HUB,
    Connection,
    Outgoing,
    SubscriptionEnded,
)
from realtime.tickets import TICKET_TTL_SECONDS, TICKETS, Holder
from server.keys import CLAIMS, CONFIG, STORE
from server.routing import Api, Reply
from server.tokens import decode_token
from store import TokenStanding

log = logging.getLogger(__name__)

api = Api("realtime")

MAX_MESSAGE_BYTES = 64 * 1024
HEARTBEAT_SECONDS = 25.0
AUTH_TIMEOUT_SECONDS = 5.0
CLOSE_TIMEOUT_SECONDS = 2.0
DRAIN_POLL_SECONDS = 0.01
SEND_BUFFER_BYTES = 64 * 1024
"""The kernel's send buffer per connection, kept small so that a client that stops reading fills
its outbound queue (and is cut off) soon, instead of parking megabytes in the kernel."""
MAX_SUBSCRIPTIONS = 200
COMMAND_RATE = 20.0
COMMAND_BURST = 40.0
MAX_STRIKES = 20
"""Commands refused for rate beyond this many close the connection (1008)."""
EPHEMERAL_INTERVAL_SECONDS = {"typing": 1.0, "presence": 5.0}
"""At most one typing (presence) message per channel per connection in this interval; more are
dropped silently: they are hints, not data."""
PRESENCE_STATES = ("online", "away", "offline")
TOKEN_CHECK_SECONDS = 60.0
"""How often an open connection checks that its token is still good: logout closes connections
at once through the broker; this catches what that missed (Redis away at the time) and users
that were deleted."""

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
    claims = request[CLAIMS]
    holder = Holder(
        user_id=claims.user_id, token_id=claims.token_id, expires_at=int(claims.expires_at.timestamp())
    )
    ticket = await request.app[TICKETS].issue(holder)
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
    config = request.app[CONFIG]
    origin = request.headers.get("Origin")
    if origin is not None and origin.rstrip("/") not in config.cors_origins:
        raise Forbidden(f"origin {origin!r} is not allowed", code="origin_not_allowed")
    ws = web.WebSocketResponse(heartbeat=HEARTBEAT_SECONDS, max_msg_size=MAX_MESSAGE_BYTES, compress=False)
    if not ws.can_prepare(request).ok:
        raise web.HTTPBadRequest(reason="expected a WebSocket upgrade")
    holder = None
    if "ticket" in request.query:
        holder = await request.app[TICKETS].redeem(request.query["ticket"])
        if holder is None:
            raise Forbidden("the ticket is unknown, used or expired", code="invalid_ticket")
        try:
            await _check_standing(request, holder.user_id, holder.token_id)
        except Unauthorized as exc:
            raise Forbidden(exc.message, code=exc.code) from None
    await ws.prepare(request)
    _shrink_send_buffer(request)
    if holder is None:
        holder = await _first_frame_auth(request, ws)
        if holder is None:
            return ws
    await Session(request, ws, holder).run()
    return ws


async def _first_frame_auth(request: web.Request, ws: web.WebSocketResponse) -> Holder | None:
    """The holder of the token sent as `{"type": "auth", "token": ...}`; closes (4001) and returns
    None when it does not come in time or does not authenticate."""
    try:
        message = await ws.receive(timeout=AUTH_TIMEOUT_SECONDS)
    except asyncio.TimeoutError:
        await ws.close(code=CLOSE_UNAUTHORIZED, message=b"authentication timed out")
        return None
    if message.type != WSMsgType.TEXT:
        if not ws.closed:
            await ws.close(code=CLOSE_UNAUTHORIZED, message=b"authenticate first")
        return None
    try:
        command = json.loads(message.data)
        if not isinstance(command, dict) or command.get("type") != "auth":
            raise Unauthorized('send {"type": "auth", "token": ...} first')
        token = command.get("token")
        if not isinstance(token, str):
            raise Unauthorized("auth needs a token")
        config = request.app[CONFIG]
        claims = decode_token(token, secret=config.secret_key, issuer=config.jwt_issuer)
        await _check_standing(request, claims.user_id, claims.token_id)
    except (ValueError, Unauthorized) as exc:
        reason = exc.message if isinstance(exc, Unauthorized) else "not JSON"
        await ws.close(code=CLOSE_UNAUTHORIZED, message=reason[:120].encode())
        return None
    return Holder(
        user_id=claims.user_id, token_id=claims.token_id, expires_at=int(claims.expires_at.timestamp())
    )


async def _check_standing(request: web.Request, user_id: str, token_id: str) -> None:
    standing = await request.app[STORE].token_standing(user_id, token_id)
    if standing is not TokenStanding.ACTIVE:
        raise Unauthorized("the token has been revoked or its user is gone", code="token_revoked")


def _shrink_send_buffer(request: web.Request) -> None:
    transport = request.transport
    sock = transport.get_extra_info("socket") if transport is not None else None
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER_BYTES)
        except OSError:
            pass


class _Socket:
    """The hub's view of a WebSocket: write a frame now if the client keeps up, or wait for it;
    close promptly, aborting if need be."""

    def __init__(self, request: web.Request, ws: web.WebSocketResponse) -> None:
        self._ws = ws
        self._transport = request.transport
        self._protocol = request.protocol

    def write_now(self, frame: Outgoing) -> bool:
        """Write the event's frame bytes (built once per event, unmasked and uncompressed, so the
        same for every client) straight to the transport, unless the client is behind."""
        transport = self._transport
        if transport is None or transport.is_closing() or self._ws.closed or self._protocol.writing_paused:
            return False
        if frame.wire is None:
            frame.wire = _text_frame(frame.payload)
        transport.write(frame.wire)
        return True

    async def send_frame(self, data: bytes) -> None:
        while self._protocol.writing_paused and not self._ws.closed:
            await asyncio.sleep(DRAIN_POLL_SECONDS)
        await self._ws.send_frame(data, WSMsgType.TEXT)

    async def close(self, code: int, message: str) -> None:
        try:
            await asyncio.wait_for(self._ws.close(code=code, message=message.encode()), CLOSE_TIMEOUT_SECONDS)
        except (asyncio.TimeoutError, ConnectionError, RuntimeError):
            if self._transport is not None:
                self._transport.abort()


class Session:
    """One authenticated connection: reads commands, answers them, and lets the hub write events."""

    def __init__(self, request: web.Request, ws: web.WebSocketResponse, holder: Holder) -> None:
        self._request = request
        self._app = request.app
        self._ws = ws
        self._user_id = holder.user_id
        self._token_id = holder.token_id
        self._expires_at = holder.expires_at
        self._hub = request.app[HUB]
        self._connection = Connection(
            holder.user_id,
            _Socket(request, ws),
            queue_limit=request.app[CONFIG].realtime.ws_queue_size,
            token_id=holder.token_id,
        )
        self._present: set[str] = set()
        """Group channels where this connection said it is online or away."""
        self._allowance = COMMAND_BURST
        self._checked_at = time.monotonic()
        self._strikes = 0
        self._last_ephemeral: dict[tuple[str, str], float] = {}

    async def run(self) -> None:
        connection = self._connection
        self._hub.attach(connection)
        writer = asyncio.get_running_loop().create_task(connection.run_writer())
        watch = asyncio.get_running_loop().create_task(self._watch_token())
        expiry = asyncio.get_running_loop().call_later(
            max(0.0, self._expires_at - time.time()),
            connection.finish,
            CLOSE_UNAUTHORIZED,
            "token expired",
        )
        connection.send_json(
            {
                "type": "welcome",
                "user_id": self._user_id,
                "heartbeat_seconds": HEARTBEAT_SECONDS,
                "max_message_bytes": MAX_MESSAGE_BYTES,
            }
        )
        try:
            async for message in self._ws:
                if connection.closing:
                    break
                if message.type == WSMsgType.TEXT:
                    await self._handle(message.data)
                elif message.type == WSMsgType.BINARY:
                    connection.send_json(_error(None, "unsupported", "send JSON text frames"))
        finally:
            expiry.cancel()
            watch.cancel()
            for channel in sorted(self._present):
                self._announce(channel, "offline")
            self._hub.detach(connection)
            if connection.closing and not connection.closed:
                # A graceful close (shutdown, rate abuse): let the writer send what is queued.
                await asyncio.wait({writer}, timeout=CLOSE_TIMEOUT_SECONDS)
            connection.closed = True
            writer.cancel()
            await asyncio.gather(writer, return_exceptions=True)

    async def _watch_token(self) -> None:
        while not self._connection.closing:
            await asyncio.sleep(TOKEN_CHECK_SECONDS)
            try:
                await _check_standing(self._request, self._user_id, self._token_id)
            except Unauthorized:
                self._connection.finish(CLOSE_UNAUTHORIZED, "token revoked")
                return
            except Exception as exc:  # the store being away is no reason to drop the client
                log.warning("could not check a connection's token: %r", exc)

    async def _handle(self, raw: str) -> None:
        try:
            command = json.loads(raw)
        except ValueError:
            self._connection.send_json(_error(None, "malformed_json", "frames must be JSON"))
            return
        if not isinstance(command, dict):
            self._connection.send_json(_error(None, "bad_command", "a command is a JSON object"))
            return
        command_id = command.get("id")
        if not (
            command_id is None
            or isinstance(command_id, int)
            or isinstance(command_id, str)
            and len(command_id) <= 64
        ):
            command_id = None
        if not self._within_rate():
            self._strikes += 1
            if self._strikes > MAX_STRIKES:
                self._connection.finish(CLOSE_POLICY, "too many commands")
                return
            self._connection.send_json(
                _error(command_id, "rate_limited", f"at most {COMMAND_RATE:.0f} commands a second")
            )
            return
        kind = command.get("type")
        handler = self._COMMANDS.get(kind) if isinstance(kind, str) else None
        try:
            if handler is None:
                raise Invalid(f"unknown command type {kind!r}", code="unknown_command")
            result = await handler(self, command)
        except SubscriptionEnded:
            return
        except DomainError as exc:
            self._connection.send_json(_error(command_id, exc.code, exc.message))
            return
        except BrokerUnavailable:
            self._connection.send_json(
                _error(command_id, "unavailable", "realtime delivery is unavailable; retry shortly")
            )
            return
        if result is not None and command_id is not None:
            self._connection.send_json({"type": "reply", "id": command_id, "ok": True, **result})

    def _within_rate(self) -> bool:
        now = time.monotonic()
        self._allowance = min(COMMAND_BURST, self._allowance + (now - self._checked_at) * COMMAND_RATE)
        self._checked_at = now
        if self._allowance < 1:
            return False
        self._allowance -= 1
        return True

    # commands; each returns the reply's fields, or None when it sent its reply itself

    async def _subscribe(self, command: dict[str, Any]) -> None:
        channel = _channel(command)
        epoch, seq = command.get("epoch"), command.get("seq")
        if epoch is not None and not isinstance(epoch, str):
            raise Invalid("epoch must be a string")
        if seq is not None and (not isinstance(seq, int) or isinstance(seq, bool) or seq < 0):
            raise Invalid("seq must be a whole number")
        if len(self._connection.channels) >= MAX_SUBSCRIPTIONS and channel not in self._connection.channels:
            raise Invalid(
                f"at most {MAX_SUBSCRIPTIONS} subscriptions per connection", code="too_many_subscriptions"
            )
        await self._authorize(channel)
        await self._hub.subscribe(
            self._connection,
            channel,
            epoch=epoch,
            seq=seq,
            command_id=command.get("id"),
            authorize=lambda: self._authorize(channel),
        )

    async def _unsubscribe(self, command: dict[str, Any]) -> dict[str, Any]:
        channel = _channel(command)
        if channel in self._present:
            self._announce(channel, "offline")
        await self._hub.unsubscribe(self._connection, channel)
        return {"channel": channel}

    async def _send_chat(self, command: dict[str, Any]) -> dict[str, Any]:
        group_id = _group_of(_channel(command))
        message = await post_message(self._app, group_id, self._user_id, command.get("text"))
        return {"message": chat_message_json(message)}

    async def _ephemeral(self, command: dict[str, Any]) -> dict[str, Any]:
        kind = command["type"]
        channel = _channel(command)
        if not channel.startswith(GROUP_PREFIX) or not self._hub.subscribed(self._connection, channel):
            raise Forbidden(f"subscribe to {channel} before sending {kind} to it", code="not_subscribed")
        status = command.get("status", "online")
        if kind == "presence" and status not in PRESENCE_STATES:
            raise Invalid(f"status must be one of {', '.join(PRESENCE_STATES)}")
        now = time.monotonic()
        if now - self._last_ephemeral.get((kind, channel), -1e9) < EPHEMERAL_INTERVAL_SECONDS[kind]:
            return {"dropped": True}
        self._last_ephemeral[(kind, channel)] = now
        if kind == "presence":
            self._announce(channel, status)
        else:
            self._hub.broadcast(channel, kind, {"user_id": self._user_id})
        return {"dropped": False}

    def _announce(self, channel: str, status: str) -> None:
        """Presence is per connection (a user may have several, on several instances): a user is
        online while any of their connections says so, and a connection that goes away, or
        leaves the channel, is announced offline."""
        if status == "offline":
            self._present.discard(channel)
        else:
            self._present.add(channel)
        self._hub.broadcast(
            channel,
            "presence",
            {"user_id": self._user_id, "status": status, "connection": self._connection.id},
        )

    async def _ping(self, command: dict[str, Any]) -> dict[str, Any]:
        return {"pong": True}

    async def _authorize(self, channel: str) -> None:
        """Group channels are for the group's members (checked on every subscribe), user channels
        for that user only; anything else is refused as not found."""
        if channel.startswith(GROUP_PREFIX):
            await self._app[STORE].get_group_as_member(_group_of(channel), self._user_id)
        elif channel != user_channel(self._user_id):
            raise Forbidden(
                "you may only subscribe to your own user channel"
                if channel.startswith(USER_PREFIX)
                else f"no such channel {channel!r}",
                code="forbidden",
            )

    _COMMANDS = {
        "subscribe": _subscribe,
        "unsubscribe": _unsubscribe,
        "chat.send": _send_chat,
        "typing": _ephemeral,
        "presence": _ephemeral,
        "ping": _ping,
    }


def _text_frame(payload: bytes) -> bytes:
    """A final, unmasked text frame (RFC 6455 section 5.2), as a server sends it."""
    size = len(payload)
    if size < 126:
        header = struct.pack("!BB", 0x81, size)
    elif size < 1 << 16:
        header = struct.pack("!BBH", 0x81, 126, size)
    else:
        header = struct.pack("!BBQ", 0x81, 127, size)
    return header + payload


def _channel(command: dict[str, Any]) -> str:
    channel = command.get("channel")
    if not isinstance(channel, str) or not 1 <= len(channel) <= 100:
        raise Invalid('channel must be a string like "group:<id>" or "user:<id>"', code="bad_channel")
    return channel


def _group_of(channel: str) -> str:
    if not channel.startswith(GROUP_PREFIX) or len(channel) == len(GROUP_PREFIX):
        raise Invalid('expected a group channel, "group:<id>"', code="bad_channel")
    return channel[len(GROUP_PREFIX) :]


def _error(command_id: Any, code: str, message: str) -> dict[str, Any]:
    return {"type": "reply", "id": command_id, "ok": False, "error": {"code": code, "message": message}}
