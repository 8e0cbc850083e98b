"""The notification part of the store contract (issue 14 part 5), on both backends."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from domain import BadRequest, NotFound
from domain.ids import new_id
from store.base import NOTIFICATIONS_PER_WRITE, Notification, NotificationState, Store

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


_ids = iter(range(1, 10**6))


def _note(user_id: str, n: int, kind: str = "expense.created") -> Notification:
    return Notification(
        id=f"{next(_ids):032x}",  # ordered: new_id() within one millisecond is not
        user_id=user_id,
        kind=kind,
        actor_id="actor",
        actor_name="Ann",
        summary=f"Ann did thing {n}",
        link={"kind": "expense", "group_id": "g1", "expense_id": f"e{n}"},
        created_at=NOW + timedelta(seconds=n),
    )


async def test_add_list_page_and_count(store: Store) -> None:
    notes = [_note("u1", n) for n in range(5)]
    for note in notes:
        await store.add_notifications([note, _note("u2", 99)])
    assert await store.notification_state("u1") == NotificationState(unread=5)
    assert (await store.notification_state("u2")).unread == 5
    assert await store.notification_state("nobody") == NotificationState()

    first = await store.list_notifications("u1", limit=2)
    assert first.items == [notes[4], notes[3]]
    assert first.next_cursor is not None
    second = await store.list_notifications("u1", limit=2, cursor=first.next_cursor)
    assert second.items == [notes[2], notes[1]]
    assert second.next_cursor is not None
    third = await store.list_notifications("u1", limit=2, cursor=second.next_cursor)
    assert third.items == [notes[0]] and third.next_cursor is None
    with pytest.raises(BadRequest):
        await store.list_notifications("u1", limit=2, cursor="bogus")


async def test_mark_read_moves_the_mark_and_recounts(store: Store) -> None:
    notes = [_note("u1", n) for n in range(4)]
    await store.add_notifications(notes[:1])
    await store.add_notifications(notes[1:2])
    await store.add_notifications(notes[2:3])
    await store.add_notifications(notes[3:])
    state = await store.mark_notifications_read("u1", notes[1].id)
    assert state == NotificationState(unread=2, read_up_to=notes[1].id)
    assert await store.notification_state("u1") == state
    assert state.is_read(notes[0].id) and state.is_read(notes[1].id) and not state.is_read(notes[2].id)
    # Repeating, or naming an older one, changes nothing.
    assert await store.mark_notifications_read("u1", notes[1].id) == state
    assert await store.mark_notifications_read("u1", notes[0].id) == state
    later = _note("u1", 9)
    await store.add_notifications([later])
    assert (await store.notification_state("u1")).unread == 3
    assert await store.mark_notifications_read("u1", later.id) == NotificationState(0, later.id)


async def test_unknown_or_someone_elses_id_is_not_found(store: Store) -> None:
    theirs = _note("u2", 1)
    await store.add_notifications([theirs])
    with pytest.raises(NotFound):
        await store.mark_notifications_read("u1", theirs.id)
    with pytest.raises(NotFound):
        await store.mark_notifications_read("u1", new_id())
    assert await store.notification_state("u2") == NotificationState(unread=1)


async def test_the_most_per_write_and_deletion(store: Store) -> None:
    notes = [_note(f"user{n}", n) for n in range(NOTIFICATIONS_PER_WRITE)]
    await store.add_notifications(notes)
    assert (await store.notification_state(f"user{NOTIFICATIONS_PER_WRITE - 1}")).unread == 1
    with pytest.raises(ValueError):
        await store.add_notifications([_note("user0", 100 + n) for n in range(NOTIFICATIONS_PER_WRITE + 1)])
    mine = [_note("user0", n) for n in range(30)]
    for start in range(0, 30, 10):
        await store.add_notifications(mine[start : start + 10])
    assert (await store.notification_state("user0")).unread == 31
    await store.delete_notifications("user0")
    assert (await store.list_notifications("user0", limit=100)).items == []
    assert await store.notification_state("user0") == NotificationState()
    assert (await store.list_notifications("user1", limit=10)).items == [notes[1]]


async def test_get_notifications_by_id(store: Store) -> None:
    mine = [_note("u1", n) for n in range(3)]
    theirs = _note("u2", 9)
    await store.add_notifications([*mine, theirs])

    found = await store.get_notifications("u1", [mine[0].id, mine[2].id, theirs.id, "f" * 32])

    assert found == {mine[0].id: mine[0], mine[2].id: mine[2]}
    assert await store.get_notifications("u1", []) == {}
