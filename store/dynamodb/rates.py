"""Exchange rates on DynamoDB: one item per currency and day in the groups table (pk
`RATES#<currency>`, sk the day), so the latest on or before a day is one Query per currency,
backwards, one item long. An `ecb` quote is put on the condition that it replaces no `imported` one."""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Sequence
from typing import Any

from domain.rates import RateQuote
from store.dynamodb.client import _ConditionFailed
from store.dynamodb.connection import _Connection
from store.dynamodb.items import _attrs, _plain

PUTS_AT_ONCE = 16
"""PutItem calls of one import in flight together."""


def _pk(currency: str) -> str:
    return f"RATES#{currency}"


class _Rates(_Connection):
    """The exchange-rate part of the contract."""

    async def put_rates(self, quotes: Sequence[RateQuote]) -> int:
        pending = iter(quotes)
        written = 0

        async def worker() -> None:
            nonlocal written
            for quote in pending:  # the workers share one iterator: each quote is put once
                if await self._put_quote(quote):
                    written += 1

        await asyncio.gather(*(worker() for _ in range(min(PUTS_AT_ONCE, len(quotes)))))
        return written

    async def _put_quote(self, quote: RateQuote) -> bool:
        params: dict[str, Any] = {
            "TableName": self._groups,
            "Item": _attrs(
                {
                    "pk": _pk(quote.currency),
                    "sk": quote.on,
                    "per_euro": quote.per_euro,
                    "source": quote.source,
                }
            ),
        }
        if quote.source == "ecb":
            params["ConditionExpression"] = "attribute_not_exists(pk) OR #source = :ecb"
            params["ExpressionAttributeNames"] = {"#source": "source"}
            params["ExpressionAttributeValues"] = _attrs({":ecb": "ecb"})
        try:
            await self._call("put_item", **params)
        except _ConditionFailed:
            return False
        return True

    async def rates_on(self, currencies: Collection[str], on: str) -> dict[str, RateQuote]:
        found = await asyncio.gather(*(self._latest(currency, on) for currency in set(currencies)))
        return {quote.currency: quote for quote in found if quote is not None}

    async def _latest(self, currency: str, on: str) -> RateQuote | None:
        response = await self._call(
            "query",
            TableName=self._groups,
            KeyConditionExpression="pk = :pk AND sk <= :on",
            ExpressionAttributeValues=_attrs({":pk": _pk(currency), ":on": on}),
            ScanIndexForward=False,
            Limit=1,
            ConsistentRead=True,
        )
        items = response.get("Items") or []
        if not items:
            return None
        item = _plain(items[0])
        return RateQuote(currency, item["sk"], item["per_euro"], item["source"])
