"""The subscribe reply names the changes-feed cursor that matches the moment the subscription took
hold (issue 14): a client that lost more than the realtime history holds (`recovered: false`)
reads the feed from its previous cursor, then keeps the reply's: nothing before it is missing and
everything after it arrives live. Both backends (the cursor comes from the store's logs)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import Actor, Api
from tests.realtime.test_ws import add_expense, connect

HISTORY = 2


@pytest.fixture
def environ(environ: dict[str, str]) -> dict[str, str]:
    return {**environ, "REALTIME_HISTORY": str(HISTORY)}


async def catch_up(api: Api, actor: Actor, path: str, cursor: str) -> list[dict[str, Any]]:
    changes: list[dict[str, Any]] = []
    while True:
        reply = await api.get(path, as_=actor, params={"cursor": cursor})
        assert reply.status == 200, reply.text
        changes += reply.json["changes"]
        cursor = reply.json["next_cursor"]
        if not reply.json["has_more"]:
            return changes


async def test_after_recovered_false_the_feed_fills_the_gap_and_the_new_cursor_takes_over(
    api: Api, alice: Actor, bob: Actor
) -> None:
    group = await api.create_group(alice)
    await api.join(group["id"], bob)
    channel, feed = f"group:{group['id']}", f"/api/groups/{group['id']}/changes"
    client = await connect(api, bob)
    first = await client.subscribe(channel)
    assert first["recovered"] is None
    assert first["cursor"] == (await api.get(feed, as_=bob)).json["next_cursor"]
    seen = await add_expense(api, group, alice)
    event = await client.next_event()
    assert event["data"]["id"] == seen["id"]
    await client.ws.close()

    missed = [(await add_expense(api, group, alice, amount=f"{n + 1}.00"))["id"] for n in range(HISTORY + 2)]

    client = await connect(api, bob)
    again = await client.subscribe(channel, epoch=event["epoch"], seq=event["seq"])
    assert again["recovered"] is False
    gap = await catch_up(api, bob, feed, first["cursor"])
    assert [c["id"] for c in gap if c["kind"] == "expense"] == [seen["id"], *missed]
    assert await catch_up(api, bob, feed, again["cursor"]) == []

    live = await add_expense(api, group, alice)
    assert (await client.next_event())["data"]["id"] == live["id"]
    after = await catch_up(api, bob, feed, again["cursor"])
    assert [(c["kind"], c["id"]) for c in after] == [("expense", live["id"])]


async def test_the_user_channel_names_the_users_own_feed(api: Api, alice: Actor, bob: Actor) -> None:
    client = await connect(api, bob)
    reply = await client.subscribe(f"user:{bob.id}")
    assert reply["cursor"] == (await api.get("/api/user/changes", as_=bob)).json["next_cursor"]

    added = await api.post("/api/friends", as_=alice, json={"email": bob.email})
    assert added.status == 201, added.text
    heard = [(await client.next_event())["type"] for _ in range(2)]
    assert sorted(heard) == ["friend.added", "group.joined"]

    changes = await catch_up(api, bob, "/api/user/changes", reply["cursor"])
    assert ("friend", added.json["group_id"], "upsert") in [(c["kind"], c["id"], c["op"]) for c in changes]
