"""Store contract, people: profile settings, who may look whom up, and users by id in one read."""

from __future__ import annotations

import pytest

from domain import NotFound
from store.base import Store
from tests.store.builders import at, group, user, users


async def test_update_profile_changes_only_what_it_is_given(store: Store) -> None:
    ann = await user(store, "ann")
    assert (ann.default_currency, ann.locale, ann.name_set) == ("USD", None, False)

    renamed = await store.update_profile(ann.id, changes={"name": "Annie"})
    assert (renamed.name, renamed.name_set, renamed.default_currency) == ("Annie", True, "USD")

    settings = await store.update_profile(ann.id, changes={"default_currency": "EUR", "locale": "pt-BR"})
    assert (settings.name, settings.default_currency, settings.locale) == ("Annie", "EUR", "pt-BR")
    cleared = await store.update_profile(ann.id, changes={"locale": None})
    assert cleared.locale is None and cleared.default_currency == "EUR"
    assert await store.get_user(ann.id) == cleared
    assert await store.update_profile(ann.id, changes={}) == cleared


async def test_update_profile_of_an_unknown_user(store: Store) -> None:
    with pytest.raises(NotFound):
        await store.update_profile("nobody", changes={"name": "X"})


async def test_sign_in_refreshes_the_profile_only_until_the_user_names_themselves(store: Store) -> None:
    first = await store.ensure_oidc_user("iss|s1", "pat@example.com", "Pat", "https://pic/1")
    again = await store.ensure_oidc_user("iss|s1", "pat@example.com", "Patricia", "https://pic/2")
    assert (again.id, again.name, again.picture) == (first.id, "Patricia", "https://pic/2")

    await store.update_profile(first.id, changes={"name": "P. Self"})
    kept = await store.ensure_oidc_user("iss|s1", "pat@example.com", "Provider Name", "https://pic/3")
    assert (kept.name, kept.picture, kept.name_set) == ("P. Self", "https://pic/2", True)
    assert await store.get_user(first.id) == kept


async def test_get_users_reads_many_at_once(store: Store) -> None:
    people = await users(store, 130, "many")
    wanted = [p.id for p in people] + [people[0].id, "unknown"]

    found = await store.get_users(wanted)

    assert found == {p.id: p for p in people}
    assert await store.get_users([]) == {}


async def test_who_can_see_whom(store: Store) -> None:
    ann, bob, cat, dan = [await user(store, name) for name in ("ann", "bob", "cat", "dan")]
    trip = await group(store, ann)
    await store.add_member(trip.id, bob.id, at(1))
    await store.add_member(trip.id, cat.id, at(2))
    other = await group(store, dan, name="Other")

    assert await store.can_see_user(ann.id, bob.id)
    assert await store.can_see_user(bob.id, ann.id)
    assert await store.can_see_user(ann.id, ann.id)
    assert not await store.can_see_user(ann.id, dan.id)
    assert not await store.can_see_user(dan.id, ann.id)
    assert not await store.can_see_user(ann.id, "unknown")
    assert not await store.can_see_user("unknown", "unknown")

    await store.remove_member(trip.id, cat.id)
    # A former member stays visible to the members; they no longer see the group's people.
    assert await store.can_see_user(ann.id, cat.id)
    assert await store.can_see_user(bob.id, cat.id)
    assert not await store.can_see_user(cat.id, ann.id)

    await store.add_member(other.id, cat.id, at(3))
    assert await store.can_see_user(cat.id, dan.id)
    assert not await store.can_see_user(dan.id, ann.id)
