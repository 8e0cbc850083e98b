"""A friendship's direct ledger over HTTP on both backends: the ordinary group endpoints work on it
unchanged (expenses of every split kind and several payers, edits, transactions, balances,
settle-up, activity, chat, export, live events), while what would give it other people or take it
away is refused with 409 `direct_ledger`; `GET /api/groups` lists it only when asked."""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from domain import Invite
from tests.api.conftest import Actor, Api
from tests.realtime.wsclient import WsClient


async def ledger_of(api: Api, alice: Actor, bob: Actor) -> str:
    reply = await api.post("/api/friends", as_=alice, json={"email": bob.email})
    assert reply.status == 201, reply.text
    group_id: str = reply.json["group_id"]
    return group_id


def cents(amount: str) -> int:
    return round(float(amount) * 100)


async def balances(api: Api, group_id: str, viewer: Actor) -> dict[str, int]:
    reply = await api.get(f"/api/groups/{group_id}/balances", as_=viewer)
    assert reply.status == 200, reply.text
    return {b["user_id"]: cents(b["amount"]) for b in reply.json["balances"] if b["currency"] == "EUR"}


async def test_expenses_of_every_split_kind_and_several_payers(api: Api, alice: Actor, bob: Actor) -> None:
    ledger = await ledger_of(api, alice, bob)
    url = f"/api/groups/{ledger}/expenses"
    payers = [{"user_id": alice.id, "amount": "45.00"}, {"user_id": bob.id, "amount": "15.00"}]
    splits: list[tuple[dict[str, Any], dict[str, int]]] = [
        ({"kind": "equal", "members": [alice.id, bob.id]}, {alice.id: 3000, bob.id: 3000}),
        ({"kind": "exact", "amounts": {alice.id: "10.00", bob.id: "50.00"}}, {alice.id: 1000, bob.id: 5000}),
        ({"kind": "percent", "percents": {alice.id: "25", bob.id: "75"}}, {alice.id: 1500, bob.id: 4500}),
        ({"kind": "shares", "shares": {alice.id: 1, bob.id: 2}}, {alice.id: 2000, bob.id: 4000}),
        ({"kind": "equal", "members": [bob.id]}, {bob.id: 6000}),
    ]
    expected = {alice.id: 0, bob.id: 0}
    for split, owed in splits:
        reply = await api.post(
            url,
            as_=bob,
            json={
                "description": split["kind"],
                "amount": "60.00",
                "currency": "EUR",
                "split": split,
                "payers": payers,
            },
        )
        assert reply.status == 201, reply.text
        assert {s["user_id"]: cents(s["amount"]) for s in reply.json["shares"]} == owed
        expected[alice.id] += 4500 - owed.get(alice.id, 0)
        expected[bob.id] += 1500 - owed.get(bob.id, 0)

    assert await balances(api, ledger, alice) == expected
    assert expected[alice.id] == 4500 * 5 - 7500
    listed = await api.get(url, as_=alice)
    assert len(listed.json["items"]) == len(splits)


async def test_edit_delete_settle_and_read_like_a_group(api: Api, alice: Actor, bob: Actor) -> None:
    ledger = await ledger_of(api, alice, bob)
    created = await api.post(
        f"/api/groups/{ledger}/expenses",
        as_=alice,
        json={"description": "Taxi", "amount": "30.00", "currency": "EUR"},
    )
    assert created.status == 201, created.text
    expense = created.json
    edited = await api.put(
        f"/api/groups/{ledger}/expenses/{expense['id']}",
        as_=bob,
        json={"description": "Taxi home", "amount": "40.00", "version": expense["version"]},
    )
    assert edited.status == 200, edited.text
    assert await balances(api, ledger, bob) == {alice.id: 2000, bob.id: -2000}

    plan = await api.get(f"/api/groups/{ledger}/settle-up", as_=bob)
    assert plan.json["transfers"] == [
        {"from_user": bob.id, "to_user": alice.id, "amount": "20.00", "currency": "EUR"}
    ]
    paid = await api.post(
        f"/api/groups/{ledger}/transactions",
        as_=bob,
        json={"to_user": alice.id, "amount": "20.00", "currency": "EUR"},
    )
    assert paid.status == 201, paid.text
    assert await balances(api, ledger, alice) == {alice.id: 0, bob.id: 0}
    assert (await api.get(f"/api/groups/{ledger}/settle-up", as_=alice)).json["transfers"] == []

    extra = await api.post(
        f"/api/groups/{ledger}/expenses",
        as_=bob,
        json={"description": "Gum", "amount": "2.00", "currency": "EUR"},
    )
    removed = await api.delete(f"/api/groups/{ledger}/expenses/{extra.json['id']}", as_=alice)
    assert removed.status == 204

    activity = await api.get(f"/api/groups/{ledger}/activity", as_=alice)
    actions = [entry["action"] for entry in activity.json["items"]]
    assert actions == [
        "expense.deleted",
        "expense.created",
        "settlement.created",
        "expense.updated",
        "expense.created",
    ]

    said = await api.post(f"/api/groups/{ledger}/chats", as_=bob, json={"text": "thanks!"})
    assert said.status == 201, said.text
    chat = await api.get(f"/api/groups/{ledger}/chats", as_=alice)
    assert [m["text"] for m in chat.json["items"]] == ["thanks!"]

    exported = await api.get(f"/api/groups/{ledger}/export", as_=alice, params={"format": "json"})
    assert exported.status == 200
    document = json.loads(exported.text)
    assert document["group_id"] == ledger
    assert [e["description"] for e in document["expenses"]] == ["Taxi home"]
    assert len(document["transactions"]) == 1
    csv = await api.get(f"/api/groups/{ledger}/export", as_=bob)
    assert csv.status == 200 and "Taxi home" in csv.text


