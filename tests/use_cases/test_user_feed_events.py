"""Every change the user's own changes feed logs is also announced on the user's channel: the
subscribe reply's feed cursor promises that everything after it arrives live, so a change logged
without an event would be skipped by a client that keeps that cursor. Real SQLite store, the
recording publisher of the use-case tests."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from domain import User
from tests.use_cases.test_use_cases import World
from tests.use_cases.test_use_cases import world as world  # noqa: F401  (the fixture, by name)


async def check(
    world: World,  # noqa: F811
    action: Callable[[], Awaitable[Any]],
    *people: User,
) -> None:
    """Run `action`; each of `people` whose feed it added to must hear of it on their channel, and
    it must add to the feed of at least the first of them."""
    before = {p.id: await world.store.last_user_change(p.id) for p in people}
    world.published.events.clear()
    await action()
    told = {channel for channel, _, _ in world.published.events}
    grew = [p for p in people if await world.store.last_user_change(p.id) > before[p.id]]
    assert grew and grew[0] == people[0], "the action logged nothing for its user"
    for person in grew:
        assert f"user:{person.id}" in told, f"{person.name}'s feed grew, their channel heard nothing"


async def test_each_kind_the_user_feed_logs_is_announced(world: World) -> None:  # noqa: F811
    services, ana, bea = world.services, world.ana, world.bea
    made: dict[str, Any] = {}

    async def create() -> None:
        made["group"], _ = await services.groups.create(ana.id, {"name": "Flat"})

    await check(world, create, ana)
    group = made["group"]

    async def join() -> None:
        _, token = await services.invites.create(group, ana.id, lifetime_hours=24)
        await services.invites.accept(token, bea.id)

    await check(world, join, bea)
    await check(world, lambda: services.people.update_profile(bea.id, {"name": "Bea B"}), bea)
    await check(world, lambda: services.people.sign_in("issuer|ana", ana.email, "Ana Google", None), ana)

    async def befriend() -> None:
        await services.friends.add(ana.id, bea.email)

    await check(world, befriend, bea, ana)  # the friend, the notification; and ana's friend

    async def read() -> None:
        page, _ = await services.notifications.page(bea.id, limit=10, cursor=None)
        await services.notifications.mark_read(bea.id, page.items[0].id)

    await check(world, read, bea)
    await check(world, lambda: services.friends.remove(bea.id, ana.id), bea, ana)
    await check(world, lambda: services.groups.remove(group, bea.id, bea.id), bea)
    await check(world, lambda: services.groups.delete(group, None), ana)


async def test_a_change_notifying_more_than_one_write_holds_announces_each_stored_one(
    world: World,  # noqa: F811
) -> None:
    people = [await world.store.ensure_user(f"p{n}@example.com", f"P{n}") for n in range(30)]
    world.published.events.clear()

    await world.services.notifications._notify(
        world.ana.id,
        [p.id for p in people],
        "expense.created",
        lambda _r, actor: f"{actor} did",
        {"kind": "expense", "group_id": "g1", "expense_id": "e1"},
    )

    told = [channel for channel, type_, _ in world.published.events if type_ == "notification.created"]
    assert sorted(told) == sorted(f"user:{p.id}" for p in people)
    for person in people:
        assert (await world.store.notification_state(person.id)).unread == 1
