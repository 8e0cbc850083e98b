"""Changing one field of a group's record that members edit piece by piece (its own categories,
its own exchange rates): one versioned write of the whole field, judged again on the group as it
is whenever another write won the race, then announced with the group's new version."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from typing import Any, TypeVar

from domain import Group, PreconditionFailed, Unavailable
from services.common import Service
from services.payloads import group_event

T = TypeVar("T")
V = TypeVar("V")

ATTEMPTS = 20
"""Each lost race means another member's write won, so a handful of members changing the group
at once all get through within as many rounds."""
PAUSE_SECONDS = 0.002
"""A short pause, growing with each round, spreads the rounds out."""


async def change_group_field(
    service: Service,
    group: Group,
    field: str,
    change: Callable[[Group], tuple[V | None, T]],
    announce: Callable[[T], tuple[str, dict[str, Any]]],
) -> tuple[T, bool]:
    """Apply `change` (the group as it is → the field's new value, or None for no change; and
    the piece concerned) as one versioned write of `field`. Publishes `announce(piece)`, then
    `group.updated`. Returns the piece and whether anything was written; 503 `busy` when the
    group kept changing."""
    store = service.store
    for attempt in range(ATTEMPTS):
        value, concerned = change(group)
        if value is None:
            return concerned, False
        try:
            updated = await store.update_group(
                group.id, expected_version=group.version, changes={field: value}, updated_at=service.clock()
            )
        except PreconditionFailed:  # someone changed the group meanwhile: judge again
            await asyncio.sleep(random.uniform(0, PAUSE_SECONDS * (attempt + 1)))
            group = await store.get_group(group.id)
            continue
        event, data = announce(concerned)
        service.events.to_group(group.id, event, {"group_id": group.id, **data})
        # the group's version moved: clients holding it for If-Match hear the new one
        members = await store.list_members(group.id)
        service.events.to_group(group.id, "group.updated", group_event(updated, members))
        return concerned, True
    raise Unavailable(
        f"the group is changing too fast to change its {field}; try again",
        code="busy",
        headers={"Retry-After": "1"},
    )
