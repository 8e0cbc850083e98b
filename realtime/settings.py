"""What the realtime layer is configured with (read from the environment by `server.config`).

Plain data, so the configuration can be built and checked without opening anything."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_HISTORY = 1000
DEFAULT_WS_QUEUE_SIZE = 1024


@dataclass(frozen=True, slots=True)
class RealtimeSettings:
    """`redis_url` None means one instance: the in-process broker and tickets kept in memory.

    `history` is how many recent events each channel keeps for resuming subscribers;
    `ws_queue_size` how many frames a connection may have waiting before it is cut off as too slow.
    """

    redis_url: str | None = None
    history: int = DEFAULT_HISTORY
    ws_queue_size: int = DEFAULT_WS_QUEUE_SIZE
