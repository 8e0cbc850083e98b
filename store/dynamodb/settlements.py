"""Settlements (transactions, on the wire): written with the balances they move, read one by one
or a page at a time."""

from __future__ import annotations

from datetime import datetime

from domain import ActivityEntry, IdempotentReply, Page, Settlement
from store.base import BalanceDeltas
from store.dynamodb.changelog import Logged
from store.dynamodb.items import _attrs, _key, _settlement, _settlement_item
from store.dynamodb.ledger import _Ledger
from store.errors import record_not_found


class _Settlements(_Ledger):
    """The settlements part of the contract."""

    async def create_settlement(
        self,
        settlement: Settlement,
        *,
        deltas: BalanceDeltas,
        activity: ActivityEntry,
        reply: IdempotentReply | None = None,
    ) -> None:
        record = {
            "Put": {
                "TableName": self._transactions,
                "Item": _attrs(_settlement_item(settlement)),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }
        await self._ledger_write(
            settlement.group_id,
            record,
            what="transaction",
            expected_version=None,
            deltas=deltas,
            members=[settlement.from_user, settlement.to_user],
            activity=activity,
            change=Logged("settlement", settlement.id, "upsert", settlement.version),
            reply=reply,
        )

    async def get_settlement(
        self, group_id: str, settlement_id: str, *, include_deleted: bool = False
    ) -> Settlement:
        item = await self._get(self._transactions, _key(f"GROUP#{group_id}", f"TXN#{settlement_id}"))
        if item is None or ("deleted_at" in item and not include_deleted):
            raise record_not_found("transaction")
        return _settlement(item)

    async def list_settlements(
        self, group_id: str, *, limit: int, cursor: str | None = None, include_deleted: bool = False
    ) -> Page[Settlement]:
        items, next_cursor = await self._dated_page(
            self._transactions,
            group_id,
            "settlements",
            "TXN#",
            limit=limit,
            cursor=cursor,
            filter_expression=None if include_deleted else "attribute_not_exists(deleted_at)",
        )
        return Page(items=[_settlement(item) for item in items], next_cursor=next_cursor)

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
        record = self._soft_delete(
            self._transactions, group_id, f"TXN#{settlement_id}", expected_version, activity, keep_until
        )
        await self._ledger_write(
            group_id,
            record,
            what="transaction",
            expected_version=expected_version,
            deltas=deltas,
            members=[],
            activity=activity,
            change=Logged("settlement", settlement_id, "delete", expected_version + 1),
        )

    async def restore_settlement(
        self,
        settlement: Settlement,
        *,
        expected_version: int,
        deltas: BalanceDeltas,
        activity: ActivityEntry,
    ) -> None:
        record = self._versioned(
            "Put",
            self._transactions,
            settlement.group_id,
            f"TXN#{settlement.id}",
            expected_version,
            _settlement_item(settlement),
            deleted=True,
        )
        await self._ledger_write(
            settlement.group_id,
            record,
            what="transaction",
            expected_version=expected_version,
            deltas=deltas,
            members=[settlement.from_user, settlement.to_user],
            activity=activity,
            change=Logged("settlement", settlement.id, "upsert", settlement.version),
            deleted=True,
        )
