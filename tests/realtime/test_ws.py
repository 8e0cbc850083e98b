"""The WebSocket edge on one app with the embedded broker: authentication, origin, limits,
subscriptions, events from REST writes, chat and ephemeral messages."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import aiohttp
import pytest

from realtime import session as ws_handlers
from server.keys import STORE
from tests.api.conftest import FRONTEND, Actor, Api, store_agnostic
from tests.realtime.wsclient import TIMEOUT, WsClient

pytestmark = store_agnostic


async def connect(api: Api, actor: Actor, **kwargs: Any) -> WsClient:
    reply = await api.post("/api/ws/ticket", as_=actor)
    assert reply.status == 201, reply.text
    ws = await api.client.ws_connect(f"/api/ws?ticket={reply.json['ticket']}", **kwargs)
    client = WsClient(ws)
    welcome = await client.receive()
    assert welcome["type"] == "welcome" and welcome["user_id"] == actor.id
    return client


async def add_expense(
    api: Api, group: dict[str, Any], actor: Actor, amount: str = "10.00", **fields: Any
) -> dict[str, Any]:
    reply = await api.post(
        f"/api/groups/{group['id']}/expenses",
        as_=actor,
        json={"description": "Pizza", "amount": amount, **fields},
    )
    assert reply.status == 201, reply.text
    expense: dict[str, Any] = reply.json
    return expense


async def test_expense_created_reaches_a_subscriber_with_the_rest_payload(
    api: Api, alice: Actor, bob: Actor
) -> None:
    group = await api.create_group(alice)
    await api.join(group["id"], bob)
    client = await connect(api, bob)
    reply = await client.subscribe(f"group:{group['id']}")
    assert reply["ok"] and reply["seq"] == 0 and reply["recovered"] is None

    expense = await add_expense(api, group, alice)

    event = await client.next_event()
    assert event["type"] == "expense.created"
    assert (event["channel"], event["seq"], event["epoch"]) == (f"group:{group['id']}", 1, reply["epoch"])
    moves = event["data"].pop("balance_moves")
    assert event["data"] == expense
    assert sorted((m["user_id"], m["amount"]) for m in moves) == sorted(
        [(alice.id, "5.00"), (bob.id, "-5.00")]
    )
    assert isinstance(event["id"], str) and isinstance(event["ts"], float)


async def test_a_ticket_works_once(api: Api, alice: Actor) -> None:
    ticket = (await api.post("/api/ws/ticket", as_=alice)).json["ticket"]
    ws = await api.client.ws_connect(f"/api/ws?ticket={ticket}")
    await ws.close()
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await api.client.ws_connect(f"/api/ws?ticket={ticket}")
    assert refused.value.status == 403


async def test_token_in_the_first_frame(api: Api, alice: Actor) -> None:
    ws = await api.client.ws_connect("/api/ws")
    await ws.send_json({"type": "auth", "token": alice.token})
    welcome = json.loads((await ws.receive(timeout=TIMEOUT)).data)
    assert welcome == {
        "type": "welcome",
        "user_id": alice.id,
        "heartbeat_seconds": 25.0,
        "max_message_bytes": 65536,
    }
    await ws.close()


async def test_a_bad_first_frame_closes_with_4001(api: Api, alice: Actor) -> None:
    ws = await api.client.ws_connect("/api/ws")
    await ws.send_json({"type": "auth", "token": alice.token + "x"})
    message = await ws.receive(timeout=TIMEOUT)
    assert message.type == aiohttp.WSMsgType.CLOSE and message.data == 4001


async def test_origin_must_be_an_allowed_frontend(api: Api, alice: Actor) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await connect(api, alice, origin="https://evil.example")
    assert refused.value.status == 403
    client = await connect(api, alice, origin=FRONTEND)
    assert (await client.command("ping"))["pong"] is True


async def test_oversize_frame_closes_with_1009(api: Api, alice: Actor) -> None:
    client = await connect(api, alice)
    await client.ws.send_str(json.dumps({"type": "ping", "pad": "x" * 70_000}))
    message = await client.ws.receive(timeout=TIMEOUT)
    assert message.type == aiohttp.WSMsgType.CLOSE and message.data == 1009


async def test_non_members_cannot_subscribe(api: Api, alice: Actor, bob: Actor) -> None:
    group = await api.create_group(alice)
    client = await connect(api, bob)
    reply = await client.subscribe(f"group:{group['id']}")
    assert reply["ok"] is False and reply["error"]["code"] == "not_found"
    reply = await client.subscribe(f"user:{alice.id}")
    assert reply["ok"] is False and reply["error"]["code"] == "forbidden"
    reply = await client.subscribe("elsewhere")
    assert reply["ok"] is False
    assert (await client.subscribe(f"user:{bob.id}"))["ok"] is True


async def test_resubscribing_with_a_position_gets_exactly_what_was_missed(
    api: Api, alice: Actor, bob: Actor
) -> None:
    group = await api.create_group(alice)
    await api.join(group["id"], bob)
    channel = f"group:{group['id']}"
    client = await connect(api, bob)
    await client.subscribe(channel)
    await add_expense(api, group, alice)
    seen = await client.next_event()
    await client.ws.close()

    missed = [(await add_expense(api, group, alice, amount=f"{n}.00"))["id"] for n in (2, 3, 4)]

    client = await connect(api, bob)
    reply = await client.subscribe(channel, epoch=seen["epoch"], seq=seen["seq"])
    assert reply["recovered"] is True and reply["seq"] == 4
    replayed = [await client.next_event() for _ in missed]
    assert [e["data"]["id"] for e in replayed] == missed
    assert [e["seq"] for e in replayed] == [2, 3, 4]
    live = await add_expense(api, group, alice)
    event = await client.next_event()
    assert (event["seq"], event["data"]["id"]) == (5, live["id"])

    stale = await connect(api, bob)
    reply = await stale.subscribe(channel, epoch="another-epoch", seq=2)
    assert reply["recovered"] is False and reply["seq"] == 5


async def test_removal_ends_the_subscription(api: Api, alice: Actor, bob: Actor) -> None:
    group = await api.create_group(alice)
    await api.join(group["id"], bob)
    client = await connect(api, bob)
    await client.subscribe(f"group:{group['id']}")
    await client.subscribe(f"user:{bob.id}")

    reply = await api.delete(f"/api/groups/{group['id']}/members/{bob.id}", as_=alice)
    assert reply.status == 204

    frames = [await client.receive() for _ in range(3)]
    by_type = {frame["type"]: frame for frame in frames}
    assert by_type["member.removed"]["data"]["user_id"] == bob.id
    assert by_type["unsubscribed"]["channel"] == f"group:{group['id']}"
    assert by_type["group.removed"]["data"] == {"group_id": group["id"], "reason": "member.removed"}
    await add_expense(api, group, alice)
    assert (await client.command("ping"))["ok"], "nothing more from the group arrives"


async def test_chat_over_the_socket_is_stored_then_published(api: Api, alice: Actor, bob: Actor) -> None:
    group = await api.create_group(alice)
    await api.join(group["id"], bob)
    channel = f"group:{group['id']}"
    sender, reader = await connect(api, alice), await connect(api, bob)
    await reader.subscribe(channel)

    reply = await sender.command("chat.send", channel=channel, text="  hello  ")

    assert reply["ok"] is True and reply["message"]["text"] == "hello"
    event = await reader.next_event()
    assert event["type"] == "chat.message" and event["data"] == reply["message"]
    listed = await api.get(f"/api/groups/{group['id']}/chats", as_=bob)
    assert listed.json["items"] == [reply["message"]]
    posted = await api.post(f"/api/groups/{group['id']}/chats", as_=bob, json={"text": "REST"})
    event = await reader.next_event()
    assert event["type"] == "chat.message" and event["data"] == posted.json
    refused = await sender.command("chat.send", channel=channel, text="   ")
    assert refused["ok"] is False and refused["error"]["code"] == "validation_error"


async def test_typing_reaches_others_and_is_rate_limited(api: Api, alice: Actor, bob: Actor) -> None:
    group = await api.create_group(alice)
    await api.join(group["id"], bob)
    channel = f"group:{group['id']}"
    typer, watcher = await connect(api, alice), await connect(api, bob)
    refused = await typer.command("typing", channel=channel)
    assert refused["error"]["code"] == "not_subscribed"
    await typer.subscribe(channel)
    await watcher.subscribe(channel)

    assert (await typer.command("typing", channel=channel))["dropped"] is False
    assert (await typer.command("typing", channel=channel))["dropped"] is True

    frame = await watcher.receive()
    assert frame == {"channel": channel, "type": "typing", "data": {"user_id": alice.id}}


async def test_command_flood_is_refused_then_cut_off(api: Api, alice: Actor) -> None:
    client = await connect(api, alice)
    for _ in range(100):
        await client.ws.send_json({"type": "ping", "id": "p"})
    codes = []
    while True:
        message = await client.ws.receive(timeout=TIMEOUT)
        if message.type != aiohttp.WSMsgType.TEXT:
            break
        frame = json.loads(message.data)
        codes.append(frame.get("error", {}).get("code"))
    assert codes.count(None) >= 40 and "rate_limited" in codes, codes
    assert message.type == aiohttp.WSMsgType.CLOSE and message.data == 1008


async def test_shutdown_closes_with_1001_and_a_reconnect_hint(api: Api, alice: Actor) -> None:
    client = await connect(api, alice)
    await api.app.shutdown()
    frame = await client.receive()
    assert frame["type"] == "shutdown" and 1000 <= frame["reconnect_after_ms"] <= 5000
    message = await client.ws.receive(timeout=TIMEOUT)
    assert message.type == aiohttp.WSMsgType.CLOSE and message.data == 1001


async def test_logout_closes_the_sockets_its_token_opened(api: Api, alice: Actor) -> None:
    elsewhere = api.actor(alice.id)
    doomed, kept = await connect(api, alice), await connect(api, elsewhere)

    assert (await api.post("/api/logout", as_=alice)).status == 204

    message = await doomed.ws.receive(timeout=TIMEOUT)
    assert message.type == aiohttp.WSMsgType.CLOSE and message.data == 4001
    assert (await kept.command("ping"))["pong"] is True


async def test_a_token_revoked_behind_the_hubs_back_is_caught_by_the_periodic_check(
    api: Api, alice: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ws_handlers, "TOKEN_CHECK_SECONDS", 0.05)
    client = await connect(api, alice)
    assert (await client.command("ping"))["pong"] is True

    # As when the news of a logout on another instance was lost with Redis.
    await api.app[STORE].revoke_token(alice.jti, datetime.now(timezone.utc) + timedelta(hours=1))

    message = await client.ws.receive(timeout=TIMEOUT)
    assert message.type == aiohttp.WSMsgType.CLOSE and message.data == 4001


async def test_presence_is_per_connection_and_ends_with_it(api: Api, alice: Actor, bob: Actor) -> None:
    group = await api.create_group(alice)
    await api.join(group["id"], bob)
    channel = f"group:{group['id']}"
    phone, laptop, watcher = (await connect(api, alice), await connect(api, alice), await connect(api, bob))
    for client in (phone, laptop, watcher):
        await client.subscribe(channel)

    assert (await phone.command("presence", channel=channel, status="online"))["dropped"] is False
    assert (await laptop.command("presence", channel=channel, status="away"))["dropped"] is False
    first, second = await watcher.receive(), await watcher.receive()
    assert {(f["data"]["user_id"], f["data"]["status"]) for f in (first, second)} == {
        (alice.id, "online"),
        (alice.id, "away"),
    }
    phone_id = (
        first["data"]["connection"] if first["data"]["status"] == "online" else second["data"]["connection"]
    )
    laptop_id = ({first["data"]["connection"], second["data"]["connection"]} - {phone_id}).pop()

    await laptop.command("unsubscribe", channel=channel)
    assert await watcher.receive() == {
        "channel": channel,
        "type": "presence",
        "data": {"user_id": alice.id, "status": "offline", "connection": laptop_id},
    }
    await phone.ws.close()
    assert await watcher.receive() == {
        "channel": channel,
        "type": "presence",
        "data": {"user_id": alice.id, "status": "offline", "connection": phone_id},
    }
