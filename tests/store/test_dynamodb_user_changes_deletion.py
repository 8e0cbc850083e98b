"""Deleting a full group on DynamoDB: one transaction cannot end 50 memberships and log each in its
member's own log (100 actions at most), so the newest members leave first. A failure between those
transactions leaves a valid, smaller group, every log telling the truth, frozen so that nothing can
make its deletion fail, and a DELETE tried again finishes the job."""

from __future__ import annotations

from typing import Any

import pytest

from domain import NotFound, Unavailable
from domain.models import MAX_GROUP_MEMBERS
from store.dynamodb import DynamoDBSettings, DynamoDBStore
from tests.store.builders import activity, at, expense, group, moves, user, users


async def test_a_deletion_cut_short_leaves_a_smaller_group_and_a_retry_finishes(
    dynamodb_settings: DynamoDBSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with DynamoDBStore.open(dynamodb_settings) as store:
        owner = await user(store, "owner")
        made = await group(store, owner)
        others = await users(store, MAX_GROUP_MEMBERS - 1, prefix="full")
        for n, member in enumerate(others):
            await store.add_member(made.id, member.id, at(n))
        everyone = [owner, *others]
        marks = {m.id: await store.last_user_change(m.id) for m in everyone}
        group_mark = await store.last_change(made.id)

        transact = store._transact
        calls = 0

        async def fail_after_the_first(actions: list[dict[str, Any]], attempts: int = 5) -> None:
            nonlocal calls  # the freeze, then the first members' leaving, then the failure
            calls += 1
            if calls > 2:
                raise Unavailable("DynamoDB went away")
            await transact(actions, attempts)

        monkeypatch.setattr(store, "_transact", fail_after_the_first)
        with pytest.raises(Unavailable):
            await store.delete_group(made.id)
        monkeypatch.undo()

        remaining = await store.list_members(made.id)
        gone = {m.id for m in everyone} - {m.user_id for m in remaining}
        assert owner.id not in gone and 0 < len(gone) < MAX_GROUP_MEMBERS
        assert (await store.get_group(made.id)).member_count == len(remaining)
        left, _ = await store.list_changes(made.id, after=group_mark, limit=100)
        assert sorted((c.kind, c.id, c.op) for c in left) == sorted(("member", u, "delete") for u in gone)
        for member in everyone:
            logged, _ = await store.list_user_changes(member.id, after=marks[member.id], limit=10)
            expected = [("group", made.id, "delete")] if member.id in gone else []
            assert [(c.kind, c.id, c.op) for c in logged] == expected

        # Frozen: nothing may unsettle the group or add to it now, or the DELETE that already
        # removed people could be refused. Both answer as for a deleted group.
        stayer = next(m for m in remaining if m.user_id != owner.id)
        owed = expense(made.id, {owner.id: 600}, {owner.id: 300, stayer.user_id: 300})
        with pytest.raises(NotFound):
            await store.create_expense(owed, deltas=moves(owed), activity=activity(made.id, "add", owed.id))
        newcomer = await user(store, "late")
        with pytest.raises(NotFound):
            await store.add_member(made.id, newcomer.id, at(99))

        await store.delete_group(made.id)

        assert await store.list_members(made.id) == []
        for member in everyone:
            logged, _ = await store.list_user_changes(member.id, after=marks[member.id], limit=10)
            assert [(c.kind, c.id, c.op) for c in logged] == [("group", made.id, "delete")]
