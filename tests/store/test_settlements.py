"""Store contract, settlements and balances, and why open balances keep members and groups."""

from __future__ import annotations

import uuid

import pytest

from domain import Conflict, NotFound, PreconditionFailed
from store.base import Store
from tests.store.builders import (
    activity,
    all_activity,
    as_balances,
    at,
    collect,
    combine,
    expense,
    moves,
    settlement,
    trio,
    user,
)


async def test_settlements(store: Store) -> None:
    created, a, b, c = await trio(store)
    dinner = expense(created.id, {a.id: 3000}, {a.id: 1000, b.id: 1000, c.id: 1000})
    await store.create_expense(
        dinner, deltas=moves(dinner), activity=activity(created.id, "expense.created", dinner.id)
    )
    paid = settlement(created.id, b.id, a.id, 1000, created_at=at(5))
    logged = activity(created.id, "settlement.created", paid.id)
    await store.create_settlement(paid, deltas=moves(paid), activity=logged)
    assert await store.get_settlement(created.id, paid.id) == paid
    assert (await all_activity(store, created.id))[0] == logged
    assert await store.get_balances(created.id) == as_balances(
        {(a.id, "EUR"): 1000, (b.id, "EUR"): 0, (c.id, "EUR"): -1000}
    )
    with pytest.raises(PreconditionFailed) as stale:
        await store.delete_settlement(
            created.id,
            paid.id,
            expected_version=7,
            deltas=moves(paid, -1),
            activity=activity(created.id, "settlement.deleted", paid.id),
        )
    assert stale.value.details == {"current_version": 1}
    assert (await all_activity(store, created.id))[0] == logged
    await store.delete_settlement(
        created.id,
        paid.id,
        expected_version=1,
        deltas=moves(paid, -1),
        activity=activity(created.id, "settlement.deleted", paid.id),
    )
    with pytest.raises(NotFound):
        await store.get_settlement(created.id, paid.id)
    with pytest.raises(NotFound):
        await store.delete_settlement(
            created.id,
            paid.id,
            expected_version=1,
            deltas=moves(paid, -1),
            activity=activity(created.id, "settlement.deleted", paid.id),
        )
    assert await store.get_balances(created.id) == as_balances(moves(dinner))

    outsider = await user(store, f"outsider{uuid.uuid4().hex[:6]}")
    foreign = settlement(created.id, outsider.id, a.id, 500)
    with pytest.raises(Conflict) as refused:
        await store.create_settlement(
            foreign, deltas=moves(foreign), activity=activity(created.id, "settlement.created", "x")
        )
    assert refused.value.code == "not_a_member"
    with pytest.raises(NotFound):
        await store.get_settlement(created.id, foreign.id)
    assert await store.get_balances(created.id) == as_balances(moves(dinner))


async def test_list_settlements_newest_first_pages_without_gaps(store: Store) -> None:
    created, a, b, c = await trio(store)
    made = [
        settlement(
            created.id,
            b.id if i % 2 else c.id,
            a.id,
            10 + i,
            date=f"2024-05-{1 + (i * 3) % 7:02d}",
            created_at=at(i % 3),
        )
        for i in range(22)
    ]
    for paid in made:
        await store.create_settlement(
            paid, deltas=moves(paid), activity=activity(created.id, "settlement.created", paid.id)
        )
    expected = sorted(made, key=lambda s: (s.date, s.created_at, s.id), reverse=True)
    for limit in (1, 5, 22, 40):
        seen = await collect(
            lambda limit, cursor: store.list_settlements(created.id, limit=limit, cursor=cursor),
            limit,
        )
        assert seen == expected
    page = await store.list_settlements(created.id, limit=5)
    assert len(page.items) == 5 and page.next_cursor is not None
    assert await store.get_balances(created.id) == as_balances(combine(*map(moves, made)))


async def test_balances_of_a_new_group_and_of_a_missing_one(store: Store) -> None:
    created, *_ = await trio(store)
    assert await store.get_balances(created.id) == []
    assert await store.get_balances("no-such-group") == []
    assert (await store.list_activity("no-such-group", limit=5)).items == []


async def test_members_and_groups_with_open_balances_cannot_go(store: Store) -> None:
    created, a, b, c = await trio(store)
    spent = expense(created.id, {a.id: 1000}, {b.id: 1000})
    await store.create_expense(
        spent, deltas=moves(spent), activity=activity(created.id, "expense.created", spent.id)
    )
    usd = expense(created.id, {c.id: 400}, {a.id: 400}, currency="USD")
    await store.create_expense(
        usd, deltas=moves(usd), activity=activity(created.id, "expense.created", usd.id)
    )
    for leaver in (a, b, c):
        with pytest.raises(Conflict) as refused:
            await store.remove_member(created.id, leaver.id, activity(created.id, "member.left", leaver.id))
        assert refused.value.code == "balance_not_settled"
    with pytest.raises(Conflict) as refused:
        await store.delete_group(created.id)
    assert refused.value.code == "balance_not_settled"
    assert (await store.get_group(created.id)).member_count == 3

    for paid in (
        settlement(created.id, b.id, a.id, 1000),
        settlement(created.id, a.id, c.id, 400, currency="USD"),
    ):
        await store.create_settlement(
            paid, deltas=moves(paid), activity=activity(created.id, "settlement.created", paid.id)
        )
    assert all(balance.amount == 0 for balance in await store.get_balances(created.id))
    removed = activity(created.id, "member.removed", b.id, a.id)
    await store.remove_member(created.id, b.id, removed)
    assert (await all_activity(store, created.id))[0] == removed
    assert {balance.user_id for balance in await store.get_balances(created.id)} == {a.id, c.id}
    assert (await store.get_group(created.id)).member_count == 2
    await store.delete_group(created.id)
    with pytest.raises(NotFound):
        await store.get_group(created.id)
    with pytest.raises(NotFound):
        await store.delete_group(created.id)
