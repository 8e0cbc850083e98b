"""Brokers: number events per channel, keep a bounded recent history, and deliver every event to
every instance that listens to its channel.

`InProcessBroker` does this in memory for a single instance. `RedisBroker` does it through Redis:
one Lua script increments the channel's sequence number, appends the event to the channel's stream
(trimmed to the configured length) and publishes it, so numbering, history and delivery can never
disagree. Publishing never blocks the caller: events wait in a bounded queue that one task drains in
order, retrying while Redis is away (a script-side event-id key makes a retried publish count
once). The listening side reconnects by itself, subscribes again to every channel, and asks the hub
to recover what it missed.
"""

from __future__ import annotations

import abc
import asyncio
import collections
import json
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import redis.asyncio as aioredis
from aiohttp import web
from redis.exceptions import RedisError

from domain.metrics import BROKER_RECONNECTS
from realtime.envelope import Envelope, Pending, frame, pending_event
from realtime.redis import REDIS
from realtime.settings import RealtimeSettings

log = logging.getLogger(__name__)

PUBLISH_QUEUE_LIMIT = 10_000
"""Events an instance holds while Redis is away; beyond that the oldest are dropped, and the
channels they were for get a new epoch (so subscribers learn to reload instead of silently missing
them)."""
HISTORY_TTL_SECONDS = 24 * 3600
"""A channel with no event for this long forgets its history and epoch."""
DEDUPE_TTL_SECONDS = 600
LISTEN_CONFIRM_SECONDS = 5.0
MAX_BATCH = 256
RESET_EVENT = "stream.reset"
"""Published with a fresh epoch after an instance had to drop events for a channel."""


@dataclass(frozen=True, slots=True)
class Recovery:
    """Where a channel stands, and what came after a given position in it.

    `missed` is None when the events after the position cannot all be produced (another epoch, or
    history already trimmed past it), or when no position was given."""

    epoch: str
    head: int
    missed: list[Envelope] | None


Sink = Callable[[Envelope], None]
Resync = Callable[[], None]


class Broker(abc.ABC):
    """Numbers, remembers and delivers events. Hands each delivered event to `sink` (the hub)."""

    def __init__(self) -> None:
        self.sink: Sink = lambda envelope: None
        self.on_resync: Resync = lambda: None

    @abc.abstractmethod
    def publish(self, event: Pending) -> None:
        """Queue `event` for numbering and delivery. Never raises, never waits."""

    @abc.abstractmethod
    def broadcast(self, channel: str, text: str) -> None:
        """Deliver an ephemeral, unnumbered, unremembered message (typing, presence)."""

    @abc.abstractmethod
    async def listen(self, channel: str) -> None:
        """Start delivering `channel`'s events to the sink; returns once that is in effect."""

    @abc.abstractmethod
    async def unlisten(self, channel: str) -> None: ...

    @abc.abstractmethod
    async def since(self, channel: str, epoch: str | None, seq: int | None) -> Recovery:
        """The channel's epoch and head, and the events after (`epoch`, `seq`) when possible.
        Raises BrokerUnavailable."""

    def deliver(self, raw: bytes | str) -> None:
        """Hand an envelope's text, as it came from elsewhere, to the sink; skip what is malformed."""
        try:
            envelope = Envelope.parse(raw)
        except ValueError as exc:
            log.warning("skipped a malformed message on a realtime channel: %s", exc)
            return
        try:
            self.sink(envelope)
        except Exception:
            log.exception("delivering an event on %s failed", envelope.channel)

    async def start(self) -> None:  # noqa: B027  (optional hook: most brokers need no start)
        """Begin background work (connections, publishing)."""

    async def stop(self) -> None:  # noqa: B027
        """Deliver what is queued where possible, then stop."""


class BrokerUnavailable(Exception):
    """The broker cannot answer now (Redis is away)."""


BROKER = web.AppKey("broker", Broker)


