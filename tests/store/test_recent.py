"""latest_across_groups reads few groups yet returns exactly the newest entries of all of them."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import example, given, settings
from hypothesis import strategies as st

from domain import ActivityEntry
from domain.clock import to_text
from store.recent import latest_across_groups

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def entry(group: int, number: int, minutes: int) -> ActivityEntry:
    return ActivityEntry(
        id=f"{group}-{number}",
        group_id=f"g{group}",
        at=T0 + timedelta(minutes=minutes),
        actor_id="u",
        action="expense.created",
        subject_id="x",
        details={},
    )


histories = st.lists(st.lists(st.integers(0, 500), min_size=1, max_size=30), min_size=1, max_size=40)


@settings(max_examples=150, deadline=None)
@example(history=[[1, 0], [0], [0], [0], [0], [0], [0]], limit=6)
@given(histories, st.integers(1, 25))
async def test_exactly_the_newest_entries_of_all_groups(history, limit):
    by_group = {
        f"g{g}": sorted(
            (entry(g, n, m) for n, m in enumerate(minutes)), key=lambda e: (e.at, e.id), reverse=True
        )
        for g, minutes in enumerate(history)
    }
    groups = sorted(
        ((gid, to_text(entries[0].at)) for gid, entries in by_group.items()),
        key=lambda g: (g[1], g[0]),
        reverse=True,
    )
    read: list[str] = []

    async def latest_of(group_id: str, count: int) -> list[ActivityEntry]:
        read.append(group_id)
        return by_group[group_id][:count]

    result = await latest_across_groups(groups, limit, latest_of)
    everything = sorted((e for es in by_group.values() for e in es), key=lambda e: (e.at, e.id), reverse=True)
    assert [(e.at, e.id) for e in result] == [(e.at, e.id) for e in everything[:limit]]
    assert len(read) <= limit and len(set(read)) == len(read)


async def test_a_quiet_tail_of_groups_is_never_read():
    recent = [entry(0, n, 1000 - n) for n in range(10)]
    stale = {f"g{g}": [entry(g, 0, g)] for g in range(1, 20)}
    by_age = sorted(stale.items(), key=lambda kv: kv[1][0].at, reverse=True)
    groups = [("g0", to_text(recent[0].at))] + [(gid, to_text(es[0].at)) for gid, es in by_age]
    read: list[str] = []

    async def latest_of(group_id: str, count: int) -> list[ActivityEntry]:
        read.append(group_id)
        return (recent if group_id == "g0" else stale[group_id])[:count]

    result = await latest_across_groups(groups, 5, latest_of)
    assert [e.id for e in result] == [f"0-{n}" for n in range(5)]
    assert len(read) == 5
