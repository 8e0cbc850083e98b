"""DynamoDB only: table creation, race-free settling checks, and an unreachable endpoint."""

from __future__ import annotations

import aioboto3
import pytest

from domain import Conflict, Unavailable
from store.dynamodb import DynamoDBSettings, DynamoDBStore, create_tables
from tests.conftest import make_dynamodb_settings
from tests.store.builders import activity, as_balances, expense, moves, trio


async def test_create_tables_is_idempotent(moto_url: str) -> None:
    settings = make_dynamodb_settings(moto_url)
    first = await create_tables(settings)
    assert sorted(first) == sorted(
        [
            settings.users_table,
            settings.groups_table,
            settings.expenses_table,
            settings.transactions_table,
            settings.chats_table,
        ]
    )
    assert await create_tables(settings) == []
    async with aioboto3.Session().client(
        "dynamodb", region_name=settings.region, endpoint_url=moto_url
    ) as client:
        # Expenses and transactions: deleted ones go once they can no longer be restored.
        expiring = (
            settings.users_table,
            settings.groups_table,
            settings.expenses_table,
            settings.transactions_table,
        )
        for table in expiring:
            ttl = await client.describe_time_to_live(TableName=table)
            assert ttl["TimeToLiveDescription"] == {
                "TimeToLiveStatus": "ENABLED",
                "AttributeName": "ttl",
            }
        groups = (await client.describe_table(TableName=settings.groups_table))["Table"]
        assert groups["TableStatus"] == "ACTIVE"
        assert [i["IndexName"] for i in groups["GlobalSecondaryIndexes"]] == ["by_user"]
        for table in (settings.expenses_table, settings.transactions_table):
            described = (await client.describe_table(TableName=table))["Table"]
            [index] = described["LocalSecondaryIndexes"]
            assert index["IndexName"] == "by_date"
            assert [k["AttributeName"] for k in index["KeySchema"]] == ["pk", "lsi1sk"]


async def test_create_tables_refuses_a_ledger_table_without_its_index(moto_url: str) -> None:
    settings = make_dynamodb_settings(moto_url)
    async with aioboto3.Session().client(
        "dynamodb", region_name=settings.region, endpoint_url=moto_url
    ) as client:
        await client.create_table(
            TableName=settings.expenses_table,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
        )
    with pytest.raises(Unavailable, match="by_date"):
        await create_tables(settings)


async def test_settling_checks_are_race_free(dynamodb_settings: DynamoDBSettings) -> None:
    """remove_member and delete_group judge balances they have read; an expense written between
    that read and their transaction must cancel the transaction, not be deleted with the member."""
    async with DynamoDBStore.open(dynamodb_settings) as store:
        created, a, b, _ = await trio(store)
        stale_member = await store._get(
            store._groups, {"pk": {"S": f"GROUP#{created.id}"}, "sk": {"S": f"MEMBER#{b.id}"}}
        )
        stale_partition = await store._partition(created.id)
        spent = expense(created.id, {a.id: 1000}, {b.id: 1000})
        await store.create_expense(
            spent, deltas=moves(spent), activity=activity(created.id, "expense.created", spent.id)
        )

        real_get, real_partition = store._get, store._partition
        stale_reads = {"get": 1, "partition": 1}

        async def get(table, key):
            if stale_reads["get"]:
                stale_reads["get"] -= 1
                return stale_member
            return await real_get(table, key)

        async def partition(group_id, sk_prefix=None):
            if stale_reads["partition"] and sk_prefix is None:
                stale_reads["partition"] -= 1
                return stale_partition
            return await real_partition(group_id, sk_prefix)

        store._get, store._partition = get, partition  # type: ignore[method-assign]
        with pytest.raises(Conflict) as refused:
            await store.remove_member(created.id, b.id)
        assert refused.value.code == "balance_not_settled"
        with pytest.raises(Conflict) as refused:
            await store.delete_group(created.id)
        assert refused.value.code == "balance_not_settled"
        assert stale_reads == {"get": 0, "partition": 0}
        assert (await store.get_group(created.id)).member_count == 3
        assert await store.get_balances(created.id) == as_balances(moves(spent))


async def test_unreachable_dynamodb_is_unavailable() -> None:
    settings = make_dynamodb_settings("http://127.0.0.1:9")
    async with DynamoDBStore.open(settings) as unreachable:
        with pytest.raises(Unavailable):
            await unreachable.ping()
