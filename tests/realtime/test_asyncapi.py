"""The AsyncAPI document of the WebSocket (issue 18 part 1): served, consistent with itself and with
docs/realtime.md. That the server's frames match it is checked on every frame the test client
receives (`frames_check`), and on every event the use cases publish."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from handlers.asyncapi import asyncapi_document, message_name
from handlers.components import REF_PREFIX, references
from handlers.frames import EVENTS
from tests.api.conftest import Api, store_agnostic
from tests.api.test_expenses import trio
from tests.api.test_import import SPLITWISE, send
from tests.api.test_recurring import RENT
from tests.api.test_roles import connect
from tests.realtime.frames_check import DOCUMENT, MESSAGES, check_frame, documented_as

REALTIME_DOC = Path(__file__).parents[2] / "docs" / "realtime.md"


def _pointer(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = document
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


@store_agnostic
async def test_the_document_is_served_publicly_with_an_etag(api: Api) -> None:
    reply = await api.get("/api/asyncapi.json")
    assert reply.status == 200 and reply.headers["ETag"]
    served = reply.json
    assert served["asyncapi"] == "3.0.0"
    assert served == asyncapi_document(version=served["info"]["version"])
    again = await api.get("/api/asyncapi.json", headers={"If-None-Match": reply.headers["ETag"]})
    assert again.status == 304


def test_every_reference_resolves_and_every_schema_is_used() -> None:
    document = asyncapi_document(version="test")
    refs = references(document)
    for ref in refs:
        _pointer(document, ref)
    used = {ref.removeprefix(REF_PREFIX) for ref in refs if ref.startswith(REF_PREFIX)}
    assert set(document["components"]["schemas"]) == used
    # Operations name messages of their own channel.
    for name, operation in document["operations"].items():
        channel = operation["channel"]["$ref"]
        for message in operation["messages"]:
            assert message["$ref"].startswith(channel + "/messages/"), (name, message)
        if "reply" in operation:
            assert operation["action"] == "send"


def test_the_events_are_those_docs_realtime_lists() -> None:
    """The event table of docs/realtime.md and the document name the same events."""
    text = REALTIME_DOC.read_text()
    table = text[text.index("| type | channel | data |") : text.index("A *settlement*")]
    documented = {
        name
        for row in table.splitlines()[2:]
        if row.startswith("|")
        for name in re.findall(r"`([a-z_]+\.[a-z_]+)`", row.split("|")[1])
    }
    assert documented == set(EVENTS)
    for kind, (where, _) in EVENTS.items():
        name = message_name(kind) + "Event"
        for channel in ("group", "user"):
            listed = name in DOCUMENT["channels"][channel]["messages"]
            assert listed == (where in (channel, "any")), (kind, channel)


@pytest.mark.parametrize(
    "command",
    [
        {"type": "auth", "token": "eyJ..."},
        {"id": 1, "type": "subscribe", "channel": "group:7f3c"},
        {"id": "c2", "type": "subscribe", "channel": "group:7f3c", "epoch": "9b1e", "seq": 42},
        {"id": 3, "type": "unsubscribe", "channel": "user:u1"},
        {"id": 4, "type": "chat.send", "channel": "group:7f3c", "text": "on my way"},
        {"type": "typing", "channel": "group:7f3c"},
        {"id": 5, "type": "presence", "channel": "group:7f3c", "status": "away"},
        {"id": 6, "type": "ping"},
    ],
)
def test_the_commands_docs_realtime_shows_are_documented(command: dict[str, Any]) -> None:
    schema = MESSAGES[message_name(command["type"]) + "Command"]["payload"]
    assert Draft202012Validator(schema).is_valid(command)


@pytest.mark.parametrize(
    "command",
    [
        {"type": "subscribe"},
        {"type": "subscribe", "channel": "group:7f3c", "seq": -1},
        {"type": "presence", "channel": "group:7f3c", "status": "busy"},
        {"type": "chat.send", "channel": "user:u1", "text": "hi"},
        {"type": "ping", "extra": True},
    ],
)
def test_commands_the_server_refuses_are_not_documented_as_valid(command: dict[str, Any]) -> None:
    schema = MESSAGES[message_name(command["type"]) + "Command"]["payload"]
    assert not Draft202012Validator(schema).is_valid(command)


def test_the_frame_check_fails_for_what_the_document_does_not_say() -> None:
    """The check on the test client's frames is not one that cannot fail."""
    with pytest.raises(AssertionError, match="undocumented"):
        check_frame({"type": "surprise"})
    with pytest.raises(AssertionError, match="does not list"):
        check_frame(
            {
                "channel": "group:g",
                "seq": 1,
                "epoch": "e",
                "type": "expense.vanished",
                "id": "i",
                "ts": 1.0,
                "data": {},
            }
        )
    with pytest.raises(AssertionError, match="does not match"):
        check_frame({"type": "reply", "id": "c1", "ok": True, "pong": "yes"}, "ping")
    with pytest.raises(AssertionError, match="does not match"):
        check_frame({"type": "welcome", "user_id": "u1", "heartbeat_seconds": 25.0})
    assert (
        documented_as({"type": "reply", "id": None, "ok": False, "error": {"code": "x", "message": "y"}})
        == "errorReply"
    )


async def test_the_rarer_events_match_the_document_as_sent(api: Api, alice, bob, carol) -> None:
    """Events the other tests of the suite seldom receive over a socket, each received (and so
    checked by the client) as a member sees them: recurring expenses, a settlement deleted and
    restored, an import."""
    group_id = await trio(api, alice, bob, carol)
    client = await connect(api, carol)
    assert (await client.subscribe(f"group:{group_id}"))["ok"]
    base = f"/api/groups/{group_id}"
    members = [alice.id, bob.id, carol.id]
    rule = await api.post(
        f"{base}/recurring",
        as_=alice,
        json={
            "expense": {**RENT, "split": {"kind": "equal", "members": members}},
            "every": "month",
            "starts_on": "2099-01-01",  # not due yet: the scheduler leaves its version alone
        },
    )
    assert rule.status == 201, rule.text
    paused = await api.patch(
        f"{base}/recurring/{rule.json['id']}",
        as_=alice,
        json={"paused": True, "version": rule.json["version"]},
    )
    assert paused.status == 200, paused.text
    assert (await api.delete(f"{base}/recurring/{rule.json['id']}", as_=alice)).status == 204
    paid = await api.post(f"{base}/transactions", as_=bob, json={"to_user": alice.id, "amount": "5.00"})
    assert paid.status == 201, paid.text
    assert (await api.delete(f"{base}/transactions/{paid.json['id']}", as_=bob)).status == 204
    restored = await api.post(f"{base}/transactions/{paid.json['id']}/restore", as_=bob)
    assert restored.status == 200, restored.text
    imported = await send(api, group_id, alice, SPLITWISE)  # the owner imports
    assert imported.status in (200, 201), imported.text

    wanted = {
        "recurring.created",
        "recurring.updated",
        "recurring.deleted",
        "settlement.created",
        "settlement.deleted",
        "settlement.restored",
        "group.imported",
    }
    seen: set[str] = set()
    while not wanted <= seen:
        seen.add((await client.next_event())["type"])  # each checked against the document
    await client.close()
