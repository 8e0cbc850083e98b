"""The latest activity across several groups, reading as few of them as exactness allows."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from domain import ActivityEntry
from domain.clock import to_text

BATCH = 5


async def latest_across_groups(
    groups: list[tuple[str, str]],
    limit: int,
    latest_of: Callable[[str, int], Awaitable[list[ActivityEntry]]],
) -> list[ActivityEntry]:
    """The `limit` newest entries of all `groups` ((group id, time of its latest activity), newest
    first), reading groups a batch at a time.

    Exact, not a sample: every group not read yet was last active no later than the next one in
    line, so once the `limit`-th entry found is strictly more recent than that, no unread group can
    change the answer (an entry at the same instant could, since ties go by id). The newest
    `limit` entries come from at most `limit` groups, which bounds the reads to `limit` groups in
    `limit / BATCH` rounds."""
    recent: list[ActivityEntry] = []
    candidates = groups[:limit]
    for start in range(0, len(candidates), BATCH):
        pages = await asyncio.gather(
            *(latest_of(group_id, limit) for group_id, _ in candidates[start : start + BATCH])
        )
        found = [entry for page in pages for entry in page]
        recent = sorted([*recent, *found], key=lambda e: (e.at, e.id), reverse=True)[:limit]
        following = candidates[start + BATCH : start + BATCH + 1]
        if not following or (len(recent) == limit and to_text(recent[-1].at) > following[0][1]):
            break
    return recent