class InProcessBroker(Broker):
    """One instance's events, numbered and remembered in memory. At most `MAX_CHANNELS` channels
    keep a history (least recently published dropped first; a dropped channel starts a new epoch)."""

    MAX_CHANNELS = 10_000

    def __init__(self, history: int) -> None:
        super().__init__()
        self._history = history
        self._instance = uuid.uuid4().hex[:12]
        self._generation = 0
        self._channels: collections.OrderedDict[str, _MemoryLog] = collections.OrderedDict()

    def _log(self, channel: str) -> _MemoryLog:
        log_ = self._channels.get(channel)
        if log_ is None:
            self._generation += 1
            log_ = _MemoryLog(f"{self._instance}.{self._generation}", self._history)
            self._channels[channel] = log_
            if len(self._channels) > self.MAX_CHANNELS:
                self._channels.popitem(last=False)
        return log_

    def publish(self, event: Pending) -> None:
        log_ = self._log(event.channel)
        self._channels.move_to_end(event.channel)
        log_.head += 1
        text = frame(event.channel, log_.head, log_.epoch, event.body)
        envelope = Envelope(
            channel=event.channel, seq=log_.head, epoch=log_.epoch, type=event.type, text=text
        )
        log_.events.append(envelope)
        self.sink(envelope)

    def broadcast(self, channel: str, text: str) -> None:
        try:
            self.sink(Envelope.parse(text))
        except ValueError:
            log.warning("dropped a malformed ephemeral message on %s", channel)

    async def listen(self, channel: str) -> None:
        return None

    async def unlisten(self, channel: str) -> None:
        return None

    async def since(self, channel: str, epoch: str | None, seq: int | None) -> Recovery:
        log_ = self._log(channel)
        if epoch is None or seq is None or epoch != log_.epoch or seq > log_.head:
            return Recovery(log_.epoch, log_.head, None)
        if seq == log_.head:
            return Recovery(log_.epoch, log_.head, [])
        if not log_.events or log_.events[0].seq > seq + 1:
            return Recovery(log_.epoch, log_.head, None)
        return Recovery(log_.epoch, log_.head, [e for e in log_.events if e.seq > seq])


class _MemoryLog:
    __slots__ = ("epoch", "head", "events")

    def __init__(self, epoch: str, history: int) -> None:
        self.epoch = epoch
        self.head = 0
        self.events: collections.deque[Envelope] = collections.deque(maxlen=history)


# KEYS: epoch, seq, log, event-id marker. ARGV: fresh epoch, channel as JSON, envelope tail,
# history length, history ttl, dedupe ttl, pub/sub channel.
_PUBLISH = """
if not redis.call('SET', KEYS[4], '1', 'NX', 'EX', ARGV[6]) then return 0 end
local epoch = redis.call('GET', KEYS[1])
if not epoch then
  epoch = ARGV[1]
  redis.call('SET', KEYS[1], epoch)
  redis.call('DEL', KEYS[2], KEYS[3])
end
local seq = redis.call('INCR', KEYS[2])
local text = '{"channel":' .. ARGV[2] .. ',"seq":' .. seq .. ',"epoch":"' .. epoch .. '",' .. ARGV[3]
redis.call('XADD', KEYS[3], 'MAXLEN', ARGV[4], seq .. '-0', 'e', text)
redis.call('EXPIRE', KEYS[1], ARGV[5])
redis.call('EXPIRE', KEYS[2], ARGV[5])
redis.call('EXPIRE', KEYS[3], ARGV[5])
redis.call('PUBLISH', ARGV[7], text)
return seq
"""

# KEYS: epoch, seq, log. ARGV: fresh epoch, history ttl, client's epoch, client's seq ('' if none).
# Returns {epoch, head, status, texts...}: status 1 recovered (texts follow), 0 not recoverable,
# 2 no position given.
_SINCE = """
local epoch = redis.call('GET', KEYS[1])
if not epoch then
  epoch = ARGV[1]
  redis.call('SET', KEYS[1], epoch, 'EX', ARGV[2])
  redis.call('DEL', KEYS[2], KEYS[3])
end
local head = tonumber(redis.call('GET', KEYS[2]) or '0')
if ARGV[4] == '' then return {epoch, head, 2} end
local since = tonumber(ARGV[4])
if ARGV[3] ~= epoch or since == nil or since > head then return {epoch, head, 0} end
if since == head then return {epoch, head, 1} end
local first = redis.call('XRANGE', KEYS[3], '-', '+', 'COUNT', 1)
if #first == 0 then return {epoch, head, 0} end
local oldest = tonumber(string.match(first[1][1], '^(%d+)'))
if oldest > since + 1 then return {epoch, head, 0} end
local reply = {epoch, head, 1}
for _, entry in ipairs(redis.call('XRANGE', KEYS[3], tostring(since + 1), '+')) do
  reply[#reply + 1] = entry[2][2]
end
return reply
"""

