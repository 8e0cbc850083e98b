"""`GET /api/user/changes` (issue 14): the caller's own view — groups joined and left, friends,
profile, notifications and read mark — since a cursor, in commit order, each upsert with its REST
body; a client that applies the pages ends where REST reads are. Both backends."""

from __future__ import annotations

import random
from typing import Any

from tests.api.conftest import Actor, Api

FEED = "/api/user/changes"


async def page(api: Api, actor: Actor, cursor: str | None = None, limit: int = 100) -> dict[str, Any]:
    params: dict[str, Any] = {"limit": limit}
    if cursor is not None:
        params["cursor"] = cursor
    reply = await api.get(FEED, as_=actor, params=params)
    assert reply.status == 200, reply.text
    body: dict[str, Any] = reply.json
    return body


async def now(api: Api, actor: Actor) -> str:
    start = await page(api, actor)
    assert start["changes"] == [] and start["has_more"] is False
    cursor: str = start["next_cursor"]
    return cursor


async def catch_up(api: Api, actor: Actor, cursor: str, limit: int = 100) -> tuple[list[dict[str, Any]], str]:
    """Every change since `cursor`, page by page, and the cursor to go on from."""
    changes: list[dict[str, Any]] = []
    while True:
        body = await page(api, actor, cursor, limit)
        changes += body["changes"]
        cursor = body["next_cursor"]
        if not body["has_more"]:
            return changes, cursor


