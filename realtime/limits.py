"""What one WebSocket connection may ask for, and how often (docs/realtime.md, "Limits")."""

from __future__ import annotations

import time

MAX_SUBSCRIPTIONS = 200
COMMAND_RATE = 20.0
COMMAND_BURST = 40.0
MAX_STRIKES = 20
"""Commands refused for rate beyond this many close the connection (1008)."""
EPHEMERAL_INTERVAL_SECONDS = {"typing": 1.0, "presence": 5.0}
"""At most one typing (presence) message per channel per connection in this interval; more are
dropped silently: they are hints, not data."""


class CommandRate:
    """A connection's command budget: a token bucket of `COMMAND_BURST` commands refilled at
    `COMMAND_RATE` a second, and a count of the commands refused for it (strikes), which never
    goes down: a client that keeps pushing is eventually cut off."""

    def __init__(self) -> None:
        self._allowance = COMMAND_BURST
        self._checked_at = time.monotonic()
        self._strikes = 0

    def allow(self) -> bool:
        """Whether one more command fits the budget now (and take it from the budget if so)."""
        now = time.monotonic()
        self._allowance = min(COMMAND_BURST, self._allowance + (now - self._checked_at) * COMMAND_RATE)
        self._checked_at = now
        if self._allowance < 1:
            return False
        self._allowance -= 1
        return True

    def strike(self) -> bool:
        """Count a refused command; True once there have been more than `MAX_STRIKES`."""
        self._strikes += 1
        return self._strikes > MAX_STRIKES


class EphemeralThrottle:
    """A connection's typing and presence messages: at most one of a kind per channel per
    `EPHEMERAL_INTERVAL_SECONDS[kind]`."""

    def __init__(self) -> None:
        self._last: dict[tuple[str, str], float] = {}

    def allow(self, kind: str, channel: str) -> bool:
        """Whether a `kind` message may go to `channel` now (and note that one did if so)."""
        now = time.monotonic()
        if now - self._last.get((kind, channel), -1e9) < EPHEMERAL_INTERVAL_SECONDS[kind]:
            return False
        self._last[(kind, channel)] = now
        return True
