"""Builders shared by the contract suite: users, groups, and the records the ledger writes.

They build records and their balance moves locally, independent of `ledger/`, so the suite checks what
the store does with the moves it is given, not how the ledger computes them.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone
from typing import TypeVar

from domain import ActivityEntry, Balance, Expense, Group, Settlement, User
from domain.models import Page
from store.base import BalanceDeltas, NewGroup, Store

T = TypeVar("T")

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=timezone.utc)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


async def user(store: Store, name: str) -> User:
    return await store.ensure_user(f"{name}@example.com", name.title())


async def users(store: Store, count: int, prefix: str = "u") -> list[User]:
    return list(await asyncio.gather(*(user(store, f"{prefix}{i}") for i in range(count))))


async def group(store: Store, owner: User, created_at: datetime = T0, name: str = "Trip") -> Group:
    return await store.create_group(
        NewGroup(
            id=uuid.uuid4().hex,
            name=name,
            description="",
            default_currency="EUR",
            owner_id=owner.id,
            created_at=created_at,
        )
    )


async def fill(store: Store, group_id: str, count: int, prefix: str) -> None:
    for i, member in enumerate(await users(store, count, prefix)):
        await store.add_member(group_id, member.id, at(i + 1))


def expense(
    group_id: str,
    paid: dict[str, int],
    owed: dict[str, int],
    *,
    currency: str = "EUR",
    date: str = "2024-03-01",
    created_at: datetime = T0,
    category: str = "general",
    expense_id: str | None = None,
    version: int = 1,
    description: str = "Dinner",
) -> Expense:
    assert sum(paid.values()) == sum(owed.values())
    return Expense(
        id=expense_id or uuid.uuid4().hex,
        group_id=group_id,
        description=description,
        amount=sum(paid.values()),
        currency=currency,
        date=date,
        category=category,
        paid=paid,
        owed=owed,
        split={"kind": "exact", "shares": owed},
        notes="",
        receipt_id=None,
        created_by=next(iter(paid)),
        created_at=created_at,
        updated_at=created_at,
        version=version,
    )


def moves(record: Expense | Settlement, sign: int = 1) -> BalanceDeltas:
    """How `record` moves balances (sign -1: how undoing it does); every participant included."""
    deltas: BalanceDeltas = {}
    if isinstance(record, Expense):
        for user_id in record.participants:
            net = record.paid.get(user_id, 0) - record.owed.get(user_id, 0)
            deltas[(user_id, record.currency)] = sign * net
    else:
        deltas[(record.from_user, record.currency)] = sign * record.amount
        deltas[(record.to_user, record.currency)] = -sign * record.amount
    return deltas


def combine(*all_deltas: BalanceDeltas) -> BalanceDeltas:
    total: BalanceDeltas = {}
    for deltas in all_deltas:
        for key, delta in deltas.items():
            total[key] = total.get(key, 0) + delta
    return total


def settlement(
    group_id: str,
    from_user: str,
    to_user: str,
    amount: int,
    *,
    currency: str = "EUR",
    date: str = "2024-03-01",
    created_at: datetime = T0,
    settlement_id: str | None = None,
) -> Settlement:
    return Settlement(
        id=settlement_id or uuid.uuid4().hex,
        group_id=group_id,
        from_user=from_user,
        to_user=to_user,
        amount=amount,
        currency=currency,
        date=date,
        note="",
        created_by=from_user,
        created_at=created_at,
        version=1,
    )


_activity_clock = iter(range(10**6))


def activity(group_id: str, action: str, subject_id: str, actor_id: str = "actor") -> ActivityEntry:
    """A log entry; each one made is a microsecond later than the one before."""
    return ActivityEntry(
        id=uuid.uuid4().hex,
        group_id=group_id,
        at=T0 + timedelta(microseconds=next(_activity_clock)),
        actor_id=actor_id,
        action=action,
        subject_id=subject_id,
        details={"note": action},
    )


def as_balances(totals: BalanceDeltas) -> list[Balance]:
    return [
        Balance(user_id=user_id, currency=currency, amount=amount)
        for (user_id, currency), amount in sorted(totals.items())
    ]


async def trio(store: Store) -> tuple[Group, User, User, User]:
    """A group of three: owner a, members b and c."""
    a, b, c = await users(store, 3, prefix=f"p{uuid.uuid4().hex[:6]}")
    created = await group(store, a)
    await store.add_member(created.id, b.id, at(1))
    await store.add_member(created.id, c.id, at(2))
    return created, a, b, c


async def all_activity(store: Store, group_id: str) -> list[ActivityEntry]:
    return (await store.list_activity(group_id, limit=1000)).items


async def collect(fetch: Callable[..., Awaitable[Page[T]]], limit: int) -> list[T]:
    """Every item of a paged listing, following cursors; pages must not exceed `limit`."""
    items: list[T] = []
    cursor: str | None = None
    pages = 0
    while True:
        page = await fetch(limit=limit, cursor=cursor)
        assert len(page.items) <= limit
        items += page.items
        pages += 1
        assert pages < 200
        cursor = page.next_cursor
        if cursor is None:
            return items
