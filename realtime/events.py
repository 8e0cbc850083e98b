"""Publishing a committed change to every subscriber on every instance. The assembly binds
`publish` to its app and hands it to the services (`services.events.Events`)."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from domain.metrics import EVENTS_PUBLISHED
from realtime.broker import BROKER
from realtime.envelope import pending_event

log = logging.getLogger(__name__)


def publish(app: web.Application, channel: str, type_: str, data: Any) -> None:
    """Queue an event for every subscriber of `channel` on every instance. Never raises and never
    waits: a change already committed must not fail, or be slowed, because telling others failed.
    `data` is anything JSON can encode, or `RawJSON` when the caller has it encoded already."""
    try:
        broker = app.get(BROKER)
        if broker is None:
            return
        broker.publish(pending_event(channel, type_, data))
        EVENTS_PUBLISHED.inc()
    except Exception:  # a broken publish must never fail the request that committed the change
        log.exception("could not publish %s on %s", type_, channel)
