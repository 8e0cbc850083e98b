"""Token buckets for the REST rate limits: the arithmetic, kept in process memory or in Redis.

Each caller (a user, or a client address) has two buckets that refill continuously: one for every
request (`per_minute` tokens, refilled at `per_minute / 60` a second), one for writes. A request
takes a token from each bucket that applies to it, or from none when any is empty, and is then told
how long until it would succeed. A bucket refills from empty to full in exactly one minute, so a
bucket left alone for a minute is the same as no bucket: that is how idle buckets are dropped, by
eviction in memory and by a 60 s TTL in Redis.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass
from typing import Protocol

REFILL_SECONDS = 60
"""From empty to full, for every bucket (its capacity is what it refills per minute)."""
MAX_MEMORY_BUCKETS = 100_000


@dataclass(frozen=True, slots=True)
class Budget:
    """Tokens per minute for all requests and for writes; 0 means that limit is off."""

    per_minute: int
    writes_per_minute: int


class BucketsUnavailable(Exception):
    """The shared buckets cannot be reached; the caller decides whether to let the request in."""


class Buckets(Protocol):
    async def take(self, key: str, *, write: bool, now: float) -> float:
        """Take what one request costs from `key`'s buckets at `now` (seconds since the epoch).
        Returns 0 when taken, else the seconds until it could be (nothing is taken then)."""
        ...


@dataclass(slots=True)
class _Level:
    requests: float
    writes: float
    at: float


def refill_and_take(level: _Level | None, budget: Budget, *, write: bool, now: float) -> tuple[_Level, float]:
    """The buckets after a request at `now`, and the wait (0 when the request may go ahead).
    `server/redis_buckets.py` runs the same steps in Lua; keep the two in step."""
    if level is None:
        level = _Level(float(budget.per_minute), float(budget.writes_per_minute), now)
    # Clocks of two instances may disagree a little: time never runs backwards for a bucket.
    elapsed = max(0.0, now - level.at)
    at = max(now, level.at)
    requests = min(float(budget.per_minute), level.requests + elapsed * budget.per_minute / REFILL_SECONDS)
    writes = min(
        float(budget.writes_per_minute), level.writes + elapsed * budget.writes_per_minute / REFILL_SECONDS
    )
    wait = 0.0
    if budget.per_minute and requests < 1:
        wait = (1 - requests) * REFILL_SECONDS / budget.per_minute
    if write and budget.writes_per_minute and writes < 1:
        wait = max(wait, (1 - writes) * REFILL_SECONDS / budget.writes_per_minute)
    if wait > 0:
        return _Level(requests, writes, at), wait
    if budget.per_minute:
        requests -= 1
    if write and budget.writes_per_minute:
        writes -= 1
    return _Level(requests, writes, at), 0.0


def retry_after(wait: float) -> int:
    """`Retry-After` in whole seconds, at least 1, never before a token is there."""
    return max(1, math.ceil(wait))


class MemoryBuckets:
    """Buckets of one process, in least-recently-used order. Memory stays bounded: buckets idle for
    a minute (full again, so no different from absent) are dropped as others are used, and past
    `max_buckets` the least recently used goes early, which can only ever let its owner in sooner."""

    def __init__(self, budget: Budget, *, max_buckets: int = MAX_MEMORY_BUCKETS) -> None:
        self._budget = budget
        self._max_buckets = max_buckets
        self._levels: OrderedDict[str, _Level] = OrderedDict()

    def __len__(self) -> int:
        return len(self._levels)

    async def take(self, key: str, *, write: bool, now: float) -> float:
        level, wait = refill_and_take(self._levels.pop(key, None), self._budget, write=write, now=now)
        self._levels[key] = level
        self._evict(now)
        return wait

    def _evict(self, now: float) -> None:
        levels = self._levels
        while len(levels) > self._max_buckets:
            levels.popitem(last=False)
        while levels:
            oldest = next(iter(levels.values()))
            if now - oldest.at < REFILL_SECONDS:
                break
            levels.popitem(last=False)
