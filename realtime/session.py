"""The realtime WebSocket protocol (docs/realtime.md): first-frame authentication, and one
authenticated connection's session, which reads JSON commands (`subscribe`, `unsubscribe`,
`chat.send`, `typing`, `presence`, `ping`), answers each with a `reply` carrying its `id`, and lets
the hub write the events of the channels it subscribed to in between.

What the protocol needs from the layers above (tokens, memberships, chat) comes in as an
`Upstream`, so this package never imports them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Protocol

from aiohttp import WSMsgType, web

from domain import BadRequest, DomainError, Forbidden, Invalid, Unauthorized
from domain.client_json import MAX_INTEGER, has_lone_surrogate, read_json, refuse_lone_surrogates
from realtime.broker import BrokerUnavailable
from realtime.channels import GROUP_PREFIX, USER_PREFIX, user_channel
from realtime.frames import CLOSE_TIMEOUT_SECONDS, AiohttpSocket, error_reply, ok_reply
from realtime.hub import CLOSE_POLICY, CLOSE_UNAUTHORIZED, Connection, Hub, SubscriptionEnded
from realtime.limits import COMMAND_RATE, MAX_SUBSCRIPTIONS, CommandRate, EphemeralThrottle
from realtime.tickets import Holder

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 64 * 1024
HEARTBEAT_SECONDS = 25.0
AUTH_TIMEOUT_SECONDS = 5.0
PRESENCE_STATES = ("online", "away", "offline")
TOKEN_CHECK_SECONDS = 60.0
"""How often an open connection checks that its token is still good: logout closes connections
at once through the broker; this catches what that missed (Redis away at the time) and users
that were deleted."""


class Upstream(Protocol):
    """What the protocol asks of the application: each call raises a `DomainError` to refuse."""

    async def authenticate(self, token: str) -> Holder:
        """The holder of a bearer token that is valid and not revoked; raises Unauthorized."""

    async def check_standing(self, user_id: str, token_id: str) -> None:
        """Raises Unauthorized when the token has been revoked or its user is gone."""

    async def check_membership(self, group_id: str, user_id: str) -> None:
        """Raises (NotFound, Forbidden, ...) unless the user is a member of the group."""

    async def post_chat(self, group_id: str, author_id: str, text: object) -> dict[str, Any]:
        """Post a chat message to the group (validated, stored, published) and return it as its
        JSON object."""

    async def feed_cursor(self, channel: str, user_id: str) -> str:
        """A changes-feed cursor for now of the feed behind `channel` (a group's, or the user's
        own), for a subscriber `user_id` already authorized for it."""


def websocket_response() -> web.WebSocketResponse:
    """A response for the realtime WebSocket: heartbeat and frame-size limit as the protocol says,
    no compression (event frames are built once and written to every client as they are)."""
    return web.WebSocketResponse(heartbeat=HEARTBEAT_SECONDS, max_msg_size=MAX_MESSAGE_BYTES, compress=False)


async def authenticate_first_frame(ws: web.WebSocketResponse, upstream: Upstream) -> Holder | None:
    """The holder of the token sent as `{"type": "auth", "token": ...}`; closes (4001) and returns
    None when it does not come in time or does not authenticate, or (1008, policy) when it breaks
    the limits every frame keeps: nested too deep, or not Unicode text."""
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
        command = read_json(message.data, what="frame")
        refuse_lone_surrogates(command, what="frame")
    except (BadRequest, Invalid) as exc:
        policy = exc.code != "malformed_json"
        reason = exc.message if policy else "not JSON"
        await ws.close(code=CLOSE_POLICY if policy else CLOSE_UNAUTHORIZED, message=reason[:120].encode())
        return None
    try:
        if not isinstance(command, dict) or command.get("type") != "auth":
            raise Unauthorized('send {"type": "auth", "token": ...} first')
        token = command.get("token")
        if not isinstance(token, str):
            raise Unauthorized("auth needs a token")
        return await upstream.authenticate(token)
    except Unauthorized as exc:
        await ws.close(code=CLOSE_UNAUTHORIZED, message=exc.message[:120].encode())
        return None


class Session:
    """One authenticated connection: reads commands, answers them, and lets the hub write events."""

    def __init__(
        self,
        request: web.Request,
        ws: web.WebSocketResponse,
        holder: Holder,
        *,
        hub: Hub,
        upstream: Upstream,
        queue_limit: int,
        worker: int | None = None,
    ) -> None:
        self._ws = ws
        self._worker = worker
        self._user_id = holder.user_id
        self._token_id = holder.token_id
        self._expires_at = holder.expires_at
        self._hub = hub
        self._upstream = upstream
        self._connection = Connection(
            holder.user_id, AiohttpSocket(request, ws), queue_limit=queue_limit, token_id=holder.token_id
        )
        self._present: set[str] = set()
        """Group channels where this connection said it is online or away."""
        self._rate = CommandRate()
        self._throttle = EphemeralThrottle()

    async def run(self) -> None:
        """Serve the connection until it closes: welcome, then commands in order; on the way out
        announce it offline where it was present, and let a graceful close send what is queued."""
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
        welcome: dict[str, Any] = {
            "type": "welcome",
            "user_id": self._user_id,
            "heartbeat_seconds": HEARTBEAT_SECONDS,
            "max_message_bytes": MAX_MESSAGE_BYTES,
        }
        if self._worker is not None:
            welcome["worker"] = self._worker
        connection.send_json(welcome)
        try:
            async for message in self._ws:
                if connection.closing:
                    break
                if message.type == WSMsgType.TEXT:
                    await self._handle(message.data)
                elif message.type == WSMsgType.BINARY:
                    connection.send_json(error_reply(None, "unsupported", "send JSON text frames"))
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
                await self._upstream.check_standing(self._user_id, self._token_id)
            except Unauthorized:
                self._connection.finish(CLOSE_UNAUTHORIZED, "token revoked")
                return
            except Exception as exc:  # the store being away is no reason to drop the client
                log.warning("could not check a connection's token: %r", exc)

    async def _handle(self, raw: str) -> None:
        try:
            command = read_json(raw, what="frame")
        except BadRequest as exc:
            self._connection.send_json(error_reply(None, exc.code, exc.message))
            return
        if not isinstance(command, dict):
            self._connection.send_json(error_reply(None, "bad_command", "a command is a JSON object"))
            return
        command_id = command.get("id")
        if not (
            command_id is None
            or isinstance(command_id, int)
            or isinstance(command_id, str)
            and len(command_id) <= 64
            and not has_lone_surrogate(command_id)
        ):
            command_id = None
        if not self._rate.allow():
            if self._rate.strike():
                self._connection.finish(CLOSE_POLICY, "too many commands")
                return
            self._connection.send_json(
                error_reply(command_id, "rate_limited", f"at most {COMMAND_RATE:.0f} commands a second")
            )
            return
        kind = command.get("type")
        handler = self._COMMANDS.get(kind) if isinstance(kind, str) else None
        try:
            refuse_lone_surrogates(command, what="command")
            if handler is None:
                raise Invalid(f"unknown command type {kind!r}", code="unknown_command")
            result = await handler(self, command)
        except SubscriptionEnded:
            return
        except DomainError as exc:
            self._connection.send_json(error_reply(command_id, exc.code, exc.message))
            return
        except BrokerUnavailable as exc:
            log.warning("%s command failed, the broker is unavailable: %s", kind, exc)
            self._connection.send_json(
                error_reply(command_id, "unavailable", "realtime delivery is unavailable; retry shortly")
            )
            return
        if result is not None and command_id is not None:
            self._connection.send_json(ok_reply(command_id, result))

    # commands; each returns the reply's fields, or None when it sent its reply itself

    async def _subscribe(self, command: dict[str, Any]) -> None:
        channel = _channel(command)
        epoch, seq = command.get("epoch"), command.get("seq")
        if epoch is not None and not isinstance(epoch, str):
            raise Invalid("epoch must be a string")
        if seq is not None and (
            not isinstance(seq, int) or isinstance(seq, bool) or not 0 <= seq <= MAX_INTEGER
        ):
            raise Invalid(f"seq must be a whole number from 0 to {MAX_INTEGER}")
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
            authorize=lambda: self._locate(channel),
        )

    async def _unsubscribe(self, command: dict[str, Any]) -> dict[str, Any]:
        channel = _channel(command)
        if channel in self._present:
            self._announce(channel, "offline")
        await self._hub.unsubscribe(self._connection, channel)
        return {"channel": channel}

    async def _send_chat(self, command: dict[str, Any]) -> dict[str, Any]:
        channel = _channel(command)
        group_id = _group_of(channel)
        if not self._hub.subscribed(self._connection, channel):
            # Membership first, as REST does, so that an outsider hears `not_found` whether or not
            # the group exists (the write's own check would answer `not_a_member` for a real one).
            # A subscriber was checked when it subscribed, and loses the subscription on removal.
            await self._authorize(channel)
        message = await self._upstream.post_chat(group_id, self._user_id, command.get("text"))
        return {"message": message}

    async def _ephemeral(self, command: dict[str, Any]) -> dict[str, Any]:
        kind = command["type"]
        channel = _channel(command)
        if not channel.startswith(GROUP_PREFIX) or not self._hub.subscribed(self._connection, channel):
            raise Forbidden(f"subscribe to {channel} before sending {kind} to it", code="not_subscribed")
        status = command.get("status", "online")
        if kind == "presence" and status not in PRESENCE_STATES:
            raise Invalid(f"status must be one of {', '.join(PRESENCE_STATES)}")
        if not self._throttle.allow(kind, channel):
            return {"dropped": True}
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
            await self._upstream.check_membership(_group_of(channel), self._user_id)
        elif channel != user_channel(self._user_id):
            raise Forbidden(
                "you may only subscribe to your own user channel"
                if channel.startswith(USER_PREFIX)
                else f"no such channel {channel!r}",
                code="forbidden",
            )

    async def _locate(self, channel: str) -> dict[str, Any]:
        """Authorize again, now that the subscription catches events, and name the feed cursor
        that matches this moment: every change after it reaches the subscriber live, so once the
        client has applied everything up to it (the replay on `recovered: true`, the feed read
        from its previous cursor on `recovered: false`) it resumes from this cursor next time."""
        await self._authorize(channel)
        return {"cursor": await self._upstream.feed_cursor(channel, self._user_id)}

    _COMMANDS = {
        "subscribe": _subscribe,
        "unsubscribe": _unsubscribe,
        "chat.send": _send_chat,
        "typing": _ephemeral,
        "presence": _ephemeral,
        "ping": _ping,
    }


def _channel(command: dict[str, Any]) -> str:
    channel = command.get("channel")
    if not isinstance(channel, str) or not 1 <= len(channel) <= 100:
        raise Invalid('channel must be a string like "group:<id>" or "user:<id>"', code="bad_channel")
    return channel


def _group_of(channel: str) -> str:
    if not channel.startswith(GROUP_PREFIX) or len(channel) == len(GROUP_PREFIX):
        raise Invalid('expected a group channel, "group:<id>"', code="bad_channel")
    return channel[len(GROUP_PREFIX) :]
