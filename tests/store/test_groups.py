"""Store contract, groups: creating, reading, paging, updating and deleting them, and their members."""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest

from domain import BadRequest, Conflict, Group, NotFound, PreconditionFailed
from domain.models import MAX_GROUP_MEMBERS
from store.base import NewGroup, Store
from store.cursor import encode_cursor
from tests.store.builders import T0, at, fill, group, user, users


async def test_create_and_get_group(store: Store) -> None:
    owner = await user(store, "owner")
    created = await store.create_group(
        NewGroup(
            id="g-1",
            name="Flat",
            description="rent & bills",
            default_currency="GBP",
            owner_id=owner.id,
            created_at=T0,
        )
    )
    assert created == Group(
        id="g-1",
        name="Flat",
        description="rent & bills",
        default_currency="GBP",
        owner_id=owner.id,
        member_count=1,
        version=1,
        created_at=T0,
        updated_at=T0,
    )
    assert await store.get_group("g-1") == created
    found, member = await store.get_group_as_member("g-1", owner.id)
    assert found == created
    assert (member.user_id, member.role, member.joined_at) == (owner.id, "owner", T0)


async def test_get_group_as_member_requires_group_and_membership(store: Store) -> None:
    owner, outsider = await user(store, "owner"), await user(store, "outsider")
    created = await group(store, owner)
    with pytest.raises(NotFound):
        await store.get_group_as_member(created.id, outsider.id)
    with pytest.raises(NotFound):
        await store.get_group_as_member("no-such-group", owner.id)
    with pytest.raises(NotFound):
        await store.get_group("no-such-group")


async def test_get_group_with_member_ids_reads_the_roster_in_member_order(store: Store) -> None:
    owner, early, late, outsider = [
        await user(store, name) for name in ("owner", "early", "late", "outsider")
    ]
    created = await group(store, owner)
    await store.add_member(created.id, late.id, at(20))
    await store.add_member(created.id, early.id, at(10))
    found, me, member_ids = await store.get_group_with_member_ids(created.id, late.id)
    assert found == await store.get_group(created.id)
    assert (me.user_id, me.role, me.joined_at) == (late.id, "member", at(20))
    assert member_ids == [owner.id, early.id, late.id]
    assert member_ids == [m.user_id for m in await store.list_members(created.id)]
    with pytest.raises(NotFound):
        await store.get_group_with_member_ids(created.id, outsider.id)
    with pytest.raises(NotFound):
        await store.get_group_with_member_ids("no-such-group", owner.id)


async def test_list_members_owner_first_then_by_join_time_with_profiles(store: Store) -> None:
    owner = await store.ensure_user("owner@example.com", "Owner", "https://pic/owner")
    late, early, middle = [await user(store, name) for name in ("late", "early", "mid")]
    created = await group(store, owner, created_at=at(10))
    await store.add_member(created.id, late.id, at(30))
    await store.add_member(created.id, early.id, at(5))
    await store.add_member(created.id, middle.id, at(20))
    members = await store.list_members(created.id)
    assert [m.user_id for m in members] == [owner.id, early.id, middle.id, late.id]
    assert [m.role for m in members] == ["owner", "member", "member", "member"]
    assert (members[0].email, members[0].name, members[0].picture) == (
        "owner@example.com",
        "Owner",
        "https://pic/owner",
    )
    assert (members[1].email, members[1].name, members[1].joined_at) == (
        "early@example.com",
        "Early",
        at(5),
    )
    assert await store.list_members("no-such-group") == []