def plain(changes: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [(c["kind"], c["id"], c["op"]) for c in changes]


async def dinner(api: Api, gid: str, payer: Actor, *people: Actor) -> dict[str, Any]:
    reply = await api.post(
        f"/api/groups/{gid}/expenses",
        as_=payer,
        json={
            "description": "Dinner",
            "amount": "30.00",
            "currency": "EUR",
            "split": {"kind": "equal", "members": [p.id for p in people]},
        },
    )
    assert reply.status == 201, reply.text
    body: dict[str, Any] = reply.json
    return body


async def test_each_kind_arrives_with_its_rest_body(api: Api, alice: Actor, bob: Actor) -> None:
    cursor = await now(api, bob)
    trip = await api.create_group(alice, "Trip", default_currency="EUR")
    await api.join(trip["id"], bob)
    assert (await api.patch("/api/user", as_=bob, json={"name": "Bobby"})).status == 200
    await dinner(api, trip["id"], alice, alice, bob)
    friends = await api.post("/api/friends", as_=alice, json={"email": bob.email})
    assert friends.status == 201, friends.text
    direct_id = friends.json["group_id"]

    changes, cursor = await catch_up(api, bob, cursor)

    friend_note, expense_note = (await api.get("/api/notifications", as_=bob)).json["items"]
    assert plain(changes) == [
        ("group", trip["id"], "upsert"),
        ("profile", bob.id, "upsert"),
        ("notification", expense_note["id"], "upsert"),
        ("friend", direct_id, "upsert"),
        ("notification", friend_note["id"], "upsert"),
    ]
    data = [c["data"] for c in changes]
    listed = {g["id"]: g for g in (await api.get("/api/groups", as_=bob)).json["items"]}
    assert data[0] == listed[trip["id"]]
    assert data[1] == (await api.get("/api/user", as_=bob)).json
    assert data[2] == expense_note and data[4] == friend_note
    assert data[3]["group_id"] == direct_id and data[3]["user"]["id"] == alice.id

    assert (
        await api.post("/api/notifications/read", as_=bob, json={"up_to": friend_note["id"]})
    ).status == 200
    changes, cursor = await catch_up(api, bob, cursor)
    assert changes == [
        {
            "kind": "read",
            "id": friend_note["id"],
            "op": "upsert",
            "data": {"read_up_to": friend_note["id"], "unread_count": 0},
        }
    ]
    assert (await page(api, alice, None))["next_cursor"] != cursor  # each user has their own


async def test_leaving_and_rejoining_within_a_page_shows_the_last(api: Api, alice: Actor, bob: Actor) -> None:
    trip = await api.create_group(alice, "Trip")
    cursor = await now(api, bob)
    await api.join(trip["id"], bob)
    assert (await api.post(f"/api/groups/{trip['id']}/leave", as_=bob)).status == 204
    gone, cursor = await catch_up(api, bob, cursor)
    assert plain(gone) == [("group", trip["id"], "delete")]

    await api.join(trip["id"], bob)
    back, cursor = await catch_up(api, bob, cursor)
    assert plain(back) == [("group", trip["id"], "upsert")]

    deleted = await api.delete(f"/api/groups/{trip['id']}", as_=alice)
    assert deleted.status == 204, deleted.text
    deleted_changes, _ = await catch_up(api, bob, cursor)
    assert plain(deleted_changes) == [("group", trip["id"], "delete")]


async def test_pages_walk_the_feed_and_cursors_are_checked(api: Api, alice: Actor, bob: Actor) -> None:
    cursor = await now(api, bob)
    made = [await api.create_group(alice, f"G{n}") for n in range(5)]
    for group in made:
        await api.join(group["id"], bob)
    one_by_one, _ = await catch_up(api, bob, cursor, limit=2)
    at_once, _ = await catch_up(api, bob, cursor)
    assert one_by_one == at_once
    assert [c["id"] for c in at_once] == [g["id"] for g in made]

    theirs = (await page(api, alice))["next_cursor"]
    for bad in (
        theirs,
        "nope",
        (await api.get(f"/api/groups/{made[0]['id']}/changes", as_=bob)).json["next_cursor"],
    ):
        reply = await api.get(FEED, as_=bob, params={"cursor": bad})
        assert reply.status == 400 and reply.error["code"] == "invalid_cursor", reply.text
    assert (await api.get(FEED)).status == 401


class Model:
    """What a client holds: its groups, friends, profile and notifications, kept by the feed."""

    def __init__(self) -> None:
        self.groups: dict[str, dict[str, Any]] = {}
        self.friends: dict[str, str] = {}  # direct ledger id -> friend's user id
        self.profile: dict[str, Any] = {}
        self.notifications: dict[str, dict[str, Any]] = {}
        self.read_up_to: str | None = None

    def apply(self, changes: list[dict[str, Any]]) -> None:
        for change in changes:
            kind, key, data = change["kind"], change["id"], change.get("data")
            if kind == "group":
                self.groups.pop(key, None) if data is None else self.groups.__setitem__(key, data)
            elif kind == "friend":
                self.friends.pop(key, None) if data is None else self.friends.__setitem__(
                    key, data["user"]["id"]
                )
            elif kind == "profile":
                self.profile = data or {}
            elif kind == "notification":
                self.notifications[key] = data or {}
            elif kind == "read":
                self.read_up_to = data["read_up_to"] if data else None

    def notification_list(self) -> list[dict[str, Any]]:
        mark = self.read_up_to or ""
        return [
            {**n, "read": n["id"] <= mark}
            for n in sorted(self.notifications.values(), key=lambda n: n["id"], reverse=True)
        ]


async def test_a_client_applying_the_feed_ends_where_rest_is(api: Api, alice: Actor, bob: Actor) -> None:
    """A seeded random walk of joins, leaves, friendships, profile edits, expenses (which notify)
    and read marks, the client catching up at random moments with small pages; at the end what it
    holds is what REST answers."""
    rng = random.Random(14)
    carol = await api.user("carol")
    groups = [await api.create_group(owner, f"G{n}") for n, owner in enumerate([alice, carol, alice])]
    member = {g["id"]: False for g in groups}
    friends = {alice.id: False, carol.id: False}
    people = {alice.id: alice, carol.id: carol}
    model = Model()
    start = await page(api, bob)
    cursor = start["next_cursor"]
    model.profile = (await api.get("/api/user", as_=bob)).json
    done: set[str] = set()
    for step in range(60):
        action = rng.choice(["join", "leave", "friend", "unfriend", "profile", "expense", "read", "sync"])
        gid = rng.choice(groups)["id"]
        other = rng.choice(list(people))
        if action == "join" and not member[gid]:
            await api.join(gid, bob)
            member[gid] = True
        elif action == "leave" and member[gid]:
            assert (await api.post(f"/api/groups/{gid}/leave", as_=bob)).status in (204, 409)
            member[gid] = (await api.get(f"/api/groups/{gid}", as_=bob)).status == 200
        elif action == "friend" and not friends[other]:
            assert (
                await api.post("/api/friends", as_=people[other], json={"email": bob.email})
            ).status == 201
            friends[other] = True
        elif action == "unfriend" and friends[other]:
            assert (await api.delete(f"/api/friends/{other}", as_=bob)).status in (204, 409)
            friends[other] = any(
                f["user_id"] == other for f in (await api.get("/api/friends", as_=bob)).json["items"]
            )
        elif action == "profile":
            assert (await api.patch("/api/user", as_=bob, json={"name": f"Bob {step}"})).status == 200
        elif action == "expense" and any(member.values()):
            gid = rng.choice(sorted(g for g, joined in member.items() if joined))
            roster = [m["user_id"] for m in (await api.get(f"/api/groups/{gid}", as_=bob)).json["members"]]
            payer = next(people[m] for m in roster if m in people)
            body = {
                "description": f"Thing {step}",
                "amount": "9.99",
                "currency": "USD",
                "split": {"kind": "equal", "members": [payer.id, bob.id]},
            }
            assert (await api.post(f"/api/groups/{gid}/expenses", as_=payer, json=body)).status == 201
        elif action == "read":
            items = (await api.get("/api/notifications", as_=bob)).json["items"]
            if items:
                up_to = rng.choice(items)["id"]
                assert (
                    await api.post("/api/notifications/read", as_=bob, json={"up_to": up_to})
                ).status == 200
        else:
            if action != "sync":
                continue
            changes, cursor = await catch_up(api, bob, cursor, limit=rng.choice([1, 3, 100]))
            model.apply(changes)
        done.add(action)
    changes, cursor = await catch_up(api, bob, cursor, limit=2)
    model.apply(changes)

    listed = (await api.get("/api/groups", as_=bob, params={"limit": 100})).json["items"]
    assert model.groups == {g["id"]: g for g in listed}
    listed_friends = (await api.get("/api/friends", as_=bob)).json["items"]
    assert model.friends == {f["group_id"]: f["user_id"] for f in listed_friends}
    me = (await api.get("/api/user", as_=bob)).json
    assert {k: v for k, v in model.profile.items() if k != "unread_count"} == {
        k: v for k, v in me.items() if k != "unread_count"
    }
    notes = (await api.get("/api/notifications", as_=bob, params={"limit": 100})).json
    assert model.notification_list() == notes["items"]
    assert (
        sum(not n["read"] for n in model.notification_list()) == notes["unread_count"] == me["unread_count"]
    )
    assert done == {"join", "leave", "friend", "unfriend", "profile", "expense", "read", "sync"}
    assert model.groups and model.notifications
