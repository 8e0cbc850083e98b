"""Names everywhere: every page that mentions people carries a `users` map naming each of them
(former members and deleted accounts included), so that a client needs no lookup per row."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import re
from datetime import datetime, timezone
from typing import Any

import pytest

from domain import User
from handlers.components import inlined
from services.payloads import person_json, public_user_json, user_names_json
from tests.api.conftest import Actor, Api, store_agnostic

RFC3339_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")


def named(users: dict[str, Any], *actors: Actor) -> None:
    """`users` names each of `actors` as they are called now."""
    for actor in actors:
        assert users[actor.id] == {"name": actor.name, "picture": None, "deleted": False}, users


@pytest.fixture
async def history(api: Api, alice: Actor, bob: Actor, carol: Actor) -> dict[str, Any]:
    """Alice's group: Carol paid a dinner shared with Alice, was paid back and left; Bob paid a
    taxi shared with Alice and is still owed; Bob said hello in the chat."""
    group = await api.create_group(alice)
    group_id = group["id"]
    await api.join(group_id, bob, carol)
    dinner = await api.post(
        f"/api/groups/{group_id}/expenses",
        as_=carol,
        json={
            "description": "Dinner",
            "amount": "10.00",
            "split": {"kind": "equal", "members": [alice.id, carol.id]},
        },
    )
    assert dinner.status == 201, dinner.text
    paid_back = await api.post(
        f"/api/groups/{group_id}/transactions", as_=alice, json={"to_user": carol.id, "amount": "5.00"}
    )
    assert paid_back.status == 201, paid_back.text
    assert (await api.post(f"/api/groups/{group_id}/leave", as_=carol)).status == 204
    taxi = await api.post(
        f"/api/groups/{group_id}/expenses",
        as_=bob,
        json={
            "description": "Taxi",
            "amount": "8.00",
            "split": {"kind": "equal", "members": [alice.id, bob.id]},
        },
    )
    assert taxi.status == 201, taxi.text
    assert (await api.post(f"/api/groups/{group_id}/chats", as_=bob, json={"text": "hello"})).status == 201
    return {"group_id": group_id, "dinner": dinner.json, "taxi": taxi.json}


async def test_expenses_name_everyone_they_mention_even_former_members(
    api: Api, alice: Actor, bob: Actor, carol: Actor, history: dict[str, Any]
) -> None:
    group_id = history["group_id"]

    listed = await api.get(f"/api/groups/{group_id}/expenses", as_=bob)

    assert listed.status == 200
    assert {e["description"] for e in listed.json["items"]} == {"Dinner", "Taxi"}
    named(listed.json["users"], alice, bob, carol)
    one = await api.get(f"/api/groups/{group_id}/expenses/{history['dinner']['id']}", as_=bob)
    assert one.status == 200
    assert set(one.json["users"]) == {alice.id, carol.id}
    named(one.json["users"], alice, carol)
    assert {k: v for k, v in one.json.items() if k != "users"} == history["dinner"]


async def test_transactions_name_both_sides(
    api: Api, alice: Actor, bob: Actor, carol: Actor, history: dict[str, Any]
) -> None:
    listed = await api.get(f"/api/groups/{history['group_id']}/transactions", as_=bob)

    assert listed.status == 200 and len(listed.json["items"]) == 1
    assert set(listed.json["users"]) == {alice.id, carol.id}
    named(listed.json["users"], alice, carol)


async def test_balances_and_settle_up_name_the_members(
    api: Api, alice: Actor, bob: Actor, history: dict[str, Any]
) -> None:
    group_id = history["group_id"]

    balances = await api.get(f"/api/groups/{group_id}/balances", as_=alice)
    plan = await api.get(f"/api/groups/{group_id}/settle-up", as_=alice)

    assert balances.status == plan.status == 200
    assert set(balances.json["users"]) == {b["user_id"] for b in balances.json["balances"]}
    named(balances.json["users"], alice, bob)
    assert plan.json["transfers"] == [
        {"from_user": alice.id, "to_user": bob.id, "amount": "4.00", "currency": "USD"}
    ]
    assert set(plan.json["users"]) == {alice.id, bob.id}


async def test_activity_and_dashboard_name_actors_and_subjects(
    api: Api, alice: Actor, bob: Actor, carol: Actor, history: dict[str, Any]
) -> None:
    activity = await api.get(f"/api/groups/{history['group_id']}/activity", as_=alice, params={"limit": 100})

    assert activity.status == 200
    left = next(e for e in activity.json["items"] if e["action"] == "member.left")
    assert left["subject_id"] == carol.id
    mentioned = {e["actor_id"] for e in activity.json["items"]} | {carol.id}
    assert set(activity.json["users"]) == mentioned
    named(activity.json["users"], alice, bob, carol)

    board = await api.get("/api/dashboard", as_=alice)
    assert board.status == 200
    assert {e["actor_id"] for e in board.json["recent_activity"]} <= set(board.json["users"])
    named(board.json["users"], alice, bob, carol)


async def test_chat_names_its_authors(api: Api, alice: Actor, bob: Actor, history: dict[str, Any]) -> None:
    listed = await api.get(f"/api/groups/{history['group_id']}/chats", as_=alice)

    assert listed.status == 200
    assert listed.json["users"] == {bob.id: {"name": "Bob", "picture": None, "deleted": False}}


async def test_a_new_name_shows_on_every_page(
    api: Api, alice: Actor, bob: Actor, history: dict[str, Any]
) -> None:
    assert (await api.patch("/api/user", as_=bob, json={"name": "Robert"})).status == 200

    listed = await api.get(f"/api/groups/{history['group_id']}/expenses", as_=alice)

    assert listed.json["users"][bob.id]["name"] == "Robert"


async def test_export_names_people_beside_their_ids(
    api: Api, alice: Actor, bob: Actor, carol: Actor, history: dict[str, Any]
) -> None:
    group_id = history["group_id"]

    as_csv = await api.get(f"/api/groups/{group_id}/export", as_=alice, params={"format": "csv"})

    assert as_csv.status == 200
    rows = {row["description"] or row["type"]: row for row in csv.DictReader(io.StringIO(as_csv.text))}
    dinner = rows["Dinner"]
    assert (dinner["paid_by"], dinner["paid_by_names"]) == (f"{carol.id}:10.00", "Carol")
    owed = dict(zip(dinner["owed_by"].split(";"), dinner["owed_by_names"].split(";"), strict=True))
    assert owed == {f"{alice.id}:5.00": "Alice", f"{carol.id}:5.00": "Carol"}
    assert (dinner["created_by"], dinner["created_by_name"]) == (carol.id, "Carol")
    paid_back = next(row for row in rows.values() if row["type"] == "transaction")
    assert (paid_back["from_user"], paid_back["from_user_name"]) == (alice.id, "Alice")
    assert (paid_back["to_user"], paid_back["to_user_name"]) == (carol.id, "Carol")
    assert all(RFC3339_UTC.match(row["created_at"]) for row in rows.values())

    as_json = await api.get(f"/api/groups/{group_id}/export", as_=bob, params={"format": "json"})
    document = json.loads(as_json.text)
    assert set(document) == {"group_id", "expenses", "transactions", "users"}
    assert set(document["users"]) == {alice.id, bob.id, carol.id}
    named(document["users"], alice, bob, carol)
    for record in document["expenses"] + document["transactions"]:
        assert RFC3339_UTC.match(record["created_at"]), record["created_at"]


async def test_an_empty_export_has_an_empty_users_map(api: Api, alice: Actor) -> None:
    group = await api.create_group(alice)

    as_json = await api.get(f"/api/groups/{group['id']}/export", as_=alice, params={"format": "json"})

    assert json.loads(as_json.text) == {
        "group_id": group["id"],
        "expenses": [],
        "transactions": [],
        "users": {},
    }


def test_a_deleted_account_shows_as_a_deleted_user() -> None:
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    alive = User(id="u1", email="pat@example.com", name="Pat", picture="https://p/1", created_at=now)
    gone = dataclasses.replace(alive, id="u2", email="", name="", picture=None, deleted_at=now)

    assert person_json(alive) == {
        "id": "u1",
        "name": "Pat",
        "picture": "https://p/1",
        "email": "pat@example.com",
        "deleted": False,
    }
    assert person_json(gone) == {
        "id": "u2",
        "name": "Deleted user",
        "picture": None,
        "email": None,
        "deleted": True,
    }
    assert public_user_json(gone) == {"id": "u2", "name": "Deleted user", "picture": None}
    assert user_names_json({"u1": alive, "u2": gone}) == {
        "u1": {"name": "Pat", "picture": "https://p/1", "deleted": False},
        "u2": {"name": "Deleted user", "picture": None, "deleted": True},
    }


@store_agnostic
async def test_the_users_map_is_a_published_schema(api: Api) -> None:
    published = (await api.get("/api/openapi.json")).json
    assert published["components"]["schemas"]["UserNames"]["title"] == "UserNames"
    document = inlined(published)
    for path, method in [
        ("/api/groups/{group_id}/expenses", "get"),
        ("/api/groups/{group_id}/expenses/{expense_id}", "get"),
        ("/api/groups/{group_id}/transactions", "get"),
        ("/api/groups/{group_id}/balances", "get"),
        ("/api/groups/{group_id}/settle-up", "get"),
        ("/api/groups/{group_id}/activity", "get"),
        ("/api/groups/{group_id}/chats", "get"),
        ("/api/dashboard", "get"),
    ]:
        schema = document["paths"][path][method]["responses"]["200"]["content"]["application/json"]["schema"]
        assert "users" in schema["required"], path
        assert schema["properties"]["users"]["title"] == "UserNames", path
        named = published["components"]["schemas"][schema["title"]]["properties"]["users"]
        assert named["$ref"] == "#/components/schemas/UserNames", path
