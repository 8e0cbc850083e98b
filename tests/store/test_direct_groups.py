"""Store contract, direct ledgers: making one (once, however many ask at the same time), ending and
renewing it, the friends list, group listings by kind, and the balances across a user's groups."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime

import pytest

from domain import ActivityEntry, Balance, Conflict, GroupMembership, NotFound, Page
from domain.models import GroupBalances, GroupKind
from store.base import NewGroup, Store
from tests.store.builders import T0, activity, at, collect, expense, group, moves, trio, user, users


def direct(owner_id: str, created_at: datetime = T0, group_id: str | None = None) -> NewGroup:
    return NewGroup(
        id=group_id or uuid.uuid4().hex,
        name="a & b",
        description="",
        default_currency="GBP",
        owner_id=owner_id,
        created_at=created_at,
    )


async def test_a_direct_ledger_has_both_as_plain_members(store: Store) -> None:
    a, b = await users(store, 2, prefix="d")

    made, created = await store.ensure_direct_group(direct(a.id), b.id)

    assert created
    assert (made.kind, made.owner_id, made.member_count, made.default_currency) == ("direct", a.id, 2, "GBP")
    assert await store.get_group(made.id) == made
    roster = await store.list_members(made.id)
    assert {(m.user_id, m.role) for m in roster} == {(a.id, "member"), (b.id, "member")}
    found, me = await store.get_group_as_member(made.id, b.id)
    assert found.kind == "direct" and me.role == "member"


async def test_asking_again_changes_nothing(store: Store) -> None:
    a, b = await users(store, 2, prefix="again")
    made, _ = await store.ensure_direct_group(direct(a.id), b.id)

    again, created = await store.ensure_direct_group(direct(b.id, at(5), group_id=made.id), a.id)

    assert not created
    assert again == made


async def test_concurrent_mutual_adds_make_one_ledger(store: Store) -> None:
    a, b = await users(store, 2, prefix="race")
    group_id = uuid.uuid4().hex

    results = await asyncio.gather(
        *(
            store.ensure_direct_group(direct(one.id, group_id=group_id), other.id)
            for one, other in [(a, b), (b, a)] * 3
        )
    )

    assert sum(created for _, created in results) == 1
    assert {made.id for made, _ in results} == {group_id}
    assert (await store.get_group(group_id)).member_count == 2
    assert len(await store.list_members(group_id)) == 2


async def test_unknown_user(store: Store) -> None:
    a = await user(store, "lonely")
    with pytest.raises(NotFound):
        await store.ensure_direct_group(direct(a.id), "nobody")


async def test_ending_keeps_the_ledger_and_renewing_brings_both_back(store: Store) -> None:
    a, b = await users(store, 2, prefix="end")
    made, _ = await store.ensure_direct_group(direct(a.id), b.id)
    lunch = expense(made.id, {a.id: 1000}, {a.id: 500, b.id: 500}, currency="GBP")
    await store.create_expense(
        lunch,
        deltas=moves(lunch),
        activity=_entry(made.id, a.id),
        spending={(a.id, "2024-03", "general", "GBP"): 500, (b.id, "2024-03", "general", "GBP"): 500},
    )

    with pytest.raises(Conflict) as unsettled:
        await store.end_direct_group(made.id)
    assert unsettled.value.code == "balance_not_settled"

    back = expense(made.id, {b.id: 1000}, {a.id: 500, b.id: 500}, currency="GBP")
    await store.create_expense(back, deltas=moves(back), activity=_entry(made.id, b.id))
    await store.end_direct_group(made.id)

    with pytest.raises(NotFound):
        await store.get_group_as_member(made.id, a.id)
    assert await store.list_members(made.id) == []
    assert (await store.get_group(made.id)).member_count == 0
    assert (await store.list_friends(a.id, limit=10)) == ([], False)
    with pytest.raises(NotFound):
        await store.end_direct_group(made.id)
    assert len((await store.list_expenses(made.id, limit=10)).items) == 2

    renewed, created = await store.ensure_direct_group(direct(b.id, at(9), group_id=made.id), a.id)

    assert created
    assert (renewed.id, renewed.owner_id, renewed.member_count) == (made.id, a.id, 2)
    assert len(await store.list_members(made.id)) == 2
    board = await store.dashboard(a.id, group_limit=10, recent_limit=0)
    assert board.spending == {("2024-03", "general", "GBP"): 500}


async def test_friends_list_the_other_person_newest_first(store: Store) -> None:
    me, b, c, d = await users(store, 4, prefix=f"f{uuid.uuid4().hex[:6]}")
    first, _ = await store.ensure_direct_group(direct(me.id, at(1)), b.id)
    second, _ = await store.ensure_direct_group(direct(c.id, at(2)), me.id)
    ordinary = await group(store, me)
    await store.add_member(ordinary.id, d.id, at(3))

    friends, more = await store.list_friends(me.id, limit=10)

    assert not more
    assert [(f.user.id, f.group_id, f.since) for f in friends] == [
        (c.id, second.id, at(2)),
        (b.id, first.id, at(1)),
    ]
    assert friends[0].user == await store.get_user(c.id)
    assert (await store.list_friends(me.id, limit=1)) == (friends[:1], True)
    assert [f.user.id for f in (await store.list_friends(d.id, limit=10))[0]] == []


async def test_group_listings_by_kind(store: Store) -> None:
    me, *others = await users(store, 5, prefix=f"k{uuid.uuid4().hex[:6]}")
    ledgers = [
        (await store.ensure_direct_group(direct(me.id, at(2 * i)), other.id))[0]
        for i, other in enumerate(others)
    ]
    groups = [await group(store, me, created_at=at(2 * i + 1)) for i in range(4)]

    def ids(kind: GroupKind | None) -> Callable[..., Awaitable[Page[GroupMembership]]]:
        async def fetch(*, limit: int, cursor: str | None) -> Page[GroupMembership]:
            return await store.list_user_groups(me.id, limit=limit, cursor=cursor, kind=kind)

        return fetch

    everything = [m.group.id for m in await collect(ids(None), 3)]
    assert set(everything) == {g.id for g in ledgers + groups} and len(everything) == 8
    ordinary = [m.group for m in await collect(ids("group"), 3)]
    assert [g.id for g in ordinary] == [g.id for g in reversed(groups)]
    assert {g.kind for g in ordinary} == {"group"}
    direct_only = [m.group for m in await collect(ids("direct"), 2)]
    assert [g.id for g in direct_only] == [g.id for g in reversed(ledgers)]
    assert (await store.list_user_groups(me.id, limit=100)).items[0].group.kind == "group"


async def test_balances_across_groups(store: Store) -> None:
    trip, a, b, c = await trio(store)
    dinner = expense(trip.id, {a.id: 900}, {a.id: 300, b.id: 300, c.id: 300})
    await store.create_expense(dinner, deltas=moves(dinner), activity=_entry(trip.id, a.id))
    ledger, _ = await store.ensure_direct_group(direct(a.id), b.id)
    cab = expense(ledger.id, {b.id: 400}, {a.id: 400}, currency="GBP")
    await store.create_expense(cab, deltas=moves(cab), activity=_entry(ledger.id, b.id))
    settled = await group(store, a, created_at=at(5))  # the newest; no balance of a's: left out

    found, more = await store.balances_across_groups(a.id, group_limit=10)

    assert not more
    assert sorted(found, key=lambda g: g.kind) == [
        GroupBalances(
            group_id=ledger.id,
            kind="direct",
            balances=sorted([Balance(a.id, "GBP", -400), Balance(b.id, "GBP", 400)], key=lambda x: x.user_id),
        ),
        GroupBalances(
            group_id=trip.id,
            kind="group",
            balances=sorted(
                [Balance(a.id, "EUR", 600), Balance(b.id, "EUR", -300), Balance(c.id, "EUR", -300)],
                key=lambda x: x.user_id,
            ),
        ),
    ]
    assert settled.id not in {g.group_id for g in found}
    trip_balances = next(g for g in found if g.kind == "group")
    assert (await store.balances_across_groups(c.id, group_limit=10))[0] == [trip_balances]
    newest, more = await store.balances_across_groups(a.id, group_limit=1)
    assert more and newest == []  # the newest group, `settled`, has nothing of a's


def _entry(group_id: str, actor_id: str) -> ActivityEntry:
    return activity(group_id, "expense.created", uuid.uuid4().hex, actor_id)


async def test_friends_are_found_behind_many_newer_ordinary_groups(store: Store) -> None:
    a, b = await users(store, 2, prefix=f"busy{uuid.uuid4().hex[:6]}")
    await store.ensure_direct_group(direct(a.id), b.id)
    for minute in range(12):  # more than five small pages of ordinary memberships
        await group(store, a, created_at=at(minute + 1), name=f"G{minute}")

    friends, more = await store.list_friends(a.id, limit=1)

    assert [f.user.id for f in friends] == [b.id] and not more
