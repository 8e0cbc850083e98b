"""Store contract, account deletion: the record stays, everything personal goes, tokens die, and
the same e-mail or sign-in identity makes a new user afterwards."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest

from domain import NotFound
from store.base import Store, TokenStanding
from tests.store.builders import T0, at, group, user


async def test_erasing_keeps_the_record_and_drops_what_is_personal(store: Store) -> None:
    signed_in = await store.ensure_oidc_user("https://idp|erase", "Era@Example.com", "Era", "https://p/e")
    assert await store.get_oidc_subject(signed_in.id) == "https://idp|erase"

    erased = await store.erase_user(signed_in.id, T0)

    assert (erased.id, erased.name, erased.email, erased.picture) == (signed_in.id, "", "", None)
    assert erased.deleted_at == T0 and erased.created_at == signed_in.created_at
    assert await store.get_user(signed_in.id) == erased
    assert await store.get_oidc_subject(signed_in.id) is None
    assert await store.find_user_by_email("era@example.com") is None


async def test_erasing_twice_keeps_the_first_moment(store: Store) -> None:
    someone = await user(store, "twice")
    await store.erase_user(someone.id, T0)
    again = await store.erase_user(someone.id, at(5))
    assert again.deleted_at == T0
    assert (await store.get_user(someone.id)).deleted_at == T0


async def test_every_token_of_an_erased_user_is_dead(store: Store) -> None:
    someone = await user(store, "tokens")
    assert await store.token_standing(someone.id, "jti-a") is TokenStanding.ACTIVE
    await store.erase_user(someone.id, T0)
    assert await store.token_standing(someone.id, "jti-a") is TokenStanding.UNKNOWN_USER
    await store.revoke_token("jti-b", datetime.now(timezone.utc) + timedelta(hours=1))
    assert await store.token_standing(someone.id, "jti-b") is not TokenStanding.ACTIVE


async def test_the_same_address_and_identity_make_a_new_user_afterwards(store: Store) -> None:
    first = await store.ensure_oidc_user("https://idp|again", "again@example.com", "Again", None)
    await store.erase_user(first.id, T0)

    by_identity = await store.ensure_oidc_user("https://idp|again", "again@example.com", "Again", None)
    assert by_identity.id != first.id
    assert (by_identity.email, by_identity.deleted_at) == ("again@example.com", None)
    assert await store.get_oidc_subject(by_identity.id) == "https://idp|again"
    assert (await store.get_user(first.id)).deleted_at == T0

    invited = await user(store, "byemail")
    await store.erase_user(invited.id, T0)
    fresh = await store.ensure_user("byemail@example.com", "Byemail")
    assert fresh.id != invited.id


async def test_two_erased_users_do_not_collide(store: Store) -> None:
    one, two = await user(store, "one"), await user(store, "two")
    await store.erase_user(one.id, T0)
    await store.erase_user(two.id, T0)
    assert (await store.get_user(one.id)).email == (await store.get_user(two.id)).email == ""


async def test_an_erased_user_stays_in_the_groups_history(store: Store) -> None:
    owner, leaver = await user(store, "keeper"), await user(store, "leaver")
    trip = await group(store, owner)
    await store.add_member(trip.id, leaver.id, at(1))
    await store.remove_member(trip.id, leaver.id)
    await store.erase_user(leaver.id, T0)
    assert [m.user_id for m in await store.list_members(trip.id)] == [owner.id]
    assert (await store.get_user(leaver.id)).name == ""


async def test_unknown_users_cannot_be_erased(store: Store) -> None:
    with pytest.raises(NotFound):
        await store.erase_user(uuid.uuid4().hex, T0)
    with pytest.raises(NotFound):
        await store.get_oidc_subject(uuid.uuid4().hex)
