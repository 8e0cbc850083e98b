"""Store contract, invites: stored by token hash and named by id, gone with their group, kept once
expired; listed while live, revoked, accepted with their uses counted in the join's own write, dead
once their maker leaves; and a removed member kept out of links made before the removal."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest

from domain import BadRequest, Conflict, Forbidden, Gone, NotFound
from domain.models import Invite, Page
from store.base import Store
from tests.store.builders import activity, all_activity, at, collect, group, trio, user

NOW = datetime.now(timezone.utc).replace(microsecond=0)
"""Invites are dated near the real time: SQLite purges long-expired ones when one is stored."""


def link(
    group_id: str, maker: str, n: int, *, created: int = 0, hours: int = 24, max_uses: int | None = None
) -> Invite:
    """Invite number `n` (ids in order of `n`), made `created` minutes after NOW."""
    return Invite(
        token_hash=f"hash-{group_id}-{n}",
        group_id=group_id,
        created_by=maker,
        created_at=NOW + timedelta(minutes=created),
        expires_at=NOW + timedelta(minutes=created, hours=hours),
        id=f"invite-{n:04d}",
        max_uses=max_uses,
    )


def later(minutes: int) -> datetime:
    return NOW + timedelta(minutes=minutes)


async def test_invites(store: Store) -> None:
    owner = await user(store, "owner")
    created = await group(store, owner)
    invite = Invite(
        token_hash="hash-1",
        group_id=created.id,
        created_by=owner.id,
        created_at=at(0),
        expires_at=datetime.now(timezone.utc) + timedelta(days=7),
        id="invite-1",
        max_uses=3,
    )
    await store.create_invite(invite)
    stored = await store.get_invite("hash-1")
    assert stored == Invite(
        token_hash="hash-1",
        group_id=created.id,
        created_by=owner.id,
        created_at=at(0),
        expires_at=stored.expires_at,
        id="invite-1",
        max_uses=3,
        uses=0,
    )
    assert abs(stored.expires_at - invite.expires_at) < timedelta(microseconds=1)
    assert await store.get_group_invite(created.id, "invite-1") == stored
    with pytest.raises(NotFound):
        await store.get_invite("hash-2")
    with pytest.raises(NotFound):
        await store.get_group_invite(created.id, "invite-2")
    other = await group(store, owner)
    with pytest.raises(NotFound):
        await store.get_group_invite(other.id, "invite-1")
    with pytest.raises(NotFound):
        await store.create_invite(
            Invite(
                token_hash="hash-3",
                group_id="no-such-group",
                created_by=owner.id,
                created_at=at(0),
                expires_at=at(60),
            )
        )
    await store.delete_group(created.id)
    with pytest.raises(NotFound):
        await store.get_invite("hash-1")
    with pytest.raises(NotFound):
        await store.get_group_invite(created.id, "invite-1")


async def test_an_expired_invite_is_still_there_to_be_judged(store: Store) -> None:
    owner = await user(store, "owner")
    created = await group(store, owner)
    now = datetime.now(timezone.utc)

    def invite(token_hash: str, expires_at: datetime) -> Invite:
        return Invite(
            token_hash=token_hash,
            group_id=created.id,
            created_by=owner.id,
            created_at=now - timedelta(days=2),
            expires_at=expires_at,
        )

    await store.create_invite(invite("expired-yesterday", now - timedelta(days=1)))
    await store.create_invite(invite("fresh", now + timedelta(days=1)))
    assert (await store.get_invite("expired-yesterday")).expires_at < now
    with pytest.raises(Conflict):
        await store.create_invite(invite("fresh", now + timedelta(days=2)))


async def test_only_a_member_makes_invites(store: Store) -> None:
    created, a, _, _ = await trio(store)
    stranger = await user(store, "stranger")

    with pytest.raises(NotFound):
        await store.create_invite(link(created.id, stranger.id, 1))

    await store.create_invite(link(created.id, a.id, 2))
    with pytest.raises(Conflict):
        await store.create_invite(link(created.id, a.id, 2))


async def test_list_invites_pages_the_live_ones_newest_first(store: Store) -> None:
    created, a, b, _ = await trio(store)
    for n in range(5):
        await store.create_invite(link(created.id, a.id if n % 2 else b.id, n))
    await store.create_invite(link(created.id, a.id, 10, created=-120, hours=1))  # expired
    await store.create_invite(link(created.id, a.id, 11, max_uses=1))
    joiner = await user(store, "joiner")
    await store.accept_invite(
        await store.get_invite(f"hash-{created.id}-11"),
        joiner.id,
        later(1),
        activity(created.id, "member.joined", joiner.id),
    )  # used up

    async def fetch(*, limit: int, cursor: str | None) -> Page[Invite]:
        return await store.list_invites(created.id, now=later(2), limit=limit, cursor=cursor)

    listed = await collect(fetch, limit=2)

    assert [i.id for i in listed] == [f"invite-{n:04d}" for n in (4, 3, 2, 1, 0)]
    assert listed[0] == await store.get_group_invite(created.id, "invite-0004")
    assert (await store.list_invites(created.id, now=later(2), limit=100)).next_cursor is None
    assert (await store.list_invites("no-such-group", now=later(2), limit=10)).items == []
    with pytest.raises(BadRequest):
        await store.list_invites(created.id, now=later(2), limit=2, cursor="bm90LW91cnM")


async def test_revoke_invite(store: Store) -> None:
    created, a, _, _ = await trio(store)
    await store.create_invite(link(created.id, a.id, 1))
    await store.create_invite(link(created.id, a.id, 2))
    revoked = activity(created.id, "invite.revoked", "invite-0001", actor_id=a.id)

    await store.revoke_invite(created.id, "invite-0001", revoked)

    with pytest.raises(NotFound):
        await store.get_invite(f"hash-{created.id}-1")
    with pytest.raises(NotFound):
        await store.get_group_invite(created.id, "invite-0001")
    assert [i.id for i in (await store.list_invites(created.id, now=later(1), limit=10)).items] == [
        "invite-0002"
    ]
    assert revoked in await all_activity(store, created.id)
    with pytest.raises(NotFound):
        await store.revoke_invite(created.id, "invite-0001", activity(created.id, "invite.revoked", "x"))
    other = await group(store, a)
    with pytest.raises(NotFound):
        await store.revoke_invite(other.id, "invite-0002", activity(other.id, "invite.revoked", "x"))
    assert (await store.get_invite(f"hash-{created.id}-2")).id == "invite-0002"


async def test_accept_invite_counts_uses(store: Store) -> None:
    created, a, b, _ = await trio(store)
    await store.create_invite(link(created.id, a.id, 1, max_uses=2))
    invite = await store.get_invite(f"hash-{created.id}-1")
    first, second, third = [await user(store, name) for name in ("first", "second", "third")]
    joined = activity(created.id, "member.joined", "first")

    member, is_new = await store.accept_invite(invite, first.id, later(1), joined)
    assert is_new and member.role == "member" and member.joined_at == later(1)
    assert (await store.get_invite(invite.token_hash)).uses == 1
    assert joined in await all_activity(store, created.id)

    existing, is_new = await store.accept_invite(
        invite, b.id, later(2), activity(created.id, "member.joined", "b")
    )
    assert not is_new and existing.user_id == b.id
    maker, is_new = await store.accept_invite(
        invite, a.id, later(2), activity(created.id, "member.joined", "a")
    )
    assert not is_new and maker.role == "owner"
    assert (await store.get_invite(invite.token_hash)).uses == 1, "an existing member uses nothing"

    _, is_new = await store.accept_invite(
        invite, second.id, later(3), activity(created.id, "member.joined", "2")
    )
    assert is_new
    with pytest.raises(Gone) as used_up:
        await store.accept_invite(invite, third.id, later(4), activity(created.id, "member.joined", "3"))
    assert used_up.value.code == "invite_used_up"
    assert (await store.get_invite(invite.token_hash)).uses == 2
    assert (await store.get_group(created.id)).member_count == 5


async def test_accept_invite_refuses_what_is_dead(store: Store) -> None:
    created, a, _, _ = await trio(store)
    await store.create_invite(link(created.id, a.id, 1, hours=1))
    invite = await store.get_invite(f"hash-{created.id}-1")
    joiner = await user(store, "joiner")

    with pytest.raises(Gone) as expired:
        await store.accept_invite(invite, joiner.id, later(60), activity(created.id, "member.joined", "j"))
    assert expired.value.code == "invite_expired"
    with pytest.raises(NotFound):
        await store.accept_invite(
            invite, "no-such-user", later(1), activity(created.id, "member.joined", "j")
        )
    await store.revoke_invite(created.id, invite.id, activity(created.id, "invite.revoked", invite.id))
    with pytest.raises(NotFound):
        await store.accept_invite(invite, joiner.id, later(1), activity(created.id, "member.joined", "j"))
    assert (await store.get_group(created.id)).member_count == 3


async def test_concurrent_accepts_of_a_one_use_link_let_exactly_one_in(store: Store) -> None:
    created, a, _, _ = await trio(store)
    await store.create_invite(link(created.id, a.id, 1, max_uses=1))
    invite = await store.get_invite(f"hash-{created.id}-1")
    joiners = [await user(store, f"racer{n}") for n in range(4)]

    results = await asyncio.gather(
        *(
            store.accept_invite(invite, j.id, later(1), activity(created.id, "member.joined", j.id))
            for j in joiners
        ),
        return_exceptions=True,
    )

    assert sum(1 for r in results if isinstance(r, tuple) and r[1]) == 1, results
    assert all(
        isinstance(r, Gone) and r.code == "invite_used_up" for r in results if not isinstance(r, tuple)
    )
    assert (await store.get_invite(invite.token_hash)).uses == 1
    assert (await store.get_group(created.id)).member_count == 4


async def test_a_leavers_invites_die_with_their_membership(store: Store) -> None:
    created, a, b, _ = await trio(store)
    await store.create_invite(link(created.id, b.id, 1))
    await store.create_invite(link(created.id, a.id, 2))
    invite = await store.get_invite(f"hash-{created.id}-1")

    await store.remove_member(created.id, b.id, activity(created.id, "member.left", b.id))

    with pytest.raises(NotFound):
        await store.get_invite(invite.token_hash)
    with pytest.raises(NotFound):
        await store.get_group_invite(created.id, invite.id)
    joiner = await user(store, "joiner")
    with pytest.raises(NotFound):
        await store.accept_invite(invite, joiner.id, later(1), activity(created.id, "member.joined", "j"))
    await store.add_member(created.id, b.id, later(2))
    with pytest.raises(NotFound):
        await store.get_invite(invite.token_hash)
    assert [i.id for i in (await store.list_invites(created.id, now=later(3), limit=10)).items] == [
        "invite-0002"
    ]


async def test_a_removed_member_cannot_rejoin_through_an_older_link(store: Store) -> None:
    created, a, b, c = await trio(store)
    await store.create_invite(link(created.id, a.id, 1, created=-10))
    old = await store.get_invite(f"hash-{created.id}-1")

    await store.remove_member(
        created.id, b.id, activity(created.id, "member.removed", b.id), barred_at=later(0)
    )
    await store.remove_member(created.id, c.id, activity(created.id, "member.left", c.id))

    with pytest.raises(Forbidden) as refused:
        await store.accept_invite(old, b.id, later(1), activity(created.id, "member.joined", b.id))
    assert refused.value.code == "removed_from_group"
    _, is_new = await store.accept_invite(old, c.id, later(1), activity(created.id, "member.joined", c.id))
    assert is_new, "who left of their own accord may come back"
    assert (await store.get_invite(old.token_hash)).uses == 1
    await store.create_invite(link(created.id, a.id, 2, created=5))
    newer = await store.get_invite(f"hash-{created.id}-2")
    _, is_new = await store.accept_invite(newer, b.id, later(6), activity(created.id, "member.joined", b.id))
    assert is_new, "a link made after the removal lets them back"
    assert (await store.get_group(created.id)).member_count == 3
