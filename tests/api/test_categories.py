"""Expense categories: the catalogue, a group's own, and expenses filed, filtered and summed by them."""

from __future__ import annotations

import asyncio

from domain.categories import MAX_CUSTOM_CATEGORIES
from tests.api.conftest import store_agnostic
from tests.api.test_expenses import trio
from tests.api.test_roles import connect


@store_agnostic
async def test_the_catalogue_has_two_levels_with_stable_ids(api, alice):
    reply = await api.get("/api/categories", as_=alice)
    assert reply.status == 200
    parents = reply.json["categories"]
    assert [p["id"] for p in parents] == [
        "entertainment", "food", "home", "life", "transportation", "utilities", "general",
    ]  # fmt: skip
    ids = [p["id"] for p in parents] + [c["id"] for p in parents for c in p["subcategories"]]
    assert len(ids) == len(set(ids))
    food = next(p for p in parents if p["id"] == "food")
    assert food["name"] == "Food and drink" and food["parent"] is None and food["custom"] is False
    assert {"id": "groceries", "name": "Groceries", "parent": "food", "custom": False} in food[
        "subcategories"
    ]
    assert all(c["parent"] == p["id"] for p in parents for c in p["subcategories"])


async def test_an_expense_is_filed_by_id_or_name_in_any_case(api, alice, bob, carol):
    group_id = await trio(api, alice, bob, carol)
    url = f"/api/groups/{group_id}/expenses"

    async def filed(category: str | None) -> str:
        body = {"description": "x", "amount": "3.00", **({"category": category} if category else {})}
        reply = await api.post(url, as_=alice, json=body)
        assert reply.status == 201, reply.text
        return str(reply.json["category"])

    assert await filed("groceries") == "groceries"
    assert await filed("  Dining OUT ") == "dining_out"
    assert await filed("food and drink") == "food"
    assert await filed(None) == "general"
    refused = await api.post(url, as_=alice, json={"description": "x", "amount": "3.00", "category": "fun"})
    assert refused.status == 422 and refused.error_fields() == {"category"}
    expense = (await api.get(url, as_=alice)).json["items"][0]
    edited = await api.put(
        f"{url}/{expense['id']}", as_=alice, json={"category": "nonsense", "version": expense["version"]}
    )
    assert edited.status == 422 and edited.error_fields() == {"category"}


async def test_a_group_makes_its_own_categories_and_files_expenses_under_them(api, alice, bob, carol):
    group_id = await trio(api, alice, bob, carol)
    url = f"/api/groups/{group_id}/categories"
    made = await api.post(url, as_=bob, json={"name": "Team lunches", "parent": "Food and drink"})
    assert made.status == 201, made.text
    lunches = made.json
    assert lunches["id"].startswith("custom_")
    assert lunches | {"id": None} == {"id": None, "name": "Team lunches", "parent": "food", "custom": True}
    board_games = (await api.post(url, as_=alice, json={"name": "Board games"})).json
    assert board_games["parent"] == "general"
    listed = await api.get(url, as_=carol)
    assert listed.status == 200 and listed.json == {"categories": [lunches, board_games]}
    # the group shows them too: adding one moved its version, and this is what moved
    group = await api.get(f"/api/groups/{group_id}", as_=alice)
    assert group.json["categories"] == [lunches, board_games] and group.json["version"] == 3

    # a retried request makes nothing new; a name in use otherwise is a conflict
    again = await api.post(url, as_=carol, json={"name": "team  LUNCHES", "parent": "food"})
    assert again.status == 200 and again.json == lunches
    clash = await api.post(url, as_=carol, json={"name": "Team lunches", "parent": "home"})
    assert clash.status == 409 and clash.error["code"] == "category_exists"
    assert clash.error["details"] == {"id": lunches["id"]}
    catalogue_name = await api.post(url, as_=carol, json={"name": "groceries"})
    assert catalogue_name.status == 409 and catalogue_name.error["details"] == {"id": "groceries"}
    assert (await api.post(url, as_=carol, json={"name": "X", "parent": "groceries"})).status == 422
    assert (await api.post(url, as_=carol, json={"name": "X", "parent": "nowhere"})).status == 422
    assert (await api.post(url, as_=carol, json={"name": "   "})).status == 422
    # review: a name may not pass for another category's id, nor show nothing
    assert (await api.post(url, as_=carol, json={"name": lunches["id"]})).status in (409, 422)
    assert (await api.post(url, as_=carol, json={"name": "Custom_x"})).status == 422
    assert (await api.post(url, as_=carol, json={"name": "\u200b"})).status == 422

    expenses = f"/api/groups/{group_id}/expenses"
    for category in ("team   lunches", lunches["id"], "groceries", "rent"):
        reply = await api.post(
            expenses, as_=alice, json={"description": category, "amount": "6.00", "category": category}
        )
        assert reply.status == 201, reply.text

    async def described(**params: str) -> list[str]:
        page = (await api.get(expenses, as_=bob, params=params)).json
        return sorted(e["description"] for e in page["items"])

    assert await described(category="TEAM LUNCHES") == sorted(["team   lunches", lunches["id"]])
    assert await described(category="food") == sorted(["team   lunches", lunches["id"], "groceries"])
    assert await described(category="home") == ["rent"]

    board = (await api.get("/api/dashboard", as_=bob)).json["spending"]
    assert {"category": lunches["id"], "name": "Team lunches", "parent": "food", "currency": "EUR",
            "amount": "4.00"} in board["by_category"]  # fmt: skip
    assert {"parent": "food", "name": "Food and drink", "currency": "EUR", "amount": "6.00"} in board[
        "by_parent"
    ]


