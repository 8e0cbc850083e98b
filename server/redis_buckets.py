"""Token buckets in Redis, shared by every instance: one atomic script call per request.

The script is `server.buckets.refill_and_take` in Lua, over one hash per caller (`requests`,
`writes`, `at`) that expires after a minute unused, when it would be full again anyway. The time is
the caller's clock, passed in, so that tests can move it; instances' clocks only need to agree
roughly (a bucket's time never runs backwards).
"""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

from server.buckets import REFILL_SECONDS, BucketsUnavailable, Budget

KEY_PREFIX = "ratelimit:"
TIMEOUT_SECONDS = 1.0
"""How long a request waits for Redis before it is let in without a check."""

_TAKE = """
local per_minute = tonumber(ARGV[1])
local writes_per_minute = tonumber(ARGV[2])
local write = ARGV[3] == '1'
local now = tonumber(ARGV[4])
local refill = tonumber(ARGV[5])
local level = redis.call('HMGET', KEYS[1], 'requests', 'writes', 'at')
local requests = tonumber(level[1]) or per_minute
local writes = tonumber(level[2]) or writes_per_minute
local at = tonumber(level[3]) or now
local elapsed = math.max(0, now - at)
at = math.max(now, at)
requests = math.min(per_minute, requests + elapsed * per_minute / refill)
writes = math.min(writes_per_minute, writes + elapsed * writes_per_minute / refill)
local wait = 0
if per_minute > 0 and requests < 1 then
  wait = (1 - requests) * refill / per_minute
end
if write and writes_per_minute > 0 and writes < 1 then
  wait = math.max(wait, (1 - writes) * refill / writes_per_minute)
end
if wait == 0 then
  if per_minute > 0 then requests = requests - 1 end
  if write and writes_per_minute > 0 then writes = writes - 1 end
end
redis.call('HSET', KEYS[1], 'requests', string.format('%.17g', requests),
  'writes', string.format('%.17g', writes), 'at', string.format('%.17g', at))
redis.call('EXPIRE', KEYS[1], refill)
return string.format('%.17g', wait)
"""


class RedisBuckets:
    """Buckets on a shared Redis client; any failure to get an answer is `BucketsUnavailable`."""

    def __init__(self, client: aioredis.Redis, budget: Budget, *, timeout: float = TIMEOUT_SECONDS) -> None:
        self._script = client.register_script(_TAKE)
        self._budget = budget
        self._timeout = timeout

    async def take(self, key: str, *, write: bool, now: float) -> float:
        args = [
            self._budget.per_minute,
            self._budget.writes_per_minute,
            "1" if write else "0",
            repr(now),
            REFILL_SECONDS,
        ]
        try:
            answer = await asyncio.wait_for(self._script(keys=[KEY_PREFIX + key], args=args), self._timeout)
        except (aioredis.RedisError, OSError, asyncio.TimeoutError) as exc:
            raise BucketsUnavailable(f"{type(exc).__name__}: {exc}") from exc
        return float(answer.decode() if isinstance(answer, bytes) else answer)
