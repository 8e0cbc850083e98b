"""Store contract, soft delete and restore: a deleted expense or settlement stays (hidden) with its
deletion recorded, comes back with its balances, and only while everyone it involves is a member."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import TypeVar

import pytest

from domain import Conflict, Expense, NotFound, PreconditionFailed, Settlement
from store.base import Store
from store.sqlite import SQLiteStore
from tests.store.builders import activity, all_activity, as_balances, at, expense, moves, settlement, trio

Record = TypeVar("Record", Expense, Settlement)


def restored(record: Record) -> Record:
    return dataclasses.replace(record, deleted_at=None, deleted_by=None, version=record.version + 1)


async def test_a_deleted_expense_is_kept_hidden_and_restored_with_its_balances(store: Store) -> None:
    created, a, b, c = await trio(store)
    spent = expense(created.id, {a.id: 3000}, {a.id: 1000, b.id: 1000, c.id: 1000})
    kept = expense(created.id, {b.id: 600}, {b.id: 300, c.id: 300}, created_at=at(1))
    for record in (spent, kept):
        await store.create_expense(
            record, deltas=moves(record), activity=activity(created.id, "expense.created", record.id)
        )
    before = await store.get_balances(created.id)
    deleted = activity(created.id, "expense.deleted", spent.id, actor_id=b.id)
    await store.delete_expense(
        created.id, spent.id, expected_version=1, deltas=moves(spent, -1), activity=deleted
    )

    with pytest.raises(NotFound):
        await store.get_expense(created.id, spent.id)
    gone = await store.get_expense(created.id, spent.id, include_deleted=True)
    assert (gone.deleted_at, gone.deleted_by, gone.version) == (deleted.at, b.id, 2)
    assert dataclasses.replace(gone, deleted_at=None, deleted_by=None, version=1) == spent
    assert [e.id for e in (await store.list_expenses(created.id, limit=10)).items] == [kept.id]
    listed = (await store.list_expenses(created.id, limit=10, include_deleted=True)).items
    assert [e.id for e in listed] == [kept.id, spent.id]
    assert await store.get_balances(created.id) == as_balances(moves(kept) | {(a.id, "EUR"): 0})
    with pytest.raises(NotFound):  # deleting twice
        await store.delete_expense(
            created.id,
            spent.id,
            expected_version=2,
            deltas=moves(spent, -1),
            activity=activity(created.id, "expense.deleted", spent.id),
        )

    back = restored(gone)
    with pytest.raises(PreconditionFailed):
        await store.restore_expense(
            back,
            expected_version=1,
            deltas=moves(spent),
            activity=activity(created.id, "expense.restored", spent.id),
        )
    logged = activity(created.id, "expense.restored", spent.id, actor_id=c.id)
    await store.restore_expense(back, expected_version=2, deltas=moves(spent), activity=logged)
    assert await store.get_expense(created.id, spent.id) == back
    assert await store.get_balances(created.id) == before
    assert (await all_activity(store, created.id))[0] == logged
    with pytest.raises(PreconditionFailed):  # restored meanwhile: a stale restore
        await store.restore_expense(
            back,
            expected_version=2,
            deltas=moves(spent),
            activity=activity(created.id, "expense.restored", spent.id),
        )
    with pytest.raises(NotFound):  # restoring what is not deleted
        await store.restore_expense(
            restored(back),
            expected_version=3,
            deltas=moves(spent),
            activity=activity(created.id, "expense.restored", spent.id),
        )
    assert await store.get_balances(created.id) == before


async def test_restore_is_refused_while_someone_it_involves_has_left(store: Store) -> None:
    created, a, b, c = await trio(store)
    spent = expense(created.id, {a.id: 2000}, {a.id: 1000, c.id: 1000})
    await store.create_expense(
        spent, deltas=moves(spent), activity=activity(created.id, "expense.created", spent.id)
    )
    await store.delete_expense(
        created.id,
        spent.id,
        expected_version=1,
        deltas=moves(spent, -1),
        activity=activity(created.id, "expense.deleted", spent.id),
    )
    await store.remove_member(created.id, c.id)
    balances, log = await store.get_balances(created.id), await all_activity(store, created.id)
    gone = await store.get_expense(created.id, spent.id, include_deleted=True)
    with pytest.raises(Conflict) as refused:
        await store.restore_expense(
            restored(gone),
            expected_version=2,
            deltas=moves(spent),
            activity=activity(created.id, "expense.restored", spent.id),
        )
    assert (refused.value.code, refused.value.details) == ("not_a_member", {"user_ids": [c.id]})
    assert await store.get_expense(created.id, spent.id, include_deleted=True) == gone
    assert await store.get_balances(created.id) == balances
    assert await all_activity(store, created.id) == log

    await store.add_member(created.id, c.id, at(10))
    await store.restore_expense(
        restored(gone),
        expected_version=2,
        deltas=moves(spent),
        activity=activity(created.id, "expense.restored", spent.id),
    )
    assert (await store.get_expense(created.id, spent.id)).deleted_at is None


async def test_settlements_are_soft_deleted_and_restored(store: Store) -> None:
    created, a, b, c = await trio(store)
    paid = settlement(created.id, b.id, a.id, 1500)
    await store.create_settlement(
        paid, deltas=moves(paid), activity=activity(created.id, "settlement.created", paid.id)
    )
    before = await store.get_balances(created.id)
    deleted = activity(created.id, "settlement.deleted", paid.id, actor_id=c.id)
    await store.delete_settlement(
        created.id, paid.id, expected_version=1, deltas=moves(paid, -1), activity=deleted
    )
    with pytest.raises(NotFound):
        await store.get_settlement(created.id, paid.id)
    assert (await store.list_settlements(created.id, limit=10)).items == []
    gone = await store.get_settlement(created.id, paid.id, include_deleted=True)
    assert (gone.deleted_at, gone.deleted_by, gone.version) == (deleted.at, c.id, 2)
    assert (await store.list_settlements(created.id, limit=10, include_deleted=True)).items == [gone]
    assert await store.get_balances(created.id) == as_balances({(a.id, "EUR"): 0, (b.id, "EUR"): 0})

    await store.restore_settlement(
        restored(gone),
        expected_version=2,
        deltas=moves(paid),
        activity=activity(created.id, "settlement.restored", paid.id),
    )
    assert await store.get_settlement(created.id, paid.id) == restored(gone)
    assert await store.get_balances(created.id) == before


async def test_expired_deleted_records_are_purged_by_later_deletes_or_kept_for_ttl(store: Store) -> None:
    """SQLite purges records whose restore window is over inside a later delete (DynamoDB leaves
    it to TTL, so there they may linger, still deleted); a record inside its window stays."""
    created, a, b, c = await trio(store)
    old = expense(created.id, {a.id: 900}, {b.id: 900})
    recent = expense(created.id, {a.id: 300}, {c.id: 300}, created_at=at(1))
    for record in (old, recent):
        await store.create_expense(
            record, deltas=moves(record), activity=activity(created.id, "expense.created", record.id)
        )
    first = activity(created.id, "expense.deleted", old.id)
    await store.delete_expense(
        created.id,
        old.id,
        expected_version=1,
        deltas=moves(old, -1),
        activity=first,
        keep_until=first.at,  # no window at all: expired at once
    )
    await store.delete_expense(
        created.id,
        recent.id,
        expected_version=1,
        deltas=moves(recent, -1),
        activity=activity(created.id, "expense.deleted", recent.id),
        keep_until=first.at + timedelta(days=30),
    )
    listed = [e.id for e in (await store.list_expenses(created.id, limit=10, include_deleted=True)).items]
    assert listed == ([recent.id] if isinstance(store, SQLiteStore) else [recent.id, old.id])
    assert (await store.get_expense(created.id, recent.id, include_deleted=True)).deleted_at is not None
