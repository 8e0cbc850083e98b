"""The shared Redis client under a burst: more concurrent calls than it has connections wait for
one, as thousands of WebSockets resubscribing at once would, instead of failing."""

from __future__ import annotations

import asyncio

from realtime.redis import MAX_CONNECTIONS, open_client

BURST = 3 * MAX_CONNECTIONS


async def test_a_burst_beyond_the_pool_waits_for_connections(redis_url: str) -> None:
    client = open_client(redis_url)
    watcher = open_client(redis_url)
    try:
        await client.set("burst", "yes")
        # Each call holds its connection a little (a Lua script that counts), so the burst overlaps.
        script = client.register_script(
            "local n = 0 for i = 1, 20000 do n = n + i end return redis.call('GET', KEYS[1])"
        )
        answers = await asyncio.gather(*(script(keys=["burst"]) for _ in range(BURST)))
        assert answers == [b"yes"] * BURST
        clients = await watcher.client_list()
        assert len(clients) <= MAX_CONNECTIONS + 1  # + the watcher's own
    finally:
        await client.aclose()
        await watcher.aclose()
