"""`DELETE /api/user` through the real app on both backends: refused while a balance is open or
an owned group has other members; afterwards the account's tokens and sockets are dead, its
groups are left, and everyone else's records, balances and verify-balances are as they were."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from domain import NotFound
from domain.clock import to_text, utc_now
from domain.ids import new_id
from ocr.service import RECEIPTS
from server.keys import SERVICES
from services.account import Accounts
from services.verify import verify_group
from tests.api.conftest import Actor, Api
from tests.api.sign_in import sign_in_environ
from tests.api.test_login import Provider, sign_in
from tests.realtime.wsclient import TIMEOUT, WsClient


async def spend(api: Api, group_id: str, payer: Actor, amount: str, **fields: Any) -> dict[str, Any]:
    reply = await api.post(
        f"/api/groups/{group_id}/expenses",
        as_=payer,
        json={"description": "Dinner", "amount": amount, **fields},
    )
    assert reply.status == 201, reply.text
    expense: dict[str, Any] = reply.json
    return expense


async def settle(api: Api, group_id: str, payer: Actor, to: Actor, amount: str, **fields: Any) -> None:
    reply = await api.post(
        f"/api/groups/{group_id}/transactions",
        as_=payer,
        json={"to_user": to.id, "amount": amount, **fields},
    )
    assert reply.status == 201, reply.text


async def balances(api: Api, group_id: str, viewer: Actor) -> dict[str, str]:
    reply = await api.get(f"/api/groups/{group_id}/balances", as_=viewer)
    assert reply.status == 200, reply.text
    return {f"{b['user_id']}:{b['currency']}": b["amount"] for b in reply.json["balances"]}


async def test_refused_while_balances_are_open_naming_the_groups(api: Api, alice: Actor, bob: Actor) -> None:
    trip = await api.create_group(alice, "Trip")
    flat = await api.create_group(alice, "Flat")
    quiet = await api.create_group(alice, "Quiet")
    for group in (trip, flat, quiet):
        await api.join(group["id"], bob)
    await spend(api, trip["id"], alice, "20.00")
    await spend(api, flat["id"], bob, "10.00")

    reply = await api.delete("/api/user", as_=bob)

    assert reply.status == 409
    assert reply.error["code"] == "balance_not_settled"
    named = {(g["id"], g["name"]) for g in reply.error["details"]["groups"]}
    assert named == {(trip["id"], "Trip"), (flat["id"], "Flat")}
    assert (await api.get("/api/user", as_=bob)).status == 200
    assert bob.id in {m["user_id"] for m in (await api.group(quiet["id"], alice))["members"]}


async def test_refused_while_owning_a_group_with_others(api: Api, alice: Actor, bob: Actor) -> None:
    shared = await api.create_group(alice, "Shared")
    await api.join(shared["id"], bob)
    alone = await api.create_group(alice, "Alone")

    reply = await api.delete("/api/user", as_=alice)

    assert reply.status == 409
    assert reply.error["code"] == "owner_of_groups"
    assert reply.error["details"]["groups"] == [{"id": shared["id"], "name": "Shared"}]
    assert (await api.group(alone["id"], alice))["name"] == "Alone"


async def test_after_settling_the_account_goes_and_others_keep_everything(
    api: Api, alice: Actor, bob: Actor, carol: Actor
) -> None:
    trip = await api.create_group(alice, "Trip", default_currency="EUR")
    await api.join(trip["id"], bob, carol)
    dinner = await spend(api, trip["id"], bob, "30.00")
    await spend(api, trip["id"], alice, "12.00", currency="USD")
    owned_alone = await api.create_group(bob, "Bob's own")
    assert (await api.delete("/api/user", as_=bob)).status == 409
    await settle(api, trip["id"], alice, bob, "10.00")
    await settle(api, trip["id"], carol, bob, "10.00")
    await settle(api, trip["id"], bob, alice, "4.00", currency="USD")
    await settle(api, trip["id"], carol, alice, "4.00", currency="USD")
    before = await balances(api, trip["id"], alice)
    assert before[f"{bob.id}:EUR"] == "0.00" and before[f"{bob.id}:USD"] == "0.00"

    reply = await api.delete("/api/user", as_=bob)

    assert reply.status == 204, reply.text
    after = await balances(api, trip["id"], alice)
    assert after == {k: v for k, v in before.items() if not k.startswith(bob.id)}
    assert (await verify_group(api.store, trip["id"])).differences == {}
    members = {m["user_id"] for m in (await api.group(trip["id"], alice))["members"]}
    assert members == {alice.id, carol.id}
    listed = (await api.get(f"/api/groups/{trip['id']}/expenses", as_=carol)).json["items"]
    kept = next(e for e in listed if e["id"] == dinner["id"])
    assert kept == dinner
    assert [p["user_id"] for p in kept["payers"]] == [bob.id]
    assert bob.id in {s["user_id"] for s in kept["shares"]}
    settlements = (await api.get(f"/api/groups/{trip['id']}/transactions", as_=alice)).json["items"]
    assert sum(bob.id in (s["from_user"], s["to_user"]) for s in settlements) == 3
    with pytest.raises(NotFound):  # owned alone, never used: deleted with the account
        await api.store.get_group(owned_alone["id"])

    erased = await api.store.get_user(bob.id)
    assert (erased.name, erased.email, erased.picture) == ("", "", None)
    assert erased.deleted_at is not None
    assert await api.store.find_user_by_email("bob@example.com") is None


async def test_every_token_is_dead_afterwards(api: Api, bob: Actor) -> None:
    other_device = api.actor(bob.id)

    assert (await api.delete("/api/user", as_=bob)).status == 204

    for token in (bob, other_device):
        reply = await api.get("/api/user", as_=token)
        assert reply.status == 401
        assert (await api.get("/api/groups", as_=token)).status == 401
    assert (await api.delete("/api/user", as_=other_device)).status == 401


async def test_a_socket_opened_before_is_closed(api: Api, alice: Actor, bob: Actor) -> None:
    trip = await api.create_group(alice)
    await api.join(trip["id"], bob)
    ticket = await api.post("/api/ws/ticket", as_=api.actor(bob.id))
    assert ticket.status == 201, ticket.text
    ws = await api.client.ws_connect(f"/api/ws?ticket={ticket.json['ticket']}")
    client = WsClient(ws)
    assert (await client.receive())["type"] == "welcome"
    assert (await client.subscribe(f"group:{trip['id']}"))["ok"]

    assert (await api.delete("/api/user", as_=bob)).status == 204

    for _ in range(10):
        message = await ws.receive(timeout=TIMEOUT)
        if message.type != aiohttp.WSMsgType.TEXT:
            break
    assert message.type == aiohttp.WSMsgType.CLOSE and message.data == 4001


@pytest.fixture
def environ(environ: dict[str, str], oidc_issuer: str) -> dict[str, str]:
    return sign_in_environ(environ, oidc_issuer)


@pytest.fixture
async def provider(oidc_issuer: str) -> AsyncIterator[Provider]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as browser:
        yield Provider(oidc_issuer, browser)


async def test_signing_in_again_with_the_same_google_account_makes_a_new_account(
    api: Api, provider: Provider
) -> None:
    subject = await provider.user(name="Sam Sign", email="sam@example.org")
    first = {"Authorization": f"Bearer {await sign_in(api, provider, subject)}"}
    old = (await api.get("/api/user", headers=first)).json
    assert old["email"] == "sam@example.org"
    exported = (await api.get("/api/user/export", headers=first)).json
    assert exported["sign_in_identities"] == [{"type": "oidc", "issuer": provider.issuer, "subject": subject}]

    assert (await api.delete("/api/user", headers=first)).status == 204
    assert (await api.get("/api/user", headers=first)).status == 401

    again = {"Authorization": f"Bearer {await sign_in(api, provider, subject)}"}
    new = (await api.get("/api/user", headers=again)).json
    assert new["id"] != old["id"]
    assert (new["email"], new["name"]) == ("sam@example.org", "Sam Sign")
    assert (await api.store.get_user(old["id"])).deleted_at is not None


async def test_the_uploaded_receipts_images_are_deleted(api: Api, alice: Actor, bob: Actor) -> None:
    receipts = api.app[RECEIPTS]
    mine, theirs = new_id(), new_id()
    await receipts.put(mine, b"\x89PNG mine", "png", receipt_metadata(mine, bob.id))
    await receipts.put(theirs, b"\x89PNG theirs", "png", receipt_metadata(theirs, alice.id))
    assert (await api.get(f"/api/receipts/{mine}/image", as_=bob)).status == 200

    assert (await api.delete("/api/user", as_=bob)).status == 204

    assert await receipts.uploaded_by(bob.id) == []
    with pytest.raises(NotFound):
        await receipts.metadata(mine)
    assert await receipts.uploaded_by(alice.id) == [theirs]
    assert (await api.get(f"/api/receipts/{theirs}/image", as_=alice)).status == 200


async def test_a_balance_that_appears_after_the_check_keeps_the_account(
    api: Api, alice: Actor, bob: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    trip = await api.create_group(alice, "Trip")
    await api.join(trip["id"], bob)
    await spend(api, trip["id"], alice, "8.00")

    async def passed(*_: Any) -> None:
        """As if the check ran just before the expense was written."""

    monkeypatch.setattr(Accounts, "_check_may_go", passed)
    reply = await api.delete("/api/user", as_=bob)

    assert reply.status == 409
    assert reply.error["code"] == "balance_not_settled"
    assert reply.error["details"]["groups"] == [{"id": trip["id"], "name": "Trip"}]
    assert (await api.get("/api/user", as_=bob)).status == 200
    assert bob.id in {m["user_id"] for m in (await api.group(trip["id"], alice))["members"]}


async def test_a_deletion_that_died_half_way_is_finished_by_a_retry(
    api: Api, alice: Actor, bob: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = await api.create_group(alice, "First"), await api.create_group(alice, "Second")
    for group in (first, second):
        await api.join(group["id"], bob)
    receipt = new_id()
    await api.app[RECEIPTS].put(receipt, b"img", "png", receipt_metadata(receipt, bob.id))
    accounts = api.app[SERVICES].accounts
    store = api.store

    async def crash(*_: Any) -> None:
        raise ConnectionError("the process died here")

    monkeypatch.setattr(store, "erase_user", crash)
    with pytest.raises(ConnectionError):
        await accounts.delete(bob.id, api.app[RECEIPTS])
    monkeypatch.undo()
    assert (await api.get("/api/user", as_=bob)).status == 200

    assert (await api.delete("/api/user", as_=bob)).status == 204
    assert (await store.get_user(bob.id)).deleted_at is not None
    for group in (first, second):
        assert [m["user_id"] for m in (await api.group(group["id"], alice))["members"]] == [alice.id]
    again = await accounts.delete(bob.id, api.app[RECEIPTS])
    assert again.deleted_at == (await store.get_user(bob.id)).deleted_at


async def test_a_group_joined_just_before_the_erasure_is_left_after_it(
    api: Api, alice: Actor, bob: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    late = await api.create_group(alice, "Late")
    receipts = api.app[RECEIPTS]
    listing = receipts.uploaded_by

    async def join_meanwhile(user_id: str) -> list[str]:
        await api.join(late["id"], bob)  # as if an invite were accepted at this very moment
        return await listing(user_id)

    monkeypatch.setattr(receipts, "uploaded_by", join_meanwhile)
    assert (await api.delete("/api/user", as_=bob)).status == 204

    assert [m["user_id"] for m in (await api.group(late["id"], alice))["members"]] == [alice.id]


def receipt_metadata(receipt_id: str, uploader: str) -> dict[str, Any]:
    """What `POST /api/receipts` stores (the API tests run without tesseract)."""
    return {
        "id": receipt_id,
        "uploaded_by": uploader,
        "uploaded_at": to_text(utc_now()),
        "content_type": "image/png",
        "bytes": 3,
        "sha256": "0" * 64,
        "extracted": {"merchant": "Corner Shop", "date": None, "total": "3.00", "currency": None},
        "raw_text": "TOTAL 3.00",
    }


async def test_a_group_owned_alone_with_others_history_stays_for_them(
    api: Api, alice: Actor, bob: Actor
) -> None:
    trip = await api.create_group(alice, "Trip")
    await api.join(trip["id"], bob)
    taxi = await spend(api, trip["id"], bob, "10.00")
    await settle(api, trip["id"], alice, bob, "5.00")
    assert (await api.post(f"/api/groups/{trip['id']}/leave", as_=bob)).status == 204

    assert (await api.delete("/api/user", as_=alice)).status == 204

    kept = await api.store.get_group(trip["id"])
    assert kept.member_count == 0
    assert await api.store.list_members(trip["id"]) == []
    export = (await api.get("/api/user/export", as_=bob)).json
    assert [e["id"] for e in export["expenses"]] == [taxi["id"]]
    assert len(export["settlements"]) == 1
    assert export["users"][alice.id]["deleted"] is True


async def test_the_groups_hear_the_person_is_now_a_deleted_user(api: Api, alice: Actor, bob: Actor) -> None:
    trip = await api.create_group(alice)
    await api.join(trip["id"], bob)
    ticket = await api.post("/api/ws/ticket", as_=alice)
    ws = await api.client.ws_connect(f"/api/ws?ticket={ticket.json['ticket']}")
    client = WsClient(ws)
    assert (await client.receive())["type"] == "welcome"
    assert (await client.subscribe(f"group:{trip['id']}"))["ok"]

    assert (await api.delete("/api/user", as_=bob)).status == 204

    while (event := await client.next_event())["type"] != "user.updated":
        pass
    assert event["data"] == {"id": bob.id, "name": "Deleted user", "picture": None}
    await ws.close()
