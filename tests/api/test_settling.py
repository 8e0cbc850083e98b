"""Transactions, settle-up, activity, and what unsettled balances forbid."""

from __future__ import annotations

from tests.api.conftest import Actor, Api
from tests.api.test_expenses import balances, trio


async def test_transaction_moves_balances_and_can_be_deleted(
    api: Api, alice: Actor, bob: Actor, carol: Actor
) -> None:
    group_id = await trio(api, alice, bob, carol)
    await api.post(
        f"/api/groups/{group_id}/expenses", as_=alice, json={"description": "Rent", "amount": "90.00"}
    )
    reply = await api.post(
        f"/api/groups/{group_id}/transactions", as_=bob, json={"to_user": alice.id, "amount": "30.00"}
    )
    assert reply.status == 201, reply.text
    assert (reply.json["from_user"], reply.json["currency"]) == (bob.id, "EUR")
    now = await balances(api, group_id, carol)
    assert (now[(alice.id, "EUR")], now[(bob.id, "EUR")]) == ("30.00", "0.00")
    deleted = await api.delete(f"/api/groups/{group_id}/transactions/{reply.json['id']}", as_=carol)
    assert deleted.status == 204
    assert (await balances(api, group_id, carol))[(bob.id, "EUR")] == "-30.00"


async def test_transaction_rules(api: Api, alice: Actor, bob: Actor, carol: Actor) -> None:
    group_id = await trio(api, alice, bob, carol)
    url = f"/api/groups/{group_id}/transactions"
    assert (await api.post(url, as_=bob, json={"to_user": bob.id, "amount": "1.00"})).status == 422
    assert (await api.post(url, as_=bob, json={"to_user": "ghost", "amount": "1.00"})).status == 422
    assert (await api.post(url, as_=bob, json={"to_user": alice.id, "amount": 1})).status == 422
    key = {"Idempotency-Key": "pay-once"}
    first = await api.post(url, as_=bob, json={"to_user": alice.id, "amount": "5.00"}, headers=key)
    again = await api.post(url, as_=bob, json={"to_user": alice.id, "amount": "5.00"}, headers=key)
    assert again.json == first.json
    assert len((await api.get(url, as_=alice)).json["items"]) == 1


async def test_settle_up_zeroes_everything(api: Api, alice: Actor, bob: Actor, carol: Actor) -> None:
    group_id = await trio(api, alice, bob, carol)
    url = f"/api/groups/{group_id}/expenses"
    await api.post(url, as_=alice, json={"description": "a", "amount": "90.00"})
    await api.post(url, as_=bob, json={"description": "b", "amount": "30.00", "currency": "USD"})
    plan = (await api.get(f"/api/groups/{group_id}/settle-up", as_=carol)).json
    assert plan["plans"] == {"EUR": "exact", "USD": "exact"}
    assert len(plan["transfers"]) == 4
    for transfer in plan["transfers"]:
        reply = await api.post(
            f"/api/groups/{group_id}/transactions",
            as_=carol,
            json={
                "from_user": transfer["from_user"],
                "to_user": transfer["to_user"],
                "amount": transfer["amount"],
                "currency": transfer["currency"],
            },
        )
        assert reply.status == 201, reply.text
    assert set((await balances(api, group_id, alice)).values()) == {"0.00"}
    assert (await api.get(f"/api/groups/{group_id}/settle-up", as_=carol)).json["transfers"] == []


async def test_unsettled_balances_block_leaving_removal_and_deletion(
    api: Api, alice: Actor, bob: Actor, carol: Actor
) -> None:
    group_id = await trio(api, alice, bob, carol)
    await api.post(
        f"/api/groups/{group_id}/expenses",
        as_=alice,
        json={"description": "x", "amount": "10.00", "split": {"kind": "equal", "members": [bob.id]}},
    )
    leave = await api.post(f"/api/groups/{group_id}/leave", as_=bob)
    assert (leave.status, leave.error["code"]) == (409, "balance_not_settled")
    remove = await api.delete(f"/api/groups/{group_id}/members/{bob.id}", as_=alice)
    assert remove.status == 409
    delete = await api.delete(f"/api/groups/{group_id}", as_=alice)
    assert (delete.status, delete.error["code"]) == (409, "balance_not_settled")
    await api.post(
        f"/api/groups/{group_id}/transactions", as_=bob, json={"to_user": alice.id, "amount": "10.00"}
    )
    assert (await api.post(f"/api/groups/{group_id}/leave", as_=carol)).status == 204
    assert (await api.post(f"/api/groups/{group_id}/leave", as_=bob)).status == 204
    assert (await api.delete(f"/api/groups/{group_id}", as_=alice)).status == 204


async def test_activity_records_who_did_what(api: Api, alice: Actor, bob: Actor, carol: Actor) -> None:
    group_id = await trio(api, alice, bob, carol)
    url = f"/api/groups/{group_id}/expenses"
    created = (await api.post(url, as_=alice, json={"description": "Taxi", "amount": "30.00"})).json
    await api.put(f"{url}/{created['id']}", as_=bob, json={"description": "Cab", "version": 1})
    await api.delete(f"{url}/{created['id']}", as_=carol)
    feed = (await api.get(f"/api/groups/{group_id}/activity", as_=alice, params={"limit": "2"})).json
    assert [(e["action"], e["actor_id"]) for e in feed["items"]] == [
        ("expense.deleted", carol.id),
        ("expense.updated", bob.id),
    ]
    assert feed["items"][1]["details"] == {"description": {"from": "Taxi", "to": "Cab"}}
    rest = (
        await api.get(f"/api/groups/{group_id}/activity", as_=alice, params={"cursor": feed["next_cursor"]})
    ).json
    assert [e["action"] for e in rest["items"]] == ["expense.created"]
