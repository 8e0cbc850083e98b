"""The embedded store under a steady stream of writes: its WAL starts over instead of growing."""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

import store.sqlite.engine as sqlite_backend
from domain import ActivityEntry, Expense
from domain.clock import utc_now
from domain.ids import new_id
from ledger.moves import balance_moves, net_of
from store.base import NewGroup
from store.sqlite import SQLiteStore

WRITERS = 32
WRITES = 3_000


RESET_FRAMES = 200


async def test_the_wal_stays_bounded_under_continuous_writes(
    sqlite_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_backend, "WAL_RESET_FRAMES", RESET_FRAMES)
    monkeypatch.setattr(sqlite_backend, "CHECKPOINT_EVERY", 20)
    wal = sqlite_path.with_name(sqlite_path.name + "-wal")
    largest = 0
    async with SQLiteStore.open(sqlite_path) as store:
        owner = await store.ensure_user("wal@example.com", "Wal")
        group_id = new_id()
        await store.create_group(
            NewGroup(
                id=group_id,
                name="g",
                description="",
                default_currency="EUR",
                owner_id=owner.id,
                created_at=utc_now(),
            )
        )
        remaining = iter(range(WRITES))

        async def writer() -> None:
            nonlocal largest
            for _ in remaining:
                spent = Expense(
                    id=new_id(),
                    group_id=group_id,
                    description="tea",
                    amount=300,
                    currency="EUR",
                    date="2026-11-30",
                    category="general",
                    paid={owner.id: 300},
                    owed={owner.id: 300},
                    split={"kind": "equal", "members": [owner.id]},
                    notes="",
                    receipt_id=None,
                    created_by=owner.id,
                    created_at=utc_now(),
                    updated_at=utc_now(),
                    version=1,
                )
                await store.create_expense(
                    spent,
                    deltas=balance_moves(("EUR", net_of(spent.paid, spent.owed))),
                    activity=ActivityEntry(
                        id=new_id(),
                        group_id=group_id,
                        at=utc_now(),
                        actor_id=owner.id,
                        action="expense.created",
                        subject_id=spent.id,
                        details={},
                    ),
                )
                largest = max(largest, wal.stat().st_size)

        await asyncio.gather(*(writer() for _ in range(WRITERS)))
    with closing(sqlite3.connect(sqlite_path)) as db:
        page_size = db.execute("PRAGMA page_size").fetchone()[0]
    # Without the reset the WAL keeps every page written: over 3,000 frames here.
    assert largest < 4 * RESET_FRAMES * (page_size + 24)
