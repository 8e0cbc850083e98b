"""Waiting for something to happen, instead of sleeping for a while and hoping it has.

A fixed sleep is either too short on a busy machine (the test fails for no reason) or longer than it
needs to be everywhere else; polling the very condition the test is waiting for is neither. Both
helpers check the condition at once, then every `interval` seconds, and fail with a message naming
what never happened. A condition may also raise, to give up early (say, a process that died).
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable

DEFAULT_TIMEOUT = 10.0
DEFAULT_INTERVAL = 0.05


class NeverHappened(AssertionError):
    """A condition waited for still did not hold when its time was up."""


async def wait_until(
    condition: Callable[[], bool | Awaitable[bool]],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    interval: float = DEFAULT_INTERVAL,
    what: str | None = None,
) -> None:
    """Return as soon as `condition()` (a plain or an async callable) is true; raise NeverHappened,
    naming `what` (or the condition), if it is still false after `timeout` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = condition()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return
        if loop.time() >= deadline:
            raise NeverHappened(_never(condition, what, timeout))
        await asyncio.sleep(interval)


def wait_until_sync(
    condition: Callable[[], bool],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    interval: float = DEFAULT_INTERVAL,
    what: str | None = None,
) -> None:
    """`wait_until` for code without an event loop: blocks the thread between checks."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            raise NeverHappened(_never(condition, what, timeout))
        time.sleep(interval)


def _never(condition: Callable[[], object], what: str | None, timeout: float) -> str:
    if what is None:
        code = getattr(condition, "__code__", None)
        where = f" ({code.co_filename}:{code.co_firstlineno})" if code is not None else ""
        what = f"{getattr(condition, '__qualname__', repr(condition))}{where}"
    return f"waited {timeout:g} s, but never: {what}"
