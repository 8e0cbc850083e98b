"""Recurring expenses: their rules, the scheduler's look-up of due ones on a partial index, and
the one write that makes an occurrence (the expense, its key, the rule advanced, the balances)."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime

from domain import ActivityEntry, Expense, IdempotentReply, PreconditionFailed
from domain.clock import to_text
from domain.recurring import MAX_RECURRING_PER_GROUP, RecurringRule
from store.base import BalanceDeltas, SpendingDeltas
from store.recurring import (
    occurrence_exists,
    recurring_not_found,
    rule_data,
    rule_from_data,
    too_many_recurring,
)
from store.sqlite.balances import _move_balances, _Moves
from store.sqlite.engine import Db, _Engine, _fetchone
from store.sqlite.history import _INSERT_EXPENSE, _INSERT_PARTICIPANT
from store.sqlite.idempotency import _record_reply
from store.sqlite.rows import _activity_row, _expense_row
from store.sqlite.writes import _log, _require_group

_INSERT = "INSERT INTO recurring (id, group_id, data, due_at, version) VALUES (?, ?, ?, ?, ?)"
_UPDATE = (
    "UPDATE recurring SET data = ?, due_at = ?, version = ? WHERE id = ? AND group_id = ? AND version = ?"
)
_INSERT_OCCURRENCE = "INSERT INTO recurring_occurrences (rule_id, on_date, expense_id) VALUES (?, ?, ?)"


def _row(rule: RecurringRule) -> tuple[str, str | None, int]:
    """The rule's data column, its `due_at` (NULL unless the scheduler should look at it) and
    version."""
    return (
        json.dumps(rule_data(rule), separators=(",", ":")),
        rule.due_at,
        rule.version,
    )


def _stale(db: Db, group_id: str, rule_id: str, expected: int) -> Exception:
    """Why a versioned write to the rule changed no row: it is gone, or at another version."""
    row = _fetchone(db, "SELECT version FROM recurring WHERE id = ? AND group_id = ?", (rule_id, group_id))
    if row is None:
        return recurring_not_found()
    return PreconditionFailed(
        f"it was changed meanwhile: you sent version {expected}, it is now {row[0]}",
        details={"current_version": row[0]},
    )


class _Recurring(_Engine):
    """The recurring-expense methods of `SQLiteStore`."""

    async def create_recurring(
        self, rule: RecurringRule, *, activity: ActivityEntry, reply: IdempotentReply | None = None
    ) -> None:
        data, due_at, version = _row(rule)
        logged = _activity_row(activity)

        def work(db: Db) -> None:
            _require_group(db, rule.group_id)
            (count,) = _fetchone(db, "SELECT COUNT(*) FROM recurring WHERE group_id = ?", (rule.group_id,))
            if count >= MAX_RECURRING_PER_GROUP:
                raise too_many_recurring()
            db.execute(_INSERT, (rule.id, rule.group_id, data, due_at, version))
            _log(db, logged)
            _record_reply(db, reply)

        await self._write(work)

    async def get_recurring(self, group_id: str, rule_id: str) -> RecurringRule:
        row = await self._one("SELECT data FROM recurring WHERE id = ? AND group_id = ?", (rule_id, group_id))
        if row is None:
            raise recurring_not_found()
        return rule_from_data(json.loads(row[0]))

    async def list_recurring(self, group_id: str) -> list[RecurringRule]:
        rows = await self._all(
            "SELECT data FROM recurring WHERE group_id = ? ORDER BY id LIMIT ?",
            (group_id, MAX_RECURRING_PER_GROUP),
        )
        return [rule_from_data(json.loads(row[0])) for row in rows]

    async def update_recurring(
        self, rule: RecurringRule, *, expected_version: int, activity: ActivityEntry
    ) -> None:
        data, due_at, version = _row(rule)
        logged = _activity_row(activity)

        def work(db: Db) -> None:
            changed = db.execute(_UPDATE, (data, due_at, version, rule.id, rule.group_id, expected_version))
            if changed.rowcount == 0:
                raise _stale(db, rule.group_id, rule.id, expected_version)
            _log(db, logged)

        await self._write(work)

    async def delete_recurring(
        self, group_id: str, rule_id: str, *, expected_version: int, activity: ActivityEntry
    ) -> None:
        logged = _activity_row(activity)

        def work(db: Db) -> None:
            gone = db.execute(
                "DELETE FROM recurring WHERE id = ? AND group_id = ? AND version = ?",
                (rule_id, group_id, expected_version),
            )
            if gone.rowcount == 0:
                raise _stale(db, group_id, rule_id, expected_version)
            _log(db, logged)

        await self._write(work)

    async def due_recurring(self, now: datetime, *, limit: int) -> list[RecurringRule]:
        rows = await self._all(
            "SELECT data FROM recurring WHERE due_at IS NOT NULL AND due_at <= ? ORDER BY due_at, id LIMIT ?",
            (to_text(now), limit),
        )
        return [rule_from_data(json.loads(row[0])) for row in rows]

    async def create_occurrence(
        self,
        expense: Expense,
        rule: RecurringRule,
        *,
        expected_version: int,
        deltas: BalanceDeltas,
        activity: ActivityEntry,
        spending: SpendingDeltas | None = None,
    ) -> None:
        data, due_at, version = _row(rule)
        row = _expense_row(expense)
        participants = [(expense.id, user) for user in expense.participants]
        moves = _Moves(expense.group_id, deltas, spending, [*expense.participants, expense.created_by])
        logged = _activity_row(activity)

        def work(db: Db) -> None:
            changed = db.execute(_UPDATE, (data, due_at, version, rule.id, rule.group_id, expected_version))
            if changed.rowcount == 0:
                raise _stale(db, rule.group_id, rule.id, expected_version)
            try:
                db.execute(_INSERT_OCCURRENCE, (rule.id, expense.date, expense.id))
            except sqlite3.IntegrityError:
                raise occurrence_exists(rule.id, expense.date) from None
            _move_balances(db, moves)
            db.execute(_INSERT_EXPENSE, row)
            db.executemany(_INSERT_PARTICIPANT, participants)
            _log(db, logged)

        await self._write(work)
