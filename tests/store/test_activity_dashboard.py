"""Store contract, the activity log, spending totals and the dashboard built from them."""

from __future__ import annotations

import uuid

import pytest

from domain import ActivityEntry, Conflict, Dashboard, Expense, NotFound, User
from ledger import negate
from ledger.moves import balance_moves, net_of, spending_moves
from store.base import BalanceDeltas, SpendingDeltas, Store
from tests.store.builders import (
    T0,
    activity,
    all_activity,
    at,
    collect,
    expense,
    group,
    moves,
    settlement,
    trio,
    user,
    users,
)


async def test_activity_pages_newest_first(store: Store) -> None:
    created, a, b, _ = await trio(store)
    entries = []
    for i in range(11):
        spent = expense(created.id, {a.id: 100}, {b.id: 100}, created_at=at(i))
        entry = activity(created.id, "expense.created", spent.id, a.id)
        entries.append(entry)
        await store.create_expense(spent, deltas=moves(spent), activity=entry)
    expected = list(reversed(entries))
    for limit in (1, 3, 11, 20):
        seen = await collect(
            lambda limit, cursor: store.list_activity(created.id, limit=limit, cursor=cursor), limit
        )
        assert seen == expected
    page = await store.list_activity(created.id, limit=3)
    assert len(page.items) == 3 and page.next_cursor is not None
    assert page.items[0].details == {"note": "expense.created"}


async def test_membership_changes_are_logged(store: Store) -> None:
    owner, joiner = await user(store, "owner"), await user(store, "joiner")
    created = await group(store, owner)
    joined = activity(created.id, "member.joined", joiner.id, joiner.id)
    _, is_new = await store.add_member(created.id, joiner.id, at(1), joined)
    assert is_new
    assert await all_activity(store, created.id) == [joined]
    # Joining again logs nothing.
    _, is_new = await store.add_member(
        created.id, joiner.id, at(2), activity(created.id, "member.joined", joiner.id)
    )
    assert not is_new
    assert await all_activity(store, created.id) == [joined]
    left = activity(created.id, "member.left", joiner.id, joiner.id)
    await store.remove_member(created.id, joiner.id, left)
    assert await all_activity(store, created.id) == [left, joined]
    with pytest.raises(NotFound):
        await store.remove_member(created.id, joiner.id, activity(created.id, "member.left", joiner.id))
    assert await all_activity(store, created.id) == [left, joined]


def as_spent(record: Expense, sign: int = 1) -> tuple[int, str, str, str, dict[str, int]]:
    """`record` as a `ledger.moves.spending_moves` change."""
    return (sign, record.date, record.category, record.currency, record.owed)


def net_moves(record: Expense, sign: int = 1) -> BalanceDeltas:
    """How `record` moves balances, as the handlers compute it (`balance_moves`: zeros dropped)."""
    net = net_of(record.paid, record.owed)
    return balance_moves((record.currency, net if sign > 0 else negate(net)))


async def spend(store: Store, record: Expense, actor: str = "actor") -> ActivityEntry:
    logged = activity(record.group_id, "expense.created", record.id, actor)
    await store.create_expense(
        record, deltas=net_moves(record), activity=logged, spending=spending_moves(as_spent(record))
    )
    return logged


async def overview(store: Store, member: User, group_limit: int = 10, recent_limit: int = 10) -> Dashboard:
    return await store.dashboard(member.id, group_limit=group_limit, recent_limit=recent_limit)


