"""Settlements (transactions, on the wire): written with the balances they move, read one by one
or a page at a time."""

from __future__ import annotations

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

    async def get_settlement(self, group_id: str, settlement_id: str) -> Settlement:
        item = await self._get(self._transactions, _key(f"GROUP#{group_id}", f"TXN#{settlement_id}"))
        if item is None:
            raise record_not_found("transaction")
        return _settlement(item)

    async def list_settlements(
        self, group_id: str, *, limit: int, cursor: str | None = None
    ) -> Page[Settlement]:
        items, next_cursor = await self._dated_page(
            self._transactions, group_id, "settlements", "TXN#", limit=limit, cursor=cursor
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
    ) -> None:
        record = self._versioned(
            "Delete", self._transactions, group_id, f"TXN#{settlement_id}", expected_version, None
        )
        await self._ledger_write(
            group_id,
            record,
            what="transaction",
            expected_version=expected_version,
            deltas=deltas,
            members=[],
            activity=activity,
            change=Logged("settlement", settlement_id, "delete", expected_version),
        )
