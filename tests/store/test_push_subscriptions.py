"""The Web Push subscription part of the store contract (issue 14 part 6), on both backends."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from domain import Conflict
from store.base import MAX_PUSH_SUBSCRIPTIONS, PushSubscription, Store

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


def _sub(user_id: str, n: int = 1, at: datetime = NOW) -> PushSubscription:
    return PushSubscription(
        id=f"sub{n}",
        user_id=user_id,
        endpoint=f"https://push.example.net/send/{n}",
        p256dh=f"p256dh-{n}",
        auth=f"auth-{n}",
        expiration_time=None,
        created_at=at + timedelta(seconds=n),
    )


async def test_save_list_and_delete(store: Store) -> None:
    user = await store.ensure_user("push@example.org", "P")
    other = await store.ensure_user("other@example.org", "O")
    assert await store.list_push_subscriptions(user.id) == []
    first, created = await store.save_push_subscription(_sub(user.id, 1))
    assert created and first == _sub(user.id, 1)
    await store.save_push_subscription(_sub(user.id, 2))
    await store.save_push_subscription(_sub(other.id, 1))
    assert [s.id for s in await store.list_push_subscriptions(user.id)] == ["sub1", "sub2"]

    assert await store.delete_push_subscription(user.id, "sub1")
    assert not await store.delete_push_subscription(user.id, "sub1")
    assert [s.id for s in await store.list_push_subscriptions(user.id)] == ["sub2"]
    # The other user's subscription with the same id is theirs, untouched.
    assert [s.endpoint for s in await store.list_push_subscriptions(other.id)] == [_sub(other.id).endpoint]
    assert await store.delete_push_subscription(user.id, "sub2")
    assert await store.list_push_subscriptions(user.id) == []


async def test_saving_the_same_id_again_replaces_keys_and_keeps_created_at(store: Store) -> None:
    user = await store.ensure_user("renew@example.org", "R")
    await store.save_push_subscription(_sub(user.id, 1))
    renewed = replace(
        _sub(user.id, 1),
        p256dh="new-key",
        auth="new-auth",
        expiration_time=1_900_000_000_000,
        created_at=NOW + timedelta(days=3),
    )
    stored, created = await store.save_push_subscription(renewed)
    assert not created
    assert stored == replace(renewed, created_at=_sub(user.id, 1).created_at)
    assert await store.list_push_subscriptions(user.id) == [stored]


async def test_the_cap_counts_new_subscriptions_only(store: Store) -> None:
    user = await store.ensure_user("cap@example.org", "C")
    for n in range(MAX_PUSH_SUBSCRIPTIONS):
        await store.save_push_subscription(_sub(user.id, n))
    with pytest.raises(Conflict) as raised:
        await store.save_push_subscription(_sub(user.id, MAX_PUSH_SUBSCRIPTIONS))
    assert raised.value.code == "too_many_push_subscriptions"
    _, created = await store.save_push_subscription(replace(_sub(user.id, 0), auth="again"))
    assert not created
    assert len(await store.list_push_subscriptions(user.id)) == MAX_PUSH_SUBSCRIPTIONS


async def test_racing_subscriptions_are_all_kept(store: Store) -> None:
    user = await store.ensure_user("race@example.org", "R")
    await asyncio.gather(*(store.save_push_subscription(_sub(user.id, n)) for n in range(4)))
    assert {s.id for s in await store.list_push_subscriptions(user.id)} == {f"sub{n}" for n in range(4)}


async def test_delete_all(store: Store) -> None:
    user = await store.ensure_user("all@example.org", "A")
    other = await store.ensure_user("keeps@example.org", "K")
    for n in range(3):
        await store.save_push_subscription(_sub(user.id, n))
    await store.save_push_subscription(_sub(other.id, 1))
    await store.delete_push_subscriptions(user.id)
    await store.delete_push_subscriptions(user.id)
    assert await store.list_push_subscriptions(user.id) == []
    assert len(await store.list_push_subscriptions(other.id)) == 1