async def test_spending_moves_with_expense_writes(store: Store) -> None:
    created, a, b, c = await trio(store)
    dinner = expense(
        created.id, {a.id: 3000}, {a.id: 1000, b.id: 1000, c.id: 1000}, date="2024-03-05", category="food"
    )
    await spend(store, dinner)
    for member in (a, b, c):
        assert (await overview(store, member)).spending == {("2024-03", "food", "EUR"): 1000}

    # Another month, category and currency, and other shares: the old entry goes back to nothing.
    edited = expense(
        created.id,
        {a.id: 3000},
        {b.id: 2000, c.id: 1000},
        currency="USD",
        date="2024-04-30",
        category="travel",
        expense_id=dinner.id,
        version=2,
    )
    change: SpendingDeltas = spending_moves(as_spent(dinner, -1), as_spent(edited))
    assert (a.id, "2024-03", "food", "EUR") in change
    await store.update_expense(
        edited,
        expected_version=1,
        deltas=balance_moves(
            ("EUR", negate(net_of(dinner.paid, dinner.owed))), ("USD", net_of(edited.paid, edited.owed))
        ),
        activity=activity(created.id, "expense.updated", dinner.id),
        spending=change,
    )
    assert (await overview(store, a)).spending == {}
    assert (await overview(store, b)).spending == {("2024-04", "travel", "USD"): 2000}
    assert (await overview(store, c)).spending == {("2024-04", "travel", "USD"): 1000}

    # Someone whose balance does not move (paid what they owe) still has their share counted.
    even = expense(
        created.id,
        {a.id: 1000, b.id: 500},
        {a.id: 1000, b.id: 250, c.id: 250},
        date="2024-04-02",
        category="travel",
        currency="USD",
    )
    assert (a.id, "USD") not in net_moves(even)
    await spend(store, even)
    assert (await overview(store, a)).spending == {("2024-04", "travel", "USD"): 1000}
    assert (await overview(store, b)).spending == {("2024-04", "travel", "USD"): 2250}

    for gone in (edited, even):
        await store.delete_expense(
            created.id,
            gone.id,
            expected_version=gone.version,
            deltas=net_moves(gone, -1),
            activity=activity(created.id, "expense.deleted", gone.id),
            spending=spending_moves(as_spent(gone, -1)),
        )
    for member in (a, b, c):
        standing = await overview(store, member)
        assert standing.spending == {}
        assert standing.groups[0].balances == {}


async def test_a_refused_expense_moves_no_spending(store: Store) -> None:
    created, a, b, _ = await trio(store)
    outsider = await user(store, f"outsider{uuid.uuid4().hex[:6]}")
    spent = expense(created.id, {a.id: 1000}, {b.id: 500, outsider.id: 500})
    with pytest.raises(Conflict):
        await spend(store, spent)
    assert (await overview(store, b)).spending == {}


async def test_dashboard_of_a_user_without_groups_is_empty(store: Store) -> None:
    loner = await user(store, f"loner{uuid.uuid4().hex[:6]}")
    assert await overview(store, loner) == Dashboard(groups=[], more_groups=False, spending={}, recent=[])
    assert await store.dashboard("no-such-user", group_limit=5, recent_limit=5) == Dashboard(
        groups=[], more_groups=False, spending={}, recent=[]
    )


async def test_dashboard_groups_newest_joined_first_and_limited(store: Store) -> None:
    me, other = await users(store, 2, prefix=f"d{uuid.uuid4().hex[:6]}")
    await group(store, me, created_at=at(1), name="Mine")
    for minute, name in ((5, "Second"), (3, "First"), (9, "Third")):
        theirs = await group(store, other, created_at=T0, name=name)
        await store.add_member(theirs.id, me.id, at(minute))
    expected = (await store.list_user_groups(me.id, limit=10)).items
    assert [m.group.name for m in expected] == ["Third", "Second", "First", "Mine"]

    full = await overview(store, me, group_limit=10)
    assert [standing.membership for standing in full.groups] == expected
    assert not full.more_groups
    assert (full.groups[-1].membership.role, full.groups[0].membership.role) == ("owner", "member")
    assert all(standing.balances == {} for standing in full.groups)
    assert full.spending == {} and full.recent == []

    exact = await overview(store, me, group_limit=4)
    assert [s.membership for s in exact.groups] == expected and not exact.more_groups
    cut = await overview(store, me, group_limit=2)
    assert [s.membership for s in cut.groups] == expected[:2] and cut.more_groups
    one = await overview(store, me, group_limit=1)
    assert [s.membership for s in one.groups] == expected[:1] and one.more_groups


