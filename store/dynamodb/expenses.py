"""Expenses: written with the balances and spending they move, read one by one or a page at a time."""

from __future__ import annotations

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
        )

    async def get_expense(self, group_id: str, expense_id: str) -> Expense:
        item = await self._get(self._expenses, _key(f"GROUP#{group_id}", f"EXP#{expense_id}"))
        if item is None:
            raise record_not_found("expense")
        return _expense(item)

    async def list_expenses(
        self,
        group_id: str,
        *,
        limit: int,
        cursor: str | None = None,
        filters: ExpenseFilter = ExpenseFilter(),
    ) -> Page[Expense]:
        conditions: list[str] = []
        values: dict[str, Any] = {}
        if filters.category is not None:
            conditions.append("category = :category")
            values[":category"] = filters.category
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
    ) -> None:
        record = self._versioned(
            "Delete", self._expenses, group_id, f"EXP#{expense_id}", expected_version, None
        )
        await self._ledger_write(
            group_id,
            record,
            what="expense",
            expected_version=expected_version,
            deltas=deltas,
            members=[],
            activity=activity,
            change=Logged("expense", expense_id, "delete", expected_version),
            spending=spending,
        )
