"""The subscription hub of one instance: which local connections listen to which channels, the
ordered fan-out of each channel's events to them, recovery on subscribe, and bounded outbound
queues so that one slow client never holds up the others.

Events arrive from the broker into one inbox that a single task works through, so a channel's
events reach every connection in sequence order. That task also closes gaps: an event whose `seq`
skips ahead (the instance lost its Redis connection for a moment, say) is preceded by the missing
ones read from the channel's history; when history cannot supply them, the channel's subscribers
are asked to resubscribe, which tells them (`recovered: false`) to catch up through the changes
feed.
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import random
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiohttp import web

from domain.metrics import EVENTS_DELIVERED, EVENTS_DROPPED, FANOUT_SECONDS, WEBSOCKETS_OPEN
from realtime.broker import BROKER, Broker, BrokerUnavailable
from realtime.envelope import Envelope, published_delay

log = logging.getLogger(__name__)

CLOSE_GOING_AWAY = 1001
CLOSE_POLICY = 1008
CLOSE_UNAUTHORIZED = 4001
"""An application close code: authentication failed, or the token expired or was revoked."""
CLOSE_SLOW_CONSUMER = 4008
"""An application close code (4000-4999): the client did not read fast enough."""
RECONNECT_AFTER_MS = (1000, 5000)
"""On shutdown clients are told to reconnect after a random delay in this range, so that a
restarting fleet is not hit by every client at the same instant."""
ENDING_EVENTS = {"member.removed", "member.left"}
"""A group event about a member ends that member's subscription to the group's channel."""
GROUP_DELETED = "group.deleted"
SESSIONS_CHANNEL = "control:sessions"
"""Every instance listens here for tokens revoked elsewhere (clients cannot subscribe to it)."""
SESSION_REVOKED = "session.revoked"
SESSION_ENDED = "session.ended"
"""A sign-in session ended (logout, session list, refresh-token reuse): close the connections
that its access tokens opened. Those tokens' ids are `<session id>.<random>`."""
USER_SESSIONS_ENDED = "sessions.ended"
"""On SESSIONS_CHANNEL: every connection of a user ends (their account was deleted)."""
RESYNC_RETRY_SECONDS = 1.0


class Outgoing:
    """One frame's payload, encoded once however many connections it goes to. `wire` is free for
    the socket to cache its ready-to-write bytes in (the same for every client of an event)."""

    __slots__ = ("payload", "wire")

    def __init__(self, payload: bytes) -> None:
        self.payload = payload
        self.wire: bytes | None = None


class Socket(Protocol):
    """What a connection writes to (the WebSocket, or a test double)."""

    def write_now(self, frame: Outgoing) -> bool:
        """Write without waiting if the socket can take it right now; False if not."""

    async def send_frame(self, data: bytes) -> None:
        """Write, waiting while the client is not reading."""

    async def close(self, code: int, message: str) -> None:
        """Close with a close frame if that can be done promptly, else abort."""


