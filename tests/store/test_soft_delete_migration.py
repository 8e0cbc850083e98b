"""A SQLite file made before soft delete and comments upgrades in place: its expenses and
settlements are live (no `deleted_at`), listed as before, deletable and then restorable."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone
from pathlib import Path

from domain.clock import to_text
from store.sqlite import SQLiteStore
from store.sqlite.schema import _MIGRATIONS
from tests.store.builders import activity

BEFORE_SOFT_DELETE = 7
"""How many migrations a file had before soft delete and comments."""


def _old_file(path: Path, at: str) -> None:
    db = sqlite3.connect(path)
    for script in _MIGRATIONS[:BEFORE_SOFT_DELETE]:
        db.executescript(script)
    db.executescript(
        f"""
        INSERT INTO users (id, email, name, picture, created_at)
            VALUES ('owner', 'owner@example.com', 'Owner', NULL, '{at}');
        INSERT INTO groups (id, name, description, default_currency, owner_id, member_count, version,
                            created_at, updated_at)
            VALUES ('g', 'Trip', '', 'EUR', 'owner', 1, 1, '{at}', '{at}');
        INSERT INTO memberships (group_id, user_id, role, joined_at) VALUES ('g', 'owner', 'owner', '{at}');
        INSERT INTO expenses (id, group_id, description, amount, currency, date, category, paid, owed,
                              split, notes, receipt_id, created_by, created_at, updated_at, version)
            VALUES ('e', 'g', 'Taxi', 100, 'EUR', '2026-01-01', 'general', '{{"owner":100}}',
                    '{{"owner":100}}', '{{}}', '', NULL, 'owner', '{at}', '{at}', 1);
        INSERT INTO expense_participants (expense_id, user_id) VALUES ('e', 'owner');
        PRAGMA user_version = {BEFORE_SOFT_DELETE};
        """
    )
    db.close()


async def test_an_old_file_keeps_its_history_live_and_restorable(tmp_path: Path) -> None:
    at = to_text(datetime(2026, 1, 1, tzinfo=timezone.utc))
    path = tmp_path / "old.sqlite3"
    _old_file(path, at)
    assert BEFORE_SOFT_DELETE < len(_MIGRATIONS)

    async with SQLiteStore.open(path) as store:
        expense = await store.get_expense("g", "e")
        assert (expense.deleted_at, expense.deleted_by) == (None, None)
        assert [e.id for e in (await store.list_expenses("g", limit=5)).items] == ["e"]
        await store.delete_expense(
            "g", "e", expected_version=1, deltas={}, activity=activity("g", "expense.deleted", "e", "owner")
        )
        assert (await store.list_expenses("g", limit=5)).items == []
        gone = await store.get_expense("g", "e", include_deleted=True)
        assert (gone.deleted_by, gone.version) == ("owner", 2)
        assert (await store.list_comments("g", "e", limit=5)).items == []
