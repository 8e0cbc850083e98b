"""Store contract, the user's own changes log (issue 14): memberships added and removed (groups
and direct ledgers), profile updates, notifications stored and the read mark moved each log one
change for the user they concern, in the same atomic write, numbered in commit order per user.
Both backends."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from domain import Conflict, UserChange
from domain.models import MAX_GROUP_MEMBERS
from store.base import NOTIFICATIONS_PER_WRITE, NewGroup, Notification, Store
from tests.store.builders import T0, activity, at, expense, group, moves, trio, user, users

_ids = iter(range(1, 10**6))


def _note(user_id: str) -> Notification:
    return Notification(
        id=f"{next(_ids):032x}",
        user_id=user_id,
        kind="expense.created",
        actor_id="actor",
        actor_name="Ann",
        summary="Ann added Dinner",
        link={"kind": "expense", "group_id": "g1", "expense_id": "e1"},
        created_at=T0,
    )


def _plain(changes: list[UserChange]) -> list[tuple[str, str, str]]:
    return [(c.kind, c.id, c.op) for c in changes]


async def _all(store: Store, user_id: str, after: int = 0) -> list[UserChange]:
    changes, more = await store.list_user_changes(user_id, after=after, limit=1000)
    assert not more
    seqs = [c.seq for c in changes]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs) and all(s > after for s in seqs)
    return changes


async def test_memberships_profile_and_notifications_are_logged_for_their_user(store: Store) -> None:
    created, a, b, c = await trio(store)
    assert _plain(await _all(store, a.id)) == [("group", created.id, "upsert")]
    assert _plain(await _all(store, b.id)) == [("group", created.id, "upsert")]
    mark_b = await store.last_user_change(b.id)
    mark_a = await store.last_user_change(a.id)

    await store.update_profile(b.id, changes={"name": "Bobby"})
    note = _note(b.id)
    await store.add_notifications([note, _note(c.id)])
    await store.mark_notifications_read(b.id, note.id)
    await store.remove_member(created.id, b.id, activity(created.id, "member.left", b.id))

    assert _plain(await _all(store, b.id, after=mark_b)) == [
        ("profile", b.id, "upsert"),
        ("notification", note.id, "upsert"),
        ("read", note.id, "upsert"),
        ("group", created.id, "delete"),
    ]
    assert await store.last_user_change(b.id) == (await _all(store, b.id))[-1].seq
    assert await _all(store, a.id, after=mark_a) == []  # others' changes are not theirs


async def test_rejoining_and_deleting_a_group_log_for_every_member(store: Store) -> None:
    created, a, b, c = await trio(store)
    await store.remove_member(created.id, c.id)
    await store.add_member(created.id, c.id, at(3))
    again, is_new = await store.add_member(created.id, c.id, at(4))
    assert not is_new and again.user_id == c.id
    assert _plain(await _all(store, c.id)) == [
        ("group", created.id, "upsert"),
        ("group", created.id, "delete"),
        ("group", created.id, "upsert"),  # and nothing for the add that added nobody
    ]
    marks = {u.id: await store.last_user_change(u.id) for u in (a, b, c)}

    await store.delete_group(created.id)

    for member in (a, b, c):
        assert _plain(await _all(store, member.id, after=marks[member.id])) == [
            ("group", created.id, "delete")
        ]


async def test_a_full_group_logs_every_member_when_it_is_deleted(store: Store) -> None:
    """DynamoDB allows 100 actions per transaction; a group of MAX_GROUP_MEMBERS must still tell
    each of them."""
    owner = await user(store, "owner")
    created = await group(store, owner)
    others = await users(store, MAX_GROUP_MEMBERS - 1, prefix="full")
    for n, member in enumerate(others):
        await store.add_member(created.id, member.id, at(n))
    marks = {m.id: await store.last_user_change(m.id) for m in [owner, *others]}

    await store.delete_group(created.id)

    for member in [owner, *others]:
        assert _plain(await _all(store, member.id, after=marks[member.id])) == [
            ("group", created.id, "delete")
        ]


async def test_a_refused_write_logs_nothing(store: Store) -> None:
    created, a, b, _ = await trio(store)
    owed = expense(created.id, {a.id: 600}, {a.id: 300, b.id: 300})
    await store.create_expense(owed, deltas=moves(owed), activity=activity(created.id, "add", owed.id))
    marks = {u.id: await store.last_user_change(u.id) for u in (a, b)}

    with pytest.raises(Conflict):
        await store.remove_member(created.id, b.id)
    with pytest.raises(Conflict):
        await store.delete_group(created.id)

    for member in (a, b):
        assert await store.last_user_change(member.id) == marks[member.id]


async def test_a_direct_ledger_logs_a_friend_for_both(store: Store) -> None:
    a, b = await users(store, 2, prefix="friend")
    made, _ = await store.ensure_direct_group(
        NewGroup(
            id=uuid.uuid4().hex,
            name="a & b",
            description="",
            default_currency="GBP",
            owner_id=a.id,
            created_at=T0,
        ),
        b.id,
    )
    await store.end_direct_group(made.id)

    for member in (a, b):
        assert _plain(await _all(store, member.id)) == [
            ("friend", made.id, "upsert"),
            ("friend", made.id, "delete"),
        ]


async def test_notifications_for_the_most_recipients_per_write_are_each_logged(store: Store) -> None:
    notes = [_note(f"many-{n}") for n in range(NOTIFICATIONS_PER_WRITE)]
    await store.add_notifications(notes)
    for note in notes:
        assert _plain(await _all(store, note.user_id)) == [("notification", note.id, "upsert")]
        assert (await store.notification_state(note.user_id)).unread == 1


async def test_pages_and_concurrent_writes_number_without_gaps(store: Store) -> None:
    someone = await user(store, "busy")
    owners = await users(store, 6, prefix="owner")
    groups = [await group(store, owner) for owner in owners]

    await asyncio.gather(
        *(store.add_member(g.id, someone.id, at(n)) for n, g in enumerate(groups)),
        *(store.add_notifications([_note(someone.id)]) for _ in range(4)),
        store.update_profile(someone.id, changes={"name": "Busy B"}),
    )

    everything = await _all(store, someone.id)
    assert len(everything) == len(groups) + 4 + 1
    assert {c.id for c in everything if c.kind == "group"} == {g.id for g in groups}
    pages: list[UserChange] = []
    after = 0
    while True:
        page, more = await store.list_user_changes(someone.id, after=after, limit=4)
        pages += page
        if not more:
            break
        after = page[-1].seq
    assert pages == everything
    assert await store.list_user_changes("nobody", after=0, limit=10) == ([], False)
    assert await store.last_user_change("nobody") == 0


async def test_account_deletion_forgets_the_log(store: Store) -> None:
    created, a, b, _ = await trio(store)
    await store.add_notifications([_note(b.id)])
    assert await store.last_user_change(b.id) > 0

    await store.delete_user_changes(b.id)

    assert await store.list_user_changes(b.id, after=0, limit=10) == ([], False)
    assert await store.last_user_change(b.id) == 0
    assert _plain(await _all(store, a.id)) == [("group", created.id, "upsert")]  # theirs stays


async def test_a_sign_in_that_refreshes_the_profile_logs_it_once(store: Store) -> None:
    first = await store.ensure_oidc_user("issuer|s1", "sam@example.com", "Sam", None)
    mark = await store.last_user_change(first.id)

    await store.ensure_oidc_user("issuer|s1", "sam@example.com", "Sam", None)  # nothing new
    assert await store.last_user_change(first.id) == mark
    await store.ensure_oidc_user("issuer|s1", "sam@example.com", "Samuel", "https://pic.example/s")
    assert _plain(await _all(store, first.id, after=mark)) == [("profile", first.id, "upsert")]

    named = await store.update_profile(first.id, changes={"name": "Sam S"})
    mark = await store.last_user_change(first.id)
    again = await store.ensure_oidc_user("issuer|s1", "sam@example.com", "Other", None)
    assert again.name == named.name and await store.last_user_change(first.id) == mark