class Connection:
    """One client connection: who it is, and a bounded queue of frames its writer task sends in
    order. `send` never waits; a client whose queue is full is cut off (close code 4008)."""

    def __init__(
        self, user_id: str, socket: Socket, *, queue_limit: int, token_id: str | None = None
    ) -> None:
        self.id = uuid.uuid4().hex[:12]
        self.user_id = user_id
        self.token_id = token_id
        """The token the connection authenticated with: revoking it closes the connection."""
        self.channels: set[str] = set()
        self.closed = False
        self._socket = socket
        self._queue_limit = queue_limit
        self._queue: collections.deque[Outgoing] = collections.deque()
        self._wake = asyncio.Event()
        self._closing: tuple[int, str] | None = None
        self.on_drop: Callable[[Connection], None] = lambda connection: None

    def send(self, message: str | Outgoing) -> bool:
        """Send one text frame: straight away when the socket has room and nothing is queued
        (the common case, with no task switch), else through the queue; False if the connection
        is closed or has just been cut off for being too slow."""
        if self.closed or self._closing is not None:
            return False
        frame = message if isinstance(message, Outgoing) else Outgoing(message.encode())
        if not self._queue and self._socket.write_now(frame):
            return True
        if len(self._queue) >= self._queue_limit:
            log.warning("connection %s (user %s) is too slow: cut off", self.id, self.user_id)
            EVENTS_DROPPED.labels("slow_consumer").inc(len(self._queue) + 1)
            self.drop(CLOSE_SLOW_CONSUMER, "slow consumer")
            return False
        self._queue.append(frame)
        self._wake.set()
        return True

    def send_json(self, value: Any) -> bool:
        return self.send(json.dumps(value, separators=(",", ":")))

    @property
    def closing(self) -> bool:
        """Closed, or closing once what is queued has been sent."""
        return self.closed or self._closing is not None

    @property
    def queued(self) -> int:
        return len(self._queue)

    def finish(self, code: int, reason: str) -> None:
        """Close after sending what is queued (shutdown, logout)."""
        if not self.closed and self._closing is None:
            self._closing = (code, reason)
            self._wake.set()

    def drop(self, code: int, reason: str) -> None:
        """Close now, discarding what is queued (slow consumer, abuse)."""
        if self.closed:
            return
        self.closed = True
        self._queue.clear()
        self._wake.set()
        self.on_drop(self)
        task = asyncio.get_running_loop().create_task(self._socket.close(code, reason))
        task.add_done_callback(_log_failure)

    async def run_writer(self) -> None:
        """Send queued frames until the connection closes."""
        while not self.closed:
            await self._wake.wait()
            self._wake.clear()
            while self._queue and not self.closed:
                await self._socket.send_frame(self._queue.popleft().payload)
            if self._closing is not None and not self.closed:
                self.closed = True
                await self._socket.close(*self._closing)


@dataclass(slots=True)
class _Subscription:
    last: int = 0
    buffer: list[Envelope] | None = field(default_factory=list)
    """Events that arrived while the subscription was being set up; None once it is live."""


@dataclass(slots=True)
class _Channel:
    name: str
    listening: asyncio.Task[None]
    epoch: str | None = None
    head: int | None = None
    subscriptions: dict[Connection, _Subscription] = field(default_factory=dict)


class SubscriptionEnded(Exception):
    """The connection went away, or unsubscribed, while its subscription was being set up."""


_RESYNC = object()
Authorize = Callable[[], Awaitable[dict[str, Any] | None]]
"""Checks, once a subscription catches events, that it may go on; raises to refuse. What it
returns (if anything) is added to the subscribe reply: read at that moment, it describes a state
from which every later change reaches the subscriber live."""


