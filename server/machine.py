"""The supervisor's side of the machine link (`realtime.machine` describes the protocol): one
in-process broker, one ticket store and one set of rate-limit buckets for all the workers of a
machine, served on a Unix socket.

Numbering happens here, in one place, so the seq/epoch/replay guarantees are the in-process
broker's: each channel's events are numbered in the order they arrive and sent, in that order, to
every worker listening to the channel. A worker that stops reading is cut off once
`MAX_BUFFERED_BYTES` wait for it (as Redis cuts off a slow pub/sub client): it then stops itself
and the supervisor starts another, whose clients replay what they missed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import defaultdict
from typing import Any

from domain import Unavailable
from realtime.broker import InProcessBroker
from realtime.envelope import Envelope, Pending
from realtime.machine import LINE_LIMIT
from realtime.tickets import MemoryTickets
from server.buckets import Budget, MemoryBuckets

log = logging.getLogger(__name__)

MAX_BUFFERED_BYTES = 32 * 1024 * 1024


class _Worker:
    __slots__ = ("writer", "channels", "_outbox")

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self.channels: set[str] = set()
        self._outbox: list[bytes] = []

    def send(self, line: bytes) -> None:
        """Queue `line`; what one loop pass queues for a worker leaves in one write, in order."""
        if not self._outbox:
            asyncio.get_running_loop().call_soon(self._flush)
        self._outbox.append(line)

    def _flush(self) -> None:
        lines, self._outbox = self._outbox, []
        transport = self.writer.transport
        if transport.is_closing():
            return
        if transport.get_write_buffer_size() > MAX_BUFFERED_BYTES:
            log.error("a worker stopped reading the machine link; cutting it off")
            transport.abort()
            return
        self.writer.write(b"".join(lines))

    def answer(self, rid: int, value: Any, kind: str = "ok") -> None:
        self.send(json.dumps([kind, rid, value], separators=(",", ":")).encode() + b"\n")


class MachineService:
    """What the workers share, and the socket they reach it on."""

    def __init__(self, *, history: int, budget: Budget | None) -> None:
        self._broker = InProcessBroker(history)
        self._broker.sink = self._fan_out
        self._tickets = MemoryTickets()
        self._buckets = MemoryBuckets(budget) if budget is not None else None
        self._listeners: defaultdict[str, set[_Worker]] = defaultdict(set)
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()

    async def start(self, path: str) -> None:
        self._server = await asyncio.start_unix_server(self._serve, path, limit=LINE_LIMIT)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)

    def _fan_out(self, envelope: Envelope) -> None:
        line = b"E" + envelope.text.encode() + b"\n"
        for worker in self._listeners.get(envelope.channel, ()):
            worker.send(line)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        worker = _Worker(writer)
        try:
            while line := await reader.readline():
                await self._handle(worker, json.loads(line))
        except (OSError, ValueError, asyncio.LimitOverrunError) as exc:
            log.error("a worker's machine link failed: %s", exc)
        except asyncio.CancelledError:
            pass
        finally:
            for channel in list(worker.channels):
                self._forget(worker, channel)
            writer.close()
            self._connections.discard(task)

    def _forget(self, worker: _Worker, channel: str) -> None:
        worker.channels.discard(channel)
        listeners = self._listeners.get(channel)
        if listeners is not None:
            listeners.discard(worker)
            if not listeners:
                del self._listeners[channel]

    async def _handle(self, worker: _Worker, message: list[Any]) -> None:
        op = message[0]
        if op == "pub":
            _, channel, type_, id_, body = message
            self._broker.publish(Pending(channel=channel, type=type_, id=id_, body=body))
        elif op == "cast":
            line = b"E" + str(message[2]).encode() + b"\n"
            for listener in self._listeners.get(message[1], ()):
                listener.send(line)
        elif op == "unlisten":
            self._forget(worker, message[1])
        elif op == "listen":
            worker.channels.add(message[2])
            self._listeners[message[2]].add(worker)
            worker.answer(message[1], None)
        elif op == "since":
            _, rid, channel, epoch, seq = message
            recovery = await self._broker.since(channel, epoch, seq)
            texts = None if recovery.missed is None else [e.text for e in recovery.missed]
            worker.answer(rid, [recovery.epoch, recovery.head, texts])
        elif op == "tput":
            try:
                await self._tickets.put(message[2], message[3])
            except Unavailable as exc:
                worker.answer(message[1], exc.message, "err")
            else:
                worker.answer(message[1], None)
        elif op == "ttake":
            worker.answer(message[1], await self._tickets.take(message[2]))
        elif op == "take":
            _, rid, key, write, now = message
            wait = 0.0
            if self._buckets is not None:
                wait = await self._buckets.take(key, write=bool(write), now=float(now or time.time()))
            worker.answer(rid, wait)
        else:
            raise ValueError(f"unknown machine link message {op!r}")
