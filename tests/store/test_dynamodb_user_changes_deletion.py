"""Deleting a full group on DynamoDB: one transaction cannot end 50 memberships and log each in its
member's own log (100 actions at most), so the newest members leave first. A failure between those
transactions leaves a valid, smaller group, every log telling the truth, and a DELETE tried again
finishes the job."""

from __future__ import annotations

from typing import Any

import pytest

from domain import Unavailable
from domain.models import MAX_GROUP_MEMBERS
from store.dynamodb import DynamoDBSettings, DynamoDBStore
from tests.store.builders import at, group, user, users


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
            nonlocal calls
            calls += 1
            if calls > 1:
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

        await store.delete_group(made.id)

        assert await store.list_members(made.id) == []
        for member in everyone:
            logged, _ = await store.list_user_changes(member.id, after=marks[member.id], limit=10)
            assert [(c.kind, c.id, c.op) for c in logged] == [("group", made.id, "delete")]
