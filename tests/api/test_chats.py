"""Group chat over REST: post, list and page, text limits, and who may take part."""

from __future__ import annotations

from typing import Any

import pytest

from domain import Conflict, Invalid
from domain.models import MAX_CHAT_MESSAGE_LENGTH
from server.keys import SERVICES
from tests.api.conftest import Actor, Api, store_agnostic


def chats(group: dict[str, Any]) -> str:
    return f"/api/groups/{group['id']}/chats"


async def say(api: Api, group: dict[str, Any], author: Actor, text: str) -> dict[str, Any]:
    reply = await api.post(chats(group), as_=author, json={"text": text})
    assert reply.status == 201, reply.text
    message: dict[str, Any] = reply.json
    return message


# --- post and list ------------------------------------------------------------------------------


async def test_post_and_list_newest_first(api: Api, alice: Actor, bob: Actor) -> None:
    group = await api.create_group(alice)
    await api.join(group["id"], bob)

    reply = await api.post(chats(group), as_=alice, json={"text": "  Dinner at 8?  "})

    assert reply.status == 201
    first = reply.json
    assert first["text"] == "Dinner at 8?"
    assert (first["group_id"], first["author_id"]) == (group["id"], alice.id)
    second = await say(api, group, bob, "Sounds good 👍")
    listed = await api.get(chats(group), as_=bob)
    assert listed.status == 200
    assert {**listed.json, "users": {}} == {"items": [second, first], "next_cursor": None, "users": {}}
    assert set(listed.json["users"]) == {alice.id, bob.id}


async def test_empty_chat(api: Api, alice: Actor) -> None:
    group = await api.create_group(alice)

    reply = await api.get(chats(group), as_=alice)

    assert reply.status == 200
    assert reply.json == {"items": [], "next_cursor": None, "users": {}}


async def test_pages_follow_cursors_without_gaps(api: Api, alice: Actor, bob: Actor) -> None:
    group = await api.create_group(alice)
    await api.join(group["id"], bob)
    posted = [(await say(api, group, (alice, bob)[n % 2], f"message {n}"))["id"] for n in range(12)]

    seen: list[str] = []
    sizes: list[int] = []
    cursor = None
    while True:
        params = {"limit": "5", **({"cursor": cursor} if cursor else {})}
        reply = await api.get(chats(group), as_=alice, params=params)
        assert reply.status == 200, reply.text
        seen += [message["id"] for message in reply.json["items"]]
        sizes.append(len(reply.json["items"]))
        if (cursor := reply.json["next_cursor"]) is None:
            break

    assert seen == list(reversed(posted))
    assert sizes == [5, 5, 2]


async def test_garbage_cursor_is_400(api: Api, alice: Actor) -> None:
    group = await api.create_group(alice)

    reply = await api.get(chats(group), as_=alice, params={"cursor": "garbage!"})

    assert reply.status == 400
    assert reply.error["code"] == "invalid_cursor"


# --- text limits --------------------------------------------------------------------------------


@store_agnostic
@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({"text": ""}, "text", id="empty"),
        pytest.param({"text": " \t\n "}, "text", id="whitespace-only"),
        pytest.param({"text": "x" * (MAX_CHAT_MESSAGE_LENGTH + 1)}, "text", id="one-too-long"),
        pytest.param({"text": "hi", "pinned": True}, "pinned", id="unknown-field"),
        pytest.param({"text": 42}, "text", id="not-a-string"),
        pytest.param({}, "text", id="no-text"),
    ],
)
async def test_post_rejects(api: Api, alice: Actor, body: object, field: str) -> None:
    group = await api.create_group(alice)

    reply = await api.post(chats(group), as_=alice, json=body)

    assert reply.status == 422, reply.text
    assert reply.error["code"] == "validation_error"
    assert field in reply.error_fields(), reply.error
    assert (await api.get(chats(group), as_=alice)).json["items"] == []


async def test_longest_text_is_accepted_after_trimming(api: Api, alice: Actor) -> None:
    group = await api.create_group(alice)
    longest = "é" * MAX_CHAT_MESSAGE_LENGTH

    message = await say(api, group, alice, f"  {longest}\n")

    assert message["text"] == longest
    assert (await api.get(chats(group), as_=alice)).json["items"] == [message]


# --- who may take part --------------------------------------------------------------------------


async def test_outsider_gets_404(api: Api, alice: Actor, carol: Actor) -> None:
    group = await api.create_group(alice)
    await say(api, group, alice, "members only")

    posted = await api.post(chats(group), as_=carol, json={"text": "let me in"})
    listed = await api.get(chats(group), as_=carol)

    assert posted.status == listed.status == 404
    assert posted.error["code"] == listed.error["code"] == "not_found"
    assert [m["text"] for m in (await api.get(chats(group), as_=alice)).json["items"]] == ["members only"]


async def test_missing_group_is_404(api: Api, alice: Actor) -> None:
    reply = await api.post(
        "/api/groups/0123456789abcdef0123456789abcdef/chats", as_=alice, json={"text": "anyone?"}
    )

    assert reply.status == 404


async def test_a_member_who_left_can_no_longer_post(api: Api, alice: Actor, bob: Actor) -> None:
    group = await api.create_group(alice)
    await api.join(group["id"], bob)
    await say(api, group, bob, "bye all")
    assert (await api.post(f"/api/groups/{group['id']}/leave", as_=bob)).status == 204

    posted = await api.post(chats(group), as_=bob, json={"text": "one more thing"})
    listed = await api.get(chats(group), as_=bob)

    assert posted.status == listed.status == 404
    # The write itself checks membership, so a caller past the access check (a WebSocket that was
    # open before they left) is refused too.
    with pytest.raises(Conflict) as refused:
        await api.app[SERVICES].chats.post(group["id"], bob.id, "one more thing")
    assert refused.value.code == "not_a_member"
    assert [m["text"] for m in (await api.get(chats(group), as_=alice)).json["items"]] == ["bye all"]


# --- the shared entry point ---------------------------------------------------------------------


@store_agnostic
@pytest.mark.parametrize(
    "text",
    ["", "   ", "x" * (MAX_CHAT_MESSAGE_LENGTH + 1), None],
    ids=["empty", "whitespace-only", "one-too-long", "not-a-string"],
)
async def test_post_message_validates_like_the_endpoint(api: Api, alice: Actor, text: Any) -> None:
    group = await api.create_group(alice)

    with pytest.raises(Invalid) as refused:
        await api.app[SERVICES].chats.post(group["id"], alice.id, text)

    assert [problem["field"] for problem in refused.value.details] == ["text"]
    assert (await api.get(chats(group), as_=alice)).json["items"] == []


async def test_post_message_trims_and_stores(api: Api, alice: Actor) -> None:
    group = await api.create_group(alice)

    message = await api.app[SERVICES].chats.post(group["id"], alice.id, "  over the socket ")

    assert message.text == "over the socket"
    listed = (await api.get(chats(group), as_=alice)).json["items"]
    assert [(m["id"], m["text"]) for m in listed] == [(message.id, "over the socket")]
