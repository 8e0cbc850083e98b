"""Notifications (issue 14 part 5) over HTTP, on both backends: who gets one for each kind of change
(never the actor), what it says and links to, paging, the unread count in the feed and in
`GET /api/user`, marking read, and delivery live on the user's channel and by Web Push."""

from __future__ import annotations

from typing import Any

import pytest

from server.config import Config
from tests.api.conftest import Actor, Api

# Web Push is on in every test here, with the local push service of tests/api/test_push.py.
from tests.api.test_push import PushService, _subscribe, config, environ, push_service, push_timeout  # noqa: F401
from tests.realtime.wsclient import WsClient
from tests.waiting import wait_until


async def feed(api: Api, actor: Actor, **params: Any) -> dict[str, Any]:
    reply = await api.get("/api/notifications", as_=actor, params=params)
    assert reply.status == 200, reply.text
    body: dict[str, Any] = reply.json
    return body


async def kinds(api: Api, actor: Actor) -> list[str]:
    return [n["kind"] for n in (await feed(api, actor, limit=100))["items"]]


async def unread(api: Api, actor: Actor) -> int:
    reply = await api.get("/api/user", as_=actor)
    assert reply.status == 200, reply.text
    count: int = reply.json["unread_count"]
    return count


@pytest.fixture
async def dave(api: Api) -> Actor:
    return await api.user("dave")


async def four(api: Api, alice: Actor, bob: Actor, carol: Actor, dave: Actor) -> str:
    group = await api.create_group(alice, "Trip", default_currency="EUR")
    await api.join(group["id"], bob, carol, dave)
    gid: str = group["id"]
    return gid


