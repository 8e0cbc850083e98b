"""DynamoDB's changes log under two processes writing one group at once: every write goes
through (none starves losing the race for its numbers) and every change is numbered once."""

from __future__ import annotations

import asyncio

from store.dynamodb import DynamoDBSettings, DynamoDBStore
from store.dynamodb.changelog import log_pk, seq_sk
from store.dynamodb.items import _attrs
from tests.store.builders import activity, expense, moves, trio

WRITES = 60


async def test_two_processes_racing_for_numbers_both_get_through(dynamodb_settings: DynamoDBSettings) -> None:
    async with DynamoDBStore.open(dynamodb_settings) as one, DynamoDBStore.open(dynamodb_settings) as two:
        created, a, b, c = await trio(one)
        mark = await one.last_change(created.id)
        records = [expense(created.id, {a.id: 30}, {a.id: 10, b.id: 10, c.id: 10}) for _ in range(WRITES)]
        await asyncio.gather(
            *(
                (one if n % 2 else two).create_expense(
                    record, deltas=moves(record), activity=activity(created.id, "add", record.id)
                )
                for n, record in enumerate(records)
            )
        )
        changes, more = await two.list_changes(created.id, after=mark, limit=1000)
        assert not more
        assert [c.seq for c in changes] == list(range(mark + 1, mark + WRITES + 1))
        assert sorted(c.id for c in changes) == sorted(r.id for r in records)


async def test_a_page_stops_at_a_gap(dynamodb_settings: DynamoDBSettings) -> None:
    """A Query is no snapshot: seeing n + 2 before n + 1 commits must not move a cursor past n + 1."""
    async with DynamoDBStore.open(dynamodb_settings) as store:
        created, *_ = await trio(store)
        last = await store.last_change(created.id)
        await store._call(
            "put_item",
            TableName=dynamodb_settings.expenses_table,
            Item=_attrs(
                {
                    "pk": log_pk(created.id),
                    "sk": seq_sk(last + 2),
                    "seq": last + 2,
                    "kind": "chat",
                    "entity": "later",
                    "op": "upsert",
                }
            ),
        )
        assert await store.list_changes(created.id, after=last, limit=10) == ([], True)
        earlier, more = await store.list_changes(created.id, after=0, limit=10)
        assert [c.seq for c in earlier] == list(range(1, last + 1)) and more
