"""Friends over HTTP on both backends: adding by e-mail before and after the friend signs up (the
real sign-in flow links the pending person), an answer that does not tell whether the address had
an account, the friends view's balances across shared groups and the direct ledger, ending and
renewing a friendship, events, and concurrent mutual adds."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from services.verify import verify_group
from tests.api.conftest import Actor, Api
from tests.api.sign_in import sign_in_environ
from tests.api.test_login import Provider, sign_in
from tests.realtime.wsclient import WsClient


@pytest.fixture
def environ(environ: dict[str, str], oidc_issuer: str) -> dict[str, str]:
    return sign_in_environ(environ, oidc_issuer)


@pytest.fixture
async def browser() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as session:
        yield session


@pytest.fixture
def provider(oidc_issuer: str, browser: aiohttp.ClientSession) -> Provider:
    return Provider(oidc_issuer, browser)


async def befriend(api: Api, actor: Actor, email: str, status: int = 201) -> dict[str, Any]:
    reply = await api.post("/api/friends", as_=actor, json={"email": email})
    assert reply.status == status, reply.text
    added: dict[str, Any] = reply.json
    return added


async def friends(api: Api, viewer: Actor) -> dict[str, dict[str, Any]]:
    reply = await api.get("/api/friends", as_=viewer)
    assert reply.status == 200, reply.text
    assert reply.json["friends_truncated"] is False and reply.json["groups_truncated"] is False
    return {friend["user_id"]: friend for friend in reply.json["items"]}


def amounts(friend: dict[str, Any]) -> dict[str, str]:
    return {b["currency"]: b["amount"] for b in friend["balances"]}


async def spend(api: Api, group_id: str, actor: Actor, amount: str, currency: str, **fields: Any) -> None:
    reply = await api.post(
        f"/api/groups/{group_id}/expenses",
        as_=actor,
        json={"description": "spent", "amount": amount, "currency": currency, **fields},
    )
    assert reply.status == 201, reply.text


async def test_adding_someone_who_has_not_signed_up_yet(api: Api, alice: Actor, provider: Provider) -> None:
    added = await befriend(api, alice, " Newbie@Example.org ")

    assert set(added) == {"user_id", "email", "group_id"}
    assert added["email"] == "newbie@example.org"
    listed = (await friends(api, alice))[added["user_id"]]
    assert (listed["name"], listed["email"], listed["group_id"]) == (
        "newbie",
        "newbie@example.org",
        added["group_id"],
    )
    assert listed["balances"] == []

    subject = await provider.user(email="newbie@example.org", name="New Bie")
    token = await sign_in(api, provider, subject)

    newbie = api.actor(added["user_id"])
    me = await api.get("/api/user", headers={"Authorization": f"Bearer {token}"})
    assert me.json["id"] == added["user_id"] and me.json["name"] == "New Bie"
    theirs = await friends(api, newbie)
    assert list(theirs) == [alice.id]
    assert (theirs[alice.id]["name"], theirs[alice.id]["group_id"]) == ("Alice", added["group_id"])
    ledger = await api.group(added["group_id"], newbie)
    assert ledger["kind"] == "direct" and ledger["member_count"] == 2
    assert {(m["user_id"], m["role"]) for m in ledger["members"]} == {
        (alice.id, "member"),
        (newbie.id, "member"),
    }
    assert ledger["owner_id"] == alice.id
    assert (await friends(api, alice))[newbie.id]["name"] == "New Bie"


async def test_adding_someone_who_has_an_account(api: Api, alice: Actor, bob: Actor) -> None:
    added = await befriend(api, alice, "BOB@example.com")

    assert added["user_id"] == bob.id
    assert list(await friends(api, bob)) == [alice.id]
    assert list(await friends(api, alice)) == [bob.id]
    assert await befriend(api, alice, "bob@example.com", status=200) == added
    assert await befriend(api, bob, "alice@example.com", status=200) == {
        **added,
        "user_id": alice.id,
        "email": alice.email,
    }


async def test_the_answer_does_not_tell_whether_the_address_had_an_account(
    api: Api, alice: Actor, bob: Actor
) -> None:
    known = await api.post("/api/friends", as_=alice, json={"email": "bob@example.com"})
    unknown = await api.post("/api/friends", as_=alice, json={"email": "stranger@example.com"})

    assert known.status == unknown.status == 201
    assert set(known.json) == set(unknown.json) == {"user_id", "email", "group_id"}
    assert known.headers.get("Content-Length") is not None
    assert {type(v) for v in known.json.values()} == {type(v) for v in unknown.json.values()} == {str}


async def test_the_friend_ledger_uses_the_adders_default_currency(api: Api, alice: Actor) -> None:
    user = await api.store.get_user(alice.id)
    added = await befriend(api, alice, "someone@example.com")
    assert (await api.group(added["group_id"], alice))["default_currency"] == user.default_currency


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"email": ""},
        {"email": "not-an-address"},
        {"email": "a@b"},
        {"email": "two@@example.com"},
        {"email": "x" * 250 + "@example.com"},
        {"email": 7},
        {"email": "bob@example.com", "name": "Bob"},
    ],
)
async def test_bad_input_is_422(api: Api, alice: Actor, body: dict[str, Any]) -> None:
    reply = await api.post("/api/friends", as_=alice, json=body)
    assert reply.status == 422, reply.text
    assert reply.error["code"] == "validation_error"


async def test_your_own_address_is_422(api: Api, alice: Actor) -> None:
    reply = await api.post("/api/friends", as_=alice, json={"email": " Alice@Example.com"})
    assert reply.status == 422
    assert reply.error["code"] == "own_address"
    assert reply.error_fields() == {"email"}


async def test_the_friend_balance_sums_shared_groups_and_the_direct_ledger(
    api: Api, alice: Actor, bob: Actor, carol: Actor
) -> None:
    # Group one: alice pays 90 for all three. Balances a +60, b -30, c -30; its plan has bob and
    # carol each pay alice 30.
    one = (await api.create_group(alice, "One"))["id"]
    await api.join(one, bob, carol)
    await spend(api, one, alice, "90.00", "EUR")
    # Group two: carol pays 60 that bob alone owes. Its plan is bob -> carol 60: nothing of alice's.
    two = (await api.create_group(alice, "Two"))["id"]
    await api.join(two, bob, carol)
    await spend(api, two, carol, "60.00", "EUR", split={"kind": "exact", "amounts": {bob.id: "60.00"}})
    # The direct ledger: bob pays 20 split equally (alice owes him 10); alice pays 15 USD for bob.
    ledger = (await befriend(api, alice, bob.email))["group_id"]
    await spend(api, ledger, bob, "20.00", "EUR")
    await spend(api, ledger, alice, "15.00", "USD", split={"kind": "exact", "amounts": {bob.id: "15.00"}})

    mine = await friends(api, alice)

    assert list(mine) == [bob.id]  # carol shares groups with alice but is no friend
    assert amounts(mine[bob.id]) == {"EUR": "20.00", "USD": "15.00"}
    assert amounts((await friends(api, bob))[alice.id]) == {"EUR": "-20.00", "USD": "-15.00"}
    await befriend(api, alice, carol.email)
    assert amounts((await friends(api, alice))[carol.id]) == {"EUR": "30.00"}
    assert amounts((await friends(api, carol))[alice.id]) == {"EUR": "-30.00"}


async def test_ending_a_friendship_needs_a_zero_direct_balance_and_keeps_the_ledger(
    api: Api, alice: Actor, bob: Actor
) -> None:
    ledger = (await befriend(api, alice, bob.email))["group_id"]
    await spend(api, ledger, alice, "10.00", "EUR")  # bob owes alice 5

    refused = await api.delete(f"/api/friends/{bob.id}", as_=alice)
    assert refused.status == 409 and refused.error["code"] == "balance_not_settled"

    paid = await api.post(
        f"/api/groups/{ledger}/transactions",
        as_=bob,
        json={"to_user": alice.id, "amount": "5.00", "currency": "EUR"},
    )
    assert paid.status == 201, paid.text
    assert (await api.delete(f"/api/friends/{bob.id}", as_=alice)).status == 204

    assert await friends(api, alice) == {} and await friends(api, bob) == {}
    for someone in (alice, bob):
        assert (await api.get(f"/api/groups/{ledger}", as_=someone)).status == 404
    assert (await api.delete(f"/api/friends/{bob.id}", as_=alice)).status == 404
    listed = await api.get("/api/groups", as_=alice, params={"kind": "all"})
    assert listed.json["items"] == []

    again = await befriend(api, bob, alice.email)
    assert again["group_id"] == ledger
    expenses = await api.get(f"/api/groups/{ledger}/expenses", as_=alice)
    assert len(expenses.json["items"]) == 1
    assert len((await api.get(f"/api/groups/{ledger}/transactions", as_=bob)).json["items"]) == 1
    assert (await api.group(ledger, alice))["owner_id"] == alice.id
    assert (await verify_group(api.store, ledger)).differences == {}


async def test_removing_someone_who_is_not_a_friend_is_404(
    api: Api, alice: Actor, bob: Actor, carol: Actor
) -> None:
    group = (await api.create_group(alice))["id"]
    await api.join(group, carol)
    await befriend(api, bob, carol.email)
    for target in ("nobody", carol.id, alice.id, bob.id):
        reply = await api.delete(f"/api/friends/{target}", as_=alice)
        assert reply.status == 404, target
        assert reply.error["code"] == "not_found"


async def test_concurrent_mutual_adds_end_in_one_ledger(api: Api, alice: Actor, bob: Actor) -> None:
    replies = await asyncio.gather(
        api.post("/api/friends", as_=alice, json={"email": bob.email}),
        api.post("/api/friends", as_=bob, json={"email": alice.email}),
    )

    assert sorted(r.status for r in replies) == [200, 201]
    assert replies[0].json["group_id"] == replies[1].json["group_id"]
    for someone in (alice, bob):
        listed = await api.get("/api/groups", as_=someone, params={"kind": "direct"})
        assert [g["id"] for g in listed.json["items"]] == [replies[0].json["group_id"]]


async def test_a_stranger_cannot_reach_the_direct_ledger(
    api: Api, alice: Actor, bob: Actor, carol: Actor
) -> None:
    ledger = (await befriend(api, alice, bob.email))["group_id"]
    for path in ("", "/expenses", "/balances", "/settle-up", "/activity", "/chats", "/export"):
        reply = await api.get(f"/api/groups/{ledger}{path}", as_=carol)
        assert reply.status == 404, path
    assert await friends(api, carol) == {}


async def test_the_friends_routes_need_a_token(api: Api) -> None:
    assert (await api.get("/api/friends")).status == 401
    assert (await api.post("/api/friends", json={"email": "a@example.com"})).status == 401
    assert (await api.delete("/api/friends/someone")).status == 401


async def test_the_dashboard_counts_direct_ledgers_like_groups(api: Api, alice: Actor, bob: Actor) -> None:
    trip = (await api.create_group(alice, "Trip"))["id"]
    await api.join(trip, bob)
    await spend(api, trip, alice, "30.00", "EUR")
    ledger = (await befriend(api, alice, bob.email))["group_id"]
    await spend(api, ledger, alice, "10.00", "EUR")

    board = (await api.get("/api/dashboard", as_=alice)).json

    groups = {g["group_id"]: g for g in board["groups"]}
    assert set(groups) == {trip, ledger}
    assert {b["currency"]: b["amount"] for b in groups[ledger]["balances"]} == {"EUR": "5.00"}
    assert {t["currency"]: t["net"] for t in board["totals"]} == {"EUR": "20.00"}


async def connect(api: Api, actor: Actor) -> WsClient:
    reply = await api.post("/api/ws/ticket", as_=actor)
    assert reply.status == 201, reply.text
    client = WsClient(await api.client.ws_connect(f"/api/ws?ticket={reply.json['ticket']}"))
    assert (await client.receive())["type"] == "welcome"
    assert (await client.subscribe(f"user:{actor.id}"))["ok"] is True
    return client


async def test_both_hear_of_the_friendship(api: Api, alice: Actor, bob: Actor) -> None:
    theirs = {someone.id: await connect(api, someone) for someone in (alice, bob)}

    ledger = (await befriend(api, alice, bob.email))["group_id"]

    for someone, other in ((alice, bob), (bob, alice)):
        added = await theirs[someone.id].next_event()
        assert added["type"] == "friend.added"
        assert added["data"] == {"user_id": other.id, "group_id": ledger}
        joined = await theirs[someone.id].next_event()
        assert joined["type"] == "group.joined" and joined["data"]["kind"] == "direct"
        assert joined["data"]["id"] == ledger
    # Bob, whom Alice added, is also notified of it (tests/api/test_notifications.py).
    assert (await theirs[bob.id].next_event())["type"] == "notification.created"

    assert (await api.delete(f"/api/friends/{alice.id}", as_=bob)).status == 204
    for someone, other in ((alice, bob), (bob, alice)):
        removed = await theirs[someone.id].next_event()
        assert removed["type"] == "friend.removed"
        assert removed["data"] == {"user_id": other.id, "group_id": ledger}
        gone = await theirs[someone.id].next_event()
        assert gone["type"] == "group.removed"
        assert gone["data"] == {"group_id": ledger, "reason": "friend.removed"}
    for client in theirs.values():
        await client.close()
