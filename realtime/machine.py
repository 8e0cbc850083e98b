"""The worker's side of the machine link: with `serve --workers N` and no Redis, what the workers
of one machine share (the event numbering, history and fan-out, the WebSocket tickets and the
rate-limit buckets) lives in the supervising process (`server.machine`), reached over a Unix socket.

The protocol is one message a line. A worker sends JSON arrays: `["pub", channel, type, id, body]`,
`["cast", channel, text]` and `["unlisten", channel]` need no answer; `["listen", rid, channel]`,
`["since", rid, channel, epoch, seq]`, `["tput", rid, key, value]`, `["ttake", rid, key]` and
`["take", rid, key, write, now]` are answered `["ok", rid, value]` or `["err", rid, message]`. The
supervisor sends those answers and, for every event or ephemeral message on a channel the worker
listens to, `E` followed by the envelope's text (JSON has no raw newline, so a line is a message).

One socket carries everything in order: a `listen` answered means every event numbered after it
reaches this worker. A worker that loses the link cannot keep its guarantees, so it stops (SIGTERM
to itself, which drains it) and the supervisor starts another; its clients reconnect and replay.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import signal
from collections.abc import AsyncIterator, Callable
from typing import Any

from aiohttp import web

from domain import Unavailable
from realtime.broker import Broker, BrokerUnavailable, Recovery
from realtime.envelope import Envelope, Pending
from realtime.tickets import Tickets

log = logging.getLogger(__name__)

LINE_LIMIT = 64 * 1024 * 1024
"""The longest message either side accepts (an event's text is bounded far below this)."""
ANSWER_TIMEOUT_SECONDS = 10.0


class MachineLinkLost(Exception):
    """The supervising process does not answer."""


class MachineLink:
    """One worker's connection to the supervisor: requests with answers, and the events it sends."""

    def __init__(self, path: str, *, on_lost: Callable[[], None] | None = None) -> None:
        self._path = path
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._ids = itertools.count(1)
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._on_lost = on_lost or _stop_this_worker
        self._outbox: list[bytes] = []
        self.on_event: Callable[[str], None] = lambda text: None

    async def connect(self) -> None:
        self._reader, self._writer = await asyncio.open_unix_connection(self._path, limit=LINE_LIMIT)
        self._task = asyncio.create_task(self._read(self._reader))

    def send(self, *message: Any) -> None:
        """Send a message that needs no answer. Never waits: the messages of one loop pass leave
        together, in order, in one write (a request's rate-limit check is one of them)."""
        writer = self._writer
        if writer is None or writer.is_closing():
            raise MachineLinkLost("the machine link is closed")
        if not self._outbox:
            asyncio.get_running_loop().call_soon(self._flush)
        self._outbox.append(json.dumps(message, separators=(",", ":")).encode() + b"\n")

    def _flush(self) -> None:
        lines, self._outbox = self._outbox, []
        if self._writer is not None and not self._writer.is_closing():
            self._writer.write(b"".join(lines))

    async def ask(self, op: str, *args: Any) -> Any:
        rid = next(self._ids)
        loop = asyncio.get_running_loop()
        answer = loop.create_future()
        self._pending[rid] = answer
        timer = loop.call_later(ANSWER_TIMEOUT_SECONDS, _unanswered, answer, op)
        try:
            self.send(op, rid, *args)
            return await answer
        finally:
            timer.cancel()
            self._pending.pop(rid, None)

    async def _read(self, reader: asyncio.StreamReader) -> None:
        try:
            while line := await reader.readline():
                if line[:1] == b"E":
                    self.on_event(line[1:-1].decode())
                    continue
                kind, rid, value = json.loads(line)
                answer = self._pending.get(rid)
                if answer is not None and not answer.done():
                    if kind == "ok":
                        answer.set_result(value)
                    else:
                        answer.set_exception(MachineLinkLost(str(value)))
        except (OSError, ValueError, asyncio.LimitOverrunError) as exc:
            log.error("the machine link failed: %s", exc)
        finally:
            for answer in self._pending.values():
                if not answer.done():
                    answer.set_exception(MachineLinkLost("the machine link closed"))
            if not self._closing:
                log.error("lost the link to the supervising process; stopping this worker")
                self._on_lost()

    async def close(self) -> None:
        self._closing = True
        if self._writer is not None:
            self._writer.close()
            try:
                await self._writer.wait_closed()
            except OSError:
                pass
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)


def _unanswered(answer: asyncio.Future[Any], op: str) -> None:
    if not answer.done():
        answer.set_exception(MachineLinkLost(f"the supervisor did not answer {op}"))


def _stop_this_worker() -> None:
    os.kill(os.getpid(), signal.SIGTERM)


class MachineBroker(Broker):
    """Events numbered, remembered and fanned out by the supervisor, for every worker."""

    def __init__(self, link: MachineLink) -> None:
        super().__init__()
        self._link = link
        link.on_event = self.deliver

    def publish(self, event: Pending) -> None:
        try:
            self._link.send("pub", event.channel, event.type, event.id, event.body)
        except MachineLinkLost:
            log.warning("an event on %s was not published: the machine link is closed", event.channel)

    def broadcast(self, channel: str, text: str) -> None:
        try:
            self._link.send("cast", channel, text)
        except MachineLinkLost:
            pass

    async def listen(self, channel: str) -> None:
        try:
            await self._link.ask("listen", channel)
        except MachineLinkLost as exc:
            log.warning("listening to %s not confirmed: %s", channel, exc)

    async def unlisten(self, channel: str) -> None:
        try:
            self._link.send("unlisten", channel)
        except MachineLinkLost:
            pass

    async def since(self, channel: str, epoch: str | None, seq: int | None) -> Recovery:
        try:
            head_epoch, head, texts = await self._link.ask("since", channel, epoch, seq)
        except MachineLinkLost as exc:
            raise BrokerUnavailable(str(exc)) from None
        missed = None if texts is None else [Envelope.parse(text) for text in texts]
        return Recovery(head_epoch, head, missed)


class MachineTickets(Tickets):
    """WebSocket tickets kept by the supervisor: issued on one worker, redeemable once on any."""

    def __init__(self, link: MachineLink) -> None:
        self._link = link

    async def put(self, key: str, value: str) -> None:
        try:
            await self._link.ask("tput", key, value)
        except MachineLinkLost as exc:
            raise Unavailable(f"WebSocket tickets are unavailable: {exc}") from None

    async def take(self, key: str) -> str | None:
        try:
            value = await self._link.ask("ttake", key)
        except MachineLinkLost:
            return None
        return value if isinstance(value, str) else None


MACHINE = web.AppKey("machine", MachineLink)


def machine_ctx(path: str | None) -> Callable[[web.Application], AsyncIterator[None]]:
    """The cleanup context that connects `app[MACHINE]` to the supervisor at `path`, or sets
    nothing when this process is not one of several workers sharing a machine broker."""

    async def open_link(app: web.Application) -> AsyncIterator[None]:
        if path is None:
            yield
            return
        link = MachineLink(path)
        await link.connect()
        app[MACHINE] = link
        try:
            yield
        finally:
            await link.close()

    return open_link