async def test_list_user_groups_pages_newest_first_without_gaps(store: Store) -> None:
    me, other = await user(store, "me"), await user(store, "other")
    joined: list[tuple[datetime, str, str]] = []
    for i in range(4):
        mine = await group(store, me, created_at=at(i * 10), name=f"mine {i}")
        joined.append((at(i * 10), mine.id, "owner"))
        theirs = await group(store, other, created_at=at(i * 10), name=f"theirs {i}")
        # Joined at the same moment as `mine` was created: ties are broken by group id.
        await store.add_member(theirs.id, me.id, at(i * 10))
        joined.append((at(i * 10), theirs.id, "member"))
    await group(store, other, name="not mine")
    expected = [(group_id, role) for _, group_id, role in sorted(joined, reverse=True)]

    seen: list[tuple[str, str]] = []
    cursor: str | None = None
    pages = 0
    while True:
        page = await store.list_user_groups(me.id, limit=3, cursor=cursor)
        pages += 1
        assert len(page.items) == (3 if page.next_cursor else 2)
        seen += [(m.group.id, m.role) for m in page.items]
        assert all(m.group.member_count >= 1 for m in page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert pages == 3
    assert seen == expected
    everything = await store.list_user_groups(me.id, limit=8)
    newest_first = sorted((moment for moment, _, _ in joined), reverse=True)
    assert [m.joined_at for m in everything.items] == newest_first
    assert everything.next_cursor is None

    full = await store.list_user_groups(me.id, limit=4)
    rest = await store.list_user_groups(me.id, limit=4, cursor=full.next_cursor)
    assert len(rest.items) == 4 and rest.next_cursor is None
    assert (await store.list_user_groups(other.id, limit=100)).next_cursor is None
    assert (await store.list_user_groups("nobody", limit=5)).items == []


@pytest.mark.parametrize(
    "cursor",
    [
        "not a cursor!",
        "",
        encode_cursor("expenses", ["2024-03-01T12:00:00.000000Z", "g"]),
        encode_cursor("user_groups", "position"),
        encode_cursor("user_groups", ["only one"]),
        encode_cursor("user_groups", {"joined_at": "x"}),
    ],
)
async def test_list_user_groups_rejects_foreign_cursor(store: Store, cursor: str) -> None:
    me = await user(store, "me")
    with pytest.raises(BadRequest) as caught:
        await store.list_user_groups(me.id, limit=2, cursor=cursor)
    assert caught.value.code == "invalid_cursor"


async def test_update_group_bumps_version_and_refuses_stale_versions(store: Store) -> None:
    owner = await user(store, "owner")
    created = await group(store, owner)
    updated = await store.update_group(
        created.id,
        expected_version=1,
        changes={"name": "Ski trip", "default_currency": "CHF"},
        updated_at=at(5),
    )
    assert (updated.name, updated.default_currency, updated.description) == ("Ski trip", "CHF", "")
    assert (updated.version, updated.updated_at, updated.created_at) == (2, at(5), T0)
    assert await store.get_group(created.id) == updated

    with pytest.raises(PreconditionFailed) as caught:
        await store.update_group(created.id, expected_version=1, changes={"name": "Lost"}, updated_at=at(6))
    assert caught.value.details == {"current_version": 2}
    assert await store.get_group(created.id) == updated

    described = await store.update_group(
        created.id, expected_version=2, changes={"description": "Alps"}, updated_at=at(7)
    )
    assert (described.name, described.description, described.version) == ("Ski trip", "Alps", 3)

    with pytest.raises(NotFound):
        await store.update_group("no-such-group", expected_version=1, changes={}, updated_at=at(8))


async def test_delete_group_removes_it_and_every_membership(store: Store) -> None:
    owner, member = await user(store, "owner"), await user(store, "member")
    doomed, kept = await group(store, owner, at(1)), await group(store, owner, at(2))
    await store.add_member(doomed.id, member.id, at(3))
    await store.delete_group(doomed.id)
    with pytest.raises(NotFound):
        await store.get_group(doomed.id)
    with pytest.raises(NotFound):
        await store.get_group_as_member(doomed.id, owner.id)
    remaining = await store.list_user_groups(owner.id, limit=10)
    assert [m.group.id for m in remaining.items] == [kept.id]
    assert (await store.list_user_groups(member.id, limit=10)).items == []
    assert await store.list_members(doomed.id) == []
    with pytest.raises(NotFound):
        await store.delete_group(doomed.id)


async def test_add_member_is_idempotent(store: Store) -> None:
    owner, member = await user(store, "owner"), await user(store, "member")
    created = await group(store, owner)
    added, is_new = await store.add_member(created.id, member.id, at(1))
    assert is_new and (added.user_id, added.role, added.joined_at) == (member.id, "member", at(1))
    again, is_new = await store.add_member(created.id, member.id, at(2))
    assert not is_new and (again.role, again.joined_at) == ("member", at(1))
    owner_again, is_new = await store.add_member(created.id, owner.id, at(3))
    assert not is_new and owner_again.role == "owner"
    assert (await store.get_group(created.id)).member_count == 2
    with pytest.raises(NotFound):
        await store.add_member("no-such-group", member.id, at(4))


async def test_full_group_refuses_new_members(store: Store) -> None:
    owner, late = await user(store, "owner"), await user(store, "late")
    created = await group(store, owner)
    await fill(store, created.id, MAX_GROUP_MEMBERS - 1, "m")
    assert (await store.get_group(created.id)).member_count == MAX_GROUP_MEMBERS
    with pytest.raises(Conflict) as caught:
        await store.add_member(created.id, late.id, at(99))
    assert caught.value.code == "group_full"
    existing, is_new = await store.add_member(created.id, owner.id, at(99))
    assert not is_new and existing.role == "owner"
    assert len(await store.list_members(created.id)) == MAX_GROUP_MEMBERS


async def test_concurrent_add_member_never_exceeds_the_cap(store: Store) -> None:
    owner = await user(store, "owner")
    created = await group(store, owner)
    await fill(store, created.id, MAX_GROUP_MEMBERS - 4, "m")
    joiners = await users(store, 10, "j")
    results = await asyncio.gather(
        *(store.add_member(created.id, j.id, at(90)) for j in joiners), return_exceptions=True
    )
    added = [r for r in results if isinstance(r, tuple)]
    refused = [r for r in results if isinstance(r, Conflict)]
    assert len(added) == 3 and all(is_new for _, is_new in added)
    assert len(refused) == 7 and all(r.code == "group_full" for r in refused)
    assert (await store.get_group(created.id)).member_count == MAX_GROUP_MEMBERS
    assert len(await store.list_members(created.id)) == MAX_GROUP_MEMBERS


async def test_remove_member(store: Store) -> None:
    owner, member = await user(store, "owner"), await user(store, "member")
    created = await group(store, owner)
    await store.add_member(created.id, member.id, at(1))
    await store.remove_member(created.id, member.id)
    assert (await store.get_group(created.id)).member_count == 1
    assert [m.user_id for m in await store.list_members(created.id)] == [owner.id]
    assert (await store.list_user_groups(member.id, limit=5)).items == []
    with pytest.raises(NotFound):
        await store.remove_member(created.id, member.id)
    with pytest.raises(NotFound):
        await store.remove_member("no-such-group", member.id)
    _, is_new = await store.add_member(created.id, member.id, at(2))
    assert is_new and (await store.get_group(created.id)).member_count == 2
