"""The tables (keys, indexes, TTL) and `create_tables`, which makes them. This module loads the
client and the item helpers only, not the store's contract methods, so `expense-tracker
create-tables` imports no more than it needs."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from domain import Unavailable
from store.dynamodb.client import _call, _client, _ServiceError
from store.settings import DynamoDBSettings

USER_GROUPS_INDEX = "by_user"
BY_DATE_INDEX = "by_date"
TTL_ATTRIBUTE = "ttl"


def _table_specs(settings: DynamoDBSettings) -> list[dict[str, Any]]:
    """CreateTable's parameters (but the billing mode) for each table, as docs/dynamodb.md
    describes them."""

    def string_keys(*names: str) -> list[dict[str, str]]:
        return [{"AttributeName": name, "AttributeType": "S"} for name in names]

    def key_schema(hash_key: str, range_key: str | None = None) -> list[dict[str, str]]:
        schema = [{"AttributeName": hash_key, "KeyType": "HASH"}]
        if range_key is not None:
            schema.append({"AttributeName": range_key, "KeyType": "RANGE"})
        return schema

    def pk_sk(name: str) -> dict[str, Any]:
        return {
            "TableName": name,
            "AttributeDefinitions": string_keys("pk", "sk"),
            "KeySchema": key_schema("pk", "sk"),
        }

    groups = pk_sk(settings.groups_table)
    groups["AttributeDefinitions"] = string_keys("pk", "sk", "gsi1pk", "gsi1sk")
    groups["GlobalSecondaryIndexes"] = [
        {
            "IndexName": USER_GROUPS_INDEX,
            "KeySchema": key_schema("gsi1pk", "gsi1sk"),
            "Projection": {"ProjectionType": "ALL"},
        }
    ]
    users = {
        "TableName": settings.users_table,
        "AttributeDefinitions": string_keys("pk"),
        "KeySchema": key_schema("pk"),
    }

    def dated(name: str) -> dict[str, Any]:
        spec = pk_sk(name)
        spec["AttributeDefinitions"] = string_keys("pk", "sk", "lsi1sk")
        spec["LocalSecondaryIndexes"] = [
            {
                "IndexName": BY_DATE_INDEX,
                "KeySchema": key_schema("pk", "lsi1sk"),
                "Projection": {"ProjectionType": "ALL"},
            }
        ]
        return spec

    return [
        users,
        groups,
        dated(settings.expenses_table),
        dated(settings.transactions_table),
        pk_sk(settings.chats_table),
    ]


def _require_indexes(spec: dict[str, Any], table: dict[str, Any]) -> None:
    """Local secondary indexes can only be made with their table: an expenses or transactions
    table created by an earlier version (which stored nothing in it) has to be recreated."""
    wanted = {index["IndexName"] for index in spec.get("LocalSecondaryIndexes", [])}
    present = {index["IndexName"] for index in table.get("LocalSecondaryIndexes", [])}
    if wanted - present:
        raise Unavailable(
            f"table {spec['TableName']} lacks local secondary index(es) {sorted(wanted - present)}; "
            "it was created by an older version of this service and must be deleted and recreated"
        )


async def create_tables(settings: DynamoDBSettings) -> list[str]:
    """Create whichever tables are missing, wait until all are ACTIVE and make sure TTL is on
    where items carry `ttl`. Safe to run again, and concurrently; returns the tables it created.
    A table is created first and described only if it was there already, and TTL is looked up only
    on tables it did not create, so a fresh deployment costs one request per table and step."""
    created: list[str] = []
    async with _client(settings) as client:
        specs = _table_specs(settings)
        for spec in specs:
            try:
                await _call(client, "create_table", BillingMode="PAY_PER_REQUEST", **spec)
                created.append(spec["TableName"])
            except _ServiceError as exc:
                if exc.aws_code != "ResourceInUseException":
                    raise
                described = await _call(client, "describe_table", TableName=spec["TableName"])
                _require_indexes(spec, described["Table"])
        for spec in specs:
            waiter = client.get_waiter("table_exists")
            try:
                await waiter.wait(TableName=spec["TableName"], WaiterConfig={"Delay": 1, "MaxAttempts": 300})
            except (BotoCoreError, ClientError) as exc:
                raise Unavailable(f"table {spec['TableName']} did not become active") from exc
        tables_with_ttl = (
            settings.users_table,
            settings.groups_table,
            settings.expenses_table,
            settings.transactions_table,
        )
        for name in tables_with_ttl:
            if name not in created:
                described = await _call(client, "describe_time_to_live", TableName=name)
                status = described.get("TimeToLiveDescription", {}).get("TimeToLiveStatus")
                if status in ("ENABLED", "ENABLING"):
                    continue
            await _call(
                client,
                "update_time_to_live",
                TableName=name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE},
            )
    return created
