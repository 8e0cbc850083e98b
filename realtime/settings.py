"""What the realtime layer is configured with (read from the environment by `server.config`).

Plain data, so the configuration can be built and checked without opening anything."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_HISTORY = 1000
DEFAULT_WS_QUEUE_SIZE = 1024
DEFAULT_PUSH_TTL_SECONDS = 24 * 60 * 60
DEFAULT_PUSH_TIMEOUT_SECONDS = 10
MACHINE_SOCKET_ENV = "EXPENSE_TRACKER_MACHINE_SOCKET"
"""Not a setting: how the supervisor of `serve --workers N` tells its workers where it is."""


@dataclass(frozen=True, slots=True)
class RealtimeSettings:
    """`redis_url` None means one instance: the in-process broker and tickets kept in memory.

    `history` is how many recent events each channel keeps for resuming subscribers;
    `ws_queue_size` how many frames a connection may have waiting before it is cut off as too slow.
    """

    redis_url: str | None = None
    history: int = DEFAULT_HISTORY
    ws_queue_size: int = DEFAULT_WS_QUEUE_SIZE
    machine_socket: str | None = None
    """Set by `serve --workers N` (without Redis) in each worker: the supervisor's Unix socket,
    through which the workers share events, tickets and rate limits (`realtime.machine`)."""


@dataclass(frozen=True, slots=True)
class WebPushSettings:
    """`vapid_private_key` is the text of VAPID_PRIVATE_KEY (see `load_vapid_key`), `subject` a
    `mailto:` or `https:` contact for the push services' operators. `allow_http_loopback` lets
    subscriptions name plain-http endpoints on 127.0.0.1/::1/localhost: for tests only, never read
    from the environment. `ttl_seconds` is how long a push service keeps a message for a browser
    that is offline; `timeout_seconds` bounds each delivery."""

    vapid_private_key: str
    subject: str
    ttl_seconds: int = DEFAULT_PUSH_TTL_SECONDS
    timeout_seconds: float = DEFAULT_PUSH_TIMEOUT_SECONDS
    allow_http_loopback: bool = False
