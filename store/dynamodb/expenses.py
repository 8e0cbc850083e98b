"""Expenses: written with the balances and spending they move, read one by one or a page at a time."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain import ActivityEntry, Expense, ExpenseFilter, IdempotentReply, Page
from store.base import BalanceDeltas, SpendingDeltas
from store.dynamodb.changelog import Logged
from store.dynamodb.items import _attrs, _expense, _expense_item, _key
from store.dynamodb.ledger import _Ledger
from store.errors import record_not_found


class _Expenses(_Ledger):
    """The expenses part of the contract."""

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
        record = {
            "Put": {
                "TableName": self._expenses,
                "Item": _attrs(_expense_item(expense)),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }
        await self._ledger_write(
            expense.group_id,
            record,
            what="expense",
            expected_version=None,
            deltas=deltas,
            members=expense.participants,
            activity=activity,
            change=Logged("expense", expense.id, "upsert", expense.version),
            reply=reply,
            spending=spending,
            expected_balances=expected_balances,
        )

    async def get_expense(self, group_id: str, expense_id: str, *, include_deleted: bool = False) -> Expense:
        item = await self._get(self._expenses, _key(f"GROUP#{group_id}", f"EXP#{expense_id}"))
        if item is None or ("deleted_at" in item and not include_deleted):
            raise record_not_found("expense")
        return _expense(item)

    async def list_expenses(
        self,
        group_id: str,
        *,
        limit: int,
        cursor: str | None = None,
        filters: ExpenseFilter = ExpenseFilter(),
        include_deleted: bool = False,
    ) -> Page[Expense]:
        conditions: list[str] = [] if include_deleted else ["attribute_not_exists(deleted_at)"]
        values: dict[str, Any] = {}
        if filters.categories is not None:
            names = [f":category{number}" for number in range(len(filters.categories))]
            conditions.append(f"category IN ({', '.join(names)})")
            values.update(zip(names, filters.categories, strict=True))
        if filters.member is not None:
            conditions.append("contains(participants, :member)")
            values[":member"] = filters.member
        items, next_cursor = await self._dated_page(
            self._expenses,
            group_id,
            "expenses",
            "EXP#",
            limit=limit,
            cursor=cursor,
            date_from=filters.date_from,
            date_to=filters.date_to,
            filter_expression=" AND ".join(conditions) or None,
            filter_values=values,
        )
        return Page(items=[_expense(item) for item in items], next_cursor=next_cursor)

    async def update_expense(
        self,
        expense: Expense,
        *,
        expected_version: int,
        deltas: BalanceDeltas,
        activity: ActivityEntry,
        spending: SpendingDeltas | None = None,
    ) -> None:
        record = self._versioned(
            "Put",
            self._expenses,
            expense.group_id,
            f"EXP#{expense.id}",
            expected_version,
            _expense_item(expense),
        )
        await self._ledger_write(
            expense.group_id,
            record,
            what="expense",
            expected_version=expected_version,
            deltas=deltas,
            members=expense.participants,
            activity=activity,
            change=Logged("expense", expense.id, "upsert", expense.version),
            spending=spending,
        )

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
        record = self._soft_delete(
            self._expenses, group_id, f"EXP#{expense_id}", expected_version, activity, keep_until
        )
        await self._ledger_write(
            group_id,
            record,
            what="expense",
            expected_version=expected_version,
            deltas=deltas,
            members=[],
            activity=activity,
            change=Logged("expense", expense_id, "delete", expected_version + 1),
            spending=spending,
        )

    async def restore_expense(
        self,
        expense: Expense,
        *,
        expected_version: int,
        deltas: BalanceDeltas,
        activity: ActivityEntry,
        spending: SpendingDeltas | None = None,
    ) -> None:
        # The Put replaces the whole item: deleted_at, deleted_by and the TTL go with it.
        record = self._versioned(
            "Put",
            self._expenses,
            expense.group_id,
            f"EXP#{expense.id}",
            expected_version,
            _expense_item(expense),
            deleted=True,
        )
        await self._ledger_write(
            expense.group_id,
            record,
            what="expense",
            expected_version=expected_version,
            deltas=deltas,
            members=expense.participants,
            activity=activity,
            change=Logged("expense", expense.id, "upsert", expense.version),
            spending=spending,
            deleted=True,
        )