async def test_strangers_see_no_categories_and_make_none(api, alice, bob):
    group = await api.create_group(alice)
    url = f"/api/groups/{group['id']}/categories"
    assert (await api.get(url, as_=bob)).status == 404
    assert (await api.post(url, as_=bob, json={"name": "Mine"})).status == 404
    assert (await api.get(url, as_=alice)).json == {"categories": []}


async def test_members_adding_categories_at_once_lose_none(api, alice, bob, carol):
    """Each addition is a versioned write of the group: a lost race is judged again, not lost."""
    group_id = await trio(api, alice, bob, carol)
    url = f"/api/groups/{group_id}/categories"
    people = [alice, bob, carol] * 2
    replies = await asyncio.gather(
        *(api.post(url, as_=who, json={"name": f"Pot {n}"}) for n, who in enumerate(people))
    )
    assert [r.status for r in replies] == [201] * len(people)
    names = sorted(c["name"] for c in (await api.get(url, as_=bob)).json["categories"])
    assert names == sorted(f"Pot {n}" for n in range(len(people)))


@store_agnostic
async def test_a_group_has_a_bounded_number_of_its_own(api, alice):
    group = await api.create_group(alice)
    url = f"/api/groups/{group['id']}/categories"
    for n in range(MAX_CUSTOM_CATEGORIES):
        assert (await api.post(url, as_=alice, json={"name": f"C{n}"})).status == 201
    full = await api.post(url, as_=alice, json={"name": "One more"})
    assert full.status == 409 and full.error["code"] == "too_many_categories"


async def test_members_hear_of_a_new_category(api, alice, bob, carol):
    group_id = await trio(api, alice, bob, carol)
    client = await connect(api, carol)
    assert (await client.subscribe(f"group:{group_id}"))["ok"]
    made = (await api.post(f"/api/groups/{group_id}/categories", as_=bob, json={"name": "Pub"})).json
    event = await client.next_event()
    assert (event["type"], event["data"]) == ("category.created", {"group_id": group_id, **made})
    group = await client.next_event()
    assert group["type"] == "group.updated" and group["data"]["version"] == 2
    await client.close()


async def test_a_category_is_renamed_or_moved_and_its_expenses_follow(api, alice, bob, carol):
    group_id = await trio(api, alice, bob, carol)
    url = f"/api/groups/{group_id}/categories"
    pub = (await api.post(url, as_=bob, json={"name": "Pub"})).json
    quiz = (await api.post(url, as_=bob, json={"name": "Quiz"})).json
    expenses = f"/api/groups/{group_id}/expenses"
    filed = await api.post(
        expenses, as_=alice, json={"description": "x", "amount": "3.00", "category": "pub"}
    )
    assert filed.status == 201
    client = await connect(api, carol)
    assert (await client.subscribe(f"group:{group_id}"))["ok"]

    moved = await api.patch(f"{url}/{pub['id']}", as_=carol, json={"name": "Pub nights", "parent": "food"})
    assert moved.status == 200, moved.text
    assert moved.json == {"id": pub["id"], "name": "Pub nights", "parent": "food", "custom": True}
    event = await client.next_event()
    assert (event["type"], event["data"]) == ("category.updated", {"group_id": group_id, **moved.json})
    await client.close()
    # the expense holds the id: it is filed under the new name and parent now
    assert [
        e["category"]
        for e in (await api.get(expenses, as_=bob, params={"category": "pub nights"})).json["items"]
    ] == [pub["id"]]
    assert len((await api.get(expenses, as_=bob, params={"category": "food"})).json["items"]) == 1

    same = await api.patch(f"{url}/{pub['id']}", as_=carol, json={"name": "PUB NIGHTS"})
    assert same.status == 200 and same.json["name"] == "PUB NIGHTS"
    clash = await api.patch(f"{url}/{pub['id']}", as_=carol, json={"name": "quiz"})
    assert clash.status == 409 and clash.error["details"] == {"id": quiz["id"]}
    assert (await api.patch(f"{url}/{pub['id']}", as_=carol, json={"name": "Rent"})).status == 409
    assert (await api.patch(f"{url}/{pub['id']}", as_=carol, json={"parent": "rent"})).status == 422
    assert (await api.patch(f"{url}/{pub['id']}", as_=carol, json={})).status == 422
    assert (await api.patch(f"{url}/custom_nope", as_=carol, json={"name": "x"})).status == 404
    stranger = await api.user("dave")
    assert (await api.patch(f"{url}/{pub['id']}", as_=stranger, json={"name": "x"})).status == 404