async def dinner(api: Api, gid: str, actor: Actor, *people: Actor) -> dict[str, Any]:
    reply = await api.post(
        f"/api/groups/{gid}/expenses",
        as_=actor,
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


async def test_expense_lifecycle_notifies_those_in_it_but_never_the_actor(
    api: Api, alice: Actor, bob: Actor, carol: Actor, dave: Actor
) -> None:
    gid = await four(api, alice, bob, carol, dave)
    expense = await dinner(api, gid, alice, alice, bob, carol)
    url = f"/api/groups/{gid}/expenses/{expense['id']}"

    (note,) = (await feed(api, bob))["items"]
    assert note["kind"] == "expense.created"
    assert note["actor"] == {"id": alice.id, "name": "Alice"}
    assert note["summary"] == "Alice added “Dinner” (€30.00), your share €10.00"
    assert note["link"] == {"kind": "expense", "group_id": gid, "expense_id": expense["id"]}
    assert note["read"] is False and note["created_at"]
    assert await kinds(api, carol) == ["expense.created"]
    assert await kinds(api, alice) == [] and await kinds(api, dave) == []

    # Bob takes Carol out of it: Alice and Carol hear; Carol learns she is no longer in it.
    edited = await api.put(
        url, as_=bob, json={"split": {"kind": "equal", "members": [alice.id, bob.id]}, "version": 1}
    )
    assert edited.status == 200, edited.text
    assert await kinds(api, alice) == ["expense.updated"]
    alices = (await feed(api, alice))["items"][0]
    assert alices["summary"] == "Bob changed “Dinner” (€30.00), your share €15.00"
    carols = (await feed(api, carol))["items"][0]
    assert carols["summary"] == "Bob changed “Dinner” (€30.00); you are no longer in it"
    assert await kinds(api, bob) == ["expense.created"]

    assert (await api.delete(url, as_=bob)).status == 204
    assert await kinds(api, alice) == ["expense.deleted", "expense.updated"]
    assert (await feed(api, alice))["items"][0]["summary"] == "Bob deleted “Dinner” (€30.00)"
    assert await kinds(api, carol) == ["expense.updated", "expense.created"]  # no longer in it

    assert (await api.post(f"{url}/restore", as_=alice)).status == 200
    assert await kinds(api, bob) == ["expense.restored", "expense.created"]
    assert (await feed(api, bob))["items"][0][
        "summary"
    ] == "Alice restored “Dinner” (€30.00), your share €15.00"
    assert await kinds(api, alice) == ["expense.deleted", "expense.updated"]
    assert await kinds(api, dave) == []


async def test_payments_notify_payer_and_payee(
    api: Api, alice: Actor, bob: Actor, carol: Actor, dave: Actor
) -> None:
    gid = await four(api, alice, bob, carol, dave)
    paid = await api.post(
        f"/api/groups/{gid}/transactions",
        as_=carol,
        json={"from_user": bob.id, "to_user": alice.id, "amount": "5.00"},
    )
    assert paid.status == 201, paid.text
    sid = paid.json["id"]
    (to_alice,) = (await feed(api, alice))["items"]
    assert to_alice["kind"] == "settlement.created"
    assert to_alice["summary"] == "Carol recorded a payment of €5.00 from Bob to you"
    assert to_alice["link"] == {"kind": "settlement", "group_id": gid, "settlement_id": sid}
    assert (await feed(api, bob))["items"][0][
        "summary"
    ] == "Carol recorded a payment of €5.00 from you to Alice"
    assert await kinds(api, carol) == [] and await kinds(api, dave) == []

    url = f"/api/groups/{gid}/transactions/{sid}"
    assert (await api.delete(url, as_=alice)).status == 204
    assert await kinds(api, bob) == ["settlement.deleted", "settlement.created"]
    assert await kinds(api, alice) == ["settlement.created"]
    assert await kinds(api, carol) == []
    assert (await api.post(f"{url}/restore", as_=bob)).status == 200
    assert await kinds(api, alice) == ["settlement.restored", "settlement.created"]
    assert (await feed(api, alice))["items"][0][
        "summary"
    ] == "Bob restored the payment of €5.00 from Bob to you"
    assert await kinds(api, bob) == ["settlement.deleted", "settlement.created"]


async def test_comments_reach_those_in_the_subject_and_earlier_commenters(
    api: Api, alice: Actor, bob: Actor, carol: Actor, dave: Actor
) -> None:
    gid = await four(api, alice, bob, carol, dave)
    expense = await dinner(api, gid, alice, alice, bob)
    url = f"/api/groups/{gid}/expenses/{expense['id']}/comments"
    first = await api.post(url, as_=dave, json={"text": "Was the wine included?"})
    assert first.status == 201, first.text
    (note,) = [n for n in (await feed(api, alice))["items"] if n["kind"] == "comment.created"]
    assert note["summary"] == "Dave commented on “Dinner”: “Was the wine included?”"
    assert note["link"] == {
        "kind": "comment",
        "group_id": gid,
        "comment_id": first.json["id"],
        "expense_id": expense["id"],
    }
    assert "comment.created" in await kinds(api, bob)
    assert await kinds(api, dave) == [] and await kinds(api, carol) == []

    # Dave commented before, so Bob's reply reaches him (and Alice), not Bob.
    assert (await api.post(url, as_=bob, json={"text": "yes"})).status == 201
    assert await kinds(api, dave) == ["comment.created"]
    assert await kinds(api, alice) == ["comment.created", "comment.created"]
    assert await kinds(api, bob) == ["comment.created", "expense.created"]

    paid = await api.post(
        f"/api/groups/{gid}/transactions", as_=bob, json={"to_user": carol.id, "amount": "2.50"}
    )
    assert paid.status == 201
    on_payment = f"/api/groups/{gid}/transactions/{paid.json['id']}/comments"
    assert (await api.post(on_payment, as_=alice, json={"text": "x" * 200})).status == 201
    latest = (await feed(api, carol))["items"][0]
    assert latest["kind"] == "comment.created"
    assert latest["summary"].startswith("Alice commented on the payment of €2.50: “xxx")
    assert latest["summary"].endswith("…”") and len(latest["summary"]) < 150
    assert latest["link"]["settlement_id"] == paid.json["id"]


async def test_being_added_as_a_friend_is_a_notification_for_the_friend_only(
    api: Api, alice: Actor, bob: Actor
) -> None:
    added = await api.post("/api/friends", as_=alice, json={"email": bob.email})
    assert added.status in (200, 201), added.text
    (note,) = (await feed(api, bob))["items"]
    assert note["kind"] == "group.added"
    assert note["summary"] == "Alice added you as a friend"
    assert note["link"] == {"kind": "group", "group_id": added.json["group_id"]}
    assert await kinds(api, alice) == []


async def test_paging_unread_counts_and_marking_read(
    api: Api, alice: Actor, bob: Actor, carol: Actor, dave: Actor
) -> None:
    gid = await four(api, alice, bob, carol, dave)
    made = [await dinner(api, gid, alice, alice, bob) for _ in range(5)]
    assert await unread(api, bob) == 5
    assert await unread(api, alice) == 0

    first = await feed(api, bob, limit=2)
    assert first["unread_count"] == 5 and first["next_cursor"]
    second = await feed(api, bob, limit=2, cursor=first["next_cursor"])
    third = await feed(api, bob, limit=2, cursor=second["next_cursor"])
    assert third["next_cursor"] is None
    pages = first["items"] + second["items"] + third["items"]
    assert [n["link"]["expense_id"] for n in pages] == [e["id"] for e in reversed(made)]
    assert (await api.get("/api/notifications", as_=bob, params={"cursor": "nope"})).status == 400

    # Reading up to the third newest marks it and the two older ones read.
    up_to = pages[2]["id"]
    done = await api.post("/api/notifications/read", as_=bob, json={"up_to": up_to})
    assert done.status == 200 and done.json == {"unread_count": 2}
    assert await unread(api, bob) == 2
    listed = (await feed(api, bob))["items"]
    assert [n["read"] for n in listed] == [False, False, True, True, True]
    again = await api.post("/api/notifications/read", as_=bob, json={"up_to": up_to})
    assert again.json == {"unread_count": 2}
    older = await api.post("/api/notifications/read", as_=bob, json={"up_to": pages[4]["id"]})
    assert older.json == {"unread_count": 2}

    # Strangers cannot mark someone else's read (or learn that it exists).
    theirs = await api.post("/api/notifications/read", as_=carol, json={"up_to": pages[0]["id"]})
    assert theirs.status == 404
    assert (await api.post("/api/notifications/read", as_=bob, json={"up_to": "0" * 32})).status == 404
    assert (await api.post("/api/notifications/read", as_=bob, json={})).status == 422
    assert await unread(api, bob) == 2
    assert (await feed(api, carol))["items"] == []

    assert (await api.post("/api/notifications/read", as_=bob, json={"up_to": pages[0]["id"]})).json == {
        "unread_count": 0
    }
    await dinner(api, gid, alice, alice, bob)
    assert await unread(api, bob) == 1


async def test_a_new_notification_arrives_live_on_the_users_channel(
    api: Api, alice: Actor, bob: Actor, carol: Actor, dave: Actor
) -> None:
    gid = await four(api, alice, bob, carol, dave)
    ticket = await api.post("/api/ws/ticket", as_=bob)
    client = WsClient(await api.client.ws_connect(f"/api/ws?ticket={ticket.json['ticket']}"))
    try:
        assert (await client.receive())["type"] == "welcome"
        assert (await client.subscribe(f"user:{bob.id}"))["ok"] is True
        expense = await dinner(api, gid, alice, alice, bob)
        event = await client.next_event()
        while event["type"] != "notification.created":
            event = await client.next_event()
        (stored,) = (await feed(api, bob))["items"]
        assert event["data"] == stored
        assert event["data"]["link"]["expense_id"] == expense["id"]
    finally:
        await client.close()


async def test_the_recipient_is_pushed_the_notification(
    api: Api,
    alice: Actor,
    bob: Actor,
    carol: Actor,
    dave: Actor,
    push_service: PushService,  # noqa: F811
    config: Config,  # noqa: F811
) -> None:
    assert config.push is not None
    await _subscribe(api, bob, push_service, "bob")
    await _subscribe(api, alice, push_service, "alice")
    gid = await four(api, alice, bob, carol, dave)
    await dinner(api, gid, alice, alice, bob)
    await wait_until(lambda: bool(push_service.received.get("bob")), what="bob is pushed")
    assert push_service.problems == []
    (message,) = push_service.received["bob"]
    (stored,) = (await feed(api, bob))["items"]
    assert message == {"type": "notification", "notification": stored}
    assert "alice" not in push_service.received


async def test_deleting_the_account_forgets_its_notifications(
    api: Api, alice: Actor, bob: Actor, carol: Actor, dave: Actor
) -> None:
    gid = await four(api, alice, bob, carol, dave)
    expense = await dinner(api, gid, alice, alice, bob, carol)
    assert await unread(api, carol) == 1
    # Carol owes Alice now; settling keeps the account deletable (no open balance).
    settled = await api.post(
        f"/api/groups/{gid}/transactions", as_=carol, json={"to_user": alice.id, "amount": "10.00"}
    )
    assert settled.status == 201, settled.text
    assert (await api.delete("/api/user", as_=carol)).status == 204
    assert (await api.store.list_notifications(carol.id, limit=10)).items == []
    assert (await api.store.notification_state(carol.id)).unread == 0
    assert await unread(api, bob) == 1

    # Still in the dinner, but deleted: told nothing more.
    url = f"/api/groups/{gid}/expenses/{expense['id']}/comments"
    assert (await api.post(url, as_=alice, json={"text": "thanks all"})).status == 201
    assert await unread(api, bob) == 2
    assert (await api.store.list_notifications(carol.id, limit=10)).items == []


async def test_the_personal_data_export_lists_them(
    api: Api, alice: Actor, bob: Actor, carol: Actor, dave: Actor
) -> None:
    gid = await four(api, alice, bob, carol, dave)
    await dinner(api, gid, alice, alice, bob)
    await dinner(api, gid, alice, alice, bob)
    exported = await api.get("/api/user/export", as_=bob)
    assert exported.status == 200, exported.text
    assert exported.json["notifications"] == (await feed(api, bob))["items"]
    assert len(exported.json["notifications"]) == 2
    assert (await api.get("/api/user/export", as_=dave)).json["notifications"] == []
