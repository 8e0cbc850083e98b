"""Short-lived, single-use tickets that open a WebSocket without putting a long-lived token in a URL.

A ticket is 32 random bytes; only its hash is kept, with the user and token it was issued for, for
`TICKET_TTL_SECONDS`. Redeeming deletes it in the same step (GETDEL in Redis, so a ticket works once
across every instance; a dict in memory otherwise).
"""

from __future__ import annotations

import abc
import hashlib
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import redis.asyncio as aioredis
from aiohttp import web
from redis.exceptions import RedisError

from domain import Unavailable
from realtime.redis import REDIS

TICKET_TTL_SECONDS = 30
MAX_MEMORY_TICKETS = 100_000


@dataclass(frozen=True, slots=True)
class Holder:
    """Whom a ticket was issued to: the user, the id of the token they asked with, and when that
    token expires (seconds since the epoch)."""

    user_id: str
    token_id: str
    expires_at: int


class Tickets(abc.ABC):
    async def issue(self, holder: Holder) -> str:
        ticket = secrets.token_urlsafe(32)
        await self.put(_hash(ticket), f"{holder.user_id} {holder.token_id} {holder.expires_at}")
        return ticket

    async def redeem(self, ticket: str) -> Holder | None:
        """The holder, once; None for an unknown, used or expired ticket."""
        value = await self.take(_hash(ticket))
        if value is None:
            return None
        user_id, token_id, expires_at = value.split(" ")
        return Holder(user_id=user_id, token_id=token_id, expires_at=int(expires_at))

    # The storage underneath, by the ticket's hash: what the supervisor of `serve --workers N`
    # keeps for its workers (server/machine.py) without knowing what a ticket is.

    @abc.abstractmethod
    async def put(self, key: str, value: str) -> None:
        """Keep `value` under `key` for TICKET_TTL_SECONDS (Unavailable if it cannot be kept)."""

    @abc.abstractmethod
    async def take(self, key: str) -> str | None:
        """The value under `key`, removed in the same step; None if none, or expired."""


class MemoryTickets(Tickets):
    def __init__(self) -> None:
        self._tickets: dict[str, tuple[float, str]] = {}

    async def put(self, key: str, value: str) -> None:
        now = time.monotonic()
        if len(self._tickets) >= MAX_MEMORY_TICKETS:
            self._tickets = {k: v for k, v in self._tickets.items() if v[0] > now}
            if len(self._tickets) >= MAX_MEMORY_TICKETS:
                raise Unavailable("too many pending WebSocket tickets; try again shortly")
        self._tickets[key] = (now + TICKET_TTL_SECONDS, value)

    async def take(self, key: str) -> str | None:
        entry = self._tickets.pop(key, None)
        if entry is None or entry[0] <= time.monotonic():
            return None
        return entry[1]


class RedisTickets(Tickets):
    def __init__(self, client: aioredis.Redis) -> None:
        self._client = client

    async def put(self, key: str, value: str) -> None:
        try:
            await self._client.set(f"rt:ticket:{key}", value, ex=TICKET_TTL_SECONDS)
        except (RedisError, OSError) as exc:
            raise Unavailable(f"WebSocket tickets are unavailable: {type(exc).__name__}") from None

    async def take(self, key: str) -> str | None:
        try:
            value = await self._client.getdel(f"rt:ticket:{key}")
        except (RedisError, OSError):
            return None
        return value.decode() if isinstance(value, bytes) else value


def _hash(ticket: str) -> str:
    return hashlib.sha256(ticket.encode()).hexdigest()


TICKETS = web.AppKey("tickets", Tickets)


async def tickets_ctx(app: web.Application) -> AsyncIterator[None]:
    from realtime.machine import MACHINE, MachineTickets  # it builds on this module

    client = app.get(REDIS)
    link = app.get(MACHINE)
    if client is not None:
        app[TICKETS] = RedisTickets(client)
    elif link is not None:
        app[TICKETS] = MachineTickets(link)
    else:
        app[TICKETS] = MemoryTickets()
    yield
