"""The caller's profile: reading it, changing name, default currency and locale, and how that
meets sign-in (a name set by hand is no longer replaced) and new groups (their default currency)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.api.conftest import Actor, Api, store_agnostic
from tests.api.sign_in import sign_in_environ
from tests.api.test_login import Provider, sign_in
from tests.realtime.test_ws import connect


async def test_the_profile_has_every_setting(api: Api, alice: Actor) -> None:
    reply = await api.get("/api/user", as_=alice)

    assert reply.status == 200
    assert reply.json["id"] == alice.id
    assert (reply.json["email"], reply.json["name"]) == ("alice@example.com", "Alice")
    assert (reply.json["default_currency"], reply.json["locale"]) == ("USD", None)
    assert reply.json["created_at"].endswith("Z")


async def test_changing_name_currency_and_locale(api: Api, alice: Actor) -> None:
    reply = await api.patch(
        "/api/user",
        as_=alice,
        json={"name": "  Alice Liddell ", "default_currency": "EUR", "locale": "en-GB"},
    )

    assert reply.status == 200
    assert (reply.json["name"], reply.json["default_currency"], reply.json["locale"]) == (
        "Alice Liddell",
        "EUR",
        "en-GB",
    )
    assert (await api.get("/api/user", as_=alice)).json == reply.json

    cleared = await api.patch("/api/user", as_=alice, json={"locale": None})
    assert cleared.status == 200
    assert (cleared.json["name"], cleared.json["default_currency"], cleared.json["locale"]) == (
        "Alice Liddell",
        "EUR",
        None,
    )
    stored = await api.store.get_user(alice.id)
    assert stored.name_set and stored.locale is None


@pytest.mark.parametrize("locale", ["en", "pt-BR", "zh-Hant-TW", "es-419", "de-CH-1996", "EN-gb"])
@store_agnostic
async def test_well_formed_locales_are_taken(api: Api, alice: Actor, locale: str) -> None:
    reply = await api.patch("/api/user", as_=alice, json={"locale": locale})

    assert reply.status == 200 and reply.json["locale"] == locale


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"default_currency": "XXY"}, "default_currency"),
        ({"default_currency": "eur"}, "default_currency"),
        ({"default_currency": None}, "default_currency"),
        ({"locale": "english"}, "locale"),
        ({"locale": "en_GB"}, "locale"),
        ({"locale": ""}, "locale"),
        ({"locale": "e"}, "locale"),
        ({"locale": 7}, "locale"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": None}, "name"),
        ({"email": "new@example.com"}, "email"),
        ({"picture": "https://example.org/me.png"}, "picture"),
        ({}, "(body)"),
    ],
)
@store_agnostic
async def test_bad_changes_are_refused(api: Api, alice: Actor, body: dict[str, Any], field: str) -> None:
    reply = await api.patch("/api/user", as_=alice, json=body)

    assert reply.status == 422, reply.text
    assert reply.error["code"] == "validation_error"
    assert reply.error_fields() == {field}
    assert (await api.store.get_user(alice.id)).name == "Alice"


async def test_the_profile_needs_a_token(api: Api) -> None:
    assert (await api.patch("/api/user", json={"name": "X"})).status == 401


async def test_new_groups_take_the_creators_default_currency(api: Api, alice: Actor) -> None:
    assert (await api.create_group(alice, "Before"))["default_currency"] == "USD"
    await api.patch("/api/user", as_=alice, json={"default_currency": "JPY"})

    assert (await api.create_group(alice, "After"))["default_currency"] == "JPY"
    assert (await api.create_group(alice, "Chosen", default_currency="EUR"))["default_currency"] == "EUR"


@store_agnostic
async def test_a_changed_name_is_announced_to_the_user_and_their_groups(
    api: Api, alice: Actor, bob: Actor, carol: Actor
) -> None:
    group = await api.create_group(alice)
    await api.join(group["id"], bob)
    mine = await connect(api, alice)
    assert (await mine.subscribe(f"user:{alice.id}"))["ok"]
    theirs = await connect(api, bob)
    assert (await theirs.subscribe(f"group:{group['id']}"))["ok"]

    await api.patch("/api/user", as_=alice, json={"name": "Al"})

    expected = {"id": alice.id, "name": "Al", "picture": None}
    for client in (mine, theirs):
        event = await client.next_event()
        assert (event["type"], event["data"]) == ("user.updated", expected)


# --- sign-in ---------------------------------------------------------------------------------------


@pytest.fixture
def environ(environ: dict[str, str], oidc_issuer: str) -> dict[str, str]:
    return sign_in_environ(environ, oidc_issuer)


@pytest.fixture
async def provider(oidc_issuer: str) -> AsyncIterator[Provider]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as browser:
        yield Provider(oidc_issuer, browser)


async def test_sign_in_stops_refreshing_the_name_once_the_user_set_one(api: Api, provider: Provider) -> None:
    subject = await provider.user(name="Provider Name", picture="https://example.org/1.png")
    auth = {"Authorization": f"Bearer {await sign_in(api, provider, subject)}"}
    claims = {"email": f"{subject}@example.org", "email_verified": True}
    await provider.set_claims(subject, {**claims, "name": "Newer", "picture": "https://example.org/2.png"})
    await sign_in(api, provider, subject)
    me = (await api.get("/api/user", headers=auth)).json
    assert (me["name"], me["picture"]) == ("Newer", "https://example.org/2.png")

    assert (await api.patch("/api/user", headers=auth, json={"name": "Chosen"})).status == 200
    await provider.set_claims(subject, {**claims, "name": "Newest", "picture": "https://example.org/3.png"})
    again = {"Authorization": f"Bearer {await sign_in(api, provider, subject)}"}

    me = (await api.get("/api/user", headers=again)).json
    assert (me["name"], me["picture"]) == ("Chosen", "https://example.org/2.png")


async def test_changing_only_the_currency_keeps_sign_in_refreshing(api: Api, provider: Provider) -> None:
    subject = await provider.user(name="First")
    auth = {"Authorization": f"Bearer {await sign_in(api, provider, subject)}"}
    assert (await api.patch("/api/user", headers=auth, json={"default_currency": "GBP"})).status == 200
    await provider.set_claims(
        subject, {"email": f"{subject}@example.org", "email_verified": True, "name": "Second"}
    )
    await sign_in(api, provider, subject)

    me = (await api.get("/api/user", headers=auth)).json
    assert (me["name"], me["default_currency"]) == ("Second", "GBP")
