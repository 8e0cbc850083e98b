"""Channel names and the publish helpers the REST handlers call after each committed change."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from realtime.broker import BROKER
from realtime.channels import GROUP_PREFIX, USER_PREFIX, group_channel, user_channel
from realtime.envelope import pending_event

log = logging.getLogger(__name__)

__all__ = ["GROUP_PREFIX", "USER_PREFIX", "group_channel", "publish", "user_channel"]


def publish(app: web.Application, channel: str, type_: str, data: Any) -> None:
    """Queue an event for every subscriber of `channel` on every instance. Never raises and never
    waits: a change already committed must not fail, or be slowed, because telling others failed.
    `data` is anything JSON can encode, or `RawJSON` when the caller has it encoded already."""
    try:
        broker = app.get(BROKER)
        if broker is None:
            return
        broker.publish(pending_event(channel, type_, data))
    except Exception:  # a broken publish must never fail the request that committed the change
        log.exception("could not publish %s on %s", type_, channel)


def publish_group_event(request: web.Request, group_id: str, type_: str, data: Any) -> None:
    publish(request.app, group_channel(group_id), type_, data)


def publish_user_event(request: web.Request, user_id: str, type_: str, data: Any) -> None:
    publish(request.app, user_channel(user_id), type_, data)
