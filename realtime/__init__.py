"""Real-time delivery: events, brokers (in-process and Redis), the subscription hub, tickets, and
the WebSocket protocol spoken over them.

Only the settings are re-exported here; the other modules are imported from where they are
(`realtime.hub`, `realtime.session`, ...): they load aiohttp and redis, which `server.config`
(importing this package's settings) and the command-line tools have no use for."""

from realtime.settings import RealtimeSettings

__all__ = ["RealtimeSettings"]
