"""Store contract, expenses: writes with their balance moves, listings and concurrent writers."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from domain import BadRequest, Conflict, Expense, ExpenseFilter, NotFound, PreconditionFailed
from domain.models import Page
from store.base import Store
from store.cursor import encode_cursor
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


async def test_create_expense_moves_balances_and_logs(store: Store) -> None:
    created, a, b, c = await trio(store)
    dinner = expense(created.id, {a.id: 3000}, {a.id: 1000, b.id: 1000, c.id: 1000})
    logged = activity(created.id, "expense.created", dinner.id, a.id)
    await store.create_expense(dinner, deltas=moves(dinner), activity=logged)
    assert await store.get_expense(created.id, dinner.id) == dinner
    balances = await store.get_balances(created.id)
    assert balances == as_balances({(a.id, "EUR"): 2000, (b.id, "EUR"): -1000, (c.id, "EUR"): -1000})
    assert sum(b.amount for b in balances) == 0

    taxi = expense(
        created.id, {b.id: 900, c.id: 300}, {a.id: 600, c.id: 600}, currency="USD", created_at=at(1)
    )
    taxi_logged = activity(created.id, "expense.created", taxi.id)
    await store.create_expense(taxi, deltas=moves(taxi), activity=taxi_logged)
    balances = await store.get_balances(created.id)
    assert balances == as_balances(combine(moves(dinner), moves(taxi)))
    for currency in ("EUR", "USD"):
        assert sum(b.amount for b in balances if b.currency == currency) == 0
    assert await all_activity(store, created.id) == [taxi_logged, logged]
    with pytest.raises(NotFound):
        await store.get_expense(created.id, "no-such-expense")
    with pytest.raises(NotFound):
        await store.get_expense("no-such-group", dinner.id)


async def test_balances_for_a_member_only(store: Store) -> None:
    created, a, b, c = await trio(store)
    outsider = await user(store, "outsider")
    assert await store.get_balances_for_member(created.id, a.id) == []
    spent = expense(created.id, {a.id: 3000}, {a.id: 1000, b.id: 1000, c.id: 1000})
    await store.create_expense(
        spent, deltas=moves(spent), activity=activity(created.id, "expense.created", spent.id)
    )
    assert await store.get_balances_for_member(created.id, b.id) == as_balances(
        {(a.id, "EUR"): 2000, (b.id, "EUR"): -1000, (c.id, "EUR"): -1000}
    )
    assert await store.get_balances_for_member(created.id, c.id) == await store.get_balances(created.id)
    with pytest.raises(NotFound):
        await store.get_balances_for_member(created.id, outsider.id)
    with pytest.raises(NotFound):
        await store.get_balances_for_member("no-such-group", a.id)


async def test_update_expense_moves_by_the_difference_and_bumps_the_version(store: Store) -> None:
    created, a, b, c = await trio(store)
    original = expense(created.id, {a.id: 3000}, {a.id: 1000, b.id: 1000, c.id: 1000})
    await store.create_expense(
        original, deltas=moves(original), activity=activity(created.id, "expense.created", original.id)
    )
    # Another currency and other people: the old currency moves back, the new one moves.
    edited = expense(
        created.id,
        {b.id: 5000},
        {b.id: 2500, c.id: 2500},
        currency="GBP",
        expense_id=original.id,
        version=2,
        category="travel",
    )
    change = combine(moves(original, -1), moves(edited))
    logged = activity(created.id, "expense.updated", original.id)
    await store.update_expense(edited, expected_version=1, deltas=change, activity=logged)
    assert await store.get_expense(created.id, original.id) == edited
    assert await store.get_balances(created.id) == as_balances(
        {
            (a.id, "EUR"): 0,
            (b.id, "EUR"): 0,
            (c.id, "EUR"): 0,
            (b.id, "GBP"): 2500,
            (c.id, "GBP"): -2500,
        }
    )
    assert (await all_activity(store, created.id))[0] == logged


async def test_a_stale_write_changes_nothing(store: Store) -> None:
    created, a, b, c = await trio(store)
    original = expense(created.id, {a.id: 3000}, {b.id: 3000})
    await store.create_expense(
        original, deltas=moves(original), activity=activity(created.id, "expense.created", original.id)
    )
    edited = expense(created.id, {a.id: 600}, {c.id: 600}, expense_id=original.id, version=2)
    await store.update_expense(
        edited,
        expected_version=1,
        deltas=combine(moves(original, -1), moves(edited)),
        activity=activity(created.id, "expense.updated", original.id),
    )
    balances, log = await store.get_balances(created.id), await all_activity(store, created.id)

    stale = expense(created.id, {a.id: 999}, {b.id: 999}, expense_id=original.id, version=2)
    with pytest.raises(PreconditionFailed) as refused:
        await store.update_expense(
            stale,
            expected_version=1,
            deltas=combine(moves(original, -1), moves(stale)),
            activity=activity(created.id, "expense.updated", original.id),
        )
    assert refused.value.details == {"current_version": 2}
    with pytest.raises(PreconditionFailed) as refused:
        await store.delete_expense(
            created.id,
            original.id,
            expected_version=1,
            deltas=moves(original, -1),
            activity=activity(created.id, "expense.deleted", original.id),
        )
    assert refused.value.details == {"current_version": 2}
    assert await store.get_expense(created.id, original.id) == edited
    assert await store.get_balances(created.id) == balances
    assert await all_activity(store, created.id) == log

    missing = expense(created.id, {a.id: 1}, {b.id: 1}, version=2)
    with pytest.raises(NotFound):
        await store.update_expense(
            missing,
            expected_version=1,
            deltas=moves(missing),
            activity=activity(created.id, "expense.updated", missing.id),
        )
    with pytest.raises(NotFound):
        await store.delete_expense(
            created.id,
            missing.id,
            expected_version=1,
            deltas={},
            activity=activity(created.id, "expense.deleted", missing.id),
        )
    assert await store.get_balances(created.id) == balances
    assert await all_activity(store, created.id) == log


async def test_delete_expense_reverses_and_keeps_zero_balances(store: Store) -> None:
    created, a, b, c = await trio(store)
    spent = expense(created.id, {a.id: 1200}, {b.id: 600, c.id: 600}, currency="JPY")
    await store.create_expense(
        spent, deltas=moves(spent), activity=activity(created.id, "expense.created", spent.id)
    )
    logged = activity(created.id, "expense.deleted", spent.id)
    await store.delete_expense(
        created.id, spent.id, expected_version=1, deltas=moves(spent, -1), activity=logged
    )
    with pytest.raises(NotFound):
        await store.get_expense(created.id, spent.id)
    assert await store.get_balances(created.id) == as_balances(
        {(a.id, "JPY"): 0, (b.id, "JPY"): 0, (c.id, "JPY"): 0}
    )
    assert (await all_activity(store, created.id))[0] == logged
    assert (await store.list_expenses(created.id, limit=10)).items == []
    with pytest.raises(NotFound):
        await store.delete_expense(
            created.id,
            spent.id,
            expected_version=1,
            deltas=moves(spent, -1),
            activity=activity(created.id, "expense.deleted", spent.id),
        )


async def test_expense_with_an_outsider_is_refused_and_writes_nothing(store: Store) -> None:
    created, a, b, _ = await trio(store)
    outsider = await user(store, f"outsider{uuid.uuid4().hex[:6]}")
    spent = expense(created.id, {a.id: 1000}, {b.id: 500, outsider.id: 500})
    with pytest.raises(Conflict) as refused:
        await store.create_expense(
            spent, deltas=moves(spent), activity=activity(created.id, "expense.created", spent.id)
        )
    assert refused.value.code == "not_a_member"
    assert refused.value.details == {"user_ids": [outsider.id]}
    with pytest.raises(NotFound):
        await store.get_expense(created.id, spent.id)
    assert await store.get_balances(created.id) == []
    assert await all_activity(store, created.id) == []

    fine = expense(created.id, {a.id: 1000}, {b.id: 1000})
    await store.create_expense(
        fine, deltas=moves(fine), activity=activity(created.id, "expense.created", fine.id)
    )
    balances, log = await store.get_balances(created.id), await all_activity(store, created.id)
    widened = expense(created.id, {a.id: 1000}, {outsider.id: 1000}, expense_id=fine.id, version=2)
    with pytest.raises(Conflict) as refused:
        await store.update_expense(
            widened,
            expected_version=1,
            deltas=combine(moves(fine, -1), moves(widened)),
            activity=activity(created.id, "expense.updated", fine.id),
        )
    assert refused.value.code == "not_a_member"
    assert await store.get_expense(created.id, fine.id) == fine
    assert await store.get_balances(created.id) == balances
    assert await all_activity(store, created.id) == log

    elsewhere = expense("no-such-group", {a.id: 1000}, {b.id: 1000})
    with pytest.raises(NotFound):
        await store.create_expense(
            elsewhere, deltas=moves(elsewhere), activity=activity("no-such-group", "expense.created", "x")
        )


async def test_list_expenses_newest_first_pages_without_gaps(store: Store) -> None:
    created, a, b, c = await trio(store)
    made: list[Expense] = []
    for i in range(25):
        # Several expenses share a date, and a few a creation time too: ties go by id.
        spent = expense(
            created.id,
            {a.id: 100 + i},
            {b.id: 100 + i},
            date=f"2024-03-{1 + (i * 7) % 10:02d}",
            created_at=at(i % 4),
        )
        made.append(spent)
    for spent in made:
        await store.create_expense(
            spent, deltas=moves(spent), activity=activity(created.id, "expense.created", spent.id)
        )
    expected = sorted(made, key=lambda e: (e.date, e.created_at, e.id), reverse=True)
    for limit in (1, 4, 25, 30):
        seen = await collect(
            lambda limit, cursor: store.list_expenses(created.id, limit=limit, cursor=cursor), limit
        )
        assert [e.id for e in seen] == [e.id for e in expected]
    first = await store.list_expenses(created.id, limit=24)
    assert len(first.items) == 24 and first.next_cursor is not None
    assert (await store.list_expenses(created.id, limit=25)).next_cursor is None
    assert seen == expected


async def test_list_expenses_filters(store: Store) -> None:
    created, a, b, c = await trio(store)
    made: list[Expense] = []
    for i in range(24):
        owed = {b.id: 100} if i % 2 else {c.id: 100}
        spent = expense(
            created.id,
            {a.id: 100},
            owed,
            date=f"2024-04-{1 + i:02d}",
            category="food" if i % 3 == 0 else "travel",
            created_at=at(i),
        )
        made.append(spent)
        await store.create_expense(
            spent, deltas=moves(spent), activity=activity(created.id, "expense.created", spent.id)
        )
    newest_first = sorted(made, key=lambda e: (e.date, e.created_at, e.id), reverse=True)

    async def listed(filters: ExpenseFilter, limit: int = 3) -> list[str]:
        seen = await collect(
            lambda limit, cursor: store.list_expenses(
                created.id, limit=limit, cursor=cursor, filters=filters
            ),
            limit,
        )
        return [e.id for e in seen]

    cases = [
        (
            ExpenseFilter(date_from="2024-04-05", date_to="2024-04-10"),
            lambda e: "2024-04-05" <= e.date <= "2024-04-10",
        ),
        (ExpenseFilter(date_from="2024-04-20"), lambda e: e.date >= "2024-04-20"),
        (ExpenseFilter(date_to="2024-04-03"), lambda e: e.date <= "2024-04-03"),
        (ExpenseFilter(categories=("food",)), lambda e: e.category == "food"),
        (ExpenseFilter(member=b.id), lambda e: b.id in e.participants),
        (ExpenseFilter(member=a.id), lambda e: True),
        (
            ExpenseFilter(categories=("food",), member=c.id, date_from="2024-04-02"),
            lambda e: e.category == "food" and c.id in e.participants and e.date >= "2024-04-02",
        ),
        (ExpenseFilter(categories=("nothing",)), lambda e: False),
        (ExpenseFilter(categories=("nothing", "food", "travel")), lambda e: e.category in ("food", "travel")),
        (ExpenseFilter(date_from="2025-01-01"), lambda e: False),
    ]
    for filters, keep in cases:
        expected = [e.id for e in newest_first if keep(e)]
        assert await listed(filters) == expected, filters
        assert await listed(filters, limit=50) == expected, filters

    # A cursor is a position in the newest-first order, whatever filters come with it: the next
    # page holds what matches and lies after it (nothing, if the position is below the range).
    midway = (await store.list_expenses(created.id, limit=10)).next_cursor
    assert midway is not None
    after_midway = newest_first[10:]
    for filters, keep in cases:
        expected = [e.id for e in after_midway if keep(e)]
        seen: list[str] = []
        cursor: str | None = midway
        while True:
            page = await store.list_expenses(created.id, limit=4, cursor=cursor, filters=filters)
            seen += [e.id for e in page.items]
            cursor = page.next_cursor
            if cursor is None:
                break
        assert seen == expected, filters


async def test_list_cursors_are_checked(store: Store) -> None:
    created, a, b, _ = await trio(store)
    for i in range(3):
        spent = expense(created.id, {a.id: 100}, {b.id: 100}, created_at=at(i))
        await store.create_expense(
            spent, deltas=moves(spent), activity=activity(created.id, "expense.created", spent.id)
        )
        paid = settlement(created.id, b.id, a.id, 100, created_at=at(i))
        await store.create_settlement(
            paid, deltas=moves(paid), activity=activity(created.id, "settlement.created", paid.id)
        )
    listings: dict[str, Callable[[str | None], Awaitable[Page[Any]]]] = {
        "expenses": lambda cursor: store.list_expenses(created.id, limit=1, cursor=cursor),
        "settlements": lambda cursor: store.list_settlements(created.id, limit=1, cursor=cursor),
        "activity": lambda cursor: store.list_activity(created.id, limit=1, cursor=cursor),
    }
    cursors = {name: (await listing(None)).next_cursor for name, listing in listings.items()}
    assert all(cursors.values())
    for name, listing in listings.items():
        assert len((await listing(cursors[name])).items) == 1
        foreign = [cursor for other, cursor in cursors.items() if other != name]
        for bad in ["garbage!", encode_cursor(name, 7), encode_cursor(name, ["a"]), *foreign]:
            with pytest.raises(BadRequest) as refused:
                await listing(bad)
            assert refused.value.code == "invalid_cursor"


async def test_concurrent_expenses_lose_no_update(store: Store) -> None:
    created, a, b, c = await trio(store)
    made = [
        expense(
            created.id,
            {(a, b, c)[i % 3].id: 300 + i},
            {a.id: 100, b.id: 100, c.id: 100 + i},
            created_at=at(i),
        )
        for i in range(20)
    ]
    await asyncio.gather(
        *(
            store.create_expense(
                spent, deltas=moves(spent), activity=activity(created.id, "expense.created", spent.id)
            )
            for spent in made
        )
    )
    balances = await store.get_balances(created.id)
    assert balances == as_balances(combine(*map(moves, made)))
    assert sum(balance.amount for balance in balances) == 0
    assert (
        len(
            await collect(
                lambda limit, cursor: store.list_expenses(created.id, limit=limit, cursor=cursor), 7
            )
        )
        == 20
    )
    assert len(await all_activity(store, created.id)) == 20


async def test_an_expense_on_expected_balances_is_written_only_while_they_hold(store: Store) -> None:
    """The guard a recorded conversion writes with: every balance named must still be what was
    read (absent counts as zero), or nothing is written; each user named must be a member."""
    created, a, b, c = await trio(store)
    dinner = expense(created.id, {a.id: 3000}, {a.id: 1000, b.id: 1000, c.id: 1000})
    await store.create_expense(
        dinner, deltas=moves(dinner), activity=activity(created.id, "expense.created", dinner.id)
    )
    held = {(a.id, "EUR"): 2000, (b.id, "EUR"): -1000, (c.id, "USD"): 0}
    stale = {**held, (b.id, "EUR"): -999}
    taxi = expense(created.id, {b.id: 500}, {a.id: 500}, created_at=at(1))
    for wrong in (stale, {**held, (c.id, "USD"): 7}):
        with pytest.raises(Conflict) as caught:
            await store.create_expense(
                taxi,
                deltas=moves(taxi),
                activity=activity(created.id, "expense.created", taxi.id),
                expected_balances=wrong,
            )
        assert caught.value.code == "balances_changed"
    with pytest.raises(NotFound):
        await store.get_expense(created.id, taxi.id)
    assert await store.get_balances(created.id) == as_balances(moves(dinner))
    await store.create_expense(
        taxi,
        deltas=moves(taxi),
        activity=activity(created.id, "expense.created", taxi.id),
        expected_balances=held,
    )
    assert await store.get_balances(created.id) == as_balances(combine(moves(dinner), moves(taxi)))
