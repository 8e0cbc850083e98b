"""Soft delete and restore over HTTP, on both backends: deleted expenses and transactions are kept
(hidden unless asked for), come back with exactly their balances, and only while everyone they
involve is still a member and RESTORE_DAYS have not passed."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from domain.clock import from_text
from server.keys import SERVICES
from services.verify import verify_group
from tests.api.conftest import Actor, Api
from tests.api.test_expenses import balances, trio
from tests.api.test_roles import connect


async def new_expense(api: Api, group_id: str, actor: Actor, **fields: Any) -> dict[str, Any]:
    body = {"description": "Dinner", "amount": "90.00", **fields}
    reply = await api.post(f"/api/groups/{group_id}/expenses", as_=actor, json=body)
    assert reply.status == 201, reply.text
    created: dict[str, Any] = reply.json
    return created


async def verified(api: Api, group_id: str) -> None:
    """The incremental balances agree with the ones recomputed from the (live) history."""
    assert (await verify_group(api.store, group_id)).differences == {}


async def test_a_deleted_expense_is_hidden_then_restored_with_its_balances(
    api: Api, alice: Actor, bob: Actor, carol: Actor
) -> None:
    gid = await trio(api, alice, bob, carol)
    dinner = await new_expense(api, gid, alice)
    taxi = await new_expense(api, gid, bob, description="Taxi", amount="12.00")
    before = await balances(api, gid, alice)
    url = f"/api/groups/{gid}/expenses/{dinner['id']}"

    assert (await api.delete(url, as_=carol)).status == 204
    assert (await api.get(url, as_=alice)).status == 404
    shown = await api.get(url, as_=alice, params={"include_deleted": "true"})
    assert shown.status == 200
    assert (shown.json["deleted_by"], shown.json["version"]) == (carol.id, 2)
    assert shown.headers["ETag"].startswith('"2.')  # the version, then the digest of the body
    listed = await api.get(f"/api/groups/{gid}/expenses", as_=alice)
    assert [e["id"] for e in listed.json["items"]] == [taxi["id"]]
    everything = await api.get(f"/api/groups/{gid}/expenses", as_=alice, params={"include_deleted": "true"})
    assert {e["id"] for e in everything.json["items"]} == {taxi["id"], dinner["id"]}
    assert "deleted_at" not in next(e for e in everything.json["items"] if e["id"] == taxi["id"])
    assert (await balances(api, gid, alice))[(alice.id, "EUR")] == "-4.00"
    await verified(api, gid)
    assert (await api.put(url, as_=alice, json={"notes": "x", "version": 2})).status == 404

    assert (await api.post(f"{url}/restore", as_=bob, headers={"If-Match": '"1"'})).status == 412
    back = await api.post(f"{url}/restore", as_=bob, headers={"If-Match": '"2"'})
    assert back.status == 200, back.text
    assert back.headers["ETag"] == '"3"'
    assert {k: v for k, v in back.json.items() if k not in ("version", "updated_at")} == {
        k: v for k, v in dinner.items() if k not in ("version", "updated_at")
    }
    assert "deleted_at" not in back.json
    assert await balances(api, gid, alice) == before
    await verified(api, gid)
    assert (await api.get(url, as_=alice)).json["version"] == 3

    again = await api.post(f"{url}/restore", as_=bob)
    assert (again.status, again.error["code"]) == (409, "not_deleted")
    assert await balances(api, gid, alice) == before

    actions = [e["action"] for e in (await api.get(f"/api/groups/{gid}/activity", as_=alice)).json["items"]]
    assert actions[:2] == ["expense.restored", "expense.deleted"]


async def test_a_transaction_is_restored_too(api: Api, alice: Actor, bob: Actor, carol: Actor) -> None:
    gid = await trio(api, alice, bob, carol)
    await new_expense(api, gid, alice)
    paid = await api.post(
        f"/api/groups/{gid}/transactions", as_=bob, json={"to_user": alice.id, "amount": "30.00"}
    )
    before = await balances(api, gid, carol)
    url = f"/api/groups/{gid}/transactions/{paid.json['id']}"

    assert (await api.delete(url, as_=alice)).status == 204
    assert (await api.get(url, as_=bob)).status == 404
    assert (await api.get(url, as_=bob, params={"include_deleted": "true"})).json["deleted_by"] == alice.id
    assert (await api.get(f"/api/groups/{gid}/transactions", as_=bob)).json["items"] == []
    hidden = await api.get(f"/api/groups/{gid}/transactions", as_=bob, params={"include_deleted": "true"})
    assert [t["id"] for t in hidden.json["items"]] == [paid.json["id"]]
    assert (await balances(api, gid, carol))[(bob.id, "EUR")] == "-30.00"

    back = await api.post(f"{url}/restore", as_=carol)
    assert back.status == 200, back.text
    assert back.json["version"] == 3 and "deleted_at" not in back.json
    assert await balances(api, gid, carol) == before
    await verified(api, gid)
    actions = [e["action"] for e in (await api.get(f"/api/groups/{gid}/activity", as_=alice)).json["items"]]
    assert actions[:2] == ["settlement.restored", "settlement.deleted"]


async def test_restore_names_who_left_and_works_once_they_are_back(
    api: Api, alice: Actor, bob: Actor, carol: Actor
) -> None:
    gid = await trio(api, alice, bob, carol)
    shared = await new_expense(
        api, gid, alice, split={"kind": "equal", "members": [alice.id, carol.id]}, amount="20.00"
    )
    url = f"/api/groups/{gid}/expenses/{shared['id']}"
    assert (await api.delete(url, as_=alice)).status == 204
    assert (await api.post(f"/api/groups/{gid}/leave", as_=carol)).status == 204
    settled = await balances(api, gid, alice)

    refused = await api.post(f"{url}/restore", as_=bob)
    assert (refused.status, refused.error["code"]) == (409, "not_a_member")
    assert refused.error["details"]["user_ids"] == [carol.id]
    assert refused.error["details"]["users"][carol.id]["name"] == "Carol"
    assert "Carol" in refused.error["message"]
    assert await balances(api, gid, alice) == settled
    assert (await api.get(url, as_=alice, params={"include_deleted": "true"})).json["version"] == 2

    await api.join(gid, carol)
    assert (await api.post(f"{url}/restore", as_=bob)).status == 200
    assert (await balances(api, gid, alice))[(carol.id, "EUR")] == "-10.00"
    await verified(api, gid)


async def test_the_restore_window_ends_after_restore_days(
    api: Api, alice: Actor, bob: Actor, carol: Actor
) -> None:
    gid = await trio(api, alice, bob, carol)
    dinner = await new_expense(api, gid, alice)
    url = f"/api/groups/{gid}/expenses/{dinner['id']}"
    assert (await api.delete(url, as_=alice)).status == 204
    deleted_at = from_text(
        (await api.get(url, as_=alice, params={"include_deleted": "true"})).json["deleted_at"]
    )
    expenses = api.app[SERVICES].expenses
    assert expenses.restore_window == timedelta(days=api.config.restore_days) == timedelta(days=30)

    expenses.clock = lambda: deleted_at + timedelta(days=30)
    late = await api.post(f"{url}/restore", as_=alice)
    assert (late.status, late.error["code"]) == (410, "restore_window_passed")
    expenses.clock = lambda: deleted_at + timedelta(days=30) - timedelta(seconds=1)
    assert (await api.post(f"{url}/restore", as_=alice)).status == 200


async def test_strangers_and_missing_records_get_404(
    api: Api, alice: Actor, bob: Actor, carol: Actor
) -> None:
    gid = await trio(api, alice, bob, carol)
    stranger = await api.user("mallory")
    dinner = await new_expense(api, gid, alice)
    url = f"/api/groups/{gid}/expenses/{dinner['id']}"
    assert (await api.delete(url, as_=bob)).status == 204
    for reply in (
        await api.post(f"{url}/restore", as_=stranger),
        await api.get(url, as_=stranger, params={"include_deleted": "true"}),
        await api.get(f"/api/groups/{gid}/expenses", as_=stranger, params={"include_deleted": "true"}),
        await api.post(f"/api/groups/{gid}/expenses/no-such/restore", as_=alice),
        await api.post(f"/api/groups/{gid}/transactions/no-such/restore", as_=alice),
    ):
        assert reply.status == 404, reply.text
    # Any member may restore, as any member may delete.
    assert (await api.post(f"{url}/restore", as_=carol)).status == 200


async def test_delete_and_restore_are_live_events(api: Api, alice: Actor, bob: Actor, carol: Actor) -> None:
    gid = await trio(api, alice, bob, carol)
    dinner = await new_expense(api, gid, alice)
    client = await connect(api, carol)
    assert (await client.subscribe(f"group:{gid}"))["ok"]
    url = f"/api/groups/{gid}/expenses/{dinner['id']}"

    assert (await api.delete(url, as_=bob)).status == 204
    deleted = await client.next_event()
    assert deleted["type"] == "expense.deleted"
    assert (deleted["data"]["id"], deleted["data"]["deleted_by"]) == (dinner["id"], bob.id)
    restored = await api.post(f"{url}/restore", as_=alice)
    event = await client.next_event()
    assert event["type"] == "expense.restored"
    assert {k: v for k, v in event["data"].items() if k != "balance_moves"} == restored.json
    assert {m["user_id"]: m["amount"] for m in event["data"]["balance_moves"]} == {
        alice.id: "60.00",
        bob.id: "-30.00",
        carol.id: "-30.00",
    }
    await client.close()


async def test_concurrent_restores_bring_it_back_once(
    api: Api, alice: Actor, bob: Actor, carol: Actor
) -> None:
    gid = await trio(api, alice, bob, carol)
    dinner = await new_expense(api, gid, alice)
    before = await balances(api, gid, alice)
    url = f"/api/groups/{gid}/expenses/{dinner['id']}"
    assert (await api.delete(url, as_=alice)).status == 204

    replies = await asyncio.gather(*(api.post(f"{url}/restore", as_=actor) for actor in (alice, bob, carol)))
    assert sorted(r.status for r in replies) == [200, 409, 409]
    assert {r.error["code"] for r in replies if r.status == 409} == {"not_deleted"}
    assert await balances(api, gid, alice) == before
    await verified(api, gid)


async def test_a_transaction_with_a_payee_who_left_is_not_restored(
    api: Api, alice: Actor, bob: Actor, carol: Actor
) -> None:
    gid = await trio(api, alice, bob, carol)
    paid = await api.post(
        f"/api/groups/{gid}/transactions", as_=bob, json={"to_user": carol.id, "amount": "8.00"}
    )
    url = f"/api/groups/{gid}/transactions/{paid.json['id']}"
    assert (await api.delete(url, as_=bob)).status == 204
    assert (await api.post(f"/api/groups/{gid}/leave", as_=carol)).status == 204

    refused = await api.post(f"{url}/restore", as_=alice)
    assert (refused.status, refused.error["code"]) == (409, "not_a_member")
    assert refused.error["details"]["user_ids"] == [carol.id]
    assert set(refused.error["details"]["users"]) == {carol.id}
    assert all(amount == "0.00" for amount in (await balances(api, gid, alice)).values())