async def test_live_events_reach_the_ledgers_channel(api: Api, alice: Actor, bob: Actor) -> None:
    ledger = await ledger_of(api, alice, bob)
    ticket = await api.post("/api/ws/ticket", as_=bob)
    client = WsClient(await api.client.ws_connect(f"/api/ws?ticket={ticket.json['ticket']}"))
    assert (await client.receive())["type"] == "welcome"
    assert (await client.subscribe(f"group:{ledger}"))["ok"] is True

    created = await api.post(
        f"/api/groups/{ledger}/expenses",
        as_=alice,
        json={"description": "Pie", "amount": "8.00", "currency": "EUR"},
    )

    event = await client.next_event()
    assert event["type"] == "expense.created"
    assert event["data"]["id"] == created.json["id"]
    assert sorted((m["user_id"], m["amount"]) for m in event["data"]["balance_moves"]) == sorted(
        [(alice.id, "4.00"), (bob.id, "-4.00")]
    )
    await client.close()


async def test_what_would_change_who_is_in_it_is_refused(
    api: Api, alice: Actor, bob: Actor, carol: Actor
) -> None:
    ledger = await ledger_of(api, alice, bob)
    group = await api.group(ledger, alice)
    attempts: list[tuple[str, str, dict[str, Any]]] = [
        ("PUT", "", {"json": {"name": "Renamed", "version": group["version"]}}),
        ("DELETE", "", {}),
        ("DELETE", f"/members/{bob.id}", {}),
        ("DELETE", f"/members/{alice.id}", {}),
        ("POST", "/leave", {}),
        ("POST", "/invites", {"json": {}}),
        ("GET", "/invites", {}),
    ]
    for method, path, kwargs in attempts:
        for actor in (alice, bob):
            reply = await api.request(method, f"/api/groups/{ledger}{path}", as_=actor, **kwargs)
            assert reply.status == 409, (method, path, reply.text)
            assert reply.error["code"] == "direct_ledger"

    # An invite cannot be made through the API; one planted in the store still lets nobody in.
    token = secrets.token_urlsafe(16)
    now = datetime.now(timezone.utc)
    await api.store.create_invite(
        Invite(
            token_hash=hashlib.sha256(token.encode()).hexdigest(),
            group_id=ledger,
            created_by=alice.id,
            created_at=now,
            expires_at=now + timedelta(hours=1),
        )
    )
    accepted = await api.post(f"/api/invites/{token}/accept", as_=carol)
    assert accepted.status == 409 and accepted.error["code"] == "direct_ledger"
    after = await api.group(ledger, bob)
    assert after["name"] == group["name"] and after["member_count"] == 2


async def test_groups_list_ordinary_groups_unless_asked(api: Api, alice: Actor, bob: Actor) -> None:
    ordinary = (await api.create_group(alice, "Flat"))["id"]
    ledger = await ledger_of(api, alice, bob)

    async def listed(**params: str) -> list[tuple[str, str]]:
        reply = await api.get("/api/groups", as_=alice, params=params or None)
        assert reply.status == 200, reply.text
        return [(g["id"], g["kind"]) for g in reply.json["items"]]

    assert await listed() == [(ordinary, "group")]
    assert await listed(kind="group") == [(ordinary, "group")]
    assert await listed(kind="direct") == [(ledger, "direct")]
    assert await listed(kind="all") == [(ledger, "direct"), (ordinary, "group")]
    page = await api.get("/api/groups", as_=alice, params={"kind": "all", "limit": "1"})
    rest = await api.get("/api/groups", as_=alice, params={"kind": "all", "cursor": page.json["next_cursor"]})
    assert [g["id"] for g in page.json["items"] + rest.json["items"]] == [ledger, ordinary]


@pytest.mark.parametrize("kind", ["", "friends", "DIRECT"])
async def test_an_unknown_kind_is_422(api: Api, alice: Actor, kind: str) -> None:
    reply = await api.get("/api/groups", as_=alice, params={"kind": kind})
    assert reply.status == 422, reply.text
    assert reply.error_fields() == {"kind"}


async def test_either_friend_may_change_the_currency_but_not_the_name(
    api: Api, alice: Actor, bob: Actor
) -> None:
    ledger = await ledger_of(api, alice, bob)
    group = await api.group(ledger, bob)
    assert group["name"] == "Direct expenses" and "@" not in group["name"]

    changed = await api.put(
        f"/api/groups/{ledger}",
        as_=bob,
        json={"default_currency": "JPY", "description": "Tokyo", "version": group["version"]},
    )

    assert changed.status == 200, changed.text
    assert (changed.json["default_currency"], changed.json["description"]) == ("JPY", "Tokyo")
    spent = await api.post(
        f"/api/groups/{ledger}/expenses", as_=alice, json={"description": "sushi", "amount": "3000"}
    )
    assert spent.status == 201 and spent.json["currency"] == "JPY"
