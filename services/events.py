"""Where services announce committed changes: a group's channel and a user's own channel.

Services never see the broker or the app: they get an `Events`, which the assembly builds around
the realtime layer's publish (every subscriber on every instance). Publishing never raises and
never waits, so it cannot fail or slow a change that is already committed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from realtime.channels import group_channel, user_channel

Publish = Callable[[str, str, Any], None]
"""(channel, event type, data) → None; `data` is JSON-encodable or `RawJSON`; never raises."""


class Events:
    def __init__(self, publish: Publish) -> None:
        self._publish = publish

    def to_group(self, group_id: str, type_: str, data: Any) -> None:
        self._publish(group_channel(group_id), type_, data)

    def to_user(self, user_id: str, type_: str, data: Any) -> None:
        self._publish(user_channel(user_id), type_, data)
