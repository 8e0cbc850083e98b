"""Rate-limit buckets kept by the supervisor (`server.machine`), so that several workers on one
machine share each caller's budget instead of each granting it in full."""

from __future__ import annotations

from realtime.machine import MachineLink, MachineLinkLost
from server.buckets import BucketsUnavailable


class MachineBuckets:
    def __init__(self, link: MachineLink) -> None:
        self._link = link

    async def take(self, key: str, *, write: bool, now: float) -> float:
        try:
            return float(await self._link.ask("take", key, write, now))
        except MachineLinkLost as exc:
            raise BucketsUnavailable(str(exc)) from None
