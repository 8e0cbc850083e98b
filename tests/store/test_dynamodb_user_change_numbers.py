"""DynamoDB's users' own changes logs under two processes writing them at once: joins of one user
to many groups, notifications (some to several users at once) and profile updates, spread over two
stores on the same tables, each number every change once, without gaps, in every log involved."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable

from domain.models import UserChange
from store.base import Notification, Store
from store.dynamodb import DynamoDBSettings, DynamoDBStore
from tests.store.builders import T0, at, group, user, users

GROUPS = 8
NOTIFICATIONS = 12
PROFILE_UPDATES = 6
DEADLINE = 60
"""Seconds the concurrent writes get in all: a deadlock between the per-log locks fails the test
instead of hanging it."""


def _note(user_id: str) -> Notification:
    return Notification(
        id=uuid.uuid4().hex,
        user_id=user_id,
        kind="expense.created",
        actor_id="actor",
        actor_name="Ann",
        summary="Ann added Dinner",
        link={"kind": "expense", "group_id": "g1", "expense_id": "e1"},
        created_at=T0,
    )


async def _log(store: Store, user_id: str, after: int) -> list[UserChange]:
    changes, more = await store.list_user_changes(user_id, after=after, limit=1000)
    assert not more
    return changes


async def test_two_processes_number_one_users_log_without_gaps(dynamodb_settings: DynamoDBSettings) -> None:
    async with DynamoDBStore.open(dynamodb_settings) as one, DynamoDBStore.open(dynamodb_settings) as two:
        busy, other = await user(one, "busy"), await user(one, "other")
        groups = [await group(one, owner) for owner in await users(one, GROUPS, prefix="owner")]
        marks = {u.id: await one.last_user_change(u.id) for u in (busy, other)}
        alone = [_note(busy.id) for _ in range(NOTIFICATIONS)]
        # Each of these also numbers in `other`'s log, listed in both orders: the per-log locks
        # must be taken in one order whatever the order of the recipients.
        shared = [[_note(busy.id), _note(other.id)][:: 1 if n % 2 else -1] for n in range(NOTIFICATIONS)]
        writes: list[Awaitable[object]] = []
        for n, made in enumerate(groups):
            writes.append((one if n % 2 else two).add_member(made.id, busy.id, at(n)))
        for n, note in enumerate(alone):
            writes.append((one if n % 2 else two).add_notifications([note]))
        for n, pair in enumerate(shared):
            writes.append((two if n % 2 else one).add_notifications(pair))
        for n in range(PROFILE_UPDATES):
            writes.append((one if n % 2 else two).update_profile(busy.id, changes={"name": f"Busy {n}"}))

        await asyncio.wait_for(asyncio.gather(*writes), DEADLINE)

        logged = await _log(two, busy.id, marks[busy.id])
        total = GROUPS + 2 * NOTIFICATIONS + PROFILE_UPDATES
        assert [c.seq for c in logged] == list(range(marks[busy.id] + 1, marks[busy.id] + total + 1))
        assert sorted(c.id for c in logged if c.kind == "group") == sorted(g.id for g in groups)
        mine = [note.id for note in alone] + [n.id for pair in shared for n in pair if n.user_id == busy.id]
        assert sorted(c.id for c in logged if c.kind == "notification") == sorted(mine)
        assert [c.id for c in logged if c.kind == "profile"] == [busy.id] * PROFILE_UPDATES
        assert await one.last_user_change(busy.id) == logged[-1].seq

        theirs = await _log(one, other.id, marks[other.id])
        assert [c.seq for c in theirs] == list(
            range(marks[other.id] + 1, marks[other.id] + NOTIFICATIONS + 1)
        )
        assert sorted(c.id for c in theirs) == sorted(
            n.id for pair in shared for n in pair if n.user_id == other.id
        )


async def test_a_join_numbers_in_the_group_log_and_the_users_log_together(
    dynamodb_settings: DynamoDBSettings,
) -> None:
    """Joins of many users to one group from two processes, each also notifying the joiner: the
    group's log and every joiner's log stay gapless, each join once in both."""
    async with DynamoDBStore.open(dynamodb_settings) as one, DynamoDBStore.open(dynamodb_settings) as two:
        owner = await user(one, "host")
        made = await group(one, owner)
        joiners = await users(one, 10, prefix="joiner")
        group_mark = await one.last_change(made.id)

        async def join(store: Store, member_id: str, n: int) -> None:
            await asyncio.gather(
                store.add_member(made.id, member_id, at(n)), store.add_notifications([_note(member_id)])
            )

        await asyncio.wait_for(
            asyncio.gather(*(join(one if n % 2 else two, j.id, n) for n, j in enumerate(joiners))), DEADLINE
        )

        changes, more = await two.list_changes(made.id, after=group_mark, limit=1000)
        assert not more
        assert [c.seq for c in changes] == list(range(group_mark + 1, group_mark + len(joiners) + 1))
        assert sorted(c.id for c in changes) == sorted(j.id for j in joiners)
        for joiner in joiners:
            logged = await _log(one, joiner.id, 0)
            assert [c.seq for c in logged] == [1, 2]
            assert sorted(c.kind for c in logged) == ["group", "notification"]


async def test_writes_to_two_users_logs_never_wait_on_each_other(dynamodb_settings: DynamoDBSettings) -> None:
    """Notifications to a and b, in both orders, among ones to a or b alone, on one store: each
    write holds its logs' locks while it commits, so taking them in the recipients' order would
    let one write hold a's and wait for b's while another holds b's and waits for a's."""
    async with DynamoDBStore.open(dynamodb_settings) as store:
        a, b = await users(store, 2, prefix="pair")
        writes = []
        for n in range(NOTIFICATIONS):
            writes += [
                store.add_notifications([_note(a.id)]),
                store.add_notifications([_note(b.id)]),
                store.add_notifications([_note(a.id), _note(b.id)][:: 1 if n % 2 else -1]),
            ]

        await asyncio.wait_for(asyncio.gather(*writes), DEADLINE)

        for member in (a, b):
            assert [c.seq for c in await _log(store, member.id, 0)] == list(range(1, 2 * NOTIFICATIONS + 1))