# KEYS: epoch, seq, log. Forget the channel's numbering: the next publish starts a new epoch.
_RESET = "redis.call('DEL', KEYS[1], KEYS[2], KEYS[3]) return 1"

_CONTROL_CHANNEL = "rt:control"


def _keys(channel: str) -> list[str]:
    # The hash tag keeps a channel's keys in one slot should this ever run on Redis Cluster.
    return [f"rt:{{{channel}}}:epoch", f"rt:{{{channel}}}:seq", f"rt:{{{channel}}}:log"]


def _pubsub_name(channel: str) -> str:
    return f"rt:ev:{channel}"


class RedisBroker(Broker):
    """Events through Redis: every instance receives the events of the channels it listens to."""

    def __init__(self, client: aioredis.Redis, history: int) -> None:
        super().__init__()
        self._client = client
        self._history = history
        self._publish_script = client.register_script(_PUBLISH)
        self._since_script = client.register_script(_SINCE)
        self._reset_script = client.register_script(_RESET)
        self._outbox: collections.deque[Pending] = collections.deque()
        self._outbox_ready = asyncio.Event()
        self._dropped: set[str] = set()
        self._listening: set[str] = set()
        self._confirmations: dict[str, asyncio.Future[None]] = {}
        self._pubsub: aioredis.client.PubSub | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False

    # publishing

    def publish(self, event: Pending) -> None:
        if len(self._outbox) >= PUBLISH_QUEUE_LIMIT:
            lost = self._outbox.popleft()
            if lost.type != RESET_EVENT:
                self._dropped.add(lost.channel)
            log.error("publish queue full (Redis unavailable?): dropped %s on %s", lost.type, lost.channel)
        self._outbox.append(event)
        self._outbox_ready.set()

    def broadcast(self, channel: str, text: str) -> None:
        task = asyncio.get_running_loop().create_task(self._broadcast(channel, text))
        task.add_done_callback(_log_failure)

    async def _broadcast(self, channel: str, text: str) -> None:
        try:
            await self._client.publish(_pubsub_name(channel), text)
        except (RedisError, OSError) as exc:
            log.debug("ephemeral message on %s not sent: %s", channel, exc)

    async def _drain_outbox(self) -> None:
        """Publish queued events in order, in pipelined batches; on failure wait and retry the
        same batch (the script ignores an event id it has already published)."""
        delay = 0.05
        while True:
            if not self._outbox:
                if self._stopping:
                    return
                self._outbox_ready.clear()
                await self._outbox_ready.wait()
                continue
            try:
                await self._reset_dropped()
                batch = [self._outbox[i] for i in range(min(MAX_BATCH, len(self._outbox)))]
                async with self._client.pipeline(transaction=False) as pipe:
                    for event in batch:
                        await self._publish_script(
                            keys=[*_keys(event.channel), f"rt:evt:{event.id}"],
                            args=[
                                uuid.uuid4().hex[:16],
                                json.dumps(event.channel),
                                event.body,
                                self._history,
                                HISTORY_TTL_SECONDS,
                                DEDUPE_TTL_SECONDS,
                                _pubsub_name(event.channel),
                            ],
                            client=pipe,
                        )
                    await pipe.execute()
            except (RedisError, OSError) as exc:
                if self._stopping:
                    log.warning("Redis unavailable at shutdown: %d events not published", len(self._outbox))
                    return
                log.warning("publishing failed (%s); retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
                continue
            delay = 0.05
            for _ in batch:
                if self._outbox:
                    self._outbox.popleft()

    async def _reset_dropped(self) -> None:
        """Give every channel that lost events a new epoch, announced by an event of its own."""
        while self._dropped:
            channel = next(iter(self._dropped))
            await self._reset_script(keys=_keys(channel), args=[])
            self._dropped.discard(channel)
            self._outbox.appendleft(pending_event(channel, RESET_EVENT, {"reason": "events_lost"}))

    # listening

    async def listen(self, channel: str) -> None:
        self._listening.add(channel)
        name = _pubsub_name(channel)
        confirmed = asyncio.get_running_loop().create_future()
        self._confirmations[name] = confirmed
        pubsub = self._pubsub
        if pubsub is None:
            return
        try:
            await pubsub.subscribe(name)
            await asyncio.wait_for(asyncio.shield(confirmed), LISTEN_CONFIRM_SECONDS)
        except (RedisError, OSError, asyncio.TimeoutError) as exc:
            # The reader reconnects and subscribes again; the hub recovers what this costs.
            log.warning("subscribing to %s not confirmed: %s", channel, exc)

    async def unlisten(self, channel: str) -> None:
        self._listening.discard(channel)
        self._confirmations.pop(_pubsub_name(channel), None)
        pubsub = self._pubsub
        if pubsub is None:
            return
        try:
            await pubsub.unsubscribe(_pubsub_name(channel))
        except (RedisError, OSError) as exc:
            log.debug("unsubscribing from %s failed: %s", channel, exc)

    async def _read(self) -> None:
        """Receive events for as long as the app runs, reconnecting with backoff when Redis goes
        away and then asking the hub to recover (`on_resync`)."""
        delay = 0.1
        first = True
        while True:
            pubsub = self._client.pubsub()
            try:
                names = [_CONTROL_CHANNEL, *(_pubsub_name(c) for c in self._listening)]
                await pubsub.subscribe(*names)
                awaiting = set(names)
                self._pubsub = pubsub
                while True:
                    message = await pubsub.get_message(timeout=5.0)
                    if message is None:
                        continue
                    kind = message["type"]
                    if kind == "message":
                        self.deliver(message["data"])
                    elif kind == "subscribe":
                        name = _text(message["channel"])
                        confirmed = self._confirmations.get(name)
                        if confirmed is not None and not confirmed.done():
                            confirmed.set_result(None)
                        if awaiting:
                            awaiting.discard(name)
                            if not awaiting:
                                delay = 0.1
                                if not first:
                                    log.warning("Redis pub/sub reconnected; recovering channels")
                                    BROKER_RECONNECTS.inc()
                                    self.on_resync()
                                first = False
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                log.warning("Redis pub/sub connection lost (%s); reconnecting in %.1fs", exc, delay)
            except Exception:
                log.exception("Redis pub/sub reader failed; reconnecting")
            finally:
                self._pubsub = None
                try:
                    await pubsub.aclose()
                except Exception:  # closing a broken connection may fail in any way
                    pass
            first = False
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)

    async def since(self, channel: str, epoch: str | None, seq: int | None) -> Recovery:
        try:
            reply = await self._since_script(
                keys=_keys(channel),
                args=[uuid.uuid4().hex[:16], HISTORY_TTL_SECONDS, epoch or "", "" if seq is None else seq],
            )
        except (RedisError, OSError) as exc:
            raise BrokerUnavailable(str(exc)) from exc
        current, head, status = _text(reply[0]), int(reply[1]), int(reply[2])
        if status != 1:
            return Recovery(current, head, None)
        missed: list[Envelope] = []
        for raw in reply[3:]:
            try:
                missed.append(Envelope.parse(raw))
            except ValueError as exc:
                log.warning("skipped a malformed event in %s's history: %s", channel, exc)
        return Recovery(current, head, missed)

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._read()), loop.create_task(self._drain_outbox())]

    async def stop(self) -> None:
        self._stopping = True
        self._outbox_ready.set()
        reader, drainer = self._tasks
        reader.cancel()
        try:
            await asyncio.wait_for(drainer, 2.0)
        except (asyncio.TimeoutError, asyncio.CancelledError):
            pass
        await asyncio.gather(reader, return_exceptions=True)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("realtime task failed", exc_info=task.exception())


def broker_ctx(settings: RealtimeSettings) -> Callable[[web.Application], AsyncIterator[None]]:
    """The cleanup context that sets `app[BROKER]`: the Redis broker when Redis is configured
    (after `redis_ctx`), else the supervisor's when this is one of several workers (after
    `machine_ctx`), else the in-process one, each keeping `settings.history` events a channel."""

    async def run_broker(app: web.Application) -> AsyncIterator[None]:
        from realtime.machine import MACHINE, MachineBroker  # it builds on this module

        client = app.get(REDIS)
        link = app.get(MACHINE)
        broker: Broker
        if client is not None:
            broker = RedisBroker(client, settings.history)
        elif link is not None:
            broker = MachineBroker(link)
        else:
            broker = InProcessBroker(settings.history)
        app[BROKER] = broker
        await broker.start()
        try:
            yield
        finally:
            await broker.stop()

    return run_broker
