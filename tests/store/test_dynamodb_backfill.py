"""`expense-tracker backfill` on DynamoDB: groups written before the ever-member items existed get
them (for current members and for everyone their expenses and settlements name), so lookups and
the export see those people as for new groups. Against moto's server."""

from __future__ import annotations

from store.dynamodb import DynamoDBStore
from store.dynamodb.backfill import backfill_people
from store.dynamodb.client import _call, _client
from store.dynamodb.items import _attrs, _key
from store.settings import DynamoDBSettings
from tests.store.builders import activity, expense, group, moves, settlement, trio


async def _forget_people(settings: DynamoDBSettings, group_id: str) -> None:
    """Delete the group's ever-member items: the state an earlier version left."""
    async with _client(settings) as client:
        page = await _call(
            client,
            "query",
            TableName=settings.groups_table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :person)",
            ExpressionAttributeValues=_attrs({":pk": f"GROUP#{group_id}", ":person": "PERSON#"}),
        )
        for item in page["Items"]:
            await _call(
                client,
                "delete_item",
                TableName=settings.groups_table,
                Key=_key(item["pk"]["S"], item["sk"]["S"]),
            )


async def test_backfill_writes_the_missing_people_once(dynamodb_settings: DynamoDBSettings) -> None:
    async with DynamoDBStore.open(dynamodb_settings) as store:
        trip, a, b, c = await trio(store)
        dinner = expense(trip.id, {a.id: 900}, {a.id: 300, b.id: 300, c.id: 300})
        entry = activity(trip.id, "expense.created", dinner.id, a.id)
        await store.create_expense(dinner, deltas=moves(dinner), activity=entry)
        paid = settlement(trip.id, c.id, a.id, 300)
        await store.create_settlement(
            paid, deltas=moves(paid), activity=activity(trip.id, "settlement.created", paid.id, c.id)
        )
        await store.remove_member(trip.id, c.id)  # settled: a former member, named in history
        other = await group(store, b, name="Other")
        await _forget_people(dynamodb_settings, trip.id)
        await _forget_people(dynamodb_settings, other.id)
        assert not await store.can_see_user(a.id, c.id)
        assert not await store.can_see_user(a.id, b.id)

        written = await backfill_people(dynamodb_settings)

        assert written >= 4  # a, b, c in the trip; b in the other group (other tests' data too)
        assert await store.can_see_user(a.id, c.id) and await store.can_see_user(a.id, b.id)
        assert trip.id in (await store.list_groups_ever(c.id, limit=100)).items
        assert await backfill_people(dynamodb_settings) == 0
