"""The dated ledger history: expenses and settlements, written together with the balance moves
and the activity entry they cause, and read newest first by (date, created_at, id)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain import ActivityEntry, Expense, ExpenseFilter, IdempotentReply, Page, Settlement
from domain.clock import to_text
from store.base import PURGE_BATCH, RESTORE_WINDOW, BalanceDeltas, SpendingDeltas
from store.cursor import dated_position, decode_cursor, encode_cursor
from store.errors import balances_changed, record_not_found
from store.sqlite.balances import _move_balances, _Moves
from store.sqlite.engine import Db, _Engine, _fetchone
from store.sqlite.idempotency import _record_reply
from store.sqlite.rows import (
    _EXPENSE_COLUMNS,
    _SETTLEMENT_COLUMNS,
    _activity_row,
    _expense,
    _expense_row,
    _marks,
    _settlement,
    _settlement_row,
)
from store.sqlite.writes import _check_version, _log

_INSERT_EXPENSE = f"INSERT INTO expenses ({_EXPENSE_COLUMNS}) VALUES ({_marks(_EXPENSE_COLUMNS)})"
_UPDATE_EXPENSE = (
    "UPDATE expenses SET "
    + ", ".join(f"{c.strip()} = ?" for c in _EXPENSE_COLUMNS.split(","))
    + " WHERE id = ?"
)
_INSERT_PARTICIPANT = "INSERT INTO expense_participants (expense_id, user_id) VALUES (?, ?)"
_INSERT_SETTLEMENT = f"INSERT INTO settlements ({_SETTLEMENT_COLUMNS}) VALUES ({_marks(_SETTLEMENT_COLUMNS)})"
_UPDATE_SETTLEMENT = (
    "UPDATE settlements SET "
    + ", ".join(f"{c.strip()} = ?" for c in _SETTLEMENT_COLUMNS.split(","))
    + ", keep_until = NULL WHERE id = ?"
)
_RESTORE_EXPENSE = _UPDATE_EXPENSE.replace(" WHERE id = ?", ", keep_until = NULL WHERE id = ?")
_SOFT_DELETE = (
    "UPDATE {table} SET deleted_at = ?, deleted_by = ?, keep_until = ?, version = version + 1 WHERE id = ?"
)
_EXPIRED = "SELECT id FROM {table} WHERE keep_until IS NOT NULL AND keep_until < ? LIMIT ?"


def _soft_delete(
    db: Db, table: str, record_id: str, activity: ActivityEntry, keep_until: datetime | None
) -> None:
    """Mark the record deleted (its version bumped), then purge up to PURGE_BATCH records of any
    group whose restore window ended before this moment, with their comments: bounded work on
    the partial `*_to_purge` index, so history never piles up and no request scans a table."""
    now = to_text(activity.at)
    until = to_text(keep_until if keep_until is not None else activity.at + RESTORE_WINDOW)
    db.execute(_SOFT_DELETE.format(table=table), (now, activity.actor_id, until, record_id))
    expired = [row[0] for row in db.execute(_EXPIRED.format(table=table), (now, PURGE_BATCH))]
    if expired:
        marks = ",".join("?" * len(expired))
        db.execute(f"DELETE FROM comments WHERE subject_id IN ({marks})", expired)
        db.execute(f"DELETE FROM {table} WHERE id IN ({marks})", expired)


def _require_balances(db: Db, group_id: str, expected: BalanceDeltas) -> None:
    """Conflict `balances_changed` unless each (user, currency) balance is still as expected."""
    for (user_id, currency), amount in expected.items():
        row = _fetchone(
            db,
            "SELECT amount FROM balances WHERE group_id = ? AND user_id = ? AND currency = ?",
            (group_id, user_id, currency),
        )
        if (row[0] if row is not None else 0) != amount:
            raise balances_changed()


class _History(_Engine):
    """The expense and settlement methods of `SQLiteStore`: the dated ledger history, whose writes
    move balances."""

    async def create_expense(
        self,
        expense: Expense,
        *,
        deltas: BalanceDeltas,
        activity: ActivityEntry,
        reply: IdempotentReply | None = None,
        spending: SpendingDeltas | None = None,
        expected_balances: BalanceDeltas | None = None,
    ) -> None:
        # Everything that needs no database is prepared here, before the transaction, so that the
        # write lock (the one resource every write shares) is held only for the statements.
        row = _expense_row(expense)
        participants = [(expense.id, user) for user in expense.participants]
        involved = {*expense.participants, *(user_id for user_id, _ in expected_balances or {})}
        moves = _Moves(expense.group_id, deltas, spending, involved)
        logged = _activity_row(activity)

        def work(db: Db) -> None:
            if expected_balances:
                _require_balances(db, expense.group_id, expected_balances)
            _move_balances(db, moves)
            db.execute(_INSERT_EXPENSE, row)
            db.executemany(_INSERT_PARTICIPANT, participants)
            _log(db, logged)
            _record_reply(db, reply)

        await self._write(work)

    async def get_expense(self, group_id: str, expense_id: str, *, include_deleted: bool = False) -> Expense:
        row = await self._one(
            f"SELECT {_EXPENSE_COLUMNS} FROM expenses WHERE group_id = ? AND id = ?",
            (group_id, expense_id),
        )
        if row is None:
            raise record_not_found("expense")
        expense = _expense(row)
        if expense.deleted_at is not None and not include_deleted:
            raise record_not_found("expense")
        return expense

    async def list_expenses(
        self,
        group_id: str,
        *,
        limit: int,
        cursor: str | None = None,
        filters: ExpenseFilter = ExpenseFilter(),
        include_deleted: bool = False,
    ) -> Page[Expense]:
        where, params = ["group_id = ?"], [group_id]
        if not include_deleted:
            where.append("deleted_at IS NULL")
        if filters.date_from is not None:
            where.append("date >= ?")
            params.append(filters.date_from)
        if filters.date_to is not None:
            where.append("date <= ?")
            params.append(filters.date_to)
        if filters.categories is not None:
            where.append(f"category IN ({','.join('?' * len(filters.categories))})")
            params.extend(filters.categories)
        if filters.member is not None:
            where.append(
                "EXISTS (SELECT 1 FROM expense_participants p "
                "WHERE p.expense_id = expenses.id AND p.user_id = ?)"
            )
            params.append(filters.member)
        rows = await self._page("expenses", _EXPENSE_COLUMNS, where, params, limit=limit, cursor=cursor)
        return _paged([_expense(r) for r in rows], limit, "expenses")

    async def update_expense(
        self,
        expense: Expense,
        *,
        expected_version: int,
        deltas: BalanceDeltas,
        activity: ActivityEntry,
        spending: SpendingDeltas | None = None,
    ) -> None:
        row = (*_expense_row(expense), expense.id)
        participants = [(expense.id, user) for user in expense.participants]
        moves = _Moves(expense.group_id, deltas, spending, expense.participants)
        logged = _activity_row(activity)

        def work(db: Db) -> None:
            _check_version(db, "expenses", expense.group_id, expense.id, expected_version)
            _move_balances(db, moves)
            db.execute(_UPDATE_EXPENSE, row)
            db.execute("DELETE FROM expense_participants WHERE expense_id = ?", (expense.id,))
            db.executemany(_INSERT_PARTICIPANT, participants)
            _log(db, logged)

        await self._write(work)

    async def restore_expense(
        self,
        expense: Expense,
        *,
        expected_version: int,
        deltas: BalanceDeltas,
        activity: ActivityEntry,
        spending: SpendingDeltas | None = None,
    ) -> None:
        # The participants' rows stayed with the deleted expense: only the row itself changes.
        row = (*_expense_row(expense), expense.id)
        moves = _Moves(expense.group_id, deltas, spending, expense.participants)
        logged = _activity_row(activity)

        def work(db: Db) -> None:
            _check_version(db, "expenses", expense.group_id, expense.id, expected_version, deleted=True)
            _move_balances(db, moves)
            db.execute(_RESTORE_EXPENSE, row)
            _log(db, logged)

        await self._write(work)

    async def delete_expense(
        self,
        group_id: str,
        expense_id: str,
        *,
        expected_version: int,
        deltas: BalanceDeltas,
        activity: ActivityEntry,
        spending: SpendingDeltas | None = None,
        keep_until: datetime | None = None,
    ) -> None:
        moves = _Moves(group_id, deltas, spending)
        logged = _activity_row(activity)

        def work(db: Db) -> None:
            _check_version(db, "expenses", group_id, expense_id, expected_version)
            _move_balances(db, moves)
            _soft_delete(db, "expenses", expense_id, activity, keep_until)
            _log(db, logged)

        await self._write(work)

    async def create_settlement(
        self,
        settlement: Settlement,
        *,
        deltas: BalanceDeltas,
        activity: ActivityEntry,
        reply: IdempotentReply | None = None,
    ) -> None:
        row = _settlement_row(settlement)
        moves = _Moves(settlement.group_id, deltas)
        logged = _activity_row(activity)

        def work(db: Db) -> None:
            _move_balances(db, moves)
            db.execute(_INSERT_SETTLEMENT, row)
            _log(db, logged)
            _record_reply(db, reply)

        await self._write(work)

    async def get_settlement(
        self, group_id: str, settlement_id: str, *, include_deleted: bool = False
    ) -> Settlement:
        row = await self._one(
            f"SELECT {_SETTLEMENT_COLUMNS} FROM settlements WHERE group_id = ? AND id = ?",
            (group_id, settlement_id),
        )
        if row is None:
            raise record_not_found("transaction")
        settlement = _settlement(row)
        if settlement.deleted_at is not None and not include_deleted:
            raise record_not_found("transaction")
        return settlement

    async def list_settlements(
        self, group_id: str, *, limit: int, cursor: str | None = None, include_deleted: bool = False
    ) -> Page[Settlement]:
        rows = await self._page(
            "settlements",
            _SETTLEMENT_COLUMNS,
            ["group_id = ?"] if include_deleted else ["group_id = ?", "deleted_at IS NULL"],
            [group_id],
            limit=limit,
            cursor=cursor,
        )
        return _paged([_settlement(r) for r in rows], limit, "settlements")

    async def delete_settlement(
        self,
        group_id: str,
        settlement_id: str,
        *,
        expected_version: int,
        deltas: BalanceDeltas,
        activity: ActivityEntry,
        keep_until: datetime | None = None,
    ) -> None:
        moves = _Moves(group_id, deltas)
        logged = _activity_row(activity)

        def work(db: Db) -> None:
            _check_version(db, "settlements", group_id, settlement_id, expected_version)
            _move_balances(db, moves)
            _soft_delete(db, "settlements", settlement_id, activity, keep_until)
            _log(db, logged)

        await self._write(work)

    async def restore_settlement(
        self,
        settlement: Settlement,
        *,
        expected_version: int,
        deltas: BalanceDeltas,
        activity: ActivityEntry,
    ) -> None:
        row = (*_settlement_row(settlement), settlement.id)
        moves = _Moves(settlement.group_id, deltas, None, (settlement.from_user, settlement.to_user))
        logged = _activity_row(activity)

        def work(db: Db) -> None:
            _check_version(
                db, "settlements", settlement.group_id, settlement.id, expected_version, deleted=True
            )
            _move_balances(db, moves)
            db.execute(_UPDATE_SETTLEMENT, row)
            _log(db, logged)

        await self._write(work)

    async def _page(
        self,
        table: str,
        columns: str,
        where: list[str],
        params: list[Any],
        *,
        limit: int,
        cursor: str | None,
    ) -> list[Any]:
        """One page of a dated history table, newest first by (date, created_at, id)."""
        if cursor is not None:
            date, created_at, record_id = dated_position(decode_cursor(table, cursor))
            where = [*where, "(date, created_at, id) < (?, ?, ?)"]
            params = [*params, date, created_at, record_id]
        return await self._all(
            f"SELECT {columns} FROM {table} WHERE {' AND '.join(where)} "
            "ORDER BY date DESC, created_at DESC, id DESC LIMIT ?",
            (*params, limit + 1),
        )


def _paged(items: list[Any], limit: int, kind: str) -> Page[Any]:
    """A page of dated records fetched with limit + 1, and the cursor after its last item."""
    next_cursor = None
    if len(items) > limit:
        last = items[limit - 1]
        next_cursor = encode_cursor(kind, [last.date, to_text(last.created_at), last.id])
    return Page(items=items[:limit], next_cursor=next_cursor)
