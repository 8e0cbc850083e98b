"""Store contract, users: accounts by email, revoked tokens and sign-in identities."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from domain import Conflict, NotFound, User
from store.base import Store, TokenStanding
from tests.store.builders import T0, at, group, user


async def test_ping(store: Store) -> None:
    await store.ping()


async def test_ensure_user_is_idempotent_and_normalises_email(store: Store) -> None:
    first = await store.ensure_user("  Ann@Example.COM ", "Ann", "https://pic/ann")
    again = await store.ensure_user("ann@example.com", "Someone Else")
    assert first.email == "ann@example.com"
    assert (first.name, first.picture) == ("Ann", "https://pic/ann")
    assert again == first
    assert await store.get_user(first.id) == first
    assert await store.find_user_by_email("ANN@example.com ") == first
    assert await store.find_user_by_email("bob@example.com") is None
    bob = await store.ensure_user("bob@example.com", "Bob")
    assert bob.id != first.id and bob.picture is None


async def test_concurrent_ensure_user_creates_one_user(store: Store) -> None:
    created = await asyncio.gather(*(store.ensure_user("race@example.com", "Race") for _ in range(8)))
    assert len({u.id for u in created}) == 1
    assert await store.find_user_by_email("race@example.com") == created[0]


async def test_get_user_not_found(store: Store) -> None:
    with pytest.raises(NotFound):
        await store.get_user(uuid.uuid4().hex)


async def test_token_revocation(store: Store) -> None:
    holder = await user(store, "holder")
    expires = datetime.now(timezone.utc) + timedelta(hours=1)
    assert await store.token_standing(holder.id, "jti-1") is TokenStanding.ACTIVE
    await store.revoke_token("jti-1", expires)
    await store.revoke_token("jti-1", expires)
    assert await store.token_standing(holder.id, "jti-1") is TokenStanding.REVOKED
    assert await store.token_standing(holder.id, "jti-2") is TokenStanding.ACTIVE


async def test_token_of_an_unknown_user(store: Store) -> None:
    assert await store.token_standing("no-such-user", "jti-3") is TokenStanding.UNKNOWN_USER


async def test_unknown_users_cannot_own_or_join_groups(store: Store) -> None:
    ghost = User(id="no-such-user", email="ghost@example.com", name="Ghost", picture=None, created_at=T0)
    with pytest.raises(NotFound):
        await group(store, ghost)
    real = await group(store, await user(store, "real-owner"))
    with pytest.raises(NotFound):
        await store.add_member(real.id, ghost.id, at(1))
    assert (await store.get_group(real.id)).member_count == 1


async def test_oidc_sign_in_creates_then_finds_and_refreshes(store: Store) -> None:
    first = await store.ensure_oidc_user("https://idp|42", "Zoe@Example.com", "Zoe", None)
    assert (first.email, first.name, first.picture) == ("zoe@example.com", "Zoe", None)
    again = await store.ensure_oidc_user("https://idp|42", "zoe@example.com", "Zoe Q", "https://p/z")
    assert again.id == first.id
    assert (again.name, again.picture) == ("Zoe Q", "https://p/z")
    assert await store.get_user(first.id) == again


async def test_oidc_sign_in_links_an_account_made_by_email(store: Store) -> None:
    invited = await store.ensure_user("yan@example.com", "Yan")
    signed_in = await store.ensure_oidc_user("https://idp|7", "yan@example.com", "Yan Li", None)
    assert signed_in.id == invited.id
    assert signed_in.name == "Yan Li"
    with pytest.raises(Conflict) as caught:
        await store.ensure_oidc_user("https://idp|8", "yan@example.com", "Impostor", None)
    assert caught.value.code == "account_conflict"


async def test_concurrent_first_sign_ins_make_one_user(store: Store) -> None:
    users = await asyncio.gather(
        *(store.ensure_oidc_user("https://idp|99", "xi@example.com", "Xi", None) for _ in range(6))
    )
    assert len({u.id for u in users}) == 1
    found = await store.find_user_by_email("xi@example.com")
    assert found is not None
    assert found.id == users[0].id
