"""Expenses over HTTP: exact money, atomic balances, versions, idempotency, membership."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.api.conftest import Actor, Api, store_agnostic


async def trio(api: Api, alice: Actor, bob: Actor, carol: Actor, **group: Any) -> str:
    created = await api.create_group(alice, default_currency="EUR", **group)
    await api.join(created["id"], bob, carol)
    group_id: str = created["id"]
    return group_id


def cents(amount: str) -> int:
    return int(amount.replace(".", ""))


async def balances(api: Api, group_id: str, viewer: Actor) -> dict[tuple[str, str], str]:
    reply = await api.get(f"/api/groups/{group_id}/balances", as_=viewer)
    assert reply.status == 200, reply.text
    return {(b["user_id"], b["currency"]): b["amount"] for b in reply.json["balances"]}


async def test_equal_split_by_default_and_balances_move(api, alice, bob, carol):
    group_id = await trio(api, alice, bob, carol)
    reply = await api.post(
        f"/api/groups/{group_id}/expenses", as_=alice, json={"description": " Dinner ", "amount": "100.00"}
    )
    assert reply.status == 201, reply.text
    expense = reply.json
    assert expense["description"] == "Dinner"
    assert (expense["amount"], expense["currency"], expense["category"]) == ("100.00", "EUR", "general")
    assert expense["payers"] == [{"user_id": alice.id, "amount": "100.00"}]
    shares = {s["user_id"]: s["amount"] for s in expense["shares"]}
    assert sorted(shares.values()) == ["33.33", "33.33", "33.34"]
    assert reply.headers["ETag"] == '"1"'
    moved = await balances(api, group_id, bob)
    assert moved[(bob.id, "EUR")] == f"-{shares[bob.id]}"
    assert moved[(carol.id, "EUR")] == f"-{shares[carol.id]}"
    assert moved[(alice.id, "EUR")] == f"{100 - float(shares[alice.id]):.2f}"


async def test_every_split_kind_and_several_payers(api, alice, bob, carol):
    group_id = await trio(api, alice, bob, carol)
    url = f"/api/groups/{group_id}/expenses"
    splits: list[dict[str, Any]] = [
        {"kind": "exact", "amounts": {alice.id: "10.00", bob.id: "20.00", carol.id: "30.00"}},
        {"kind": "percent", "percents": {alice.id: "50", bob.id: "25", carol.id: "25"}},
        {"kind": "shares", "shares": {alice.id: 1, bob.id: 2, carol.id: 3}},
        {"kind": "equal", "members": [bob.id, carol.id]},
    ]
    for split in splits:
        reply = await api.post(
            url,
            as_=alice,
            json={
                "description": split["kind"],
                "amount": "60.00",
                "split": split,
                "payers": [{"user_id": alice.id, "amount": "45.00"}, {"user_id": bob.id, "amount": "15.00"}],
            },
        )
        assert reply.status == 201, reply.text
        assert sum(cents(s["amount"]) for s in reply.json["shares"]) == 6000
    assert sum(cents(v) for v in (await balances(api, group_id, alice)).values()) == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"description": "x", "amount": 12.5}, "amount"),
        ({"description": "x", "amount": "12.345"}, "amount"),
        ({"description": "x", "amount": "0"}, "amount"),
        ({"description": "x", "amount": "-5.00"}, "amount"),
        ({"description": "x", "amount": "1e3"}, "amount"),
        ({"description": "x", "amount": "10", "currency": "XYZ"}, "currency"),
        ({"description": "", "amount": "10"}, "description"),
        ({"description": "x", "amount": "10", "date": "2026-02-30"}, "date"),
        ({"description": "x", "amount": "10", "split": {"kind": "thirds"}}, "split.kind"),
        ({"description": "x", "amount": "10", "unknown": 1}, "unknown"),
    ],
)
@store_agnostic
async def test_bad_expenses_get_422_naming_the_field(api, alice, body, field):
    group = await api.create_group(alice, default_currency="EUR")
    reply = await api.post(f"/api/groups/{group['id']}/expenses", as_=alice, json=body)
    assert reply.status == 422, reply.text
    assert field in reply.error_fields()


async def test_exact_split_that_does_not_add_up_is_refused(api, alice, bob, carol):
    group_id = await trio(api, alice, bob, carol)
    reply = await api.post(
        f"/api/groups/{group_id}/expenses",
        as_=alice,
        json={
            "description": "x",
            "amount": "50.00",
            "split": {"kind": "exact", "amounts": {alice.id: "20.00", bob.id: "20.00"}},
        },
    )
    assert reply.status == 422
    assert "split.amounts" in reply.error_fields()
    assert "10.00 short" in reply.error["message"]
    assert await balances(api, group_id, alice) == {}


async def test_participants_must_be_members(api, alice, bob, carol):
    group = await api.create_group(alice, default_currency="EUR")
    await api.join(group["id"], bob)
    reply = await api.post(
        f"/api/groups/{group['id']}/expenses",
        as_=alice,
        json={
            "description": "x",
            "amount": "30.00",
            "split": {"kind": "equal", "members": [alice.id, carol.id]},
        },
    )
    assert reply.status == 422
    assert reply.error["code"] == "not_a_member"


async def test_outsiders_see_nothing(api, alice, bob, carol):
    group_id = await trio(api, alice, bob, carol)
    created = (
        await api.post(
            f"/api/groups/{group_id}/expenses", as_=alice, json={"description": "x", "amount": "3.00"}
        )
    ).json
    outsider = await api.user("mallory")
    for method, path in [
        ("GET", f"/api/groups/{group_id}/expenses"),
        ("GET", f"/api/groups/{group_id}/expenses/{created['id']}"),
        ("DELETE", f"/api/groups/{group_id}/expenses/{created['id']}"),
        ("GET", f"/api/groups/{group_id}/balances"),
        ("GET", f"/api/groups/{group_id}/settle-up"),
        ("GET", f"/api/groups/{group_id}/activity"),
        ("GET", f"/api/groups/{group_id}/transactions"),
    ]:
        reply = await api.request(method, path, as_=outsider)
        assert reply.status == 404, (method, path)
    reply = await api.post(
        f"/api/groups/{group_id}/expenses", as_=outsider, json={"description": "x", "amount": "1.00"}
    )
    assert reply.status == 404


async def test_edit_moves_balances_by_the_difference_and_checks_the_version(api, alice, bob, carol):
    group_id = await trio(api, alice, bob, carol)
    url = f"/api/groups/{group_id}/expenses"
    created = (await api.post(url, as_=alice, json={"description": "Taxi", "amount": "30.00"})).json
    item = f"{url}/{created['id']}"

    reply = await api.put(item, as_=bob, json={"amount": "60.00"}, headers={"If-Match": '"1"'})
    assert reply.status == 200, reply.text
    assert (reply.json["amount"], reply.json["version"]) == ("60.00", 2)
    assert reply.headers["ETag"] == '"2"'
    assert (await balances(api, group_id, alice))[(alice.id, "EUR")] == "40.00"

    stale = await api.put(item, as_=carol, json={"amount": "90.00", "version": 1})
    assert stale.status == 412
    assert stale.error["details"]["current_version"] == 2
    missing = await api.put(item, as_=carol, json={"amount": "90.00"})
    assert missing.status == 428
    assert (await api.get(item, as_=alice)).json["amount"] == "60.00"
    assert (await balances(api, group_id, alice))[(alice.id, "EUR")] == "40.00"


async def test_two_concurrent_edits_of_one_version_one_wins(api, alice, bob, carol):
    group_id = await trio(api, alice, bob, carol)
    url = f"/api/groups/{group_id}/expenses"
    created = (await api.post(url, as_=alice, json={"description": "Taxi", "amount": "30.00"})).json
    item = f"{url}/{created['id']}"
    replies = await asyncio.gather(
        api.put(item, as_=alice, json={"amount": "31.00", "version": 1}),
        api.put(item, as_=bob, json={"amount": "32.00", "version": 1}),
    )
    assert sorted(r.status for r in replies) == [200, 412]
    winner = next(r for r in replies if r.status == 200).json
    assert (await api.get(item, as_=alice)).json["amount"] == winner["amount"]
    payer = (await balances(api, group_id, alice))[(alice.id, "EUR")]
    alice_share = next(s["amount"] for s in winner["shares"] if s["user_id"] == alice.id)
    assert cents(payer) == cents(winner["amount"]) - cents(alice_share)


async def test_delete_moves_balances_back(api, alice, bob, carol):
    group_id = await trio(api, alice, bob, carol)
    url = f"/api/groups/{group_id}/expenses"
    created = (await api.post(url, as_=alice, json={"description": "x", "amount": "9.99"})).json
    reply = await api.delete(f"{url}/{created['id']}", as_=carol, headers={"If-Match": '"7"'})
    assert reply.status == 412
    reply = await api.delete(f"{url}/{created['id']}", as_=carol)
    assert reply.status == 204
    assert set((await balances(api, group_id, alice)).values()) == {"0.00"}
    assert (await api.get(f"{url}/{created['id']}", as_=alice)).status == 404
    assert (await api.delete(f"{url}/{created['id']}", as_=carol)).status == 404


async def test_idempotency_key_replays_and_never_duplicates(api, alice, bob, carol):
    group_id = await trio(api, alice, bob, carol)
    url = f"/api/groups/{group_id}/expenses"
    body = {"description": "Hotel", "amount": "300.00"}
    key = {"Idempotency-Key": "retry-me-1"}
    first = await api.post(url, as_=alice, json=body, headers=key)
    again = await api.post(url, as_=alice, json=body, headers=key)
    assert (first.status, again.status) == (201, 201)
    assert again.json == first.json
    assert again.headers.get("Idempotent-Replayed") == "true"
    listed = await api.get(url, as_=alice)
    assert [e["id"] for e in listed.json["items"]] == [first.json["id"]]
    assert (await balances(api, group_id, alice))[(alice.id, "EUR")] == "200.00"

    other_body = await api.post(url, as_=alice, json={**body, "amount": "1.00"}, headers=key)
    assert other_body.status == 422
    assert other_body.error["code"] == "idempotency_key_reused"
    same_key_other_user = await api.post(url, as_=bob, json=body, headers=key)
    assert same_key_other_user.status == 201
    assert same_key_other_user.json["id"] != first.json["id"]


async def test_a_failed_request_does_not_burn_its_idempotency_key(api, alice, bob, carol):
    group_id = await trio(api, alice, bob, carol)
    url = f"/api/groups/{group_id}/expenses"
    key = {"Idempotency-Key": "k-2"}
    body = {"description": "x", "amount": "10.00", "payers": [{"user_id": "ghost", "amount": "10.00"}]}
    assert (await api.post(url, as_=alice, json=body, headers=key)).status == 422
    assert (await api.post(url, as_=alice, json=body, headers=key)).status == 422


async def test_list_filters_and_pages(api, alice, bob, carol):
    group_id = await trio(api, alice, bob, carol)
    url = f"/api/groups/{group_id}/expenses"
    for day in range(1, 13):
        await api.post(
            url,
            as_=alice,
            json={
                "description": f"day {day}",
                "amount": "3.00",
                "date": f"2026-03-{day:02d}",
                "category": "food" if day % 2 else "Plane",
                "split": {"kind": "equal", "members": [alice.id, bob.id] if day % 3 else [carol.id]},
            },
        )
    seen, cursor = [], None
    while True:
        params = {"limit": "5", **({"cursor": cursor} if cursor else {})}
        page = (await api.get(url, as_=bob, params=params)).json
        seen += [e["date"] for e in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"2026-03-{d:02d}" for d in range(12, 0, -1)]

    async def dates(**params: str) -> list[str]:
        items, cursor = [], None
        while True:
            query = {**params, **({"cursor": cursor} if cursor else {})}
            page = (await api.get(url, as_=bob, params=query)).json
            items += [e["date"][-2:] for e in page["items"]]
            if (cursor := page["next_cursor"]) is None:
                return items

    assert await dates(date_from="2026-03-04", date_to="2026-03-06") == ["06", "05", "04"]
    # stored by id, filtered by id or name in any case; a parent takes its subcategories along
    assert await dates(category="plane", date_to="2026-03-06") == ["06", "04", "02"]
    assert await dates(category="PLANE", date_to="2026-03-06") == ["06", "04", "02"]
    assert await dates(category="transportation", date_to="2026-03-06") == ["06", "04", "02"]
    assert await dates(category="Food and drink", date_to="2026-03-03") == ["03", "01"]
    assert await dates(member=carol.id) == ["12", "09", "06", "03"]
    bad = await api.get(url, as_=bob, params={"date_from": "2026-13-01"})
    assert bad.status == 422


@store_agnostic
async def test_only_a_receipt_you_scanned_can_be_attached(api, alice):
    group = await api.create_group(alice, default_currency="EUR")
    reply = await api.post(
        f"/api/groups/{group['id']}/expenses",
        as_=alice,
        json={"description": "x", "amount": "1.00", "receipt_id": "not-mine"},
    )
    assert reply.status == 422
    assert "receipt_id" in reply.error_fields()
