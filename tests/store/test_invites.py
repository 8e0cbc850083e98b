"""Store contract, invites: stored by token hash, gone with their group, kept once expired."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from domain import Conflict, NotFound
from domain.models import Invite
from store.base import Store
from tests.store.builders import at, group, user


async def test_invites(store: Store) -> None:
    owner = await user(store, "owner")
    created = await group(store, owner)
    invite = Invite(
        token_hash="hash-1",
        group_id=created.id,
        created_by=owner.id,
        created_at=at(0),
        expires_at=datetime.now(timezone.utc) + timedelta(days=7),
    )
    await store.create_invite(invite)
    stored = await store.get_invite("hash-1")
    assert stored == Invite(
        token_hash="hash-1",
        group_id=created.id,
        created_by=owner.id,
        created_at=at(0),
        expires_at=stored.expires_at,
    )
    assert abs(stored.expires_at - invite.expires_at) < timedelta(microseconds=1)
    with pytest.raises(NotFound):
        await store.get_invite("hash-2")
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
