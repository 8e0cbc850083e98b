"""`GET /api/user/export` through the real app on both backends: everything held about the caller,
and nothing about anyone else's part of the same groups."""

from __future__ import annotations

import re
from typing import Any

from domain.ids import new_id
from ocr.service import RECEIPTS
from tests.api.conftest import Actor, Api
from tests.api.test_account_deletion import receipt_metadata, settle, spend

TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z")


def timestamps(value: Any, key: str = "") -> list[str]:
    """Every value under a key that names a moment (`*_at`), anywhere in `value`."""
    if isinstance(value, dict):
        return [t for k, v in value.items() for t in timestamps(v, k)]
    if isinstance(value, list):
        return [t for v in value for t in timestamps(v, key)]
    return [value] if key.endswith("_at") and value is not None else []


async def chat(api: Api, group_id: str, author: Actor, text: str) -> dict[str, Any]:
    reply = await api.post(f"/api/groups/{group_id}/chats", as_=author, json={"text": text})
    assert reply.status == 201, reply.text
    message: dict[str, Any] = reply.json
    return message


async def test_the_export_holds_everything_about_the_caller(
    api: Api, alice: Actor, bob: Actor, carol: Actor
) -> None:
    trip = await api.create_group(alice, "Trip", default_currency="EUR")
    await api.join(trip["id"], bob, carol)
    flat = await api.create_group(bob, "Flat")
    shared = await spend(api, trip["id"], alice, "30.00")
    await spend(
        api,
        trip["id"],
        alice,
        "10.00",
        split={"kind": "equal", "members": [alice.id, carol.id]},
    )
    await settle(api, trip["id"], bob, alice, "5.00")
    await settle(api, trip["id"], carol, alice, "5.00")
    said = await chat(api, trip["id"], bob, "I'll pay you back")
    await chat(api, trip["id"], alice, "no rush")
    receipt = new_id()
    await api.app[RECEIPTS].put(receipt, b"img", "png", receipt_metadata(receipt, bob.id))
    elsewhere = new_id()
    await api.app[RECEIPTS].put(elsewhere, b"img", "png", receipt_metadata(elsewhere, alice.id))

    reply = await api.get("/api/user/export", as_=bob)

    assert reply.status == 200, reply.text
    assert reply.headers["Content-Type"].startswith("application/json")
    assert reply.headers["Content-Disposition"].startswith("attachment; filename=")
    data = reply.json
    assert data["profile"]["id"] == bob.id
    assert (data["profile"]["email"], data["profile"]["name"]) == ("bob@example.com", "Bob")
    assert data["profile"]["default_currency"] == "USD" and data["profile"]["deleted_at"] is None
    assert data["sign_in_identities"] == []
    roles = {(g["id"], g["name"], g["kind"], g["role"]) for g in data["groups"]}
    assert roles == {(trip["id"], "Trip", "group", "member"), (flat["id"], "Flat", "group", "owner")}
    assert [e["id"] for e in data["expenses"]] == [shared["id"]]
    assert data["expenses"][0] == shared
    assert [(s["from_user"], s["to_user"], s["amount"]) for s in data["settlements"]] == [
        (bob.id, alice.id, "5.00")
    ]
    assert data["chat_messages"] == [said]
    assert [(r["id"], r["content_type"], r["raw_text"]) for r in data["receipts"]] == [
        (receipt, "image/png", "TOTAL 3.00")
    ]
    moments = timestamps(data)
    assert moments and all(TIMESTAMP.fullmatch(t) for t in moments), moments


async def test_a_new_user_exports_their_profile_and_nothing_else(api: Api, carol: Actor) -> None:
    reply = await api.get("/api/user/export", as_=carol)

    assert reply.status == 200
    assert reply.json["profile"]["email"] == "carol@example.com"
    for part in ("groups", "expenses", "settlements", "chat_messages", "receipts"):
        assert reply.json[part] == []


async def test_the_export_needs_a_token(api: Api, alice: Actor) -> None:
    assert (await api.get("/api/user/export")).status == 401
    assert (await api.get("/api/user/export", headers={"Authorization": "Bearer nope"})).status == 401
    assert (await api.delete("/api/user")).status == 401
    await api.post("/api/logout", as_=alice)
    assert (await api.get("/api/user/export", as_=alice)).status == 401
