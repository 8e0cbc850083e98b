"""Store contract, group roles: handing ownership over and setting members' roles, atomically with
their activity entries and safe against concurrent membership changes."""

from __future__ import annotations

import asyncio

import pytest

from domain import ActivityEntry, Conflict, Invalid, Member, NotFound
from store.base import Store
from tests.store.builders import activity, all_activity, at, group, user


async def test_transfer_ownership_moves_owner_and_roles_atomically(store: Store) -> None:
    owner, heir, other = [await user(store, name) for name in ("owner", "heir", "other")]
    created = await group(store, owner)
    await store.add_member(created.id, other.id, at(1))
    await store.add_member(created.id, heir.id, at(2))
    created = await store.get_group(created.id)
    entry = activity(created.id, "group.owner_changed", heir.id, actor_id=owner.id)

    changed = await store.transfer_ownership(created.id, from_user=owner.id, to_user=heir.id, activity=entry)

    assert changed.owner_id == heir.id
    assert changed.version == created.version + 1
    assert changed.updated_at == entry.at
    assert changed == await store.get_group(created.id)
    members = await store.list_members(created.id)
    # Owner first, then by join time, as list_members promises.
    assert [(m.user_id, m.role) for m in members] == [
        (heir.id, "owner"),
        (owner.id, "admin"),
        (other.id, "member"),
    ]
    *_, ids = await store.get_group_with_member_ids(created.id, other.id)
    assert ids == [heir.id, owner.id, other.id]
    assert (await store.get_group_as_member(created.id, owner.id))[1].role == "admin"
    assert entry in await all_activity(store, created.id)
    [mine] = (await store.list_user_groups(heir.id, limit=10)).items
    assert (mine.role, mine.group.owner_id) == ("owner", heir.id)


async def test_former_owner_may_leave_after_the_handover(store: Store) -> None:
    owner, heir = await user(store, "owner"), await user(store, "heir")
    created = await group(store, owner)
    await store.add_member(created.id, heir.id, at(1))
    with pytest.raises(Conflict) as refused:
        await store.remove_member(created.id, owner.id)
    assert refused.value.code == "owner_cannot_leave"

    await store.transfer_ownership(
        created.id,
        from_user=owner.id,
        to_user=heir.id,
        activity=activity(created.id, "group.owner_changed", heir.id),
    )
    await store.remove_member(created.id, owner.id)

    assert [(m.user_id, m.role) for m in await store.list_members(created.id)] == [(heir.id, "owner")]
    # The owner may go only as the last member (account deletion); the group stays, memberless.
    await store.remove_member(created.id, heir.id)
    assert await store.list_members(created.id) == []
    assert (await store.get_group(created.id)).member_count == 0


async def test_transfer_ownership_refusals_change_nothing(store: Store) -> None:
    owner, member, outsider = [await user(store, name) for name in ("owner", "member", "outsider")]
    created = await group(store, owner)
    await store.add_member(created.id, member.id, at(1))
    created = await store.get_group(created.id)
    before = await store.list_members(created.id)

    def entry() -> ActivityEntry:
        return activity(created.id, "group.owner_changed", "x")

    with pytest.raises(NotFound):
        await store.transfer_ownership(created.id, from_user=owner.id, to_user=outsider.id, activity=entry())
    with pytest.raises(NotFound):
        await store.transfer_ownership(
            "no-such-group", from_user=owner.id, to_user=member.id, activity=entry()
        )
    with pytest.raises(Conflict) as not_owner:
        await store.transfer_ownership(created.id, from_user=member.id, to_user=owner.id, activity=entry())
    assert not_owner.value.code == "owner_changed"
    with pytest.raises(Invalid):
        await store.transfer_ownership(created.id, from_user=owner.id, to_user=owner.id, activity=entry())

    assert await store.get_group(created.id) == created
    assert await store.list_members(created.id) == before
    assert await all_activity(store, created.id) == []


async def test_two_concurrent_handovers_leave_exactly_one_owner(store: Store) -> None:
    owner, bob, carol = [await user(store, name) for name in ("owner", "bob", "carol")]
    created = await group(store, owner)
    await store.add_member(created.id, bob.id, at(1))
    await store.add_member(created.id, carol.id, at(2))

    results = await asyncio.gather(
        *(
            store.transfer_ownership(
                created.id,
                from_user=owner.id,
                to_user=heir.id,
                activity=activity(created.id, "group.owner_changed", heir.id),
            )
            for heir in (bob, carol)
        ),
        return_exceptions=True,
    )

    won = [r for r in results if not isinstance(r, BaseException)]
    lost = [r for r in results if isinstance(r, BaseException)]
    assert len(won) == 1 and len(lost) == 1, results
    assert isinstance(lost[0], Conflict) and lost[0].code == "owner_changed"
    final = await store.get_group(created.id)
    assert final == won[0]
    assert final.version == created.version + 1
    roles = {m.user_id: m.role for m in await store.list_members(created.id)}
    assert [uid for uid, role in roles.items() if role == "owner"] == [final.owner_id]
    assert roles[owner.id] == "admin"
    assert len([e for e in await all_activity(store, created.id) if e.action == "group.owner_changed"]) == 1


