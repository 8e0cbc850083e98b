"""The shared Redis client, opened and closed with the application when REDIS_URL is set."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import redis.asyncio as aioredis
from aiohttp import web

from realtime.settings import RealtimeSettings

REDIS = web.AppKey("redis", aioredis.Redis)
PING_TIMEOUT_SECONDS = 1.0
MAX_CONNECTIONS = 100
"""Redis connections one instance (one worker) opens at most; the pub/sub reader holds one."""
CONNECTION_WAIT_SECONDS = 5.0
"""How long a call waits for a free connection when all are busy, before it counts as Redis
being unavailable. redis-py's default pool fails at once instead: a burst of more than 100
concurrent calls (say, thousands of WebSockets resubscribing after a deploy, each reading its
channel's history) answered many of them "unavailable"."""


def open_client(url: str) -> aioredis.Redis:
    """A client whose callers queue for one of `MAX_CONNECTIONS` connections."""
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        max_connections=MAX_CONNECTIONS,
        timeout=CONNECTION_WAIT_SECONDS,
        socket_connect_timeout=2,
        socket_timeout=5,
        health_check_interval=30,
    )
    return aioredis.Redis.from_pool(pool)  # which it then closes with itself


def redis_ctx(settings: RealtimeSettings) -> Callable[[web.Application], AsyncIterator[None]]:
    """The cleanup context that opens the client at `settings.redis_url` as `app[REDIS]`, or sets
    nothing when no URL is configured (single instance, everything in memory)."""

    async def open_redis(app: web.Application) -> AsyncIterator[None]:
        url = settings.redis_url
        if url is None:
            yield
            return
        client = open_client(url)
        app[REDIS] = client
        try:
            yield
        finally:
            await client.aclose()

    return open_redis


async def redis_status(app: web.Application) -> str | None:
    """'ok' or why not; None when Redis is not configured."""
    client = app.get(REDIS)
    if client is None:
        return None
    try:
        await asyncio.wait_for(client.ping(), PING_TIMEOUT_SECONDS)
    except (aioredis.RedisError, OSError, asyncio.TimeoutError) as exc:
        return f"unavailable: {type(exc).__name__}"
    return "ok"
