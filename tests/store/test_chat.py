"""Store contract, group chat: messages stored once, only by members, listed newest first."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest

from domain import BadRequest, ChatMessage, Conflict, NotFound
from domain.models import MAX_CHAT_MESSAGE_LENGTH, Page
from store.base import Store
from store.cursor import encode_cursor
from tests.store.builders import activity, at, collect, trio, user


def chat(
    group_id: str,
    author_id: str,
    created_at: datetime,
    text: str = "hello",
    message_id: str | None = None,
) -> ChatMessage:
    return ChatMessage(
        id=message_id or uuid.uuid4().hex,
        group_id=group_id,
        author_id=author_id,
        text=text,
        created_at=created_at,
    )


async def all_chat(store: Store, group_id: str) -> list[ChatMessage]:
    return (await store.list_chat_messages(group_id, limit=1000)).items


async def test_chat_messages_are_stored_and_listed_newest_first(store: Store) -> None:
    created, a, b, _ = await trio(store)
    other, *_ = await trio(store)
    first = chat(created.id, a.id, at(1), "hello")
    # Text is stored as given: any characters, up to the limit (4-byte ones included).
    second = chat(created.id, b.id, at(2) + timedelta(microseconds=1), "😀" * MAX_CHAT_MESSAGE_LENGTH)
    elsewhere = chat(other.id, other.owner_id, at(3), "not here")
    for message in (first, second, elsewhere):
        await store.create_chat_message(message)
    assert await store.list_chat_messages(created.id, limit=10) == Page(
        items=[second, first], next_cursor=None
    )
    assert await all_chat(store, other.id) == [elsewhere]
    assert await all_chat(store, "no-such-group") == []


async def test_chat_pages_newest_first_without_gaps(store: Store) -> None:
    created, a, b, c = await trio(store)
    # Several messages share a creation time: ties go by id.
    made = [chat(created.id, (a, b, c)[i % 3].id, at(i % 5), f"message {i}") for i in range(23)]
    for message in made:
        await store.create_chat_message(message)
    expected = sorted(made, key=lambda m: (m.created_at, m.id), reverse=True)
    for limit in (1, 4, 22, 23, 30):
        seen = await collect(
            lambda limit, cursor: store.list_chat_messages(created.id, limit=limit, cursor=cursor),
            limit,
        )
        assert seen == expected
    page = await store.list_chat_messages(created.id, limit=22)
    assert len(page.items) == 22 and page.next_cursor is not None
    assert (await store.list_chat_messages(created.id, limit=23)).next_cursor is None


async def test_only_members_can_post_to_a_chat(store: Store) -> None:
    created, a, b, _ = await trio(store)
    outsider = await user(store, f"outsider{uuid.uuid4().hex[:6]}")
    with pytest.raises(Conflict) as refused:
        await store.create_chat_message(chat(created.id, outsider.id, at(1)))
    assert refused.value.code == "not_a_member"
    assert refused.value.details == {"user_ids": [outsider.id]}

    await store.remove_member(created.id, b.id)
    with pytest.raises(Conflict) as refused:
        await store.create_chat_message(chat(created.id, b.id, at(2)))
    assert refused.value.code == "not_a_member"
    assert await all_chat(store, created.id) == []

    with pytest.raises(NotFound):
        await store.create_chat_message(chat("no-such-group", a.id, at(3)))
    assert await all_chat(store, "no-such-group") == []


async def test_a_chat_message_is_stored_once(store: Store) -> None:
    created, a, _, _ = await trio(store)
    message = chat(created.id, a.id, at(1))
    await store.create_chat_message(message)
    with pytest.raises(Conflict) as refused:
        await store.create_chat_message(message)
    assert refused.value.code == "chat_message_exists"
    assert await all_chat(store, created.id) == [message]


async def test_chat_cursors_are_checked(store: Store) -> None:
    created, a, b, _ = await trio(store)
    for i in range(3):
        await store.create_chat_message(chat(created.id, a.id, at(i)))
    await store.add_member(
        created.id, (await user(store, "late")).id, at(9), activity(created.id, "member.joined", "late")
    )
    await store.remove_member(created.id, b.id, activity(created.id, "member.left", b.id))
    cursor = (await store.list_chat_messages(created.id, limit=1)).next_cursor
    assert cursor is not None
    assert len((await store.list_chat_messages(created.id, limit=1, cursor=cursor)).items) == 1
    foreign = (await store.list_activity(created.id, limit=1)).next_cursor
    assert foreign is not None
    for bad in [
        "garbage!",
        encode_cursor("chat", 7),
        encode_cursor("chat", ["a"]),
        encode_cursor("chat", ["not a time", "x"]),
        encode_cursor("chat", [1, 2]),
        foreign,
    ]:
        with pytest.raises(BadRequest) as refused:
            await store.list_chat_messages(created.id, limit=1, cursor=bad)
        assert refused.value.code == "invalid_cursor"