async def test_handover_and_the_heir_leaving_at_once_never_leave_the_group_ownerless(store: Store) -> None:
    for round_ in range(3):
        owner, heir = await user(store, f"owner{round_}"), await user(store, f"heir{round_}")
        created = await group(store, owner)
        await store.add_member(created.id, heir.id, at(1))

        results = await asyncio.gather(
            store.transfer_ownership(
                created.id,
                from_user=owner.id,
                to_user=heir.id,
                activity=activity(created.id, "group.owner_changed", heir.id),
            ),
            store.remove_member(created.id, heir.id),
            return_exceptions=True,
        )

        assert sum(not isinstance(r, BaseException) for r in results) == 1, results
        final = await store.get_group(created.id)
        members = await store.list_members(created.id)
        assert [m.user_id for m in members if m.role == "owner"] == [final.owner_id]
        assert final.owner_id in {m.user_id for m in members}


async def test_set_member_role_makes_admins_and_back(store: Store) -> None:
    owner = await store.ensure_user("owner@example.com", "Owner")
    member = await store.ensure_user("member@example.com", "Member", "https://pic/member")
    created = await group(store, owner)
    await store.add_member(created.id, member.id, at(1))
    created = await store.get_group(created.id)
    promote = activity(created.id, "member.role_changed", member.id, actor_id=owner.id)

    admin = await store.set_member_role(created.id, member.id, "admin", promote)

    [_, listed] = await store.list_members(created.id)
    assert admin == listed
    assert (admin.role, admin.joined_at, admin.name, admin.email, admin.picture) == (
        "admin",
        at(1),
        "Member",
        "member@example.com",
        "https://pic/member",
    )
    assert (await store.get_group_as_member(created.id, member.id))[1].role == "admin"
    demote = activity(created.id, "member.role_changed", member.id, actor_id=owner.id)
    assert (await store.set_member_role(created.id, member.id, "member", demote)).role == "member"
    logged = await all_activity(store, created.id)
    assert promote in logged and demote in logged
    # A role change is not a change of the group itself.
    assert await store.get_group(created.id) == created


async def test_set_member_role_refusals_change_nothing(store: Store) -> None:
    owner, member, outsider = [await user(store, name) for name in ("owner", "member", "outsider")]
    created = await group(store, owner)
    await store.add_member(created.id, member.id, at(1))
    created = await store.get_group(created.id)
    before = await store.list_members(created.id)

    with pytest.raises(NotFound):
        await store.set_member_role(
            created.id, outsider.id, "admin", activity(created.id, "member.role_changed", "x")
        )
    with pytest.raises(NotFound):
        await store.set_member_role(
            "no-such-group", member.id, "admin", activity(created.id, "member.role_changed", "x")
        )
    with pytest.raises(Conflict) as owner_role:
        await store.set_member_role(
            created.id, owner.id, "member", activity(created.id, "member.role_changed", "x")
        )
    assert owner_role.value.code == "owner_role"
    with pytest.raises(Invalid):
        await store.set_member_role(
            created.id, member.id, "owner", activity(created.id, "member.role_changed", "x")
        )

    assert await store.list_members(created.id) == before
    assert await all_activity(store, created.id) == []


async def test_set_member_role_on_a_member_who_left_does_not_bring_them_back(store: Store) -> None:
    owner, member = await user(store, "owner"), await user(store, "member")
    created = await group(store, owner)
    await store.add_member(created.id, member.id, at(1))

    results = await asyncio.gather(
        store.set_member_role(
            created.id, member.id, "admin", activity(created.id, "member.role_changed", member.id)
        ),
        store.remove_member(created.id, member.id),
        return_exceptions=True,
    )

    assert not isinstance(results[1], BaseException), results
    # Either the role changed before the member left, or the change found them gone.
    assert isinstance(results[0], NotFound) or (isinstance(results[0], Member) and results[0].role == "admin")
    assert [m.user_id for m in await store.list_members(created.id)] == [owner.id]
    with pytest.raises(NotFound):
        await store.get_group_as_member(created.id, member.id)
