"""Hostile frames on the realtime WebSocket (issue 11, defects 1, 2, 3 and 7): deep nesting before
and after sign-in, lone surrogates, whole numbers beyond what we hold, and the existence oracle of
`chat.send`. Each gets an error reply (or, before sign-in, a policy close), the connection keeps
working, nothing is stored, and nothing is logged at ERROR; the store-facing ones on both backends."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest

from domain.client_json import MAX_INTEGER
from domain.ids import new_id
from realtime.hub import CLOSE_POLICY, CLOSE_UNAUTHORIZED
from tests.api.conftest import Actor, Api, store_agnostic
from tests.realtime.test_ws import connect
from tests.realtime.wsclient import TIMEOUT, WsClient


@pytest.fixture(autouse=True)
def no_errors_logged(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """A client's mistake is no server error: nothing at ERROR (a traceback) in the log."""
    caplog.set_level(logging.INFO)
    yield
    errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert not errors, [record.getMessage() for record in errors]


def deep(depth: int) -> str:
    return '{"type": "ping", "id": "d", "pad": ' + "[" * depth + "]" * depth + "}"


async def raw_reply(client: WsClient, text: str) -> dict[str, Any]:
    """Send `text` as one frame; the reply to it (which carries no id it could read)."""
    await client.ws.send_str(text)
    frame = await client.receive()
    assert frame["type"] == "reply", frame
    return frame


@store_agnostic
@pytest.mark.parametrize("frame", [deep(5000), "[" * 60_000, '{"type": "auth", "token": "\\ud800"}'])
async def test_a_hostile_first_frame_closes_with_the_policy_code(api: Api, frame: str) -> None:
    ws = await api.client.ws_connect("/api/ws")
    await ws.send_str(frame)
    message = await ws.receive(timeout=TIMEOUT)
    assert message.type == aiohttp.WSMsgType.CLOSE and message.data == CLOSE_POLICY, message


@store_agnostic
async def test_a_first_frame_that_is_not_json_still_closes_with_4001(api: Api) -> None:
    ws = await api.client.ws_connect("/api/ws")
    await ws.send_str('{"type": "auth"')
    message = await ws.receive(timeout=TIMEOUT)
    assert message.type == aiohttp.WSMsgType.CLOSE and message.data == CLOSE_UNAUTHORIZED


@store_agnostic
async def test_deep_frames_after_sign_in_get_an_error_reply(api: Api, alice: Actor) -> None:
    client = await connect(api, alice)
    for frame in (deep(5000), "[" * 60_000, deep(33)):
        reply = await raw_reply(client, frame)
        assert reply["ok"] is False and reply["id"] is None
        assert reply["error"] == {
            "code": "json_too_deep",
            "message": "frame is nested more than 32 levels deep",
        }
    ok = await raw_reply(client, '{"type": "ping", "id": "p", "pad": ' + "[" * 31 + "]" * 31 + "}")
    assert ok == {"type": "reply", "id": "p", "ok": True, "pong": True}


async def test_a_lone_surrogate_in_chat_text_is_refused_and_nothing_stored(
    api: Api, alice: Actor, bob: Actor
) -> None:
    group = await api.create_group(alice)
    await api.join(group["id"], bob)
    channel = f"group:{group['id']}"
    sender = await connect(api, alice)
    reader = await connect(api, bob)
    await reader.subscribe(channel)

    refused = await sender.command("chat.send", channel=channel, text="hi \ud800")

    assert refused["ok"] is False and refused["id"] is not None
    assert refused["error"]["code"] == "validation_error"
    assert "text" in refused["error"]["message"] and "surrogate" in refused["error"]["message"]
    sent = await sender.command("chat.send", channel=channel, text="hi \U0001f355")
    assert sent["ok"] is True and sent["message"]["text"] == "hi \U0001f355"
    event = await reader.next_event()
    assert event["data"] == sent["message"], "the refused message was never published"
    listed = await api.get(f"/api/groups/{group['id']}/chats", as_=alice)
    assert [m["text"] for m in listed.json["items"]] == ["hi \U0001f355"]


async def test_lone_surrogates_anywhere_in_a_command(api: Api, alice: Actor) -> None:
    group = await api.create_group(alice)
    client = await connect(api, alice)
    for command in ("subscribe", "chat.send", "nonsense\udfff"):
        reply = await client.command(command, channel=f"group:{group['id']}\ud800", text="x")
        assert reply["ok"] is False and reply["error"]["code"] == "validation_error", reply
    # An id holding one is refused too, and not echoed: the reply has none.
    reply = await raw_reply(client, json.dumps({"type": "ping", "id": "c\ud800"}))
    assert reply["id"] is None and reply["ok"] is False
    assert reply["error"]["code"] == "validation_error"
    assert (await client.subscribe(f"group:{group['id']}"))["ok"] is True


@store_agnostic
async def test_a_position_beyond_what_we_hold_is_refused(api: Api, alice: Actor) -> None:
    group = await api.create_group(alice)
    client = await connect(api, alice)
    channel = f"group:{group['id']}"
    epoch = (await client.subscribe(channel))["epoch"]
    for seq in (10_000_000_000_000_000_000, MAX_INTEGER + 1, -1):
        reply = await client.subscribe(channel, epoch=epoch, seq=seq)
        assert reply["ok"] is False and reply["error"]["code"] == "validation_error", reply
    assert (await client.subscribe(channel, epoch=epoch, seq=0))["ok"] is True


async def test_chat_send_is_no_existence_oracle(api: Api, alice: Actor, bob: Actor) -> None:
    """An outsider's `chat.send` gets the same answer for a real group as for an unknown id, as
    REST answers 404 for both; a member's still goes through."""
    group = await api.create_group(alice)
    outsider = await connect(api, bob)

    real = await outsider.command("chat.send", channel=f"group:{group['id']}", text="hello?")
    unknown = await outsider.command("chat.send", channel=f"group:{new_id()}", text="hello?")
    subscribe = await outsider.subscribe(f"group:{group['id']}")

    assert real["ok"] is False and unknown["ok"] is False
    assert real["error"] == unknown["error"] == subscribe["error"]
    assert real["error"]["code"] == "not_found"
    rest = await api.post(f"/api/groups/{group['id']}/chats", as_=bob, json={"text": "hello?"})
    assert rest.status == 404 and rest.error["message"] == real["error"]["message"]
    assert (await api.get(f"/api/groups/{group['id']}/chats", as_=alice)).json["items"] == []
    member = await connect(api, alice)
    sent = await member.command("chat.send", channel=f"group:{group['id']}", text="hi")
    assert sent["ok"] is True