class Hub:
    def __init__(self, broker: Broker) -> None:
        self._broker = broker
        self._channels: dict[str, _Channel] = {}
        self._unlistening: dict[str, asyncio.Task[None]] = {}
        self._connections: set[Connection] = set()
        self._inbox: asyncio.Queue[Envelope | object] = asyncio.Queue()
        self._resync_retry: asyncio.TimerHandle | None = None
        broker.sink = self._accept
        broker.on_resync = lambda: self._inbox.put_nowait(_RESYNC)

    def _accept(self, envelope: Envelope) -> None:
        """The broker's sink. An event for a channel nobody here listens to is not queued: a
        subscription begun later reads it from the channel's history, where the broker put it
        before handing it over (most events, on most instances, have no local subscriber)."""
        if envelope.channel in self._channels:
            self._inbox.put_nowait(envelope)
        elif envelope.channel == SESSIONS_CHANNEL and envelope.type == SESSION_REVOKED:
            token_id = envelope.data.get("token_id") if isinstance(envelope.data, dict) else None
            if isinstance(token_id, str):
                self._close_token(token_id)
        elif envelope.channel == SESSIONS_CHANNEL and envelope.type == SESSION_ENDED:
            session_id = envelope.data.get("session_id") if isinstance(envelope.data, dict) else None
            if isinstance(session_id, str) and session_id:
                self._close_session(session_id)
        elif envelope.channel == SESSIONS_CHANNEL and envelope.type == USER_SESSIONS_ENDED:
            user_id = envelope.data.get("user_id") if isinstance(envelope.data, dict) else None
            if isinstance(user_id, str):
                self._close_user(user_id)

    async def start(self) -> None:
        """Listen for revocations made on other instances."""
        await self._broker.listen(SESSIONS_CHANNEL)

    def end_sessions(self, user_id: str, token_id: str) -> None:
        """Close every connection that `token_id` opened, here now and on every other instance as
        soon as the broker delivers the news (logout)."""
        self._close_token(token_id)
        text = json.dumps(
            {
                "channel": SESSIONS_CHANNEL,
                "type": SESSION_REVOKED,
                "data": {"user_id": user_id, "token_id": token_id},
            },
            separators=(",", ":"),
        )
        self._broker.broadcast(SESSIONS_CHANNEL, text)

    def end_session(self, user_id: str, session_id: str) -> None:
        """Close every connection opened with an access token of the sign-in session `session_id`,
        here now and on every other instance as soon as the broker delivers the news."""
        self._close_session(session_id)
        text = json.dumps(
            {
                "channel": SESSIONS_CHANNEL,
                "type": SESSION_ENDED,
                "data": {"user_id": user_id, "session_id": session_id},
            },
            separators=(",", ":"),
        )
        self._broker.broadcast(SESSIONS_CHANNEL, text)

    def _close_session(self, session_id: str) -> None:
        prefix = f"{session_id}."
        for connection in list(self._connections):
            if connection.token_id is not None and connection.token_id.startswith(prefix):
                connection.finish(CLOSE_UNAUTHORIZED, "session ended")

    def end_user_sessions(self, user_id: str) -> None:
        """Close every connection of `user_id`, whichever token opened it, here now and on every
        other instance as soon as the broker delivers the news (account deletion)."""
        self._close_user(user_id)
        text = json.dumps(
            {"channel": SESSIONS_CHANNEL, "type": USER_SESSIONS_ENDED, "data": {"user_id": user_id}},
            separators=(",", ":"),
        )
        self._broker.broadcast(SESSIONS_CHANNEL, text)

    def _close_user(self, user_id: str) -> None:
        for connection in list(self._connections):
            if connection.user_id == user_id:
                connection.finish(CLOSE_UNAUTHORIZED, "account deleted")

    def _close_token(self, token_id: str) -> None:
        for connection in list(self._connections):
            if connection.token_id == token_id:
                connection.finish(CLOSE_UNAUTHORIZED, "token revoked")

    # connections

    def attach(self, connection: Connection) -> None:
        if connection not in self._connections:
            WEBSOCKETS_OPEN.inc()
        self._connections.add(connection)
        connection.on_drop = self.detach

    def detach(self, connection: Connection) -> None:
        if connection in self._connections:
            WEBSOCKETS_OPEN.dec()
        self._connections.discard(connection)
        for channel in list(connection.channels):
            self._remove(connection, channel)

    @property
    def connections(self) -> int:
        return len(self._connections)

    def close_all(self, code: int = CLOSE_GOING_AWAY, reason: str = "server shutting down") -> None:
        """Tell every client to reconnect elsewhere (after a random delay), then close."""
        for connection in list(self._connections):
            connection.send_json(
                {"type": "shutdown", "reconnect_after_ms": random.randint(*RECONNECT_AFTER_MS)}
            )
            connection.finish(code, reason)

    # subscriptions

    def subscribed(self, connection: Connection, channel: str) -> bool:
        state = self._channels.get(channel)
        return state is not None and connection in state.subscriptions

    async def subscribe(
        self,
        connection: Connection,
        channel: str,
        *,
        epoch: str | None,
        seq: int | None,
        command_id: Any,
        authorize: Authorize | None = None,
    ) -> None:
        """Subscribe `connection` to `channel`. Sends the reply (epoch, head, and whether what the
        client missed since (`epoch`, `seq`) could be recovered), then the missed events, then
        live ones, with no gap and no duplicate. `authorize` runs once the subscription catches
        events, so a membership change racing with it is either seen by it or delivered after;
        the fields it returns join the reply.
        Raises BrokerUnavailable, SubscriptionEnded, or whatever `authorize` raises (and then
        nothing has been sent)."""
        state = self._channels.get(channel)
        if state is None:
            state = _Channel(channel, self._start_listening(channel))
            self._channels[channel] = state
        subscription = _Subscription()
        state.subscriptions[connection] = subscription
        connection.channels.add(channel)
        try:
            await asyncio.shield(state.listening)
            recovery = await self._broker.since(channel, epoch, seq)
            extra = await authorize() if authorize is not None else None
        except BaseException:
            if state.subscriptions.get(connection) is subscription:
                self._remove(connection, channel)
            raise
        if connection.closed or state.subscriptions.get(connection) is not subscription:
            raise SubscriptionEnded(channel)
        if state.epoch is None:
            state.epoch, state.head = recovery.epoch, recovery.head
        elif state.epoch == recovery.epoch:
            state.head = max(state.head or 0, recovery.head)

        recovered = None if seq is None or epoch is None else recovery.missed is not None
        connection.send_json(
            {
                "type": "reply",
                "id": command_id,
                "ok": True,
                "channel": channel,
                "epoch": recovery.epoch,
                "seq": recovery.head,
                "recovered": recovered,
                **(extra or {}),
            }
        )
        subscription.last = seq if recovered and seq is not None else recovery.head
        buffered, subscription.buffer = subscription.buffer or [], None
        for envelope in [*(recovery.missed or []), *buffered]:
            if envelope.seq and (envelope.epoch != recovery.epoch or envelope.seq <= subscription.last):
                continue
            frame = Outgoing(envelope.text.encode())
            if self._forward(state, connection, subscription, envelope, frame):
                EVENTS_DELIVERED.inc()
            if channel not in connection.channels:
                break  # the event ended the subscription

    async def unsubscribe(self, connection: Connection, channel: str) -> bool:
        if channel not in connection.channels:
            return False
        self._remove(connection, channel)
        return True

    def broadcast(self, channel: str, type_: str, data: dict[str, Any]) -> None:
        """An ephemeral message to the channel's subscribers on every instance: not numbered,
        not remembered."""
        text = json.dumps({"channel": channel, "type": type_, "data": data}, separators=(",", ":"))
        self._broker.broadcast(channel, text)

    def _start_listening(self, channel: str) -> asyncio.Task[None]:
        previous = self._unlistening.get(channel)

        async def listen() -> None:
            if previous is not None:
                await asyncio.gather(previous, return_exceptions=True)
            await self._broker.listen(channel)

        return asyncio.get_running_loop().create_task(listen())

    def _remove(self, connection: Connection, channel: str) -> None:
        connection.channels.discard(channel)
        state = self._channels.get(channel)
        if state is None or state.subscriptions.pop(connection, None) is None:
            return
        if not state.subscriptions:
            self._release(state)

    def _release(self, state: _Channel) -> None:
        del self._channels[state.name]
        listening = state.listening

        async def unlisten() -> None:
            await asyncio.gather(listening, return_exceptions=True)
            if state.name not in self._channels:
                await self._broker.unlisten(state.name)

        task = asyncio.get_running_loop().create_task(unlisten())
        self._unlistening[state.name] = task
        task.add_done_callback(
            lambda done: (
                self._unlistening.pop(state.name, None) if self._unlistening.get(state.name) is done else None
            )
        )

    # delivery

    async def run(self) -> None:
        """Work through the inbox for as long as the app runs; one bad event never stops it."""
        while True:
            item = await self._inbox.get()
            try:
                if item is _RESYNC:
                    await self._resync()
                else:
                    assert isinstance(item, Envelope)
                    await self._route(item)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("routing a realtime event failed")

    async def _route(self, envelope: Envelope) -> None:
        state = self._channels.get(envelope.channel)
        if state is None:
            return
        if envelope.seq == 0:
            self._dispatch(state, envelope)
            return
        if state.epoch is None or state.head is None:
            state.epoch, state.head = envelope.epoch, envelope.seq
        elif envelope.epoch != state.epoch:
            log.warning("channel %s changed epoch: subscribers must resubscribe", state.name)
            self._ask_resubscribe(state, "epoch_changed", envelope.epoch, envelope.seq)
            return
        elif envelope.seq <= state.head:
            return
        elif envelope.seq > state.head + 1 and not await self._fill(state, envelope):
            return
        state.head = envelope.seq
        self._dispatch(state, envelope)

    async def _fill(self, state: _Channel, envelope: Envelope) -> bool:
        """Deliver the events between the channel's head and `envelope` from history; if that is
        impossible, ask its subscribers to resubscribe. True when `envelope` may follow."""
        try:
            recovery = await self._broker.since(state.name, state.epoch, state.head)
        except BrokerUnavailable as exc:
            log.warning("cannot fill a gap on %s: %s", state.name, exc)
            recovery = None
        if recovery is None or recovery.missed is None:
            self._ask_resubscribe(state, "gap", envelope.epoch, envelope.seq)
            return False
        for missed in recovery.missed:
            if state.head is not None and state.head < missed.seq < envelope.seq:
                state.head = missed.seq
                self._dispatch(state, missed)
        return True

    async def _resync(self) -> None:
        """After the broker reconnected: deliver what each channel missed meanwhile (trying
        again shortly if the broker fails to answer, as a just-restarted Redis may)."""
        self._resync_retry = None
        for state in list(self._channels.values()):
            if state.epoch is None or state.head is None:
                continue
            try:
                recovery = await self._broker.since(state.name, state.epoch, state.head)
            except BrokerUnavailable as exc:
                log.warning("cannot recover %s after reconnecting (%s); retrying", state.name, exc)
                if self._resync_retry is None:
                    self._resync_retry = asyncio.get_running_loop().call_later(
                        RESYNC_RETRY_SECONDS, self._inbox.put_nowait, _RESYNC
                    )
                return
            if recovery.missed is None:
                self._ask_resubscribe(state, "history_lost", recovery.epoch, recovery.head)
                continue
            for missed in recovery.missed:
                if missed.seq > state.head:
                    state.head = missed.seq
                    self._dispatch(state, missed)

    def _dispatch(self, state: _Channel, envelope: Envelope) -> None:
        frame = Outgoing(envelope.text.encode())
        sent = 0
        for connection, subscription in list(state.subscriptions.items()):
            if subscription.buffer is not None:
                subscription.buffer.append(envelope)
            elif envelope.seq == 0 or envelope.seq > subscription.last:
                sent += self._forward(state, connection, subscription, envelope, frame)
        if sent:
            EVENTS_DELIVERED.inc(sent)
        if envelope.seq:
            delay = published_delay(envelope.text)
            if delay is not None:
                FANOUT_SECONDS.observe(delay)
        if not state.subscriptions and self._channels.get(state.name) is state:
            self._release(state)

    def _forward(
        self,
        state: _Channel,
        connection: Connection,
        subscription: _Subscription,
        envelope: Envelope,
        frame: Outgoing,
    ) -> bool:
        """Send one event to one subscriber; whether a frame went out."""
        if envelope.seq == 0:
            data = envelope.data if isinstance(envelope.data, dict) else {}
            return data.get("user_id") != connection.user_id and connection.send(frame)
        subscription.last = envelope.seq
        sent = connection.send(frame)
        if _ends_subscription(envelope, connection.user_id):
            connection.send_json({"type": "unsubscribed", "channel": state.name, "reason": envelope.type})
            self._remove(connection, state.name)
        return sent

    def _ask_resubscribe(self, state: _Channel, reason: str, epoch: str, head: int) -> None:
        """End the live subscriptions of a channel whose events can no longer be delivered
        without a gap; each client resubscribes with its position and learns what to reload."""
        state.epoch, state.head = epoch, head
        for connection, subscription in list(state.subscriptions.items()):
            if subscription.buffer is None:
                EVENTS_DROPPED.labels(reason).inc()
                connection.send_json({"type": "resubscribe", "channel": state.name, "reason": reason})
                self._remove(connection, state.name)


def _ends_subscription(envelope: Envelope, user_id: str) -> bool:
    if envelope.type == GROUP_DELETED:
        return True
    return (
        envelope.type in ENDING_EVENTS
        and isinstance(envelope.data, dict)
        and envelope.data.get("user_id") == user_id
    )


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("closing a connection failed: %r", task.exception())


HUB = web.AppKey("hub", Hub)


async def hub_ctx(app: web.Application) -> AsyncIterator[None]:
    """The hub over the app's broker (after `broker_ctx`); its delivery task lives as long."""
    hub = Hub(app[BROKER])
    app[HUB] = hub
    await hub.start()
    task = asyncio.get_running_loop().create_task(hub.run())
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def close_connections(app: web.Application) -> None:
    """on_shutdown: every client gets close code 1001 and a reconnect hint before the server
    waits for in-flight requests (a WebSocket handler would otherwise hold it up to the end)."""
    hub = app.get(HUB)
    if hub is not None:
        hub.close_all()