async def test_dashboard_balances_per_group_and_spending_summed(store: Store) -> None:
    me, x, y = await users(store, 3, prefix=f"s{uuid.uuid4().hex[:6]}")
    home = await group(store, me, created_at=at(1), name="Home")
    await store.add_member(home.id, x.id, at(2))
    trip = await group(store, y, created_at=at(3), name="Trip")
    await store.add_member(trip.id, me.id, at(4))
    elsewhere = await group(store, x, created_at=at(5), name="Elsewhere")  # not mine

    await spend(
        store, expense(home.id, {me.id: 3000}, {me.id: 1500, x.id: 1500}, date="2024-03-02", category="food")
    )
    await spend(
        store,
        expense(
            home.id, {x.id: 800}, {me.id: 400, x.id: 400}, date="2024-04-01", category="food", currency="USD"
        ),
    )
    await spend(
        store, expense(trip.id, {y.id: 1000}, {me.id: 500, y.id: 500}, date="2024-03-20", category="food")
    )
    await spend(
        store, expense(trip.id, {me.id: 600}, {me.id: 300, y.id: 300}, date="2024-03-21", category="taxi")
    )
    await spend(store, expense(elsewhere.id, {x.id: 999}, {x.id: 999}, date="2024-03-02", category="food"))
    # Settled to zero in one currency: the zero is dropped from the group's balances.
    back = settlement(trip.id, me.id, y.id, 200)
    await store.create_settlement(
        back, deltas=moves(back), activity=activity(trip.id, "settlement.created", back.id)
    )

    standing = await overview(store, me)
    assert [(s.membership.group.name, s.balances) for s in standing.groups] == [
        ("Trip", {}),
        ("Home", {"EUR": 1500, "USD": -400}),
    ]
    assert standing.spending == {
        ("2024-03", "food", "EUR"): 2000,
        ("2024-03", "taxi", "EUR"): 300,
        ("2024-04", "food", "USD"): 400,
    }
    # Only the groups returned count.
    assert (await overview(store, me, group_limit=1)).spending == {
        ("2024-03", "food", "EUR"): 500,
        ("2024-03", "taxi", "EUR"): 300,
    }


async def test_dashboard_recent_activity_newest_first_across_groups(store: Store) -> None:
    me, other = await users(store, 2, prefix=f"r{uuid.uuid4().hex[:6]}")
    groups = []
    for i in range(7):  # joined in order: the last is the newest
        made = await group(store, other, created_at=T0, name=f"G{i}")
        await store.add_member(made.id, me.id, at(i + 1))
        groups.append(made)
    # Two rounds of one expense per group: the last round ends in the oldest-joined groups.
    entries = []
    for order in (range(7), reversed(range(7))):
        for i in order:
            entries.append(
                await spend(store, expense(groups[i].id, {other.id: 100}, {me.id: 100}, created_at=at(i)))
            )
    newest = entries[::-1]
    assert (await overview(store, me, recent_limit=3)).recent == newest[:3]
    assert newest[0].group_id == groups[0].id

    # Membership changes and settlements count as activity too.
    newcomer = await user(store, f"newcomer{uuid.uuid4().hex[:6]}")
    joined = activity(groups[3].id, "member.joined", newcomer.id, newcomer.id)
    await store.add_member(groups[3].id, newcomer.id, at(30), joined)
    paid = settlement(groups[5].id, me.id, other.id, 100)
    paid_logged = activity(groups[5].id, "settlement.created", paid.id, me.id)
    await store.create_settlement(paid, deltas=moves(paid), activity=paid_logged)
    left = activity(groups[3].id, "member.left", newcomer.id, newcomer.id)
    await store.remove_member(groups[3].id, newcomer.id, left)
    recent = (await overview(store, me, recent_limit=4)).recent
    assert recent == [left, paid_logged, joined, newest[0]]
    assert [entry.group_id for entry in recent] == [groups[3].id, groups[5].id, groups[3].id, groups[0].id]
    # A limit of groups limits whose activity shows.
    latest_two = await overview(store, me, group_limit=2, recent_limit=3)
    assert {entry.group_id for entry in latest_two.recent} <= {groups[6].id, groups[5].id}
    assert latest_two.recent[0] == paid_logged


async def test_dashboard_lists_a_group_where_the_user_takes_no_part(store: Store) -> None:
    created, a, b, c = await trio(store)
    quiet = await group(store, c, created_at=at(9), name="Quiet")  # no activity at all
    logged = await spend(store, expense(created.id, {a.id: 1000}, {b.id: 1000}, category="rent"))
    standing = await overview(store, c)
    assert [(s.membership.group.id, s.balances) for s in standing.groups] == [
        (quiet.id, {}),
        (created.id, {}),
    ]
    assert standing.spending == {}
    assert standing.recent == [logged]
    assert not standing.more_groups
