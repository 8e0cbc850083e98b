"""Exchange rates on DynamoDB: one item per currency and day in the groups table (pk
`RATES#<currency>`, sk the day), so the latest on or before a day is one Query per currency,
backwards, one item long. An `ecb` quote is put on the condition that it replaces no `imported`
one; `imported` quotes replace anything, so they are written 25 to a BatchWriteItem (the ECB's
history is 200,000 of them)."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Collection, Sequence
from typing import Any

from domain import Unavailable
from domain.rates import RateQuote
from store.dynamodb.client import _ATTEMPTS, _backoff, _ConditionFailed
from store.dynamodb.connection import _Connection
from store.dynamodb.items import _attrs, _plain

PUTS_AT_ONCE = 16
"""Writes of one `put_rates` in flight together."""
BATCH_WRITE_LIMIT = 25
"""Items one BatchWriteItem takes."""


def _pk(currency: str) -> str:
    return f"RATES#{currency}"


def _item(quote: RateQuote) -> dict[str, Any]:
    return _attrs(
        {"pk": _pk(quote.currency), "sk": quote.on, "per_euro": quote.per_euro, "source": quote.source}
    )


class _Rates(_Connection):
    """The exchange-rate part of the contract."""

    async def put_rates(self, quotes: Sequence[RateQuote]) -> int:
        latest = {(q.currency, q.on): q for q in quotes}  # one write per key: a batch refuses twins
        imported = [q for q in latest.values() if q.source == "imported"]
        fetched = [q for q in latest.values() if q.source != "imported"]
        batches = [imported[i : i + BATCH_WRITE_LIMIT] for i in range(0, len(imported), BATCH_WRITE_LIMIT)]
        jobs: list[Callable[[], Awaitable[int]]] = [functools.partial(self._put_batch, b) for b in batches]
        jobs += [functools.partial(self._put_quote, q) for q in fetched]
        pending = iter(jobs)
        written = 0

        async def worker() -> None:
            nonlocal written
            for job in pending:  # the workers share one iterator: each write happens once
                done = await job()  # (not `written += await ...`: that reads `written` before it waits)
                written += done

        await asyncio.gather(*(worker() for _ in range(PUTS_AT_ONCE)))
        return written

    async def _put_batch(self, quotes: list[RateQuote]) -> int:
        """Imported quotes replace whatever is there, so they go 25 to a BatchWriteItem, asked
        again for what DynamoDB leaves unprocessed (bounded)."""
        requests = {self._groups: [{"PutRequest": {"Item": _item(quote)}} for quote in quotes]}
        for attempt in range(_ATTEMPTS):
            response = await self._call("batch_write_item", RequestItems=requests)
            requests = response.get("UnprocessedItems") or {}
            if not requests:
                return len(quotes)
            await _backoff(attempt)
        raise Unavailable("DynamoDB kept leaving exchange rates unprocessed; run the import again")

    async def _put_quote(self, quote: RateQuote) -> int:
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
            return 0
        return 1

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
