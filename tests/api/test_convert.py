"""`POST /api/groups/{id}/convert`: a conversion recorded as one expense-shaped entry that moves
every balance into one currency, exactly what the one-currency view showed; undone by deleting
it, never edited, never made twice however many members press the button at once."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import pytest

from server.keys import SERVICES
from services.verify import verify_group
from tests.api.conftest import Actor, Api, AppFactory
from tests.api.test_expenses import trio
from tests.api.test_rates_view import RATES_XML, mixed_group, native
from tests.api.test_recurring import MovableClock


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock(datetime(2024, 1, 7, 12, 0, tzinfo=timezone.utc))


@pytest.fixture
async def api(make_api: AppFactory, clock: MovableClock) -> Api:
    made = await make_api(clock=clock)
    await made.app[SERVICES].rates.load(RATES_XML.encode(), "ecb")
    return made


async def test_a_conversion_records_what_the_one_currency_view_showed(
    api: Api, alice: Actor, bob: Actor, carol: Actor
) -> None:
    group_id = await mixed_group(api, alice, bob, carol)
    before = await native(api, group_id, alice)
    view = await api.get(f"/api/groups/{group_id}/balances", as_=bob, params={"currency": "GBP"})
    made = await api.post(f"/api/groups/{group_id}/convert", as_=bob, json={"currency": "GBP"})
    assert made.status == 201, made.text
    entry: dict[str, Any] = made.json
    assert (entry["currency"], entry["date"], entry["created_by"]) == ("GBP", "2024-01-07", bob.id)
    assert entry["description"] == "Balances converted to GBP"
    split = entry["split"]
    assert (split["kind"], split["currency"], split["on"]) == ("conversion", "GBP", "2024-01-07")
    assert split["rates"] == view.json["rates"]
    assert sorted((m["user_id"], m["currency"], Decimal(m["amount"])) for m in split["moves"]) == sorted(
        (user_id, currency, -amount)
        for user_id, held in before.items()
        for currency, amount in held.items()
        if amount
    )
    after = await native(api, group_id, carol)
    expected = {b["user_id"]: Decimal(b["amount"]) for b in view.json["balances"]}
    for user_id, held in after.items():
        assert {c: a for c, a in held.items() if a} == (
            {"GBP": expected[user_id]} if expected[user_id] else {}
        )
    assert (await verify_group(api.store, group_id)).differences == {}
    again = await api.post(f"/api/groups/{group_id}/convert", as_=alice, json={"currency": "GBP"})
    assert (again.status, again.error["code"]) == (409, "nothing_to_convert")
    plan = await api.get(f"/api/groups/{group_id}/settle-up", as_=alice)
    assert set(plan.json["plans"]) == {"GBP"}


async def test_deleting_a_conversion_undoes_it_and_editing_is_refused(
    api: Api, alice: Actor, bob: Actor, carol: Actor
) -> None:
    group_id = await mixed_group(api, alice, bob, carol)
    before = await native(api, group_id, alice)
    made = (await api.post(f"/api/groups/{group_id}/convert", as_=alice, json={"currency": "EUR"})).json
    url = f"/api/groups/{group_id}/expenses/{made['id']}"
    edit = await api.put(url, as_=alice, json={"description": "mine", "version": 1})
    assert (edit.status, edit.error["code"]) == (409, "conversion_not_editable"), edit.text
    assert (await api.delete(url, as_=bob, headers={"If-Match": '"1"'})).status == 204
    assert await native(api, group_id, alice) == before
    assert (await verify_group(api.store, group_id)).differences == {}
    again = await api.post(f"/api/groups/{group_id}/convert", as_=alice, json={"currency": "EUR"})
    assert again.status == 201
    # restoring the first would convert, a second time, balances the second one converted
    back = await api.post(f"{url}/restore", as_=bob, headers={"If-Match": '"2"'})
    assert (back.status, back.error["code"]) == (409, "conversion_not_restorable"), back.text
    assert all(
        not a for held in (await native(api, group_id, alice)).values() for c, a in held.items() if c != "EUR"
    )


async def test_members_converting_at_once_convert_once(
    api: Api, alice: Actor, bob: Actor, carol: Actor
) -> None:
    group_id = await mixed_group(api, alice, bob, carol)
    view = await api.get(f"/api/groups/{group_id}/balances", as_=bob, params={"currency": "EUR"})
    replies = await asyncio.gather(
        *(
            api.post(f"/api/groups/{group_id}/convert", as_=who, json={"currency": "EUR"})
            for who in (alice, bob, carol)
        )
    )
    assert sorted(r.status for r in replies) == [201, 409, 409], [r.text for r in replies]
    assert {r.error["code"] for r in replies if r.status == 409} == {"nothing_to_convert"}
    after = await native(api, group_id, carol)
    shown = {b["user_id"]: Decimal(b["amount"]) for b in view.json["balances"]}
    assert {u: held.get("EUR", Decimal(0)) for u, held in after.items()} == shown
    assert all(not a for held in after.values() for c, a in held.items() if c != "EUR")
    assert (await verify_group(api.store, group_id)).differences == {}


async def test_a_retried_conversion_is_made_once(api: Api, alice: Actor, bob: Actor, carol: Actor) -> None:
    group_id = await mixed_group(api, alice, bob, carol)
    key = {"Idempotency-Key": "convert-1"}
    first = await api.post(
        f"/api/groups/{group_id}/convert", as_=alice, json={"currency": "EUR"}, headers=key
    )
    again = await api.post(
        f"/api/groups/{group_id}/convert", as_=alice, json={"currency": "EUR"}, headers=key
    )
    assert (first.status, again.status) == (201, 201)
    assert again.json == first.json and again.headers["Idempotent-Replayed"] == "true"
    listed = await api.get(f"/api/groups/{group_id}/expenses", as_=alice, params={"limit": 10})
    assert sum(1 for e in listed.json["items"] if e["split"]["kind"] == "conversion") == 1


async def test_a_conversion_without_rates_writes_nothing(
    api: Api, alice: Actor, bob: Actor, carol: Actor
) -> None:
    group_id = await trio(api, alice, bob, carol)
    await api.post(
        f"/api/groups/{group_id}/expenses",
        as_=alice,
        json={"description": "x", "amount": "9.00", "currency": "THB"},
    )
    before = await native(api, group_id, alice)
    reply = await api.post(f"/api/groups/{group_id}/convert", as_=alice, json={"currency": "EUR"})
    assert (reply.status, reply.error["code"]) == (422, "rate_unavailable")
    early = await api.post(
        f"/api/groups/{group_id}/convert", as_=alice, json={"currency": "USD", "on": "2023-12-01"}
    )
    assert (early.status, early.error["details"]["currencies"]) == (422, ["THB", "USD"])
    assert await native(api, group_id, alice) == before
    for body in ({"currency": "XYZ"}, {"currency": "EUR", "on": "2024-02-30"}, {}):
        assert (await api.post(f"/api/groups/{group_id}/convert", as_=alice, json=body)).status == 422
    stranger = await api.user("mallory")
    hidden = await api.post(f"/api/groups/{group_id}/convert", as_=stranger, json={"currency": "EUR"})
    assert hidden.status == 404


async def test_a_rate_that_would_overflow_a_balance_is_refused(
    api: Api, alice: Actor, bob: Actor, carol: Actor
) -> None:
    group_id = await trio(api, alice, bob, carol)
    body = {"description": "x", "amount": "9999999999.99", "currency": "USD"}
    assert (await api.post(f"/api/groups/{group_id}/expenses", as_=alice, json=body)).status == 201
    await api.put(f"/api/groups/{group_id}/rates/USD/EUR", as_=alice, json={"rate": "999999999999"})
    before = await native(api, group_id, alice)
    reply = await api.post(f"/api/groups/{group_id}/convert", as_=alice, json={"currency": "EUR"})
    assert reply.status == 422, reply.text
    assert "currency" in reply.error_fields()
    assert await native(api, group_id, alice) == before
