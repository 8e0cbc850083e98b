"""Balances: kept on the membership items, so a group's are one Query of its partition."""

from __future__ import annotations

from domain import Balance
from store.dynamodb.connection import _Connection
from store.dynamodb.items import _balances
from store.errors import group_not_found


class _Balances(_Connection):
    """The balances part of the contract."""

    async def get_balances(self, group_id: str) -> list[Balance]:
        return _balances(await self._partition(group_id, "MEMBER#"))

    async def get_balances_for_member(self, group_id: str, user_id: str) -> list[Balance]:
        memberships = await self._partition(group_id, "MEMBER#")
        if not any(m["user_id"] == user_id for m in memberships):
            raise group_not_found()
        return _balances(memberships)
